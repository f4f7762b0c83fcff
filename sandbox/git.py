"""Git plumbing for the working copy, run as plain `git` processes.

Every call is insulated from the caller's environment and the user's hooks:
repository-location variables (GIT_DIR, GIT_INDEX_FILE…) are dropped so they
cannot redirect us, hooks are disabled and signing is off, because these
commits are private bookkeeping, not the user's history.

This git runs outside the sandbox, over a working copy that model-run
commands write. So it must never start a git inside a repository nested in
the working copy: that repository's config (core.fsmonitor, filter drivers)
is the model's, and would run with the agent's rights. `git add` runs
`git status` inside every submodule its index lists, hence `staged_index`
keeps submodule folders out of what it adds; fsmonitor and submodule
recursion are off for every call, and `-c` settings reach child gits too.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
_SAFE_CONFIG = (
    "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false",
    "-c", "core.fsmonitor=false", "-c", "submodule.recurse=false",
)
_GITLINK = b"160000 "
_OBJECT_NAME = re.compile(r"[0-9a-fA-F]{4,64}")
IDENTITY = {
    "GIT_AUTHOR_NAME": "codex-agent",
    "GIT_AUTHOR_EMAIL": "codex-agent@localhost",
    "GIT_COMMITTER_NAME": "codex-agent",
    "GIT_COMMITTER_EMAIL": "codex-agent@localhost",
}


class GitError(RuntimeError):
    """A git command failed; the message carries git's own explanation."""


@functools.cache
def _filters_off(cwd: Path, location: tuple[str, ...]) -> tuple[str, ...]:
    """`-c` settings that switch off every filter driver the configuration
    of this repository defines (and git-lfs's, configured or not). Which
    files a filter applies to is the `.gitattributes` of a tree the model
    writes: git-lfs would fetch from the URL the model put in `.lfsconfig`,
    outside any sandbox, and any other driver runs its program. Files are
    compared and written as git stores them instead."""
    listing = subprocess.run(
        ["git", *location, "config", "--name-only", "--get-regexp", r"^filter\."],
        cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k not in _LOCATION_VARS},
    ).stdout
    names = {"lfs", *(line.split(".", 1)[1].rsplit(".", 1)[0] for line in listing.splitlines() if "." in line)}
    return tuple(
        option for name in sorted(names)
        for key in ("clean", "smudge", "process", "required=false")
        for option in ("-c", f"filter.{name}.{key}" + ("" if "=" in key else "="))
    )


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
        ["git", *_SAFE_CONFIG, *_filters_off(cwd, tuple(location)), *location, *args],
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


def snapshot_tree(cwd: Path) -> str:
    """Write the work tree as it is now — staged, unstaged and untracked files,
    minus ignored ones — as a tree object, without touching the real index."""
    with staged_index(cwd) as index:
        return git_text("write-tree", index=index, cwd=cwd)


@contextmanager
def staged_index(cwd: Path) -> Iterator[Path]:
    """A private index holding the work tree `cwd` as it is now.

    Starting from a copy of the real index lets `git add` reuse its stat
    cache, so only files that changed are read. The copy keeps the index's
    mtime: git re-reads "racily clean" entries (files changed in the same
    second the index was written) by comparing with it, and a fresh mtime
    would hide a same-size edit made right after a checkout. Submodules keep
    the commit the index records (see the module doc): the adding skips
    their folders, unless one is gone or became a file.
    """
    real_index = Path(git_text("rev-parse", "--git-path", "index", cwd=cwd))
    if not real_index.is_absolute():
        real_index = cwd / real_index
    with tempfile.TemporaryDirectory(prefix="codex-agent-index-") as tmp:
        index = Path(tmp) / "index"
        if real_index.exists():
            shutil.copy2(real_index, index)
        add_all(cwd, index=index)
        yield index


def add_all(cwd: Path, *, index: Path | None = None) -> None:
    """`git add -A` of the work tree, except the folders of submodules, which
    keep the commit the index records: adding one would run a git inside it
    (see the module doc)."""
    where = {"cwd": cwd, "index": index}
    excluded = [b":(exclude,literal)" + path for path in _submodule_folders(cwd, where)]
    spec = b"\0".join([b".", *excluded])
    git("add", "-A", "--pathspec-from-file=-", "--pathspec-file-nul", input=spec, **where)


def _submodule_folders(top: Path, where: dict) -> list[bytes]:
    listing = git("ls-files", "--stage", "-z", **where)
    links = [record.split(b"\t", 1)[1] for record in listing.split(b"\0") if record.startswith(_GITLINK)]
    folders = [(path, top / os.fsdecode(path)) for path in links]
    return [path for path, folder in folders if folder.is_dir() and not folder.is_symlink()]


def git_dirs(work_tree: Path) -> tuple[Path, Path]:
    """(git dir, common dir) of the repository whose work tree is `work_tree`.

    Read from the files rather than asked of git, which must not run inside a
    model-written folder (see the module doc). A linked worktree's `.git` is a
    file naming its own git dir, which names the shared one in `commondir`;
    otherwise both are `.git` itself.
    """
    dot_git = work_tree / ".git"
    if not dot_git.is_file():
        return dot_git, dot_git
    pointer = dot_git.read_text(errors="surrogateescape").strip().removeprefix("gitdir:").strip()
    own = (work_tree / pointer).resolve()
    commondir = own / "commondir"
    common = (own / commondir.read_text(errors="surrogateescape").strip()).resolve() if commondir.is_file() else own
    return own, common


def commit_tree(cwd: Path, tree: str, parents: Sequence[str], message: str) -> str:
    parent_args = [arg for p in parents for arg in ("-p", p)]
    return git_text("commit-tree", tree, *parent_args, "-m", message, cwd=cwd, identity=True)


def check_revision(rev: str) -> str:
    """`rev` when it is a hex object name or a ref name git accepts; GitError
    otherwise. For revisions from outside (task files): git must never take
    one for an option (`--upload-pack=…` runs a command) or a revision
    expression."""
    if _OBJECT_NAME.fullmatch(rev):
        return rev
    if rev.startswith("-") or subprocess.run(
        ["git", "check-ref-format", "--allow-onelevel", rev], capture_output=True, stdin=subprocess.DEVNULL
    ).returncode != 0:
        raise GitError(f"{rev!r} is neither a commit id (hex) nor a valid ref name")
    return rev


def blob_contents(oids: Sequence[str], limit: int, **where) -> dict[str, bytes | None]:
    """The contents of blobs, read in two git processes; None for a blob over `limit` bytes."""
    if not oids:
        return {}
    unique = list(dict.fromkeys(oids))
    sizes = git("cat-file", "--batch-check=%(objectname) %(objectsize)", input="\n".join(unique).encode(), **where)
    small = [oid for oid, size in (line.split() for line in sizes.decode().splitlines()) if int(size) <= limit]
    contents: dict[str, bytes | None] = dict.fromkeys(unique)
    data = git("cat-file", "--batch", input="\n".join(small).encode(), **where) if small else b""
    at = 0
    for oid in small:
        header_end = data.index(b"\n", at)
        size = int(data[at:header_end].split()[2])
        contents[oid] = data[header_end + 1:header_end + 1 + size]
        at = header_end + 1 + size + 1
    return contents


def resolve(cwd: Path, rev: str) -> str | None:
    """The object id `rev` names, or None when it does not exist (e.g. an unborn HEAD)."""
    if rev.startswith("-"):  # an option, not a revision (rev-parse has no --end-of-options before git 2.43)
        return None
    try:
        return git_text("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=cwd)
    except GitError:
        return None
