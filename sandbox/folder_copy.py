"""Copy a plain folder into a working copy, leaving out what is not source."""

from __future__ import annotations

import os
import shutil
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Environments, caches and other version-control data: large, rebuilt on
# demand, and never what a task is about.
SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)


def copy_folder(source: Path, dest: Path, *, exclude: Path | None = None) -> None:
    """Copy `source` to the new folder `dest`, keeping symlinks as symlinks.

    Skips SKIPPED_DIRS, any virtualenv (a folder with pyvenv.cfg), special
    files such as sockets and fifos (copying a fifo would block), and
    `exclude` — the state folder, should it live inside `source`.
    """
    excluded = os.path.realpath(exclude) if exclude is not None else None

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set()
        for name in names:
            path = os.path.join(folder, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISDIR(mode):
                if (
                    name in SKIPPED_DIRS
                    or os.path.exists(os.path.join(path, "pyvenv.cfg"))
                    or os.path.realpath(path) == excluded
                ):
                    skipped.add(name)
            elif not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                skipped.add(name)
        return skipped

    # shutil.copy: content and permission bits; timestamps and xattrs are not
    # worth the system calls. Files are copied by several threads: on a slow
    # disk the time goes in creating files, and those waits overlap.
    with ThreadPoolExecutor(max_workers=8) as pool:
        copies = []
        shutil.copytree(source, dest, symlinks=True, ignore=ignore,
                        copy_function=lambda src, dst: copies.append(pool.submit(shutil.copy, src, dst)))
        for copy in copies:
            copy.result()  # the first failure, if any, is raised here
