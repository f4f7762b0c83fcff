"""How a working copy's changes are shown to people: a per-file summary, then
the full diff, syntax-highlighted."""

from __future__ import annotations

from rich.console import Console
from rich.syntax import Syntax

from sandbox.workspace import FileStat, Workspace

_KIND = {"add": "A", "update": "M", "delete": "D"}
MAX_SHOWN_CHARS = 200_000


def summary_lines(workspace: Workspace) -> list[str]:
    return [f"{_KIND.get(f.kind, '?')} {f.path} ({_size(f)})" for f in workspace.changed_files()]


def _size(stat: FileStat) -> str:
    if stat.link is not None:
        return f"symlink to {stat.link}"
    if stat.mostly_text:
        return "binary, but mostly text: its lines are not in the diff below; read the file before applying"
    return "binary" if stat.binary else f"+{stat.added} -{stat.removed}"


def show_diff(workspace: Workspace, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    lines = summary_lines(workspace)
    if not lines:
        console.print("No changes.")
        return
    console.rule("changes")
    for line in lines:
        console.print(line, markup=False)
    diff = _blank_context_trimmed(workspace.diff())
    console.print(Syntax(diff[:MAX_SHOWN_CHARS], "diff", theme="ansi_dark", word_wrap=True))
    if len(diff) > MAX_SHOWN_CHARS:
        # Highlighting hundreds of MB (a model-written binary) would take many minutes.
        console.print(f"[... {len(diff) - MAX_SHOWN_CHARS:,} more characters of the diff not shown; "
                      f"`codex-agent runs {workspace.run_id} --diff` prints it all]", markup=False)


def _blank_context_trimmed(diff: str) -> str:
    """An unchanged blank line is " " in a diff: invisible on screen, but a
    trailing blank in a copied or logged transcript."""
    return "\n".join("" if line == " " else line for line in diff.split("\n"))
