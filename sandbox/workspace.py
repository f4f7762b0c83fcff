"""The working copy: where the agent works instead of the user's tree.

Two kinds, one behaviour:

- `git`: a `git worktree` on a new branch `codex-agent/<id>`, started from a
  snapshot commit of the user's *current* state (HEAD plus staged, unstaged
  and untracked-not-ignored files), taken through a temporary index so the
  user's own index and files are never touched.
- `copy`: a plain folder is copied (without environments and caches) and
  given a private git repository inside the copy — never in the user's
  folder — so diffing and merging work the same way.

Either way the starting point is a commit (`base`), and the result is the
working copy's current files (committed by git_commit or not). `diff`,
`changed_files` and `apply` compare the two; `apply` merges into the user's
tree three-way (see sandbox.merge). Working copies live under the state
folder; a JSON record beside each one lets `list_runs` and `load` find an
interrupted run again.
"""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sandbox import runs
from sandbox.change_check import secrets_in_changes, unsafe_paths
from sandbox.folder_copy import SKIPPED_DIRS, copy_folder
from sandbox.git import GitError, blob_contents, commit_tree, git, git_text, resolve, snapshot_tree, toplevel
from sandbox.merge import ApplyResult, Change, apply_changes, tree_changes
from sandbox.state import state_dir, worktrees_dir

__all__ = ["ApplyResult", "FileStat", "Workspace"]

BRANCH_PREFIX = "codex-agent/"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*")
_DIFF_OPTIONS = (
    "--binary", "--no-renames", "--no-color", "--no-ext-diff", "--no-textconv",
    "--no-relative", "--src-prefix=a/", "--dst-prefix=b/",
)


@dataclass(frozen=True)
class FileStat:
    path: str
    kind: str  # "add" | "update" | "delete"
    added: int
    removed: int
    binary: bool = False  # git shows no lines of it (the counts are 0)
    # A "binary" file whose bytes are nearly all text: a NUL or a `-diff`
    # attribute can hide a script's lines from the diff the user reviews.
    mostly_text: bool = False
    link: str | None = None  # where it points, when the change makes it a symlink


_TEXT_SNIFF_BYTES = 1 << 20
_SYMLINK_MODE = "120000"


def _mostly_text(data: bytes) -> bool:
    """At least 95% printable ASCII, tabs and line breaks (UTF-8 letters count too)."""
    if not data:
        return False
    text_like = sum(1 for byte in data if 32 <= byte < 127 or byte in b"\t\r\n" or byte >= 0x80)
    return text_like >= 0.95 * len(data)


def new_run_id() -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


