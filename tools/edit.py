"""The edit_file tool: replace one occurrence of `old` with `new`.

An exact, unique match is replaced as is. Otherwise `old` is matched line by
line at falling strictness (trailing whitespace, then all surrounding
whitespace: the levels apply_patch uses), which forgives what models get wrong
most: indentation, tabs for spaces, trailing blanks. When the file's
indentation differs from `old`'s by one constant offset, `new` is shifted by
the same offset and written in the file's indent style (tabs or spaces). A
match that is ambiguous, or whose indentation differs inconsistently, is
refused with the line numbers and the file's exact text, never guessed.

`old == ""` creates a missing file (or fills an empty one) with `new`,
as Claude's edit tool does.
"""

from __future__ import annotations

import difflib
import heapq
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.files import is_binary, lines_label, secret_refusal
from tools.patch_match import FileLines
from tools.paths import PathError, relative, resolve_in
from tools.registry import Tool, ToolContext, ToolResult
from tools.search import missing_path_error

TAB = 4  # columns a tab stands for when comparing indentation
MAX_DIFF_LINES = 60
ANCHOR_LINES = 3  # lines of a missing `old` that look for its closest place


class EditError(Exception):
    """Why the edit cannot be made; the message is written for the model."""


@dataclass
class Edit:
    text: str  # the file's new content
    how: str  # a note on how `old` was found


def apply_edit(text: str, old: str, new: str) -> Edit:
    """The file text with `old` replaced by `new`. Raises EditError."""
    if old == new:
        raise EditError("old and new are identical; nothing to change.")
    if "\r\n" in text and "\r\n" not in old:  # the model writes \n; the file uses CRLF
        old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
    hits = _find_all(text, old)
    if len(hits) == 1:
        return Edit(text[: hits[0]] + new + text[hits[0] + len(old) :], "exact match")
    if len(hits) > 1:
        numbers = [text.count("\n", 0, i) + 1 for i in hits]
        raise EditError(
            f"old occurs {len(hits)} times (at lines {_join(numbers)}); "
            "include more surrounding lines so it matches exactly once."
        )
    return _tolerant_edit(text, old, new)


def _find_all(text: str, old: str) -> list[int]:
    hits, at = [], text.find(old)
    while at != -1:
        hits.append(at)
        at = text.find(old, at + 1)
    return hits


def _join(numbers: list[int], limit: int = 10) -> str:
    shown = ", ".join(map(str, numbers[:limit]))
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def _tolerant_edit(text: str, old: str, new: str) -> Edit:
    file_lines = text.split("\n")
    newline_at_end = file_lines[-1] == ""
    if newline_at_end:
        file_lines.pop()
    bare = [line.rstrip("\r") for line in file_lines]
    old_split = old.replace("\r\n", "\n").split("\n")
    lead, trail = _blank_ends(old_split)
    old_lines = old_split[lead : len(old_split) - trail]
    if not old_lines:
        raise EditError("old is only whitespace; give the text to replace.")

    starts = FileLines(bare).find_all(old_lines, 0)
    if not starts:
        raise EditError(_closest(bare, old_lines))
    if len(starts) > 1:
        raise EditError(
            f"old matches {len(starts)} places when whitespace is ignored (lines {_join([s + 1 for s in starts])}); "
            "include more surrounding lines so it matches exactly once."
        )
    start, stop = starts[0], starts[0] + len(old_lines)
    new_lines = _reindent(old_lines, bare[start:stop], _new_lines(new, lead, trail), start)
    if file_lines[stop - 1].endswith("\r"):
        new_lines = [line + "\r" for line in new_lines]
    replaced = file_lines[:start] + new_lines + file_lines[stop:]
    result = "\n".join(replaced) + ("\n" if newline_at_end and replaced else "")
    return Edit(result, f"matched lines {start + 1}-{stop} ignoring whitespace")


def _blank_ends(lines: list[str]) -> tuple[int, int]:
    """How many blank lines start and end `lines`."""
    lead = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    trail = next((i for i, line in enumerate(reversed(lines)) if line.strip()), len(lines))
    return lead, trail


def _new_lines(new: str, lead: int, trail: int) -> list[str]:
    """`new` as lines, without the blank lines that match the ones cut from `old`
    (a trailing newline in both is not an extra blank line)."""
    if not new.strip():
        return []
    lines = new.replace("\r\n", "\n").split("\n")
    new_lead, new_trail = _blank_ends(lines)
    return lines[min(lead, new_lead) : len(lines) - min(trail, new_trail)]


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _width(indent: str) -> int:
    return len(indent.expandtabs(TAB))


