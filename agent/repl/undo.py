"""/undo: the working copy's files as they were when each turn started.

A snapshot is a git tree object of the working copy (staged, unstaged and
untracked files, ignored ones left out), written through a temporary index
so the working copy's own index and HEAD are untouched. Restoring checks the
tree out over the files, through another temporary index, with git's own
two-tree switch (`read-tree -m -u`): files the turn changed are rewritten,
files it created are removed, ignored files stay.
"""

from __future__ import annotations

from pathlib import Path

from sandbox.git import git, git_text, snapshot_tree, staged_index


def restore_tree(root: Path, tree: str) -> list[str]:
    """Make the files of `root` those of `tree`; the paths that changed."""
    with staged_index(root) as index:
        current = git_text("write-tree", cwd=root, index=index)
        changed = git_text("diff-tree", "-r", "--name-only", "--no-renames", current, tree, cwd=root)
        git("read-tree", "-m", "-u", current, tree, cwd=root, index=index)
    return changed.splitlines()


class TurnSnapshots:
    """The tree at the start of each turn that changed something, newest last."""

    def __init__(self) -> None:
        self._trees: list[str] = []
        self._pending: str | None = None

    def turn_started(self, root: Path) -> None:
        self._pending = snapshot_tree(root)

    def turn_ended(self, root: Path) -> None:
        """Keep the start of this turn if the turn changed the files."""
        if self._pending is not None and snapshot_tree(root) != self._pending:
            self._trees.append(self._pending)
        self._pending = None

    def clear(self) -> None:
        """A new working copy: earlier snapshots are not its history."""
        self._trees.clear()
        self._pending = None

    def __len__(self) -> int:
        return len(self._trees)

    def undo(self, root: Path) -> list[str]:
        """Put the files back as they were before the last turn that changed them."""
        if not self._trees:
            return []
        return restore_tree(root, self._trees.pop())
