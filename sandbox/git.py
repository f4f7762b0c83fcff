"""Git plumbing for the working copy, run as plain `git` processes.

Every call is insulated from the caller's environment and the user's hooks:
repository-location variables (GIT_DIR, GIT_INDEX_FILE…) are dropped so they
cannot redirect us, hooks are disabled and signing is off, because these
commits are private bookkeeping, not the user's history.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

_LOCATION_VARS = {
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
}
_SAFE_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false")
IDENTITY = {
    "GIT_AUTHOR_NAME": "codex-agent",
    "GIT_AUTHOR_EMAIL": "codex-agent@localhost",
    "GIT_COMMITTER_NAME": "codex-agent",
    "GIT_COMMITTER_EMAIL": "codex-agent@localhost",
}


class GitError(RuntimeError):
    """A git command failed; the message carries git's own explanation."""


def git(
    *args: str,
    cwd: Path,
    git_dir: Path | None = None,
    work_tree: Path | None = None,
    index: Path | None = None,
    input: bytes | None = None,
    identity: bool = False,
) -> bytes:
    """Run git and return its stdout; raise GitError with stderr on failure."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARS}
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    if identity:
        env.update(IDENTITY)
    location = []
    if git_dir is not None:
        location += ["--git-dir", str(git_dir)]
    if work_tree is not None:
        location += ["--work-tree", str(work_tree)]
    proc = subprocess.run(
        ["git", *_SAFE_CONFIG, *location, *args],
        cwd=cwd,
        env=env,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip() or f"exit code {proc.returncode}"
        raise GitError(f"git {' '.join(args[:2])} failed: {detail}")
    return proc.stdout


def git_text(*args: str, **kwargs) -> str:
    return git(*args, **kwargs).decode().strip()


def toplevel(path: Path) -> Path | None:
    """The work tree root of the repository containing `path`, or None."""
    try:
        return Path(git_text("rev-parse", "--show-toplevel", cwd=path))
    except GitError:
        return None


def project_root(path: Path) -> Path:
    """Where a project starts: the repository's top level, or `path` itself
    for a plain folder."""
    return (toplevel(path) or path).resolve()


def snapshot_tree(cwd: Path, *, git_dir: Path | None = None, work_tree: Path | None = None) -> str:
    """Write the work tree as it is now — staged, unstaged and untracked files,
    minus ignored ones — as a tree object, without touching the real index.

    Starting from a copy of the real index lets `git add` reuse its stat
    cache, so only files that changed are read. The copy keeps the index's
    mtime: git re-reads "racily clean" entries (files changed in the same
    second the index was written) by comparing with it, and a fresh mtime
    would hide a same-size edit made right after a checkout.
    """
    where = {"cwd": cwd, "git_dir": git_dir, "work_tree": work_tree}
    real_index = Path(git_text("rev-parse", "--git-path", "index", **where))
    if not real_index.is_absolute():
        real_index = cwd / real_index
    with tempfile.TemporaryDirectory(prefix="codex-agent-index-") as tmp:
        index = Path(tmp) / "index"
        if real_index.exists():
            shutil.copy2(real_index, index)
        git("add", "-A", index=index, **where)
        return git_text("write-tree", index=index, **where)


def commit_tree(cwd: Path, tree: str, parents: Sequence[str], message: str, *, git_dir: Path | None = None) -> str:
    parent_args = [arg for p in parents for arg in ("-p", p)]
    return git_text("commit-tree", tree, *parent_args, "-m", message, cwd=cwd, git_dir=git_dir, identity=True)


def resolve(cwd: Path, rev: str, *, git_dir: Path | None = None) -> str | None:
    """The object id `rev` names, or None when it does not exist (e.g. an unborn HEAD)."""
    try:
        return git_text("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=cwd, git_dir=git_dir)
    except GitError:
        return None
