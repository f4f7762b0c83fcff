"""The terminal view: the model's text as it streams, one compact line per
tool call with a short result, and a step / token / cost line after each
model response. Works in 80 columns, dumb terminals and with NO_COLOR (rich
honours both)."""

from __future__ import annotations

import json

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
from tools import tool_named



class TerminalView:
    def __init__(self, console: Console | None = None, model: str = "") -> None:
        self.console = console or Console(stderr=False, highlight=False)
        self.model = model
        self.usage = Usage()
        self.cost: float | None = 0.0
        self._streaming = False
        self._status: Status | None = None

    def __call__(self, event: Event) -> None:
        handler = getattr(self, "on_" + type(event).__name__, None)
        if handler:
            handler(event)

    def on_RunStarted(self, e: RunStarted) -> None:
        self.model = e.model
        self.console.print(f"[bold]codex-agent[/] · {escape(e.model)} · sandbox: {escape(e.isolation)}")
        self.console.print(f"[dim]working copy: {escape(e.workspace)}[/]")
        if e.tests:
            self.console.print(f"[dim]tests: {escape(e.tests)}[/]")

    def on_ModelRequested(self, e: ModelRequested) -> None:
        if self.console.is_terminal:
            self._status = self.console.status(f"[dim]thinking… step {e.step}[/]", spinner="dots")
            self._status.start()

    def on_TextDelta(self, e: TextDelta) -> None:
        self._stop_status()
        self._streaming = True
        self.console.out(e.text, end="", highlight=False)

    def on_ReasoningDelta(self, e: ReasoningDelta) -> None:
        self._stop_status()

    def on_ModelResponded(self, e: ModelResponded) -> None:
        self._stop_status()
        if self._streaming:
            self.console.out("")
            self._streaming = False
        elif e.reply.message.content:
            self.console.out(e.reply.message.content)
        self.usage = self.usage + e.reply.usage
        self.cost = None if e.cost is None or self.cost is None else self.cost + e.cost
        self.console.print(f"[dim]step {e.step} · {format_usage(self.usage)} · {format_cost(self.cost)}[/]")

    def on_Retrying(self, e: Retrying) -> None:
        self.console.print(f"[yellow]model request failed ({escape(e.reason)}); retry {e.attempt} in {e.delay:.1f}s[/]")

    def on_ToolStarted(self, e: ToolStarted) -> None:
        self.console.print(f"[cyan]•[/] [bold]{e.name}[/] {escape(tool_subject(e.name, e.arguments))}")

    def on_ToolFinished(self, e: ToolFinished) -> None:
        first = e.output.strip().splitlines()[0] if e.output.strip() else ""
        style = "dim" if e.ok else "red"
        self.console.print(f"  [{style}]└ {escape(_clip(first, 100))}[/]")

    def on_TestsRan(self, e: TestsRan) -> None:
        mark = "[green]tests pass[/]" if e.ok else "[red]tests fail[/]"
        counts = ", ".join(f"{v} {k}" for k, v in e.counts.items() if isinstance(v, int) and k != "exit_code")
        scope = f" ({escape(e.scope)})" if e.scope else ""
        self.console.print(f"[bold]verification:[/] {mark} {escape(counts)}{scope}")

    def on_Compacted(self, e: Compacted) -> None:
        self.console.print(f"[dim]context compacted: {e.tokens_before:,} → {e.tokens_after:,} tokens[/]")

    def on_Notice(self, e: Notice) -> None:
        self.console.print(f"[yellow]{escape(e.message)}[/]")

    def on_TurnFinished(self, e: TurnFinished) -> None:
        self._stop_status()
        o = e.outcome
        style = "green" if o.ok else "red"
        self.console.print(
            f"[{style}]{o.reason}[/]: {escape(o.message)} · {escape(o.verification.describe())} · {o.steps} steps · "
            f"{format_usage(o.usage)} · {format_cost(o.cost)}"
        )

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


def format_usage(u: Usage) -> str:
    cached = f" ({short_count(u.cached_input_tokens)} cached)" if u.cached_input_tokens else ""
    counted = f"{short_count(u.input_tokens)} in{cached} / {short_count(u.output_tokens)} out"
    return f"~{counted} (estimated: the server reported none)" if u.estimated else counted


def format_cost(cost: float | None) -> str:
    """None is a model missing from the price table: counted as free, and said so."""
    return "$0 (model not in the price table)" if cost is None else f"${cost:.4f}"


def short_count(n: int) -> str:
    return f"{n / 1000:.1f}K" if n >= 1000 else str(n)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


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
