"""The file tools: read_file, write_file, list_files.

read_file streams the file, so a 1 GB log costs a line count, never 1 GB of
memory: only the requested page is decoded and kept. A page is cut in tokens
below the loop's cap on a tool result, so that cap never elides lines from
its middle that "read on from line N" would then skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any, Sequence

from agent.tokens import count_tokens
from tools.paths import PathError, relative, resolve_in
from tools.registry import Tool, ToolContext, ToolResult
from tools.search import glob_filter, missing_path_error, resolve_scope, walk_files

MAX_PAGE_TOKENS = 5_000  # below agent.loop.Limits.tool_output_tokens, with room for the note
MAX_LINE_CHARS = 2000  # a longer line is cut
MAX_LISTED = 200
BINARY_SNIFF = 8192


def is_binary(path: Path) -> bool:
    """A NUL byte in the first 8 KB: what git and grep call binary."""
    with path.open("rb") as fh:
        return b"\0" in fh.read(BINARY_SNIFF)


def secret_problem(rel: str, allow: Sequence[str]) -> str | None:
    """Why the model may not see `rel`'s content, or None when it may."""
    from sandbox.secrets import is_sensitive_path

    if is_sensitive_path(rel, allow):
        return (
            f"{rel} may hold secrets (keys, credentials) and is not shown. "
            "The user can allow it with --allow-secret; do not work around this with shell."
        )
    return None


def secret_refusal(rel: str, allow: Sequence[str]) -> ToolResult | None:
    problem = secret_problem(rel, allow)
    return None if problem is None else ToolResult.error(problem, refused=True)


# --------------------------------------------------------------------------- read_file


def _read_line(fh: IO[bytes]) -> tuple[bytes, bool] | None:
    """The next line (at most enough bytes for MAX_LINE_CHARS characters) and
    whether more of it was skipped; None at the end of the file."""
    limit = MAX_LINE_CHARS * 4  # UTF-8 needs at most 4 bytes a character
    raw = fh.readline(limit)
    if not raw:
        return None
    cut = len(raw) == limit and not raw.endswith(b"\n")
    if cut:  # skip the rest of the line without keeping it
        while (rest := fh.readline(limit)) and not rest.endswith(b"\n"):
            pass
    return raw, cut


def _show_line(number: int, raw: bytes, cut: bool) -> str:
    text = raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", "replace")
    if cut or len(text) > MAX_LINE_CHARS:
        text = text[:MAX_LINE_CHARS] + " … [line truncated]"
    return f"{number:>6}\t{text}"


def read_numbered(path: Path, start: int, end: int | None) -> tuple[list[str], int]:
    """Numbered lines from `start` (1-based) up to `end` or the page's token
    limit, and the file's total line count."""
    shown: list[str] = []
    page_tokens = 0
    number = 0
    with path.open("rb") as fh:
        while (line := _read_line(fh)) is not None:
            number += 1
            if number < start:
                continue
            text = _show_line(number, *line)
            page_tokens += count_tokens(text) + 1  # and its newline
            if shown and page_tokens > MAX_PAGE_TOKENS:
                break  # this line opens the next page
            shown.append(text)
            if number == end:
                break
        # Count the rest without decoding it.
        tail = b""
        while chunk := fh.read(1 << 20):
            number += chunk.count(b"\n")
            tail = chunk
        if tail and not tail.endswith(b"\n"):
            number += 1
    return shown, number


