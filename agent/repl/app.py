"""The REPL driver: read a line, run it as a turn of the session (or as a
slash command), repeat; on the way out, decide what happens to the changes.

It is a thin driver: the conversation, tools, limits and interruption
handling belong to the Session and its loop; the REPL only chooses what to
send and keeps what is its own (pinned files, undo snapshots, the view).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from prompt_toolkit.completion import Completer
from rich.console import Console

from agent.config import Settings
from agent.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from agent.messages import Message
from agent.repl.commands import command_help, dispatch, is_command
from agent.repl.completion import FileIndex, ReplCompleter
from agent.repl.pinned import PinnedFiles
from agent.repl.terminal import Input, make_input
from agent.repl.undo import TurnSnapshots
from agent.repl.view import ReplView, toolbar_text

if TYPE_CHECKING:
    from agent.session import Session

GREETING = "Type a task. /help lists the commands; Alt-Enter adds a line; Ctrl-D exits."
APPLIED_NOTE = "[The user applied your changes to their tree. You now work in a fresh working copy of it.]"

InputFactory = Callable[[Completer, Callable[[], str]], Input]


class ResumeError(Exception):
    """A saved session that cannot be continued; the message says why."""


class Repl:
    def __init__(
        self,
        settings: Settings,
        cwd: Path,
        *,
        resume: dict | None = None,
        console: Console | None = None,
        make_io: InputFactory = make_input,
    ) -> None:
        self.settings = settings
        self.cwd = cwd
        self.view = ReplView(console, model=settings.model)
        self.console = self.view.console
        self.pinned = PinnedFiles()
        self.snapshots = TurnSnapshots()
        self.running = True
        self._toolbar = ""
        self.session: Session = self.open_session(resume)
        self.files = FileIndex(lambda: self.session.workspace.root)
        self.io = make_io(ReplCompleter(command_help, self.files), lambda: self._toolbar)

    # -- the loop ----------------------------------------------------------------

    def run(self) -> int:
        """Read and handle lines until the user leaves; the exit code."""
        self.say(GREETING)
        try:
            self._converse()
        except KeyboardInterrupt:
            # A Ctrl-C between prompts (the terminal is not prompt-toolkit's
            # then): one pressed right after the first, as users do to leave.
            pass
        return self.leave()

    def _converse(self) -> None:
        warned = False
        while self.running:
            try:
                self._toolbar = toolbar_text(self.session)  # once per prompt, not per keystroke
                line = self.io.read()
            except KeyboardInterrupt:
                if warned:
                    break
                warned = True
                self.say("Press Ctrl-C again or Ctrl-D to exit.")
                continue
            except EOFError:
                break
            warned = False
            self.handle(line)

    def handle(self, line: str) -> None:
        if not line.strip():
            return
        if is_command(line):
            dispatch(self, line)
        else:
            self.turn(line)

    def turn(self, text: str) -> None:
        """One message to the agent. Ctrl-C is the loop's to handle: it ends
        the turn and records the interruption in the conversation."""
        session = self.session
        root = session.workspace.root
        # The step budget is per message here, not per session.
        session.agent.limits.max_steps = session.agent.steps + self.settings.max_steps
        self.snapshots.turn_started(root)
        try:
            session.run(self.pinned.attach(text))
        except KeyboardInterrupt:  # one that landed outside the loop, e.g. while saving
            self.say("Interrupted.")
        finally:
            self.snapshots.turn_ended(root)
            self.files.invalidate()

    def say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False)

    def ask_approval(self, question: str) -> str:
        """The Session's `ask` callback (sandbox.approval): y / n / always."""
        self.view.pause()
        return self.io.ask(question, ["y", "n", "always"], default="n")

    # -- the conversation and the session -----------------------------------

    def note(self, text: str) -> None:
        """Tell the model something that happened outside a turn (a command the
        user ran, an undo), as a user message of the conversation."""
        self.session.agent.history.append(Message(role="user", content=text))
        self.session.save()

    def clear_conversation(self) -> None:
        self.session.agent.clear_history()
        self.session.save()

    def open_session(self, state: dict | None = None) -> "Session":
        """A new session on a fresh working copy, or on the saved one of `state`."""
        from agent.config import restore_saved
        from agent.session import Session
        from sandbox.workspace import Workspace

        workspace, cwd = None, self.cwd
        if state is not None:
            try:
                workspace = Workspace.load(state["run_id"])
            except (FileNotFoundError, KeyError, ValueError) as exc:
                raise ResumeError(f"cannot resume: {exc}") from exc
            if not workspace.root.is_dir():
                where = f" (its result is kept at {workspace.kept_at})" if workspace.kept_at else ""
                raise ResumeError(f"cannot resume {workspace.run_id}: its working copy is gone{where}")
            cwd = Path(state.get("cwd") or state["source"])
            restore_saved(self.settings, state.get("settings", {}))
        session = Session(self.settings, cwd, [self.view], ask=self.ask_approval, workspace=workspace,
                          interactive=True)
        if state is not None:
            session.restore(state)
        return session

    def _switch_to(self, session: "Session") -> None:
        self.session.close()
        self.session = session
        self.snapshots.clear()
        self.files.invalidate()

    def continue_after_apply(self) -> None:
        """The same conversation on a new working copy of the user's (now changed) tree."""
        from agent.session import load_session_state

        old = self.session
        old.workspace.meta["state"] = "applied"
        old.save()
        saved = load_session_state(old.run_id)
        fresh = self.open_session()
        fresh.restore(saved)
        self._switch_to(fresh)
        self.note(APPLIED_NOTE)

    def resume(self, run_id: str) -> None:
        from agent.session import load_session_state

        if run_id == self.session.run_id:
            self.say(f"Already in session {run_id}.")
            return
        try:
            state = load_session_state(run_id)
        except FileNotFoundError as exc:
            self.say(str(exc))
            return
        old = self.session.run_id
        self.session.save()
        self._switch_to(self.open_session(state))
        self.say(f"Continuing {run_id}. Session {old} is saved with its working copy: /resume {old} returns to it.")

    def switch_model(self, name: str) -> None:
        self.session.switch_model(name)
        self.view.model = name

    def set_approval(self, mode: str) -> None:
        from sandbox.approval import ApprovalPolicy

        self.session.ctx.approval = ApprovalPolicy(mode, ask=self.ask_approval)
        self.session.runner.read_only = mode == "read-only"
        self.settings.approval = mode

    # -- leaving ---------------------------------------------------------------

    def leave(self) -> int:
        """Ask what to do with unapplied changes, then close the session."""
        session = self.session
        try:
            choice = "keep"
            if session.workspace.changed_files():
                from agent.diffview import summary_lines

                self.say("Changes not applied yet:\n" + "\n".join(summary_lines(session.workspace)))
                try:
                    choice = self.io.ask(
                        "Apply them to your tree, keep them on a branch, or discard them?",
                        ["apply", "keep", "discard"], default="keep",
                    )
                except KeyboardInterrupt:
                    choice = "keep"  # never lose work on a stray Ctrl-C
            if choice == "discard":
                session.workspace.discard()
                session.workspace.meta["state"] = "discarded"
                session.save()
                self.say("Discarded the changes.")
            else:
                self.say(session.finish(apply=choice == "apply"))
        finally:
            session.close()
        return EXIT_OK


def repl_main(settings: Settings, cwd: Path, resume: dict | None = None) -> int:
    """`codex-agent` with no task, and `codex-agent resume` in a terminal."""
    from agent.session import SessionError

    try:
        repl = Repl(settings, cwd, resume=resume)
    except (SessionError, ResumeError) as exc:
        print(f"codex-agent: {exc}", file=sys.stderr)
        return getattr(exc, "code", EXIT_FAILED)
    return repl.run()
