"""The `repo_map` tool: the repository's files, classes and functions with
signatures, ranked by how much the rest of the code uses them."""

from __future__ import annotations

from typing import Any

from tools.paths import PathError, relative, resolve_in
from tools.registry import Tool, ToolContext, ToolResult

DEFAULT_TOKENS = 2048
MIN_TOKENS = 256
MAX_TOKENS = 5_000  # below agent.loop.Limits.tool_output_tokens: a longer result loses its middle


def _repo_map(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    from agent.repomap import build_repo_map

    tokens = min(max(args.get("tokens") or DEFAULT_TOKENS, MIN_TOKENS), MAX_TOKENS)
    files, idents = [], []
    for item in args.get("focus") or []:
        if not isinstance(item, str) or not item.strip():
            continue
        item = item.strip()
        try:
            path = resolve_in(ctx.root, item)
        except PathError:
            path = None
        if path is not None and path.exists():
            files.append(relative(ctx.root, path))
        else:
            idents.append(item)
    text = build_repo_map(ctx.root, tokens=tokens, focus_files=files, focus_idents=idents)
    return ToolResult(text, data={"focus_files": files, "focus_idents": idents, "tokens": tokens})


TOOL = Tool(
    name="repo_map",
    description=(
        "A map of the repository: entry points, config files, which tests import which modules, and "
        "the files with their classes and functions (signatures), most used first. Pass `focus` "
        "(file paths or identifiers) to rank what relates to them higher."
    ),
    parameters={
        "type": "object",
        "properties": {
            "focus": {
                "type": "array",
                "items": {"type": "string"},
                "description": "file paths and/or identifiers to centre the map on",
            },
            "tokens": {"type": "integer", "description": f"size of the map in tokens (default {DEFAULT_TOKENS})"},
        },
        "required": [],
    },
    handler=_repo_map,
)
