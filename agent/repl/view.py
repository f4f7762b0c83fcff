"""What the REPL shows: the one-shot terminal view with its tool lines
numbered (`/expand N` prints a call in full), and the bottom toolbar."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console

from agent.events import ToolFinished, ToolStarted
from agent.render_rich import TerminalView, format_cost, short_count, tool_line

if TYPE_CHECKING:
    from agent.session import Session


class ReplView(TerminalView):
    def __init__(self, console: Console | None = None, model: str = "") -> None:
        super().__init__(console, model)
        self.calls: list[ToolFinished] = []

    def on_ToolStarted(self, e: ToolStarted) -> None:
        number = len(self.calls) + 1  # tools run one at a time
        self.console.print(tool_line(e.name, e.arguments, self.console.width, f"[dim]#{number}[/]"))

    def on_ToolFinished(self, e: ToolFinished) -> None:
        self.calls.append(e)
        super().on_ToolFinished(e)

    def pause(self) -> None:
        """Stop the spinner, so a question can be asked."""
        self._stop_status()

    def expand(self, number: int | None = None) -> str | None:
        """Print tool call `number` (default: the last) in full; an error message if there is none."""
        if not self.calls:
            return "No tool calls yet."
        number = number or len(self.calls)
        if not 1 <= number <= len(self.calls):
            return f"No tool call #{number}: they are numbered 1 to {len(self.calls)}."
        call = self.calls[number - 1]
        self.console.rule(f"#{number} {call.name}" + ("" if call.ok else " (failed)"))
        self.console.print(_pretty_arguments(call.arguments), markup=False, highlight=False)
        self.console.rule(style="dim")
        self.console.print(call.output, markup=False, highlight=False)
        return None


def _pretty_arguments(raw: str) -> str:
    try:
        args = json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return raw
    if not isinstance(args, dict):
        return raw
    # Multi-line values (file contents, patches) read best as they are.
    return "\n".join(f"{key}: {value}" if isinstance(value, str) else f"{key}: {json.dumps(value)}"
                     for key, value in args.items())


def toolbar_text(session: "Session") -> str:
    """model · step · context used · cost · approval mode, in under 80 columns."""
    agent = session.agent
    used = agent.context_tokens()
    window = session.limits.context_window
    cost = format_cost(agent.cost)
    return (
        f" {agent.client.model} · step {agent.steps} · context {short_count(used)}/{short_count(window)} "
        f"({100 * used // max(window, 1)}%) · {cost + ' · ' if cost else ''}{session.settings.approval}"
    )
