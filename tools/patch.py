"""The `apply_patch` tool: apply a Codex-format patch to the working copy.

All or nothing: every file's new content is computed in memory first, and
files are written (each atomically, keeping its mode) only when every hunk of
every file found its one place. Where Codex would apply an ambiguous hunk at
its first match, or leave a failed patch half applied, we refuse and change
nothing.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Sequence

from tools.files import secret_problem
from tools.patch_match import Ambiguous, FileLines, NoMatch, locate, mismatch_hint
from tools.patch_parse import AddFile, DeleteFile, FileOp, Hunk, PatchError, UpdateFile, parse_patch
from tools.paths import PathError, relative, resolve_in
from tools.registry import Tool, ToolContext, ToolResult

__all__ = ["FileChange", "PatchError", "TOOL", "apply_patch", "parse_patch", "run_cli"]

_LETTER = {"add": "A", "update": "M", "delete": "D"}


@dataclass(frozen=True)
class FileChange:
    path: str  # posix, relative to the working copy
    kind: Literal["add", "update", "delete"]
    move_to: str | None = None

    def summary(self) -> str:
        moved = f" -> {self.move_to}" if self.move_to else ""
        return f"{_LETTER[self.kind]} {self.path}{moved}"


def apply_patch(text: str, root: Path, secret_allow: Sequence[str] | None = None) -> list[FileChange]:
    """Apply `text` under `root`; the changes in patch order. Raises PatchError
    (and then no file has changed).

    With `secret_allow` (for the model: the globs the user allowed), files that
    may hold secrets are not updated: a hunk that misses quotes the file's lines."""
    root = root.resolve()
    tree = _PendingTree()
    changes = [_plan(op, root, tree, secret_allow) for op in parse_patch(text)]
    tree.commit()
    return changes


def _plan(op: FileOp, root: Path, tree: "_PendingTree", secret_allow: Sequence[str] | None) -> FileChange:
    """Record `op`'s effect in `tree` (nothing is written yet)."""
    path = _resolve(root, op.path)
    shown = relative(root, path)
    if path.is_dir():
        raise PatchError(f"{shown} is a directory, not a file.")
    if isinstance(op, UpdateFile) and secret_allow is not None and (problem := secret_problem(shown, secret_allow)):
        raise PatchError(problem)
    if isinstance(op, AddFile):
        tree.write(path, op.content.encode())
        return FileChange(shown, "add")
    if not tree.exists(path):
        if isinstance(op, DeleteFile):
            raise PatchError(f"cannot delete {shown}: no such file.")
        raise PatchError(f"cannot update {shown}: no such file (to create it, use '*** Add File: {op.path}').")
    if isinstance(op, DeleteFile):
        tree.delete(path)
        return FileChange(shown, "delete")

    old = tree.read(path)
    new = _updated(old, op.hunks, shown) if op.hunks else old
    if op.move_to is None:
        tree.write(path, new)
        return FileChange(shown, "update")
    dest = _resolve(root, op.move_to)
    if dest.is_dir():
        raise PatchError(f"cannot move {shown} to {op.move_to}: that is a directory.")
    mode = tree.mode(path)
    tree.delete(path)
    tree.write(dest, new, mode)
    return FileChange(shown, "update", relative(root, dest))


def _resolve(root: Path, path: str) -> Path:
    try:
        return resolve_in(root, path)
    except PathError as exc:
        raise PatchError(str(exc)) from None


def _updated(data: bytes, hunks: tuple[Hunk, ...], shown: str) -> bytes:
    """The file's new bytes after `hunks`. Like Codex, the result always ends
    with a newline; a CRLF file stays CRLF, and undecodable bytes pass through."""
    text = data.decode("utf-8", errors="surrogateescape")
    eol = "\r\n" if text.split("\n", 1)[0].endswith("\r") else "\n"
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if eol == "\r\n":
        lines = [line.removesuffix("\r") for line in lines]

    source = FileLines(lines)
    placed: list[tuple[int, Hunk]] = []
    cursor = 0
    for hunk in hunks:
        hunk, start = _place(source, hunk, cursor, shown, len(hunks))
        placed.append((start, hunk))
        # Like Codex, a bare addition (appended at the end) does not move the
        # search on: the hunks after it still match from where we were.
        if hunk.old or hunk.headers:
            cursor = start + len(hunk.old)

    result: list[str] = []
    done = 0
    for start, hunk in sorted(placed, key=lambda item: item[0]):
        result += lines[done:start]
        done = start
        for op, patch_text in hunk.body:
            if op == "+":
                result.append(patch_text)
                continue
            if op == " ":  # context keeps the file's own text (its whitespace, its punctuation)
                result.append(lines[done])
            done += 1
    result += lines[done:]
    return "".join(line + eol for line in result).encode("utf-8", errors="surrogateescape")