def _reindent(old: list[str], found: list[str], new: list[str], start: int) -> list[str]:
    """`new` indented as the file is: shifted by the constant offset between
    `old` and the file's lines, in the file's indent style."""
    pairs = [(_indent(o), _indent(f)) for o, f in zip(old, found) if o.strip()]
    if not new or all(o == f for o, f in pairs):
        return new
    offsets = {_width(f) - _width(o) for o, f in pairs}
    if len(offsets) > 1:
        exact = "\n".join(f"{start + i + 1:>6}\t{line}" for i, line in enumerate(found))
        raise EditError(
            f"old matches lines {start + 1}-{start + len(found)} only if indentation is ignored, and the "
            f"indentation differs unevenly, so new cannot be re-indented safely. The exact text is:\n{exact}\n"
            "Retry with old copied exactly."
        )
    offset = offsets.pop()
    tabs = any("\t" in f for _, f in pairs)
    shifted = []
    for line in new:
        if not line.strip():
            shifted.append("")
            continue
        width = max(0, _width(_indent(line)) + offset)
        indent = "\t" * (width // TAB) + " " * (width % TAB) if tabs else " " * width
        shifted.append(indent + line.lstrip(" \t"))
    return shifted


def _closest(lines: list[str], old: list[str]) -> str:
    """The error for an `old` found nowhere: the most similar stretch of the file.

    Scoring every window of a long file costs minutes; instead a few lines of
    `old` each propose the windows that start where their nearest file lines
    sit, and only those windows are scored as a whole."""
    stripped = [line.strip() for line in lines]
    wanted = [line.strip() for line in old]
    size = len(wanted)
    anchors = [(k, text) for k, text in enumerate(wanted) if text][:ANCHOR_LINES]
    starts = {max(0, min(i - k, len(lines) - size)) for k, text in anchors for i in _nearest_lines(stripped, text)}
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2("\n".join(wanted))  # SequenceMatcher caches the second sequence
    best, best_at = 0.0, 0
    for at in sorted(starts):
        matcher.set_seq1("\n".join(stripped[at : at + size]))
        if (ratio := matcher.ratio()) > best:
            best, best_at = ratio, at
    if best < 0.5:
        return "old is not in the file, and nothing in it is close. Re-read the file (read_file) and copy the text."
    shown = "\n".join(f"{best_at + i + 1:>6}\t{line}" for i, line in enumerate(lines[best_at : best_at + size]))
    return (
        f"old is not in the file (not even ignoring whitespace). The closest text, {best:.0%} similar, "
        f"is at lines {best_at + 1}-{best_at + size}:\n{shown}\nRetry with old copied exactly from the file."
    )


def _nearest_lines(lines: list[str], text: str, count: int = 3, cutoff: float = 0.5) -> list[int]:
    """Indices of the `count` lines most similar to `text`."""
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(text)
    scored = []
    for i, line in enumerate(lines):
        matcher.set_seq1(line)
        if matcher.real_quick_ratio() >= cutoff and matcher.quick_ratio() >= cutoff:
            scored.append((matcher.ratio(), -i))
    return [-i for _, i in heapq.nlargest(count, scored)]


def unified_diff(before: str, after: str, rel: str) -> str:
    diff = list(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), f"a/{rel}", f"b/{rel}", n=2, lineterm=""
        )
    )
    if len(diff) > MAX_DIFF_LINES:
        diff = diff[:MAX_DIFF_LINES] + [f"… diff cut ({len(diff) - MAX_DIFF_LINES} more lines)"]
    return "\n".join(diff)


def _edit_file(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    root = ctx.root.resolve()
    old, new = args["old"], args["new"]
    try:
        path = resolve_in(root, args["path"])
    except PathError as exc:
        return ToolResult.error(str(exc))
    if path.is_dir():
        return ToolResult.error(f"{args['path']} is a directory.")
    if not path.exists():
        if old == "":
            return _create(path, root, new)
        return missing_path_error(root, args["path"])
    rel = relative(root, path)
    if refusal := secret_refusal(rel, ctx.secret_allow):
        return refusal
    if is_binary(path):
        return ToolResult.error(f"{rel} is a binary file; it cannot be edited as text.")
    # surrogateescape: bytes that are not UTF-8 are written back unchanged.
    before = path.read_bytes().decode("utf-8", "surrogateescape")
    if old == "":
        if before:
            return ToolResult.error(f"old is empty but {rel} is not; to replace the whole file use write_file.")
        return _create(path, root, new)
    try:
        edit = apply_edit(before, old, new)
    except EditError as exc:
        return ToolResult.error(_printable(f"{rel}: {exc}"))
    path.write_bytes(edit.text.encode("utf-8", "surrogateescape"))
    return ToolResult(
        _printable(f"Edited {rel} ({edit.how}).\n{unified_diff(before, edit.text, rel)}"),
        data={"changes": [{"path": rel, "kind": "update"}]},
    )


def _printable(text: str) -> str:
    """Text for the model: undecodable bytes kept for the file become U+FFFD here."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _create(path: Path, root: Path, content: str) -> ToolResult:
    existed = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8", newline="")
    rel = relative(root, path)
    return ToolResult(
        f"Created {rel} with {lines_label(content)} (old was empty).",
        data={"changes": [{"path": rel, "kind": "update" if existed else "add"}]},
    )


TOOL = Tool(
    name="edit_file",
    description="Replace one occurrence of old with new in a file (whitespace-tolerant); old must be unique.",
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "old": {"type": "string", "description": "exact text to replace; include context to be unique"},
            "new": {"type": "string"},
        },
        "required": ["path", "old", "new"],
    },
    handler=_edit_file,
    mutates=True,
    edits_files=True,
)
