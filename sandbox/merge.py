"""Bring the agent's changes into the user's folder, file by file, three-way.

For every path the agent changed (base → theirs) we look at the user's file
as it is on disk now ("ours"):

- ours is still the base version  → take the agent's version;
- ours already equals the agent's → nothing to do;
- both changed a text file        → `git merge-file`; a clean merge is taken;
- anything else                   → a conflict.

Any conflict refuses the whole apply before a single byte is written, so the
user's tree is never left half-applied or silently overwritten. Only the
changed paths are written, through a private index, so the user's own index
(their staged state) and every other file stay exactly as they were.
Comparisons are made on git objects — files are hashed through git's clean
filters — so line-ending and LFS conversions don't read as edits.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.git import GitError, git

_SYMLINK, _GITLINK = "120000", "160000"


@dataclass
class ApplyResult:
    ok: bool
    message: str
    conflicts: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Entry:
    mode: str
    oid: str


@dataclass(frozen=True)
class Change:
    path: str
    base: Entry | None
    theirs: Entry | None


class _Target:
    """The user's folder seen through a git object store (theirs or ours)."""

    def __init__(self, folder: Path, git_dir: Path | None) -> None:
        self.folder = folder
        self.git_dir = git_dir

    def git(self, *args: str, index: Path | None = None, input: bytes | None = None) -> bytes:
        return git(
            "--literal-pathspecs", *args,
            cwd=self.folder, git_dir=self.git_dir, work_tree=self.folder, index=index, input=input,
        )


def tree_changes(cwd: Path, base: str, theirs: str, *, git_dir: Path | None = None) -> list[Change]:
    raw = git("diff-tree", "-r", "-z", "--no-renames", base, theirs, cwd=cwd, git_dir=git_dir)
    fields = raw.split(b"\0")
    changes = []
    for meta, path in zip(fields[0::2], fields[1::2]):
        if not meta:
            continue
        old_mode, new_mode, old_oid, new_oid, _status = meta.lstrip(b":").decode().split(" ")
        changes.append(Change(os.fsdecode(path), _entry(old_mode, old_oid), _entry(new_mode, new_oid)))
    return changes


def _entry(mode: str, oid: str) -> Entry | None:
    return None if set(mode) == {"0"} else Entry(mode, oid)


def apply_changes(changes: list[Change], folder: Path, *, git_dir: Path | None = None) -> ApplyResult:
    """Write `changes` into `folder` (a work tree of the repo at `git_dir`, or of
    the repository `folder` itself is in when git_dir is None)."""
    if not changes:
        return ApplyResult(True, "No changes to apply.")
    target = _Target(folder, git_dir)
    ours, problems = _current_entries(target, [c.path for c in changes])
    result: dict[str, Entry | None] = {}
    conflicts: dict[str, str] = dict(problems)
    for change in changes:
        if change.path in conflicts:
            continue
        mine = ours.get(change.path)
        if mine == change.theirs:
            continue
        if mine == change.base:
            result[change.path] = change.theirs
            continue
        merged = _merge(target, mine, change.base, change.theirs)
        if merged is None:
            conflicts[change.path] = _why(mine, change)
        else:
            result[change.path] = merged
    if conflicts:
        listing = "; ".join(f"{path} ({why})" for path, why in sorted(conflicts.items()))
        return ApplyResult(
            False,
            f"Nothing was applied: {len(conflicts)} file(s) changed in your tree since the agent "
            f"started, and the changes cannot be merged: {listing}.",
            conflicts=sorted(conflicts),
        )
    saved = _save(target.folder, result)
    try:
        _write(target, result)
    except BaseException as exc:  # a Ctrl-C, or a SIGTERM made KeyboardInterrupt, too: never half-applied
        _restore(target.folder, saved)
        if not isinstance(exc, (GitError, OSError)):
            raise
        return ApplyResult(False, f"Nothing was applied: {exc}.")
    applied = sorted(result)
    # Named, because `runs ID --apply` may be typed in another folder than the one it lands in.
    files = f"{len(applied)} file" + ("" if len(applied) == 1 else "s")
    return ApplyResult(True, f"Applied changes to {files} in {folder}.", applied=applied)


def _why(mine: Entry | None, change: Change) -> str:
    if mine is None:
        return "you deleted it; the agent changed it"
    if change.base is None:
        return "you created it too, with different content"
    if change.theirs is None:
        return "you changed it; the agent deleted it"
    return "you and the agent both changed it, and the edits overlap"


