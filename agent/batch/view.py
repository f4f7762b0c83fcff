"""What the user sees: a live progress display on stderr (an overall bar and
one line per running task saying what its agent is doing), a line per
finished task, and at the end a summary table with totals and the resolved
rate."""

from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.batch.results import STATUSES
from agent.render_rich import counted, format_cost

_STYLE = {"resolved": "green", "failed": "yellow", "budget": "magenta", "error": "red", "interrupted": "dim"}


class BatchProgress:
    def __init__(self, total: int, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=self.console, transient=True,
        )
        self._overall = self._progress.add_task("tasks", total=total)
        self._running: dict[str, TaskID] = {}

    def __enter__(self) -> "BatchProgress":
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def started(self, task_id: str) -> None:
        self._running[task_id] = self._progress.add_task(f"  {task_id}: queued", total=None)

    def update(self, task_id: str, doing: str) -> None:
        if task_id in self._running:
            self._progress.update(self._running[task_id], description=f"  {task_id}: {doing}")

    def finished(self, record: dict[str, Any]) -> None:
        if record["id"] in self._running:
            self._progress.remove_task(self._running.pop(record["id"]))
        self._progress.advance(self._overall)
        self._progress.console.print(finished_line(record), highlight=False)

    def say(self, message: str) -> None:
        self._progress.console.print(message, highlight=False)


def finished_line(record: dict[str, Any]) -> str:
    status = record["status"]
    cost = format_cost(record.get("cost"), unknown="cost unknown")
    line = (f"[{_STYLE[status]}]{status:8}[/] {record['id']}  {counted(record.get('steps', 0), 'step')}, {cost}, "
            f"{record.get('wall_time', 0):.0f}s")
    if status != "resolved" and record.get("message"):
        line += f"  [dim]({escape(record['message'].splitlines()[0][:160])})[/]"
    return line


def summary_table(records: Iterable[dict[str, Any]], wall_time: float | None = None) -> Table:
    """Counts per status and totals; the resolved rate over every task with a result.
    "task time" adds the tasks' own times (they overlap with -j > 1); `wall_time`
    is how long this batch command took, said apart."""
    records = list(records)
    table = Table(title="Batch summary", title_justify="left")
    for column in ("status", "tasks", "steps", "tokens in", "cached", "tokens out", "cost", "task time"):
        table.add_column(column, justify="left" if column == "status" else "right")

    def row(label: str, group: list[dict[str, Any]], style: str | None = None) -> None:
        costs = [r.get("cost") for r in group]
        known = sum(c for c in costs if c is not None)
        cost = format_cost(known) + ("+?" if None in costs and group else "")
        table.add_row(
            label, str(len(group)), str(sum(r.get("steps") or 0 for r in group)),
            f"{sum(r.get('input_tokens') or 0 for r in group):,}",
            f"{sum(r.get('cached_input_tokens') or 0 for r in group):,}",
            f"{sum(r.get('output_tokens') or 0 for r in group):,}", cost,
            f"{sum(r.get('wall_time') or 0 for r in group):.0f}s", style=style,
        )

    for status in STATUSES:
        group = [r for r in records if r.get("status") == status]
        if group:
            row(status, group, _STYLE[status])
    table.add_section()
    row("total", records, "bold")
    resolved = sum(r.get("status") == "resolved" for r in records)
    rate = f"{resolved / len(records):.1%}" if records else "n/a"
    table.caption = f"resolved {resolved} of {len(records)} ({rate})" + (
        f"; wall time {wall_time:.1f}s" if wall_time is not None else "")
    return table
