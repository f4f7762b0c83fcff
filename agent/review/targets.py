"""What a review looks at: a diff and the changed files as they are after it.

Each kind of target (uncommitted changes, a branch, a commit, a patch file, a
folder for `audit`) becomes the same `Target`: the diff text, and per changed
file its new content and the added line numbers. Nothing here writes to the
repository: untracked files are read from disk, other revisions with `git show`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from sandbox.git import GitError, git, resolve, toplevel
from sandbox.secrets import added_lines
from tools.paths import PathError, plain_relative

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's id of the empty tree
MAX_FILE_BYTES = 1_000_000  # larger files are generated or data: not reviewed
_DIFF_FLAGS = ("--no-color", "--no-ext-diff", "--unified=3")


class TargetError(Exception):
    """The target cannot be read (not a repository, unknown revision, missing file)."""


@dataclass
class ChangedFile:
    path: str  # relative to Target.root, with "/"
    content: str | None  # after the change; None when unreadable (binary, too large, absent)
    lines: set[int] | None  # added lines; None means the whole file is under review
    # The bytes of a file git calls binary (a NUL is enough), for the secret
    # scanner: the diff shows none of its lines.
    binary: bytes | None = None


@dataclass
class Target:
    label: str  # for the report: "uncommitted changes", "main...HEAD", "src/"
    root: Path
    diff: str  # "" for an audit
    files: list[ChangedFile]
    warnings: list[str] = field(default_factory=list)


def _repo_root(cwd: Path) -> Path:
    root = toplevel(cwd)
    if root is None:
        raise TargetError(f"{cwd} is not inside a git repository (use --patch FILE, or `audit` for a folder)")
    return root


def _decode(data: bytes | None) -> str | None:
    if data is None or b"\0" in data[:8192] or len(data) > MAX_FILE_BYTES:
        return None
    return data.decode("utf-8", errors="replace")


def _changed_file(path: str, data: bytes | None, lines: set[int] | None) -> ChangedFile:
    text = _decode(data)
    binary = data if text is None and data is not None and len(data) <= MAX_FILE_BYTES else None
    return ChangedFile(path, text, lines, binary)


def _disk_reader(root: Path) -> Callable[[str], bytes | None]:
    """Files as they are on disk. A symlink is not followed (git records only
    where it points), nor a path through a linked folder out of the
    repository: a change adding `notes.py -> ~/.aws/credentials` must not
    carry that file into the review, the model's prompt or the report."""
    top = root.resolve()

    def read(path: str) -> bytes | None:
        full = root / path
        try:
            if full.is_symlink() or not full.resolve().is_relative_to(top):
                return None
            return full.read_bytes()
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop
            return None

    return read


def _revision_reader(root: Path, rev: str) -> Callable[[str], bytes | None]:
    def read(path: str) -> bytes | None:
        try:
            return git("show", f"{rev}:{path}", cwd=root)
        except GitError:
            return None

    return read


def _from_diff(
    label: str, root: Path, diff: str, read: Callable[[str], bytes | None], changed: Iterable[str] = ()
) -> Target:
    """`changed` adds paths the diff shows no added text for: binary files
    (a committed .p12 is exactly what the review must catch), pure deletions of lines."""
    added = added_lines(diff)
    paths = [p for p in dict.fromkeys([*added, *changed]) if p]
    try:
        paths = [plain_relative(p) for p in paths]
    except PathError as exc:
        raise TargetError(f"{label}: refused: {exc}") from None
    return Target(label, root, diff, [_changed_file(p, read(p), {n for n, _ in added.get(p, [])}) for p in paths])


def _git_diff(root: Path, *revs: str) -> tuple[str, list[str]]:
    """The diff between `revs` (or a rev and the working tree) and the paths it changes, deletions aside."""
    diff = git("diff", *_DIFF_FLAGS, *revs, cwd=root).decode("utf-8", errors="replace")
    names = git("diff", "--name-only", "-z", "--diff-filter=d", *revs, cwd=root).decode().split("\0")
    return diff, [n for n in names if n]


