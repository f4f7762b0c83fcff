"""The task file: JSON lines (or a JSON list, or YAML for hand-written lists).

Each task becomes one plain dict with the same keys, so it can cross a
process or machine boundary as it is. SWE-bench instances load unchanged:
`instance_id` is the id, `problem_statement` the task, `repo` an
`owner/name` on GitHub, and `FAIL_TO_PASS` / `PASS_TO_PASS` (JSON lists or
JSON-encoded strings) with `test_patch` make the task judged the way the
SWE-bench harness judges it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|git@)", re.IGNORECASE)
_GITHUB_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class TaskFileError(Exception):
    """The task file cannot be used; the message says where and why."""


def load_tasks(path: Path) -> list[dict[str, Any]]:
    """Every task of the file, normalised (see `normalise`); ids are unique."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    records = _parse(text, path)
    tasks = [normalise(raw, path.resolve().parent, f"{path}:{where}") for where, raw in records]
    seen: set[str] = set()
    for task in tasks:
        if task["id"] in seen:
            raise TaskFileError(f"{path}: task id {task['id']!r} appears more than once")
        seen.add(task["id"])
    return tasks


def _parse(text: str, path: Path) -> list[tuple[str, Any]]:
    """(location, raw record) pairs; the location is a line or item number for messages."""
    if path.suffix.lower() in (".yaml", ".yml"):
        return _parse_yaml(text, path)
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TaskFileError(f"{path}: not valid JSON: {exc}") from exc
        return [(f"item {n}", item) for n, item in enumerate(items, 1)]
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as exc:
            raise TaskFileError(f"{path}:line {number}: not valid JSON: {exc.msg}") from exc
    return records


def _parse_yaml(text: str, path: Path) -> list[tuple[str, Any]]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaskFileError(f"{path}: not valid YAML: {exc}") from exc
    if isinstance(data, dict) and "tasks" in data:
        data = data["tasks"]
    if not isinstance(data, list):
        raise TaskFileError(f"{path}: expected a list of tasks (or a mapping with a 'tasks' list)")
    return [(f"item {n}", item) for n, item in enumerate(data, 1)]


def normalise(raw: Any, base_dir: Path, where: str) -> dict[str, Any]:
    """One task as a plain dict with every key present:
    id, task, repo, base_commit, test_cmd, setup and env_setup (lists), max_steps, model,
    fail_to_pass, pass_to_pass (lists), test_patch, python (absolute)."""
    if not isinstance(raw, dict):
        raise TaskFileError(f"{where}: a task must be an object, not {type(raw).__name__}")
    task_id = raw.get("id", raw.get("instance_id"))
    if not isinstance(task_id, (str, int)) or str(task_id).strip() == "":
        raise TaskFileError(f"{where}: missing 'id' (or 'instance_id')")
    task_id = str(task_id)
    text = raw.get("task") or raw.get("problem_statement")
    if not isinstance(text, str) or not text.strip():
        raise TaskFileError(f"{where}: task {task_id!r} has no 'task' (or 'problem_statement')")
    repo = raw.get("repo")
    if not isinstance(repo, str) or not repo.strip():
        raise TaskFileError(f"{where}: task {task_id!r} has no 'repo'")
    max_steps = raw.get("max_steps")
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 1):
        raise TaskFileError(f"{where}: task {task_id!r}: 'max_steps' must be a positive integer")
    return {
        "id": task_id,
        "task": text,
        "repo": resolve_repo(repo.strip(), base_dir),
        "base_commit": _optional_str(raw, "base_commit", where),
        "test_cmd": _optional_str(raw, "test_cmd", where),
        "setup": _commands(raw, "setup", where),
        "env_setup": _commands(raw, "env_setup", where),
        "max_steps": max_steps,
        "model": _optional_str(raw, "model", where),
        "fail_to_pass": _test_list(raw.get("FAIL_TO_PASS"), "FAIL_TO_PASS", where),
        "pass_to_pass": _test_list(raw.get("PASS_TO_PASS"), "PASS_TO_PASS", where),
        "test_patch": _optional_str(raw, "test_patch", where),
        "python": _local_path(_optional_str(raw, "python", where), base_dir),
    }


def resolve_repo(repo: str, base_dir: Path) -> str:
    """A URL as given; an existing local path made absolute (relative paths
    are relative to the task file's folder); `owner/name` (SWE-bench's form)
    as its GitHub URL. Anything else stays a local path, reported missing
    when its task runs."""
    if is_url(repo):
        return repo
    local = base_dir / Path(repo).expanduser()
    if local.exists():
        return str(local.resolve())
    if _GITHUB_NAME.match(repo):
        return f"https://github.com/{repo}.git"
    return str(local)


def _local_path(value: str | None, base_dir: Path) -> str | None:
    """A path relative to the task file's folder made absolute."""
    return str(base_dir / Path(value).expanduser()) if value else None


def safe_name(task_id: str) -> str:
    """The id as a file name; ids that needed changing get a hash so two cannot collide."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", task_id).lstrip(".") or "task"
    if name != task_id:
        name += "-" + hashlib.sha256(task_id.encode()).hexdigest()[:8]
    return name


def is_url(repo: str) -> bool:
    """A git URL (scheme://… or scp-like git@host:…) rather than a local path."""
    return bool(_URL.match(repo))


def is_judged(task: dict[str, Any]) -> bool:
    """True when the task names the tests that decide it (SWE-bench style)."""
    return bool(task["fail_to_pass"] or task["pass_to_pass"])


def _optional_str(raw: dict[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TaskFileError(f"{where}: '{key}' must be a string")
    return value


def _commands(raw: dict[str, Any], key: str, where: str) -> list[str]:
    value = raw.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TaskFileError(f"{where}: '{key}' must be a command or a list of commands")


def _test_list(value: Any, key: str, where: str) -> list[str]:
    """A list of test ids; SWE-bench exports often hold it as a JSON-encoded string."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise TaskFileError(f"{where}: '{key}' is neither a list nor a JSON-encoded list") from exc
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TaskFileError(f"{where}: '{key}' must be a list of test ids")
    if any(v.startswith("-") for v in value):  # pytest would take it for an option
        raise TaskFileError(f"{where}: '{key}' holds a test id starting with '-'")
    return value
