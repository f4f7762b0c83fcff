"""How a working copy's changes are shown to people: a per-file summary, then
the full diff, syntax-highlighted."""

from __future__ import annotations

from rich.console import Console
from rich.syntax import Syntax

from sandbox.workspace import Workspace

_KIND = {"add": "A", "update": "M", "delete": "D"}


def summary_lines(workspace: Workspace) -> list[str]:
    return [
        f"{_KIND.get(f.kind, '?')} {f.path} (+{f.added} -{f.removed})" for f in workspace.changed_files()
    ]


def show_diff(workspace: Workspace, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    lines = summary_lines(workspace)
    if not lines:
        console.print("No changes.")
        return
    console.rule("changes")
    for line in lines:
        console.print(line, markup=False)
    console.print(Syntax(_blank_context_trimmed(workspace.diff()), "diff", theme="ansi_dark", word_wrap=True))


def _blank_context_trimmed(diff: str) -> str:
    """An unchanged blank line is " " in a diff: invisible on screen, but a
    trailing blank in a copied or logged transcript."""
    return "\n".join("" if line == " " else line for line in diff.split("\n"))