def _new_file_diff(path: str, text: str) -> str:
    """The diff git would show for adding `path`, for untracked files."""
    lines = text.splitlines()
    body = "".join(f"+{line}\n" for line in lines)
    header = f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
    return f"{header}@@ -0,0 +1,{len(lines)} @@\n{body}"


def uncommitted(cwd: Path) -> Target:
    """Staged, unstaged and untracked changes against HEAD."""
    root = _repo_root(cwd)
    try:
        base = "HEAD" if resolve(root, "HEAD") else EMPTY_TREE  # a repository with no commit yet
        diff, changed = _git_diff(root, base)
        listed = git("ls-files", "--others", "--exclude-standard", "-z", cwd=root)
        untracked = [p for p in listed.decode().split("\0") if p]
    except GitError as exc:
        raise TargetError(str(exc)) from None
    read = _disk_reader(root)
    for path in untracked:
        if text := _decode(read(path)):
            diff += _new_file_diff(path, text)
    return _from_diff("uncommitted changes", root, diff, read, changed + untracked)


def branch(cwd: Path, base: str) -> Target:
    """The current branch against its merge base with `base`."""
    root = _repo_root(cwd)
    try:
        merge_base = git("merge-base", base, "HEAD", cwd=root).decode().strip()
        diff, changed = _git_diff(root, merge_base, "HEAD")
    except GitError as exc:
        raise TargetError(str(exc)) from None
    return _from_diff(f"{base}...HEAD", root, diff, _revision_reader(root, "HEAD"), changed)


def commit(cwd: Path, rev: str) -> Target:
    """One commit against its first parent."""
    root = _repo_root(cwd)
    sha = resolve(root, rev)
    if sha is None:
        raise TargetError(f"unknown commit {rev!r}")
    parent = resolve(root, f"{sha}^") or EMPTY_TREE
    try:
        diff, changed = _git_diff(root, parent, sha)
    except GitError as exc:
        raise TargetError(str(exc)) from None
    return _from_diff(f"commit {sha[:12]}", root, diff, _revision_reader(root, sha), changed)


def patch(cwd: Path, source: str) -> Target:
    """A unified diff from a file (or "-" for stdin), applied in the working tree
    (as in CI, where the checkout is the pull request's head)."""
    if source == "-":
        diff, label = sys.stdin.read(), "patch from stdin"
    else:
        path = cwd / source
        try:
            diff, label = path.read_text(encoding="utf-8", errors="replace"), f"patch {source}"
        except OSError as exc:
            raise TargetError(f"cannot read the patch {source}: {exc.strerror}") from None
    if "\n@@ " not in "\n" + diff:
        raise TargetError(f"{label} is not a unified diff (no '@@' hunks)")
    root = toplevel(cwd) or cwd
    target = _from_diff(label, root, diff, _disk_reader(root))
    missing = [f.path for f in target.files if f.content is None and not (root / f.path).exists()]
    if missing:
        target.warnings.append(
            f"not in the working tree, so only the diff is reviewed: {', '.join(missing)} "
            "(run the review in a checkout of the patched code)"
        )
    return target


def folder(cwd: Path, path: Path) -> Target:
    """Whole files for `audit`: one file, or every file under a folder that .gitignore does not hide."""
    from tools.search import walk_files

    target = (cwd / path).resolve()
    if not target.exists():
        raise TargetError(f"{path}: no such file or folder")
    base = target if target.is_dir() else target.parent
    root = toplevel(base) or base
    sub = target.relative_to(root).as_posix() if target != root else ""
    paths = [sub] if target.is_file() else walk_files(root, sub)
    read = _disk_reader(root)
    files = [_changed_file(p, read(p), None) for p in paths]
    return Target(sub or root.name or str(root), root, "", files)
