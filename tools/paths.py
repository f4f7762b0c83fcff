"""Confine every path the model names to the working copy."""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath


class PathError(ValueError):
    """A path the model may not touch; the message is written for the model."""


def resolve_in(root: Path, path: str) -> Path:
    """Resolve `path` (relative to `root`) and refuse anything outside `root`.

    `..`, absolute paths and symlinks (at any depth, including the last part)
    that lead outside the working copy are refused. The result need not exist.
    """
    if not isinstance(path, str) or not path.strip():
        raise PathError("empty path.")
    if "\x00" in path:
        raise PathError("path contains a NUL byte.")
    root = root.resolve()
    candidate = Path(path)
    if candidate.is_absolute():
        # Models often echo the absolute path they were shown; accept it when it
        # is inside the working copy.
        try:
            candidate = candidate.relative_to(root)
        except ValueError:
            raise PathError(f"{path}: absolute paths outside the workspace are not allowed.") from None
    resolved = Path(os.path.realpath(root / candidate))
    if resolved != root and root not in resolved.parents:
        raise PathError(f"{path}: resolves outside the workspace (via '..' or a symlink); refused.")
    if resolved == root / ".git" or (root / ".git") in resolved.parents:
        raise PathError(f"{path}: the .git folder is managed by the agent; use git_commit instead.")
    return resolved


def plain_relative(path: str) -> str:
    """`path`, from data (a patch header, a task file), as a plain relative
    path: no absolute path, no `..`, no NUL. Judged on the text alone, because
    the same text is later joined to other folders where no symlink keeps a
    `..` in bounds."""
    if not path or "\x00" in path:
        raise PathError(f"{path!r}: empty, or contains a NUL byte.")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise PathError(f"{path}: absolute paths and '..' are not allowed.")
    return pure.as_posix()


def read_own_file(path: Path, limit: int = 64 << 20) -> bytes | None:
    """A file the agent had a command write into the working copy, read by the
    host. The command's code may since have swapped it for a link (to
    /proc/self/environ, a file the sandbox hides) or a FIFO: only a regular
    file, not through a link in its last part, at most `limit` bytes; None
    otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = file.read(limit + 1)
    return data if len(data) <= limit else None


def relative(root: Path, path: Path) -> str:
    """The path as the model should see it: relative to the working copy, with '/'."""
    return path.resolve().relative_to(root.resolve()).as_posix()
