"""Parse the Codex `*** Begin Patch` format into file operations.

    *** Begin Patch
    *** Add File: path        followed by '+' lines
    *** Delete File: path
    *** Update File: path     optionally '*** Move to: path', then hunks:
    @@ optional context line  (several '@@' lines in a row narrow step by step)
     context / -removed / +added lines
    *** End of File           optional: the hunk sits at the end of the file
    *** End Patch

Lenient the way Codex is about what models really emit: surrounding blank
lines, a heredoc wrapper (`<<'EOF'` ... `EOF`), padded markers, a blank line
inside a hunk meaning an empty context line. Also accepted: a Markdown code
fence around the patch and unified-diff hunk headers (`@@ -3,7 +3,8 @@ def f():`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BEGIN, END = "*** Begin Patch", "*** End Patch"
ADD, DELETE, UPDATE, MOVE = "*** Add File:", "*** Delete File:", "*** Update File:", "*** Move to:"
END_OF_FILE = "*** End of File"

_HEREDOC_OPEN = re.compile(r"""^(?:\S*apply_?patch\s*)?<<-?\s*(['"]?)(\w+)\1$""")
_UNIFIED_RANGES = re.compile(r"^-\d+(?:,\d+)?\s+\+\d+(?:,\d+)?\s*@@(.*)$")


class PatchError(Exception):
    """A patch that cannot be parsed or applied; the message is for the model."""


@dataclass(frozen=True)
class Hunk:
    """One `@@` section of an Update File."""

    number: int  # 1-based within its file, for error messages
    headers: tuple[str, ...]  # the '@@ ...' context lines, outermost first
    body: tuple[tuple[str, str], ...]  # (' ' | '-' | '+', text)
    end_of_file: bool = False

    @property
    def old(self) -> list[str]:
        return [text for op, text in self.body if op != "+"]

    @property
    def new(self) -> list[str]:
        return [text for op, text in self.body if op != "-"]

    def without_trailing_blank_context(self) -> "Hunk | None":
        """The hunk minus trailing empty context lines (often just the blank
        line a model leaves before the next marker), or None if it has none."""
        body = list(self.body)
        while body and body[-1] == (" ", ""):
            body.pop()
        if len(body) == len(self.body) or not body:
            return None
        return Hunk(self.number, self.headers, tuple(body), self.end_of_file)

    def preview(self, max_lines: int = 4) -> str:
        shown = [f"@@ {h}" for h in self.headers] + [op + text for op, text in self.body]
        more = ["..."] if len(shown) > max_lines else []
        return "\n".join("    " + line[:120] for line in shown[:max_lines] + more)


@dataclass(frozen=True)
class AddFile:
    path: str
    content: str


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class UpdateFile:
    path: str
    move_to: str | None
    hunks: tuple[Hunk, ...]


FileOp = AddFile | DeleteFile | UpdateFile


def parse_patch(text: str) -> list[FileOp]:
    """The file operations of a patch, in order. Raises PatchError."""
    lines = _patch_lines(text)
    ops: list[FileOp] = []
    i, end = 1, len(lines) - 1  # the body lies between the Begin and End markers
    while i < end:
        if not lines[i].strip():
            i += 1
            continue
        op, i = _parse_op(lines, i, end)
        ops.append(op)
    if not ops:
        raise PatchError("the patch is empty: put at least one '*** Add/Delete/Update File: path' section in it.")
    return ops


def _patch_lines(text: str) -> list[str]:
    """The patch's lines from `*** Begin Patch` to `*** End Patch`, with any
    wrapper (heredoc, code fence) and surrounding blank lines removed."""
    lines = _strip_blank_edges([line.removesuffix("\r") for line in text.split("\n")])
    if len(lines) >= 2:
        heredoc = _HEREDOC_OPEN.match(lines[0].strip())
        fenced = lines[0].startswith("```") and lines[-1].strip() == "```"
        if fenced or (heredoc and lines[-1].strip() == heredoc.group(2)):
            lines = _strip_blank_edges(lines[1:-1])
    if not lines or lines[0].strip() != BEGIN:
        raise PatchError(f"the first line of the patch must be '{BEGIN}'.")
    if len(lines) < 2 or lines[-1].strip() != END:
        raise PatchError(f"the last line of the patch must be '{END}'.")
    return lines


def _strip_blank_edges(lines: list[str]) -> list[str]:
    start, stop = 0, len(lines)
    while start < stop and not lines[start].strip():
        start += 1
    while stop > start and not lines[stop - 1].strip():
        stop -= 1
    return lines[start:stop]


def _parse_op(lines: list[str], i: int, end: int) -> tuple[FileOp, int]:
    head = lines[i].strip()
    if head.startswith(ADD):
        path, i = _marker_path(head, ADD, i), i + 1
        added: list[str] = []
        while i < end and lines[i].startswith("+"):
            added.append(lines[i][1:] + "\n")
            i += 1
        return AddFile(path, "".join(added)), i
    if head.startswith(DELETE):
        return DeleteFile(_marker_path(head, DELETE, i)), i + 1
    if head.startswith(UPDATE):
        return _parse_update(lines, i, end)
    raise PatchError(
        f"patch line {i + 1}: {head[:80]!r} is not a file operation. "
        f"Expected '{ADD} path', '{DELETE} path' or '{UPDATE} path'."
    )


def _marker_path(line: str, marker: str, i: int) -> str:
    path = line[len(marker):].strip()
    if not path:
        raise PatchError(f"patch line {i + 1}: '{marker}' needs a path.")
    return path


def _parse_update(lines: list[str], i: int, end: int) -> tuple[UpdateFile, int]:
    path = _marker_path(lines[i].strip(), UPDATE, i)
    i += 1
    move_to = None
    if i < end and lines[i].strip().startswith(MOVE):
        move_to = _marker_path(lines[i].strip(), MOVE, i)
        i += 1

    hunks: list[Hunk] = []
    headers: list[str] = []
    body: list[tuple[str, str]] = []
    in_hunk = False  # an '@@' line or a diff line has opened a hunk

    def close(end_of_file: bool = False) -> None:
        nonlocal headers, body, in_hunk
        hunks.append(Hunk(len(hunks) + 1, tuple(headers), tuple(body), end_of_file))
        headers, body, in_hunk = [], [], False

    while i < end:
        line = lines[i]
        if line.rstrip() == END_OF_FILE:
            if not body:
                raise PatchError(f"patch line {i + 1}: '{END_OF_FILE}' must follow the lines of a hunk.")
            close(end_of_file=True)
        elif line.startswith("***"):  # the next file operation
            break
        elif line.startswith("@@"):
            if body:
                close()
            header = _header_text(line[2:])
            if header:
                headers.append(header)
            in_hunk = True
        elif line[:1] in (" ", "-", "+"):
            body.append((line[0], line[1:]))
            in_hunk = True
        elif not line.strip():
            if in_hunk:  # a model's empty context line lost its leading space
                body.append((" ", ""))
        else:
            raise PatchError(
                f"patch line {i + 1} (in {path}): {line[:80]!r} does not start with ' ' (context), "
                "'-' (remove), '+' (add) or '@@' (new hunk)."
            )
        i += 1
    if body:
        close()
    elif headers:
        raise PatchError(f"{path}: the hunk '@@ {headers[-1]}' has no lines.")
    if not hunks and move_to is None:
        raise PatchError(f"{path}: '{UPDATE}' has no hunks (no '@@' section with lines).")
    return UpdateFile(path, move_to, tuple(hunks)), i


def _header_text(rest: str) -> str:
    """The context text of an '@@' line; a unified-diff range is ignored."""
    rest = rest.strip()
    ranges = _UNIFIED_RANGES.match(rest)
    return (ranges.group(1) if ranges else rest).strip()