def _current_entries(target: _Target, paths: list[str]) -> tuple[dict[str, Entry], dict[str, str]]:
    """Hash the user's files at `paths` as they are on disk (ignored ones included)."""
    present, problems = [], {}
    for path in paths:
        full = target.folder / path
        if full.is_dir() and not full.is_symlink():
            problems[path] = "it is a folder in your tree"
        elif os.path.lexists(full):
            present.append(path)
        elif _blocked_by_file(target.folder, path):
            problems[path] = "a parent folder is a file in your tree"
    if not present:
        return {}, problems
    with tempfile.TemporaryDirectory(prefix="codex-agent-apply-") as tmp:
        index = Path(tmp) / "index"
        spec = b"\0".join(os.fsencode(p) for p in present)
        target.git("add", "-f", "--pathspec-from-file=-", "--pathspec-file-nul", index=index, input=spec)
        listing = target.git("ls-files", "-s", "-z", index=index)
    entries = {}
    for record in filter(None, listing.split(b"\0")):
        info, path = record.split(b"\t", 1)
        mode, oid, _stage = info.decode().split(" ")
        entries[os.fsdecode(path)] = Entry(mode, oid)
    return entries, problems


def _blocked_by_file(folder: Path, path: str) -> bool:
    parent = (folder / path).parent
    while parent != folder and not os.path.lexists(parent):
        parent = parent.parent
    return parent != folder and not parent.is_dir()


def _merge(target: _Target, mine: Entry | None, base: Entry | None, theirs: Entry | None) -> Entry | None:
    """A clean text merge of three versions as a new blob, or None."""
    versions = (mine, base, theirs)
    if any(v is None or v.mode in (_SYMLINK, _GITLINK) for v in versions):
        return None
    with tempfile.TemporaryDirectory(prefix="codex-agent-merge-") as tmp:
        files = []
        for name, version in zip(("yours", "start", "agent"), versions):
            path = Path(tmp) / name
            path.write_bytes(target.git("cat-file", "blob", version.oid))
            files.append(str(path))
        try:
            merged = target.git("merge-file", "-p", *files)
        except GitError:  # conflicts (exit > 0) or binary content
            return None
    oid = target.git("hash-object", "-w", "--stdin", input=merged).decode().strip()
    return Entry(theirs.mode if mine.mode == base.mode else mine.mode, oid)


def _write(target: _Target, result: dict[str, Entry | None]) -> None:
    # Deletions first, so a file replaced by a folder of the same name works.
    for path, entry in result.items():
        if entry is None:
            full = target.folder / path
            full.unlink(missing_ok=True)
            _remove_empty_parents(full.parent, target.folder)
    writes = {p: e for p, e in result.items() if e is not None}
    if not writes:
        return
    with tempfile.TemporaryDirectory(prefix="codex-agent-apply-") as tmp:
        index = Path(tmp) / "index"
        info = b"".join(f"{e.mode} {e.oid}\t".encode() + os.fsencode(p) + b"\0" for p, e in writes.items())
        target.git("update-index", "-z", "--index-info", index=index, input=info)
        # checkout-index applies smudge filters and file modes, like a checkout.
        paths = b"\0".join(os.fsencode(p) for p in writes)
        target.git("checkout-index", "-f", "-z", "--stdin", index=index, input=paths)


_Saved = tuple[str, bytes | str, int] | None  # ("file", content, mode) | ("link", target, 0) | None: absent


def _save(folder: Path, paths: dict[str, Entry | None]) -> dict[str, _Saved]:
    """The user's files `_write` may replace, so a write that fails half way can be undone."""
    saved: dict[str, _Saved] = {}
    for path in paths:
        full = folder / path
        if full.is_symlink():
            saved[path] = ("link", os.readlink(full), 0)
        elif full.is_file():
            saved[path] = ("file", full.read_bytes(), full.stat().st_mode & 0o7777)
        else:
            saved[path] = None
    return saved


def _restore(folder: Path, saved: dict[str, _Saved]) -> None:
    for path, before in saved.items():
        full = folder / path
        if os.path.lexists(full) and not full.is_dir():
            full.unlink()
        if before is None:
            _remove_empty_parents(full.parent, folder)
            continue
        kind, content, mode = before
        full.parent.mkdir(parents=True, exist_ok=True)
        if kind == "link":
            os.symlink(content, full)
        else:
            full.write_bytes(content)
            os.chmod(full, mode)


def _remove_empty_parents(folder: Path, top: Path) -> None:
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
