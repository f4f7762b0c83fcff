"""One-shot runs from the shell: `run`, `replay`, `resume`. Each builds a
Session, runs one turn, shows the diff and decides what lands in the user's
tree. Returns the process exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from agent.config import Settings
from agent.events import Event, Outcome
from agent.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from agent.model import ModelClient


def run_task(settings: Settings, task: str) -> int:
    return _drive(settings, lambda session: session.run(task), focus=task)


def replay_trajectory(settings: Settings, path: Path, cwd: Path | None = None) -> int:
    """Feed the recorded model responses back through the loop; tools run for real
    (in a working copy of the repository at `cwd`, default the current folder)."""
    from agent.model import ReplayClient
    from agent.trajectory import read_trajectory, recorded_prompts, recorded_replies

    if not path.is_file():
        return _error(f"no trajectory at {path}")
    records = read_trajectory(path)
    prompts = recorded_prompts(records)
    if not prompts:
        return _error(f"{path} records no task to replay")
    meta = next((r for r in records if r.get("type") == "meta"), {})
    replies = recorded_replies(records)
    client = ReplayClient(replies)
    client.model = meta.get("model", client.model)
    settings.max_steps = max(settings.max_steps, len(replies) + 1)

    def turns(session) -> Outcome:
        outcome = None
        for prompt in prompts:
            outcome = session.run(prompt)
        return outcome

    # Mentions were expanded when recorded; replay the prompts as sent.
    return _drive(settings, turns, client=client, map_tokens=0, cwd=cwd)


def resume_session(settings: Settings, run_id: str | None, message: str) -> int:
    from agent.config import restore_saved
    from agent.session import load_session_state
    from sandbox.workspace import Workspace

    try:
        state = load_session_state(run_id)
        workspace = Workspace.load(state["run_id"])
    except (FileNotFoundError, KeyError, ValueError) as exc:
        return _error(f"cannot resume: {exc}")
    restore_saved(settings, state.get("settings", {}))
    return _drive(
        settings, lambda session: session.run(message),
        workspace=workspace, restore=state, cwd=Path(state.get("cwd", state["source"])),
    )


def _drive(
    settings: Settings,
    turn: Callable[..., Outcome],
    *,
    client: "ModelClient | None" = None,
    workspace=None,
    restore: dict | None = None,
    cwd: Path | None = None,
    map_tokens: int | None = None,
    focus: str = "",
) -> int:
    from agent.session import Session, SessionError
    from sandbox.git import GitError

    if map_tokens is not None:
        settings.map_tokens = map_tokens
    from agent.signals import Termination

    interactive = sys.stdin.isatty() and sys.stdout.isatty() and not settings.json
    view = _view(settings)
    with Termination() as termination:
        try:
            session = Session(
                settings, cwd or Path.cwd(), [view], ask=_ask if interactive else None,
                client=client, workspace=workspace, focus=focus,
            )
        except SessionError as exc:
            return _error(str(exc), exc.code)
        except KeyboardInterrupt:
            return _error(f"stopped ({termination.received or 'Ctrl-C'}) before the run started", EXIT_INTERRUPTED)
        try:
            if restore:
                session.restore(restore)
            outcome = turn(session)
            return _conclude(session, outcome, interactive, stopped_by=termination.received)
        except SessionError as exc:  # the working copy, made while the first request went out, failed
            return _error(str(exc), exc.code)
        except GitError as exc:
            # The model's commands shape the working copy (a nested repository
            # with no commit, a `.GIT` folder) and git can refuse to snapshot it.
            return _error(f"{exc}. Nothing was applied; the working copy is kept in {session.workspace.root}.")
        finally:
            session.close()


def _view(settings: Settings) -> Callable[[Event], None]:
    if settings.json:
        from agent.render_json import JsonLinesRenderer

        return JsonLinesRenderer()
    from agent.render_rich import TerminalView

    return TerminalView(model=settings.model)


def _conclude(session, outcome: Outcome, interactive: bool, stopped_by: str | None = None) -> int:
    """Show the diff, then apply, keep or leave the run for later."""
    from agent.diffview import show_diff
    from agent.render_rich import counted
    from agent.session import kept_run_hints

    say = (lambda m: print(m, file=sys.stderr)) if session.settings.json else print
    if outcome.reason == "cancelled":
        why = f"stopped by {stopped_by}" if stopped_by else f"cancelled: {outcome.message}"
        print(f"codex-agent: {why}. The working copy is kept:\n{kept_run_hints(session.run_id, resumable=True)}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    changed = session.workspace.changed_files()
    if changed and not session.settings.json:
        show_diff(session.workspace)
    apply = session.settings.apply
    if changed and not outcome.ok and apply:
        say("Not applying: the task did not finish successfully.")
        apply = False
    if changed and apply is None:
        apply = interactive and _confirm(f"Apply {counted(len(changed), 'changed file')} to your working tree?")
    elif changed and apply and not session.ctx.approval.confirm_apply(f"Apply {counted(len(changed), 'changed file')}?"):
        say("Not applying: not confirmed (approval mode ask).")
        apply = False
    say(session.finish(bool(apply)))
    if outcome.ok:
        return EXIT_OK
    print(f"codex-agent: {outcome.reason}: {outcome.message} · {outcome.verification.describe()}", file=sys.stderr)
    return EXIT_FAILED


def _ask(question: str) -> str:
    from rich.prompt import Prompt

    return Prompt.ask(question, choices=["y", "n", "always"], default="n")


def _confirm(question: str) -> bool:
    """Ctrl-D or Ctrl-C at the question is a no (the result is kept), not a traceback."""
    from rich.prompt import Confirm

    try:
        return Confirm.ask(question, default=False)
    except (KeyboardInterrupt, EOFError):
        print()
        return False


def _error(message: str, code: int = EXIT_FAILED) -> int:
    print(f"codex-agent: {message}", file=sys.stderr)
    return code
