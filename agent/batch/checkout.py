"""A fresh git checkout of a task's repository at its base commit.

The source is never modified: a local repository is cloned (objects
hard-linked, which git never rewrites in place); a URL is cloned once into a
bare cache under the user's cache folder, refreshed when a task needs a
commit it lacks, and each task clones from the cache with shared objects. A
plain folder (no git) is copied and given a repository of its own, so every
checkout can be diffed, patched and reset the same way.

The repository and commit come from a task file, which may be hostile: the
commit must be a hex id or a valid ref name, a URL one of the plain
transports, and both follow `--` / `--end-of-options` wherever git takes
them, so neither can become an option (`--upload-pack=…` runs a command).
"""

from __future__ import annotations

import fcntl
import hashlib
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from agent.batch.paths import cache_dir
from agent.batch.tasks import is_url
from sandbox.folder_copy import copy_folder
from sandbox.git import GitError, check_revision, git, resolve, toplevel

# Transports that only fetch; `ext::` and the like run commands.
_SCHEMES = ("https://", "http://", "ssh://", "git://", "file://", "git@")


class CheckoutError(Exception):
    """The repository or commit cannot be had; the task is an infrastructure error."""


def checkout(repo: str, base_commit: str | None, dest: Path) -> Path:
    """Make `dest` a checkout of `repo` at `base_commit` (default: its HEAD)."""
    if base_commit is not None:
        try:
            check_revision(base_commit)
        except GitError as exc:
            raise CheckoutError(f"base_commit {exc}") from exc
    if is_url(repo):
        if not repo.lower().startswith(_SCHEMES):
            raise CheckoutError(f"repository {repo}: only {', '.join(_SCHEMES)} URLs are allowed")
        return _clone(_cached(repo, base_commit), base_commit or "HEAD", dest, shared=True)
    source = Path(repo)
    if not source.is_dir():
        raise CheckoutError(f"repository {repo} does not exist")
    if toplevel(source) is None:
        if base_commit:
            raise CheckoutError(f"{repo} is not a git repository, so base_commit {base_commit} cannot be used")
        return _copy(source, dest)
    return _clone(source, base_commit or "HEAD", dest, shared=False)


def _clone(source: Path, rev: str, dest: Path, *, shared: bool) -> Path:
    commit = resolve(source, rev)
    if commit is None:
        raise CheckoutError(f"commit {rev} not found in {source}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        git("clone", "--quiet", "--no-checkout", *(["--shared"] if shared else []), "--", str(source), str(dest),
            cwd=dest.parent)
        git("checkout", "--quiet", "--detach", commit, cwd=dest)
        # The checkout stands alone: nothing done in it can reach the source.
        git("remote", "remove", "origin", cwd=dest)
    except GitError as exc:
        raise CheckoutError(str(exc)) from exc
    return dest


def _copy(source: Path, dest: Path) -> Path:
    copy_folder(source, dest)
    try:
        git("init", "--quiet", "--initial-branch=main", cwd=dest)
        git("add", "-A", cwd=dest)
        git("commit", "--quiet", "--no-verify", "-m", "batch: starting state", cwd=dest, identity=True)
    except GitError as exc:
        raise CheckoutError(str(exc)) from exc
    return dest


def folder_name(repo: str) -> str:
    """A cache folder's readable part for a repository URL or path: its last
    component, without `.git`, in characters safe in a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", repo.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))


def _cached(url: str, base_commit: str | None) -> Path:
    """The bare cache of `url`, holding `base_commit` (fetched if missing)."""
    cache = cache_dir() / "repos" / f"{folder_name(url)}-{hashlib.sha256(url.encode()).hexdigest()[:12]}.git"
    with locked(cache.with_suffix(".lock")):
        try:
            if not cache.is_dir():
                git("clone", "--quiet", "--bare", "--", url, str(cache), cwd=cache.parent)
            elif base_commit and resolve(cache, base_commit) is None:
                git("fetch", "--quiet", "--prune", "--end-of-options", url, "+refs/heads/*:refs/heads/*",
                    "+refs/tags/*:refs/tags/*", cwd=cache)
        except GitError as exc:
            raise CheckoutError(f"cannot fetch {url}: {exc}") from exc
        if base_commit and resolve(cache, base_commit) is None:
            # Not on a branch or tag any more: servers such as GitHub still serve it by id.
            try:
                git("fetch", "--quiet", "--end-of-options", url, base_commit, cwd=cache)
            except GitError as exc:
                raise CheckoutError(f"commit {base_commit} not found in {url}: {exc}") from exc
    return cache


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Workers cloning the same URL (or building the same environment) take
    turns: an flock, released if a worker dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
