"""The terminal view: the model's text as it streams, one compact line per
tool call with a short result, and a step / token / cost line after each
model response. Works in 80 columns, dumb terminals and with NO_COLOR (rich
honours both)."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.status import Status

from agent.events import (
    Compacted,
    Event,
    ModelRequested,
    ModelResponded,
    Notice,
    ReasoningDelta,
    Retrying,
    RunStarted,
    TestsRan,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
)
from agent.messages import Usage
from agent.pricing import price
from tools import tool_named



class TerminalView:
    def __init__(self, console: Console | None = None, model: str = "") -> None:
        self.console = console or Console(stderr=False, highlight=False)
        self.model = model
        self.usage = Usage()
        self.cost: float | None = 0.0
        self._text = WrappedText(lambda text: self.console.out(text, end="", highlight=False), self.console.width)
        self._status: Status | None = None

    def __call__(self, event: Event) -> None:
        handler = getattr(self, "on_" + type(event).__name__, None)
        if handler:
            handler(event)

    def on_RunStarted(self, e: RunStarted) -> None:
        self.model = e.model
        self.console.print(f"[bold]codex-agent[/] · {escape(e.model)} · sandbox: {escape(e.isolation)}")
        # A path has no spaces to wrap at: fold it after the label rather than under it.
        for line in textwrap.wrap(f"working copy: {home_relative(e.workspace)}", self.console.width,
                                  break_on_hyphens=False):
            self.console.print(line, style="dim", markup=False)
        if e.tests:
            self.console.print(f"tests: {e.tests}", style="dim", markup=False)
        if price(e.model) is None:
            self.console.print(f"cost: not priced for {e.model}; tokens only", style="dim", markup=False)

    def on_ModelRequested(self, e: ModelRequested) -> None:
        # The header comes before what the model says in this step.
        so_far = f" · {usage_and_cost(self.usage, self.cost)}" if e.step > 1 else ""
        self.console.print(f"step {e.step}{so_far}", style="dim", markup=False)
        self._text.width = self.console.width  # the terminal may have been resized
        if self.console.is_terminal:
            self._status = self.console.status(f"[dim]thinking… step {e.step}[/]", spinner="dots")
            self._status.start()

    def on_TextDelta(self, e: TextDelta) -> None:
        self._stop_status()
        self._text.feed(e.text)

    def on_ReasoningDelta(self, e: ReasoningDelta) -> None:
        self._stop_status()

    def on_ModelResponded(self, e: ModelResponded) -> None:
        self._stop_status()
        if not self._text.fed and e.reply.message.content:
            self._text.feed(e.reply.message.content)
        self._text.end()
        self.usage = self.usage + e.reply.usage
        self.cost = None if e.cost is None or self.cost is None else self.cost + e.cost

    def on_Retrying(self, e: Retrying) -> None:
        self._text.end()  # a stream cut mid-way: its partial text is over
        self._say(f"model request failed ({e.reason}); retry {e.attempt} in {e.delay:.1f}s")

    def on_ToolStarted(self, e: ToolStarted) -> None:
        self.console.print(tool_line(e.name, e.arguments, self.console.width))

    def on_ToolFinished(self, e: ToolFinished) -> None:
        first = e.output.strip().splitlines()[0] if e.output.strip() else ""
        style = "dim" if e.ok else "red"
        self.console.print(f"  [{style}]└ {escape(_clip(first, self.console.width - 4))}[/]")

    def on_TestsRan(self, e: TestsRan) -> None:
        mark = "[green]tests pass[/]" if e.ok else "[red]tests fail[/]"
        counts = count_summary(e.counts, e.ok)
        scope = f" ({e.scope})" if e.scope else ""
        self.console.print(f"[bold]verification:[/] {mark}{' ' + escape(counts) if counts else ''}{escape(scope)}")
        if not e.ok and (failure := first_failure(e.counts, e.summary)):
            self.console.print(f"  [red]└ {escape(_clip(failure, self.console.width - 4))}[/]")

    def on_Compacted(self, e: Compacted) -> None:
        self.console.print(f"[dim]context compacted: {e.tokens_before:,} → {e.tokens_after:,} tokens[/]")

    def on_Notice(self, e: Notice) -> None:
        self._say(e.message)

    def _say(self, message: str, style: str = "yellow") -> None:
        # Folded here: rich's own folding leaves a blank at each line's end.
        for part in message.splitlines() or [""]:
            for line in textwrap.wrap(part, self.console.width, break_on_hyphens=False) or [""]:
                self.console.print(line, style=style, markup=False)

    def on_TurnFinished(self, e: TurnFinished) -> None:
        self._stop_status()
        o = e.outcome
        line = (f"{o.reason}: {o.message} · {o.verification.describe()} · {counted(o.steps, 'step')} · "
                f"{usage_and_cost(o.usage, o.cost)}")
        self._say(line, "green" if o.ok else "red")

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def format_usage(u: Usage) -> str:
    cached = f" ({short_count(u.cached_input_tokens)} cached)" if u.cached_input_tokens else ""
    counted = f"{short_count(u.input_tokens)} in{cached} / {short_count(u.output_tokens)} out"
    return f"~{counted} (estimated: the server reported none)" if u.estimated else counted


def format_cost(cost: float | None, unknown: str = "") -> str:
    """The one way cost is written. None is a model missing from the price
    table: `unknown` stands for it (the run's header says so once)."""
    if cost is None:
        return unknown
    return f"${cost:.4f}" if cost < 1 else f"${cost:.2f}"


def usage_and_cost(usage: Usage, cost: float | None) -> str:
    """"1.5K in / 14 out · $0.0028", or tokens only when the price is unknown."""
    return " · ".join(part for part in (format_usage(usage), format_cost(cost)) if part)


def count_summary(counts: dict, ok: bool = True) -> str:
    """"3 passed, 1 failed"; a failing runner that reports no counts (not pytest) gives its exit status."""
    named = {k: v for k, v in counts.items() if k in ("passed", "failed", "errors", "skipped") and isinstance(v, int)}
    if any(named.values()):
        return ", ".join(f"{v} {k}" for k, v in named.items() if v or k == "passed")
    code = counts.get("exit_code")
    return f"(exit {code})" if isinstance(code, int) and not ok else ""


_FAILURE_LINE = re.compile(r"^(FAIL|ERROR): |^\w*(Error|Exception)\b|^--- FAIL|^\s*(✕|×|FAIL) ")


def first_failure(counts: dict, output: str) -> str:
    """The failure the model is sent back with, in one line: pytest's first
    failing test, else the first line of the output that reads like one."""
    failures = counts.get("failures") or []
    if failures and isinstance(failures[0], dict):
        first = failures[0]
        message = (first.get("message") or "").partition("\n")[0]  # pytest's messages go on with "where …" lines
        return f"{first.get('id', '')}: {message}".strip(": ")
    return next((line.strip() for line in output.splitlines() if _FAILURE_LINE.search(line)), "")


class WrappedText:
    """Streamed model text folded at spaces to `width` columns: a terminal
    would cut words in half, and a captured log would keep overlong lines."""

    def __init__(self, write: Callable[[str], None], width: int) -> None:
        self.write = write
        self.width = width
        self.column = 0
        self.fed = False
        self._word = ""
        self._spaces = 0  # written only when a word follows on the same line: no trailing blanks

    def feed(self, text: str) -> None:
        self.fed = True
        for char in text:
            if char == "\n":
                self._flush()
                self.write("\n")
                self.column = self._spaces = 0
            elif char.isspace():
                self._flush()
                self._spaces += 1
            else:
                self._word += char

    def end(self) -> None:
        """The reply is over: finish its last line."""
        self._flush()
        if self.column:
            self.write("\n")
        self.column = self._spaces = 0
        self.fed = False

    def _flush(self) -> None:
        word, self._word = self._word, ""
        if not word:
            return
        if self.column and self.column + self._spaces + cell_len(word) > self.width:
            self.write("\n")
            self.column = self._spaces = 0
        self.write(" " * self._spaces)
        self.column += self._spaces
        self._spaces = 0
        while self.column + cell_len(word) > self.width:  # a word wider than the line
            room = self.width - self.column
            self.write(word[:room] + "\n")
            word, self.column = word[room:], 0
        self.write(word)
        self.column += cell_len(word)


def home_relative(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home):] if path == home or path.startswith(home + "/") else path


def counted(n: int, noun: str) -> str:
    """"1 step", "2 steps": never "1 steps" or "file(s)"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def short_count(n: int) -> str:
    return f"{n / 1000:.1f}K" if n >= 1000 else str(n)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def tool_line(name: str, raw: str, width: int, suffix: str = "") -> str:
    """`• read_file cart.py`, in `width` columns, with no trailing space."""
    subject = tool_subject(name, raw)
    room = max(width - len(name) - len(suffix) - 4, 10)
    parts = [f"[cyan]•[/] [bold]{name}[/]", escape(_clip(subject, room)) if subject else "", suffix]
    return " ".join(part for part in parts if part)


def tool_subject(name: str, raw: str) -> str:
    """What a tool call is about, in one short line (its path, command, pattern…)."""
    try:
        args = json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return _clip(raw, 80)
    if not isinstance(args, dict):
        return _clip(raw, 80)
    tool = tool_named(name)
    value = args.get(tool.subject_arg if tool is not None else "path", "")
    return _clip(str(value).replace("\n", " "), 80)
