"""The interactive REPL: `codex-agent` with no task, `codex-agent resume` in a
terminal. A prompt-toolkit session over one working copy: each message is a
turn of the same conversation, slash commands act on the session.

Modules: app (the driver), terminal (reading input), completion (slash
commands and @paths), commands (the slash command table), view (what is
shown), pinned (/add, /drop), undo (/undo snapshots)."""

from agent.repl.app import repl_main

__all__ = ["repl_main"]
