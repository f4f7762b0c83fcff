"""The tools the model can call, gathered in one registry."""

from __future__ import annotations

import functools

from tools import edit, files, git_commit, patch, repo_map, search, shell, testing
from tools.registry import Registry, Tool, ToolContext, ToolResult

__all__ = ["Registry", "Tool", "ToolContext", "ToolResult", "default_registry", "tool_named"]


@functools.cache
def tool_named(name: str) -> Tool | None:
    """The tool called `name`, for parts that see only names (renderers read its facts)."""
    return default_registry().get(name)


def default_registry() -> Registry:
    """Every tool, in the order the model sees them."""
    return Registry(
        [
            files.READ_FILE,
            files.WRITE_FILE,
            edit.TOOL,
            patch.TOOL,
            files.LIST_FILES,
            search.TOOL,
            testing.TOOL,
            shell.TOOL,
            git_commit.TOOL,
            repo_map.TOOL,
        ]
    )
