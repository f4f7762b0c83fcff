"""What a change would carry out of the sandbox that needs the user's say,
judged on git objects (the files' whole contents and modes), never on a
textual diff: git shows no lines for a file it takes for binary, and the
model decides what it takes for binary (a NUL byte, a `-diff` attribute).
Used by git_commit and by apply, which refuse on any finding."""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Sequence

from sandbox.git import blob_contents
from sandbox.merge import Change
from sandbox.secrets import MAX_SCANNED_BYTES, secrets_added

_GITLINK = "160000"


def secrets_in_changes(changes: list[Change], allow: Sequence[str] = (), **where) -> list[str]:
    """Sensitive files, secrets and unscannable files the changes add (see
    `secrets_added`); `where` locates the object store (cwd, git_dir)."""
    kept = [c for c in changes if c.theirs is not None and c.theirs.mode != _GITLINK]
    oids = [e.oid for c in kept for e in (c.base, c.theirs) if e is not None and e.mode != _GITLINK]
    contents = blob_contents(oids, MAX_SCANNED_BYTES, **where)
    return secrets_added(
        ((c.path, contents.get(c.base.oid) if c.base else None, contents[c.theirs.oid]) for c in kept), allow
    )


_SYMLINK = "120000"
_REPO_MARKERS = ("HEAD", "objects", "refs")


def unsafe_paths(changes: list[Change], **where) -> list[str]:
    """What apply must not write into the user's tree: a symlink whose
    target leaves the repository (`README.md -> /etc/passwd`: later tools
    and people follow it), and anything git would take for a repository —
    a `.git` part in any case, or a folder with a bare repository's layout,
    whose config (core.pager, core.fsmonitor) runs when someone types `git
    log` there."""
    added = [c for c in changes if c.theirs is not None]
    links = [c for c in added if c.theirs.mode == _SYMLINK]
    targets = blob_contents([c.theirs.oid for c in links], 4096, **where)
    found = []
    for change in links:
        target = os.fsdecode(targets.get(change.theirs.oid) or b"")
        if link_leaves(change.path, target):
            found.append(f"{change.path} (symlink to {target}, outside the repository)")
    folders: dict[str, set[str]] = {}
    for change in added:
        parts = PurePosixPath(change.path).parts
        if any(part.lower() == ".git" for part in parts):
            found.append(f"{change.path} (inside a .git folder)")
        for depth, entry in enumerate(parts):
            folders.setdefault("/".join(parts[:depth]), set()).add(entry)
    for folder, entries in sorted(folders.items()):
        if all(marker in entries for marker in _REPO_MARKERS):
            found.append(f"{folder or '.'}/ (laid out as a git repository: HEAD, objects/, refs/)")
    return found


def link_leaves(path: str, target: str) -> bool:
    """Whether a symlink at `path` (relative to the repository) points outside it."""
    if not target or target.startswith("/"):
        return True
    depth = len(PurePosixPath(path).parts) - 1
    for part in PurePosixPath(target).parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            return True
    return False
