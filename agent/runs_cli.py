"""`codex-agent runs`: the runs left behind (interrupted, or kept unapplied)
and what to do with each."""

from __future__ import annotations

from sandbox.git import GitError
from sandbox.runs import list_runs
from sandbox.workspace import Workspace


def runs_command(run_id: str | None, *, apply: bool, discard: bool, show: bool,
                 allow_secrets: list[str] | None = None) -> int:
    if run_id is None:
        runs = list_runs()
        if not runs:
            print("No runs left behind.")
        for info in runs:
            task = (info.task or "").splitlines()[0][:60] if info.task else ""
            print(f"{info.id}  {info.state:10} {info.source}  {task}")
        return 0
    try:
        workspace = Workspace.load(run_id)
    except (FileNotFoundError, ValueError) as exc:
        print(f"codex-agent: {exc}")
        return 1
    try:
        if show:
            from agent.diffview import show_diff

            show_diff(workspace)
        if apply:
            result = workspace.apply(allow_secrets or [])  # removes the working copy when it succeeds
            print(result.message)
            if not result.ok:
                return 1
        elif discard:
            workspace.discard()
            print(f"Discarded run {run_id}.")
    except GitError as exc:
        print(f"codex-agent: {exc}")
        return 1
    return 0
