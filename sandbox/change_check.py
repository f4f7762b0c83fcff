"""What a change would carry out of the sandbox that needs the user's say,
judged on git objects (the files' whole contents and modes), never on a
textual diff: git shows no lines for a file it takes for binary, and the
model decides what it takes for binary (a NUL byte, a `-diff` attribute).
Used by git_commit and by apply, which refuse on any finding."""

from __future__ import annotations

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
