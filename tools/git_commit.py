"""The git_commit tool: commit the working copy's changes on the task branch.

git runs directly (not through the sandbox Runner: this is the agent's own
bookkeeping, and the Runner keeps .git read-only), with hooks and signing off
(sandbox.git). Before anything is committed, the staged files' whole contents
go through the secret scanner and their paths through the sensitive-file
check (sandbox.change_check); a hit unstages everything and names file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.git import GitError, add_all, git, git_text, resolve
from tools.registry import Tool, ToolContext, ToolResult


def _has_identity(root: Path) -> bool:
    try:
        return bool(git_text("config", "user.name", cwd=root) and git_text("config", "user.email", cwd=root))
    except GitError:  # `git config` exits 1 when the key is unset
        return False


def _secret_problems(root: Path, allow: list[str]) -> list[str]:
    """What the staged changes add that needs the user's say (sandbox.change_check)."""
    from sandbox.change_check import secrets_in_changes
    from sandbox.merge import tree_changes

    staged = git_text("write-tree", cwd=root)
    head = resolve(root, "HEAD")
    base = git_text("rev-parse", f"{head}^{{tree}}", cwd=root) if head else git_text("mktree", cwd=root)
    return secrets_in_changes(tree_changes(root, base, staged), allow, cwd=root)


def _git_commit(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    message = args["message"].strip()
    if not message:
        return ToolResult.error("empty commit message.")
    root = ctx.root.resolve()
    if not (root / ".git").exists():
        return ToolResult.error("the working copy is not a git repository; nothing can be committed.")
    try:
        add_all(root)  # never `git add -A`: it would run a git inside a model-made submodule
        fields = git("diff", "--cached", "--name-status", "-z", "--no-renames", cwd=root).split(b"\0")
        staged = [(status, path.decode(errors="replace")) for status, path in zip(fields[0::2], fields[1::2])]
        if not staged:
            return ToolResult.error("nothing to commit: no changes since the last commit.")
        if problems := _secret_problems(root, ctx.secret_allow):
            git("reset", "-q", cwd=root)
            shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
            return ToolResult.error(
                f"refused: the changes contain secrets: {shown}. Nothing was committed. "
                "Move secrets out of the code (e.g. read an environment variable) and commit again.",
                refused=True,
            )
        git("-c", "diff.ignoreSubmodules=all", "commit", "--allow-empty", "-q", "--no-verify", "-m", message,
            cwd=root, identity=not _has_identity(root))
        sha = git_text("rev-parse", "--short", "HEAD", cwd=root)
        branch = git_text("branch", "--show-current", cwd=root) or "detached HEAD"
    except GitError as exc:
        return ToolResult.error(str(exc))
    files = [path for _status, path in staged]
    subject = message.splitlines()[0]
    return ToolResult(
        f"Committed {sha} on {branch}: {subject} ({len(files)} file{'s' if len(files) != 1 else ''} changed).",
        data={"commit": sha, "branch": branch, "files": files},
    )


TOOL = Tool(
    name="git_commit",
    description="Commit all changes in the working copy on the task branch (refused if secrets are found).",
    parameters={"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
    handler=_git_commit,
    mutates=True,
    subject_arg="message",
)