class Workspace:
    def __init__(
        self,
        *,
        run_id: str,
        kind: str,
        source: Path,
        root: Path,
        base: str,
        created: str,
        branch: str | None = None,
        git_dir: Path | None = None,
        kept_at: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.run_id = run_id
        self.kind = kind
        self.source = source
        self.root = root
        self.base = base  # the commit the work started from
        self.created = created
        self.branch = branch
        self.git_dir = git_dir  # copy kind: the private repository
        self.kept_at = kept_at
        # The caller's own facts about the run (task, trajectory, status),
        # saved with the record by save_meta().
        self.meta: dict[str, Any] = meta if meta is not None else {}

    # -- creating and reopening ---------------------------------------------

    @classmethod
    def create(cls, source: Path, run_id: str | None = None) -> "Workspace":
        source = Path(source).resolve()
        if not source.is_dir():
            raise NotADirectoryError(f"{source} is not a folder")
        run_id = run_id or new_run_id()
        if not _RUN_ID.fullmatch(run_id) or run_id.endswith(".lock"):
            raise ValueError(f"run id {run_id!r}: use letters, digits, '.', '_' and '-'")
        root = cls.root_for(run_id)
        if root.exists() or runs.record_path(run_id).exists():
            raise FileExistsError(f"a run with id {run_id!r} already exists ({root})")
        root.parent.mkdir(parents=True, exist_ok=True)
        top = toplevel(source)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        common = {"run_id": run_id, "root": root, "created": created}
        if top is not None and (top == source or not _is_ignored(top, source)):
            workspace = cls(kind="git", source=top, branch=BRANCH_PREFIX + run_id, base="", **common)
            build = workspace._create_worktree
        else:
            workspace = cls(kind="copy", source=source, git_dir=root / ".git", base="", **common)
            build = workspace._create_copy
        try:
            build()
        except BaseException:
            workspace._remove()
            raise
        workspace.save_meta()
        return workspace

    @staticmethod
    def root_for(run_id: str) -> Path:
        """Where `create` puts the working copy of `run_id`: known before the
        copy exists, so a session can name it while it is being made."""
        return worktrees_dir() / run_id

    def _create_worktree(self) -> None:
        head = resolve(self.source, "HEAD")
        tree = snapshot_tree(self.source)
        self.base = commit_tree(
            self.source, tree, [head] if head else [], f"codex-agent: starting state of run {self.run_id}"
        )
        # Writing the files is most of the time on a slow disk; git's parallel
        # checkout overlaps those writes (about 40% faster for 2,000 files here).
        git("-c", "checkout.workers=8", "-c", "checkout.thresholdForParallelism=100",
            "worktree", "add", "--quiet", "-b", self.branch, str(self.root), self.base, cwd=self.source)

    def _create_copy(self) -> None:
        copy_folder(self.source, self.root, exclude=state_dir())
        git("init", "--quiet", "--initial-branch=codex-agent", cwd=self.root)
        # An identity of its own, so commits in the copy work without a global one.
        git("config", "user.name", "codex-agent", cwd=self.root)
        git("config", "user.email", "codex-agent@localhost", cwd=self.root)
        # What the copy left out stays out of the diff if the agent recreates it.
        exclude = "".join(f"{name}/\n" for name in sorted(SKIPPED_DIRS))
        (self.root / ".git" / "info").mkdir(exist_ok=True)
        (self.root / ".git" / "info" / "exclude").write_text(exclude)
        git("add", "-A", cwd=self.root)
        tree = git_text("write-tree", cwd=self.root)
        self.base = commit_tree(self.root, tree, [], f"codex-agent: starting state of run {self.run_id}")
        git("update-ref", "HEAD", self.base, cwd=self.root)

    @classmethod
    def load(cls, run_id: str) -> "Workspace":
        """Reopen a saved run; this process becomes its owner."""
        record = runs.read_record(run_id)
        workspace = cls(
            run_id=record["id"],
            kind=record["kind"],
            source=Path(record["source"]),
            root=Path(record["root"]),
            base=record["base"],
            created=record["created"],
            branch=record.get("branch"),
            git_dir=Path(record["git_dir"]) if record.get("git_dir") else None,
            kept_at=record.get("kept_at"),
            meta=record.get("meta") or {},
        )
        workspace.save_meta()
        return workspace

    def save_meta(self) -> None:
        """Write the run's record (including `meta`) beside the working copy."""
        runs.write_record(
            {
                "id": self.run_id,
                "kind": self.kind,
                "source": str(self.source),
                "root": str(self.root),
                "base": self.base,
                "branch": self.branch,
                "git_dir": str(self.git_dir) if self.git_dir else None,
                "created": self.created,
                "kept": self.kept_at is not None,
                "kept_at": self.kept_at,
                "meta": self.meta,
                **runs.owner_stamp(),
            }
        )

    # -- looking at the changes ----------------------------------------------

    def diff(self) -> str:
        """Unified git diff (binary-safe) of everything changed since the start."""
        return self._diff_bytes(self._result_tree()).decode(errors="replace")

    def changed_files(self) -> list[FileStat]:
        result = self._result_tree()
        counts, binary = {}, set()
        numstat = self._git("diff", "--numstat", "-z", "--no-renames", self.base, result)
        for record in filter(None, numstat.split(b"\0")):
            added, removed, path = record.decode(errors="surrogateescape").split("\t", 2)
            # Binary files show "-": they have no line counts.
            counts[path] = (int(added) if added != "-" else 0, int(removed) if removed != "-" else 0)
            if added == "-":
                binary.add(path)
        changes = self._changes_to(result)
        links = {c.theirs.oid for c in changes if c.theirs is not None and c.theirs.mode == _SYMLINK_MODE}
        shown = [c.theirs.oid for c in changes if c.theirs is not None and (c.path in binary or c.theirs.oid in links)]
        heads = blob_contents(shown, _TEXT_SNIFF_BYTES, **self._where)
        stats = []
        for change in changes:
            kind = "add" if change.base is None else "delete" if change.theirs is None else "update"
            head = heads.get(change.theirs.oid) if change.theirs is not None else None
            link = head.decode(errors="replace") if head is not None and change.theirs.oid in links else None
            stats.append(FileStat(change.path, kind, *counts.get(change.path, (0, 0)), binary=change.path in binary,
                                  mostly_text=link is None and head is not None and _mostly_text(head), link=link))
        return stats

    # -- ending the run --------------------------------------------------------

    def apply(self, allow_secrets: Sequence[str] = ()) -> ApplyResult:
        """Merge the changes into the user's tree; on success remove the working copy.

        The user's index, their uncommitted edits and untracked files are left
        as they were. If the user edited a changed file meanwhile the edits
        are merged three-way; if they overlap nothing is written at all. A
        change that adds a secret (or a sensitive file not in `allow_secrets`),
        a symlink out of the repository or a nested repository is refused whole.
        """
        result_tree = self._result_tree()
        changes = self._changes_to(result_tree)
        for found, what in ((self._secrets_in(changes, allow_secrets), "what looks like a secret"),
                            (unsafe_paths(changes, **self._where), "what must not land in your tree unseen")):
            if found:
                where = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
                return ApplyResult(
                    False,
                    f"Not applied: the change adds {what} ({where}). Your tree is unchanged; review the change "
                    f"in {self.kept_at or self.root} and bring it over yourself if it is intended.",
                    conflicts=found,
                )
        try:
            folder_git_dir = self.git_dir if self.kind == "copy" else None
            result = apply_changes(changes, self.source, git_dir=folder_git_dir)
        except GitError as exc:  # e.g. a changed path inside a submodule of the user's tree
            result = ApplyResult(False, f"Nothing was applied: {exc}.")
        if result.ok:
            self.discard()
        else:
            result.message += f" Your tree is unchanged; the agent's work is still in {self.kept_at or self.root}."
        return result

    def secret_findings(self, allow: Sequence[str] = ()) -> list[str]:
        """Secrets and sensitive files the change adds (see `secrets_added`)."""
        result_tree = self._result_tree()
        return self._secrets_in(self._changes_to(result_tree), allow)

    def keep(self) -> str:
        """Leave the result for later (branch or patch file), remove the working copy.

        A worktree's result normally stays on its branch in the user's
        repository; when it holds a secret (one the git_commit tool may just
        have refused) it is kept as a patch outside the repository instead,
        so no ref of the user's points at it."""
        if self.root.exists() and self.kind == "git" and (found := self.secret_findings()):
            patch = worktrees_dir() / f"{self.run_id}.patch"
            patch.write_bytes(self._diff_bytes(self._result_tree()))
            self._remove()  # the worktree, and the branch with any commit git_commit made
            self.branch, self.kept_at = None, str(patch)
            self.save_meta()
            return (f"The changes hold what looks like a secret ({', '.join(found[:3])}), so they are kept as a "
                    f"patch outside your repository, not on a branch in it: {patch}. Apply it in {self.source} "
                    "with `git apply` once the secret is out.")
        if self.root.exists():
            result_tree = self._commit_result()
            if self.kind == "git":
                self._remove_worktree()
                self.kept_at = self.branch
            else:
                patch = worktrees_dir() / f"{self.run_id}.patch"
                patch.write_bytes(self._diff_bytes(result_tree))
                kept_git = worktrees_dir() / f"{self.run_id}.git"
                shutil.move(self.git_dir, kept_git)
                self.git_dir = kept_git
                shutil.rmtree(self.root)
                self.kept_at = str(patch)
            self.save_meta()
        # Not `git merge`: the branch's first commit holds the user's uncommitted
        # work, which a merge into that dirty tree refuses; `runs ID --apply` merges it.
        where = f"on branch {self.branch}" if self.kind == "git" else f"as a patch: {self.kept_at}"
        return f"Your tree is untouched; the changes are kept\n{where}."

    def discard(self) -> None:
        """Remove the working copy, its branch or saved patch, and the record."""
        self._remove()
        runs.delete_record(self.run_id)

    # -- internals --------------------------------------------------------------

    @property
    def _where(self) -> dict[str, Any]:
        """Where this run's git objects are."""
        if self.kind == "git":
            return {"cwd": self.source}
        return {"cwd": worktrees_dir(), "git_dir": self.git_dir}

    def _git(self, *args: str) -> bytes:
        return git(*args, **self._where)

    def _result_tree(self) -> str:
        if self.root.exists():
            return snapshot_tree(self.root)
        if self.kind == "git" and self.branch is None:
            raise GitError(f"run {self.run_id} was kept as a patch, {self.kept_at}: use `git apply` on it")
        tip = self.branch if self.kind == "git" else "HEAD"
        return git_text("rev-parse", f"{tip}^{{tree}}", **self._where)

    def _changes_to(self, result_tree: str) -> list[Change]:
        return tree_changes(**self._where, base=self.base, theirs=result_tree)

    def _diff_bytes(self, result_tree: str) -> bytes:
        return self._git("diff", *_DIFF_OPTIONS, self.base, result_tree)

    def _secrets_in(self, changes: list[Change], allow: Sequence[str]) -> list[str]:
        return secrets_in_changes(changes, allow, **self._where)

    def _commit_result(self) -> str:
        """Commit the working copy's uncommitted changes onto its branch; return the result tree."""
        tree = snapshot_tree(self.root)
        tip = resolve(self.root, "HEAD")
        if tip is None or git_text("rev-parse", f"{tip}^{{tree}}", cwd=self.root) != tree:
            commit = commit_tree(self.root, tree, [tip] if tip else [], f"codex-agent: work of run {self.run_id}")
            git("update-ref", "HEAD", commit, cwd=self.root)
        return tree

    def _remove_worktree(self) -> None:
        try:
            git("worktree", "remove", "--force", str(self.root), cwd=self.source)
        except GitError:
            # Already gone, or the user's repository moved: clean up what we can.
            shutil.rmtree(self.root, ignore_errors=True)
            try:
                git("worktree", "prune", cwd=self.source)
            except GitError:
                pass

    def _remove(self) -> None:
        if self.kind == "git":
            if self.root.exists():
                self._remove_worktree()
            if self.branch:
                try:
                    git("branch", "-D", "--quiet", self.branch, cwd=self.source)
                except GitError:
                    pass  # never created, or already deleted by the user
        else:
            shutil.rmtree(self.root, ignore_errors=True)
            if self.git_dir is not None and not self.git_dir.is_relative_to(self.root):
                shutil.rmtree(self.git_dir, ignore_errors=True)
            (worktrees_dir() / f"{self.run_id}.patch").unlink(missing_ok=True)


def _is_ignored(top: Path, folder: Path) -> bool:
    """A folder ignored by an enclosing repository (say, a dotfiles repo in $HOME)
    is treated as a plain folder: a worktree of that repository would not hold it."""
    try:
        git("check-ignore", "--quiet", str(folder), cwd=top)
        return True
    except GitError:
        return False