def _place(source: FileLines, hunk: Hunk, cursor: int, shown: str, count: int) -> tuple[Hunk, int]:
    """Where `hunk` goes, retrying without trailing blank context lines."""
    which = f"{shown}: hunk {hunk.number} of {count}"
    try:
        try:
            return hunk, locate(source, hunk, cursor)
        except NoMatch:
            trimmed = hunk.without_trailing_blank_context()
            if trimmed is None:
                raise
            return trimmed, locate(source, trimmed, cursor)
    except Ambiguous as exc:
        places = ", ".join(map(str, exc.line_numbers))
        raise PatchError(
            f"{which} matches {len(exc.line_numbers)} places (lines {places}), so it was not applied. "
            "Add more unchanged context lines, or an '@@ <line>' header naming the enclosing def/class, "
            f"so that it matches one place only. The hunk:\n{hunk.preview()}\nNo file was changed."
        ) from None
    except NoMatch as exc:
        hint = mismatch_hint(source, hunk) if hunk.old else ""
        if cursor and _matches_from_top(source, hunk):
            hint = " It matches above the previous hunk: hunks must follow the order of the file."
        raise PatchError(
            f"{which} did not match: {exc}.{hint} The hunk:\n{hunk.preview()}\n"
            "No file was changed: re-read the file and send the whole patch again with the context lines as they are."
        ) from None


def _matches_from_top(source: FileLines, hunk: Hunk) -> bool:
    try:
        locate(source, hunk, 0)
    except (NoMatch, Ambiguous):
        return False
    return True


class _PendingTree:
    """The working copy as the patch sees it: the disk plus changes not yet written."""

    def __init__(self) -> None:
        self._pending: dict[Path, bytes | None] = {}  # None: to delete
        self._modes: dict[Path, int] = {}

    def exists(self, path: Path) -> bool:
        if path in self._pending:
            return self._pending[path] is not None
        return path.is_file()

    def read(self, path: Path) -> bytes:
        pending = self._pending.get(path)
        return pending if pending is not None else path.read_bytes()

    def mode(self, path: Path) -> int | None:
        if path in self._modes:
            return self._modes[path]
        return stat.S_IMODE(path.stat().st_mode) if path.is_file() else None

    def write(self, path: Path, data: bytes, mode: int | None = None) -> None:
        self._pending[path] = data
        if mode is not None:
            self._modes[path] = mode

    def delete(self, path: Path) -> None:
        self._pending[path] = None

    def commit(self) -> None:
        """Stage every new file beside its target, then rename them all in: a
        write that fails (disk full, permissions) leaves every file as it was."""
        staged: list[tuple[Path, Path]] = []
        try:
            for path, data in self._pending.items():
                if data is None:
                    continue
                mode = self.mode(path)
                path.parent.mkdir(parents=True, exist_ok=True)
                temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.patch-tmp")
                # 0o666 lets the umask decide a new file's mode, as any editor would.
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                staged.append((temp, path))
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                if mode is not None:
                    os.chmod(temp, mode)
        except OSError as exc:
            for temp, _ in staged:
                temp.unlink(missing_ok=True)
            reason = f"{exc.filename or ''}: {exc.strerror or exc}"
            raise PatchError(f"could not write {reason}. No file was changed.") from None
        for temp, path in staged:
            os.replace(temp, path)
        for path, data in self._pending.items():
            if data is None:
                path.unlink(missing_ok=True)


def _handle(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    try:
        changes = apply_patch(args["patch"], ctx.root, ctx.secret_allow)
    except PatchError as exc:
        return ToolResult.error(str(exc))
    return ToolResult(
        output="Applied: " + ", ".join(change.summary() for change in changes),
        data={"changes": [_change_data(change) for change in changes]},
    )


def _change_data(change: FileChange) -> dict[str, str]:
    data = {"path": change.path, "kind": change.kind}
    if change.move_to:
        data["move_to"] = change.move_to
    return data


TOOL = Tool(
    name="apply_patch",
    description=(
        "Edit files with a patch: '*** Begin Patch', then sections '*** Add File: p' (+lines), "
        "'*** Delete File: p', '*** Update File: p' (opt. '*** Move to: q') with '@@ [def/class line]' "
        "hunks of ' ' context (3 lines), '-' old, '+' new lines; then '*** End Patch'."
    ),
    parameters={"type": "object", "properties": {"patch": {"type": "string"}}, "required": ["patch"]},
    handler=_handle,
    mutates=True,
    edits_files=True,
)


def run_cli(source: str, cwd: Path) -> int:
    """`codex-agent apply-patch SOURCE`: patch text, a patch file, or '-' for
    stdin. Prints Codex's success summary, or the reason on stderr."""
    try:
        changes = apply_patch(_read_source(source, cwd), cwd)
    except (PatchError, OSError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    print("Success. Updated the following files:")
    for kind in ("add", "update", "delete"):  # Codex lists A, then M, then D
        for change in changes:
            if change.kind == kind:
                print(f"{_LETTER[kind]} {change.move_to or change.path}")
    return 0


def _read_source(source: str, cwd: Path) -> str:
    if source == "-":
        return sys.stdin.read()
    if "\n" in source:
        return source
    # A one-line argument cannot be a patch (it needs its Begin and End lines).
    return (cwd / source).read_text(encoding="utf-8")
