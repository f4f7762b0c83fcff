"""The default registry: the contract's tools, in order, then our extra ones, with small schemas."""

from __future__ import annotations

import json

from agent.tokens import count_tokens
from tools import default_registry

CONTRACT = {
    "read_file": ["path"],
    "write_file": ["path", "content"],
    "edit_file": ["path", "old", "new"],
    "apply_patch": ["patch"],
    "list_files": [],
    "grep": ["pattern"],
    "run_tests": [],
    "shell": ["command"],
    "git_commit": ["message"],
}


def test_the_contract_tools_in_order_with_their_required_arguments() -> None:
    registry = default_registry()
    # The contract's tools come first; extra tools (repo_map) follow them.
    assert registry.names()[: len(CONTRACT)] == list(CONTRACT)
    assert registry.names()[len(CONTRACT) :] == ["repo_map"]
    for name, required in CONTRACT.items():
        assert registry.get(name).parameters.get("required", []) == required, name


def test_descriptions_are_one_line_and_schemas_stay_small() -> None:
    registry = default_registry()
    for schema in registry.responses_schemas():
        assert "\n" not in schema["description"], schema["name"]
    assert count_tokens(json.dumps(registry.responses_schemas())) < 1200


def test_tools_that_change_files_or_run_code_say_so() -> None:
    registry = default_registry()
    mutating = {name for name in CONTRACT if registry.get(name).mutates}
    assert mutating == {"write_file", "edit_file", "apply_patch", "run_tests", "shell", "git_commit"}