def _read_file(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    root = ctx.root.resolve()
    try:
        path = resolve_in(root, args["path"])
    except PathError as exc:
        return ToolResult.error(str(exc))
    if path.is_dir():
        return ToolResult.error(f"{args['path']} is a directory; use list_files to see its files.")
    if not path.is_file():
        return missing_path_error(root, args["path"])
    rel = relative(root, path)
    if refusal := secret_refusal(rel, ctx.secret_allow):
        return refusal
    if is_binary(path):
        return ToolResult.error(f"{rel} is a binary file ({path.stat().st_size:,} bytes); not shown.")

    start, end = args.get("start_line") or 1, args.get("end_line")
    if start < 1 or (end is not None and end < start):
        return ToolResult.error(f"bad line range {start}-{end}: lines are numbered from 1 and end_line >= start_line.")
    shown, total = read_numbered(path, start, end)
    data = {"path": rel, "total_lines": total}
    if total == 0:
        return ToolResult(f"{rel} is empty.", data=data)
    if not shown:
        return ToolResult.error(f"{rel} has {total} lines; start_line={start} is past the end.", **data)
    last = start + len(shown) - 1
    text = "\n".join(shown)
    if last < total and (end is None or last < end):
        text += f"\n… showing lines {start}-{last} of {total}; call read_file with start_line={last + 1} to read on."
    return ToolResult(text, data={**data, "lines": [start, last]})


# --------------------------------------------------------------------------- write_file


def lines_label(text: str) -> str:
    """'1 line', '12 lines': how many lines `text` has."""
    n = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
    return f"{n} line{'' if n == 1 else 's'}"


def _write_file(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    root = ctx.root.resolve()
    content: str = args["content"]
    try:
        path = resolve_in(root, args["path"])
    except PathError as exc:
        return ToolResult.error(str(exc))
    if path == root or path.is_dir():
        return ToolResult.error(f"{args['path']} is a directory; give a file path.")
    note = f"replaced {lines_label(path.read_text(errors='replace'))}" if path.exists() else "new file"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8", newline="")
    except OSError as exc:
        return ToolResult.error(f"cannot write {args['path']}: {exc.strerror or exc}.")
    rel = relative(root, path)
    return ToolResult(
        f"Wrote {lines_label(content)} to {rel} ({note}).",
        data={"changes": [{"path": rel, "kind": "add" if note == "new file" else "update"}]},
    )


# --------------------------------------------------------------------------- list_files


def _list_files(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    pattern = args.get("pattern") or None
    try:
        target, sub = resolve_scope(ctx, args.get("path"))
    except PathError as exc:
        return ToolResult.error(str(exc))
    if target.is_file():
        return ToolResult(sub, data={"files": 1})
    if not target.is_dir():
        return missing_path_error(ctx.root, args["path"], "folder")
    files = walk_files(ctx.root, sub)
    if pattern:
        files = glob_filter(files, pattern)
    where = (sub or ".") + (f" matching {pattern}" if pattern else "")
    if not files:
        return ToolResult(f"No files in {where} (.gitignored files are not listed).", data={"files": 0})
    lines = files[:MAX_LISTED]
    if len(files) > MAX_LISTED:
        lines.append(f"[{MAX_LISTED} of {len(files)} files shown; narrow with path or pattern]")
    return ToolResult("\n".join(lines), data={"files": len(files)})


_PATH = {"type": "string"}

READ_FILE = Tool(
    name="read_file",
    description="Read a text file with line numbers; long files come in pages (use start_line to read on).",
    parameters={
        "type": "object",
        "properties": {
            "path": _PATH,
            "start_line": {"type": "integer", "description": "1-based"},
            "end_line": {"type": "integer", "description": "inclusive"},
        },
        "required": ["path"],
    },
    handler=_read_file,
)

WRITE_FILE = Tool(
    name="write_file",
    description="Create or overwrite a file with the full content (folders are created).",
    parameters={
        "type": "object",
        "properties": {"path": _PATH, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
    handler=_write_file,
    mutates=True,
    edits_files=True,
)

LIST_FILES = Tool(
    name="list_files",
    description="List files under a folder (default: all), honouring .gitignore; capped.",
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "folder"},
            "pattern": {"type": "string", "description": "glob, e.g. *.py or tests/**/test_*.py"},
        },
    },
    handler=_list_files,
)
