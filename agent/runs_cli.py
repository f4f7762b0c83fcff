"""`codex-agent runs`: the runs left behind (interrupted, or kept unapplied)
and what to do with each."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from agent.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from sandbox.git import GitError
from sandbox.runs import RunInfo, list_runs
from sandbox.workspace import Workspace

_STATES = {"active": "its process is still running", "interrupted": "its process is gone; the working copy is kept",
           "kept": "not applied"}


def runs_command(run_id: str | None, *, apply: bool, discard: bool, show: bool,
                 allow_secrets: list[str] | None = None, here: Path | None = None) -> int:
    if apply and discard:
        return _usage("--apply and --discard contradict each other: give one")
    if run_id is None:
        if apply or discard or show:
            return _usage("--apply, --discard and --diff act on one run: `codex-agent runs ID --apply`")
        _print_list(list_runs(), here)
        return EXIT_OK
    try:
        workspace = Workspace.load(run_id)
    except (FileNotFoundError, ValueError) as exc:
        print(f"codex-agent: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if not (show or apply or discard):
        _describe(run_id, workspace)
        return EXIT_OK
    try:
        if show:
            from agent.diffview import show_diff

            show_diff(workspace)
        if apply:
            result = workspace.apply(allow_secrets or [])  # removes the working copy when it succeeds
            print(result.message)
            if not result.ok:
                return EXIT_FAILED
        elif discard:
            workspace.discard()
            print(f"Discarded run {run_id}.")
    except GitError as exc:
        print(f"codex-agent: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _usage(message: str) -> int:
    print(f"codex-agent: {message}", file=sys.stderr)
    return EXIT_USAGE


def _print_list(runs: list[RunInfo], here: Path | None) -> None:
    if not runs:
        print("No runs left behind.")
        return
    from agent.render_rich import home_relative

    width = shutil.get_terminal_size().columns
    rows = [("", "ID", "STATE", "REPOSITORY", "TASK")]
    for info in runs:
        mine = "*" if here is not None and info.source == here else " "
        task = (info.task or "(no task recorded)").splitlines()[0]
        rows.append((mine, info.id, info.state, home_relative(str(info.source)), task))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    # Paths give way first (keeping their end, the folder's name), then the task.
    widths[3] = max(min(widths[3], width - sum(widths[:3]) - 3 - 2 - 16), 12)
    for mine, *cells, task in rows:
        cells[2] = cells[2] if len(cells[2]) <= widths[3] else "…" + cells[2][-widths[3] + 1:]
        head = " ".join(cell.ljust(w) for cell, w in zip((mine, *cells), widths))
        room = max(width - len(head) - 2, 16)
        print(f"{head}  {_clip(task, room)}".rstrip())
    if any(row[0] == "*" for row in rows):
        print("* the repository you are in")
    print("`codex-agent runs ID` shows a run; --apply, --diff or --discard act on it.")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _describe(run_id: str, workspace: Workspace) -> None:
    from agent.diffview import summary_lines
    from agent.render_rich import home_relative
    from agent.session import kept_run_hints, sessions_dir

    info = next((r for r in list_runs() if r.id == run_id), None)
    state = info.state if info else "unknown"
    where = (f"branch {workspace.branch}" if workspace.kind == "git" and workspace.kept_at
             else home_relative(str(info.path)) if info and info.path else "?")
    print(f"run {run_id}")
    for label, value in (("task", (workspace.meta.get("task") or "(no task recorded)").splitlines()[0]),
                         ("state", f"{state} ({_STATES.get(state, '')})".replace(" ()", "")),
                         ("repository", str(workspace.source)), ("kept as", where),
                         ("created", workspace.created.replace("T", " "))):
        print(f"  {label + ':':12}{value}")
    changed = summary_lines(workspace)
    print(f"  {'changed:':12}" + (changed[0] if changed else "nothing"))
    for line in changed[1:]:
        print(f"  {'':12}{line}")
    # Only a working copy that still exists can go on; a kept one is a branch or a patch.
    resumable = state in ("interrupted", "active") and (sessions_dir() / f"{run_id}.json").is_file()
    print(kept_run_hints(run_id, resumable=resumable))
