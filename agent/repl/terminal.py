"""Reading what the user types: a prompt-toolkit prompt in a real terminal,
plain input() in a dumb one (TERM=dumb) or when stdin is not a terminal.

Both raise EOFError for Ctrl-D and KeyboardInterrupt for Ctrl-C at an empty
prompt, and ask short questions (`ask`) the same way, so the REPL never
needs to know which one it has.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, ThreadedCompleter
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

PROMPT = "› "
PLAIN_PROMPT = "> "  # ASCII: a dumb terminal may not draw "›"
CONTINUATION = "… "


class Input(Protocol):
    def read(self) -> str: ...

    def ask(self, question: str, choices: Sequence[str], default: str) -> str: ...


def history_path() -> Path:
    """Per-user prompt history, shared by every repository."""
    from sandbox.state import state_dir

    return state_dir() / "repl_history"


def is_dumb_terminal() -> bool:
    return os.environ.get("TERM", "") in ("dumb", "unknown") or not (sys.stdin.isatty() and sys.stdout.isatty())


def pick(answer: str, choices: Sequence[str], default: str) -> str | None:
    """The choice an answer names: itself, or a unique prefix ("a" for "always");
    empty means the default; None when it names none."""
    answer = answer.strip().lower()
    if not answer:
        return default
    if answer in choices:
        return answer
    named = [c for c in choices if c.startswith(answer)]
    return named[0] if len(named) == 1 else None


def ask_with(read: Callable[[str], str], question: str, choices: Sequence[str], default: str) -> str:
    """Ask until the answer names a choice; end of input means the default."""
    shown = "/".join(c.upper() if c == default else c for c in choices)
    while True:
        try:
            answer = read(f"{question} [{shown}] ")
        except EOFError:
            return default
        if (chosen := pick(answer, choices, default)) is not None:
            return chosen


def key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    # Terminals send Alt-Enter as Esc then Enter (some as Esc then Ctrl-J).
    @bindings.add("escape", "enter")
    @bindings.add("escape", "c-j")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    @bindings.add("c-c")
    def _interrupt(event: KeyPressEvent) -> None:
        """Ctrl-C clears a line being typed; at an empty prompt it is the
        first step towards leaving (the REPL decides)."""
        buffer = event.current_buffer
        if buffer.text:
            buffer.reset()
        else:
            event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

    return bindings


def prompt_with(session: PromptSession[str], message: str) -> str:
    """`session.prompt(message)`, with every way a Ctrl-C can end it raising
    KeyboardInterrupt."""
    try:
        return session.prompt(message)
    except asyncio.CancelledError:
        # A Ctrl-C that arrives as the prompt's asyncio.run starts, before
        # prompt-toolkit takes SIGINT over, cancels the prompt's task, and
        # CPython's runner can reset the count that would have turned that
        # into KeyboardInterrupt (its handler is installed before the count).
        raise KeyboardInterrupt from None


class PromptInput:
    """The prompt-toolkit prompt: history (Ctrl-R searches it), Alt-Enter for
    a newline, bracketed paste (a pasted block stays one message),
    completion, and a bottom toolbar."""

    def __init__(
        self,
        completer: Completer,
        toolbar: Callable[[], str],
        history: History | None = None,
        **io: Any,  # input= / output= for tests (pipe input, DummyOutput)
    ) -> None:
        self.prompt = PromptSession(
            history=history or InMemoryHistory(),
            completer=ThreadedCompleter(completer),
            complete_while_typing=True,
            key_bindings=key_bindings(),
            bottom_toolbar=toolbar,
            prompt_continuation=lambda width, line, wrap: CONTINUATION.rjust(width),
            **io,
        )
        self.questions: PromptSession[str] = PromptSession(**io)

    def read(self) -> str:
        return prompt_with(self.prompt, PROMPT)

    def ask(self, question: str, choices: Sequence[str], default: str) -> str:
        return ask_with(lambda text: prompt_with(self.questions, text), question, choices, default)


class PlainInput:
    """input(): for dumb terminals, pipes and scripts."""

    def read(self) -> str:
        return input(PLAIN_PROMPT)

    def ask(self, question: str, choices: Sequence[str], default: str) -> str:
        return ask_with(input, question, choices, default)


def make_input(completer: Completer, toolbar: Callable[[], str]) -> Input:
    if is_dumb_terminal():
        return PlainInput()
    path = history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return PromptInput(completer, toolbar, FileHistory(str(path)))
