"""Slash commands: a table of name -> handler. A handler takes the REPL and
the rest of the line, talks to the session through its public parts, and
prints through `repl.say`; none of them holds loop logic."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from agent.repl.app import Repl

_COMMAND = re.compile(r"/([A-Za-z][\w-]*)(?:\s+(.*))?", re.S)
RESUME_LISTED = 10


@dataclass(frozen=True)
class Command:
    handler: Callable[["Repl", str], None]
    help: str
    usage: str = ""


def is_command(line: str) -> bool:
    """`/name args`; a line starting with a path such as /usr/bin/env is a message."""
    return _COMMAND.fullmatch(line.strip()) is not None


def dispatch(repl: "Repl", line: str) -> None:
    found = _COMMAND.fullmatch(line.strip())
    assert found is not None, "dispatch() takes lines is_command() accepted"
    name, arg = found.group(1).lower(), (found.group(2) or "").strip()
    command = COMMANDS.get(name)
    if command is None:
        close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.5)
        hint = f"Did you mean /{close[0]}?" if close else "/help lists the commands."
        repl.say(f"Unknown command /{name}. {hint}")
        return
    try:
        command.handler(repl, arg)
    except KeyboardInterrupt:
        repl.say(f"/{name} cancelled.")
    except Exception as exc:  # a failed command must not end the session
        repl.say(f"/{name} failed: {type(exc).__name__}: {exc}")


def command_help() -> dict[str, str]:
    return {name: command.help for name, command in COMMANDS.items()}


# --------------------------------------------------------------------------- the working copy


def _diff(repl: "Repl", arg: str) -> None:
    from agent.diffview import show_diff

    show_diff(repl.session.workspace, repl.console)


def _apply(repl: "Repl", arg: str) -> None:
    workspace = repl.session.workspace
    if not workspace.changed_files():
        repl.say("Nothing to apply: no changes yet.")
        return
    result = workspace.apply(repl.settings.allow_secrets)
    repl.say(result.message)
    if result.ok:
        repl.continue_after_apply()


def _undo(repl: "Repl", arg: str) -> None:
    if not len(repl.snapshots):
        repl.say("Nothing to undo: no turn has changed files in this working copy.")
        return
    paths = repl.snapshots.undo(repl.session.workspace.root)
    repl.files.invalidate()
    repl.say("Reverted the last turn's changes: " + ", ".join(paths))
    repl.note("[The user undid the file changes of an earlier turn; these files are back as they were "
              f"before it: {', '.join(paths)}.]")


def _test(repl: "Repl", arg: str) -> None:
    from tools.testing import run_test_command

    result = run_test_command(repl.session.ctx, arg)
    repl.say(result.output)


def _run(repl: "Repl", arg: str) -> None:
    from tools.shell import OUTPUT_BYTES

    if not arg:
        repl.say("Usage: /run COMMAND")
        return
    session = repl.session
    result = session.runner.run(arg, timeout=session.ctx.command_timeout, max_output_bytes=OUTPUT_BYTES)
    status = "timed out" if result.timed_out else f"exit code {result.exit_code}"
    output = result.output.rstrip()
    repl.say(f"{output}\n({status})" if output else f"({status}, no output)")
    repl.files.invalidate()
    repl.note(f"I ran `{arg}` in the working copy ({status}):\n{session.agent.filter_output(output) or '(no output)'}")


# --------------------------------------------------------------------------- context


def _add(repl: "Repl", arg: str) -> None:
    if not arg:
        pinned = repl.pinned.paths
        repl.say("Pinned: " + ", ".join(pinned) if pinned else "Usage: /add PATH (no files are pinned)")
        return
    for path in arg.split():
        repl.say(repl.pinned.add(repl.session.workspace.root, path, repl.settings.allow_secrets))


def _drop(repl: "Repl", arg: str) -> None:
    for path in arg.split() or [""]:
        repl.say(repl.pinned.drop(path))


def _compact(repl: "Repl", arg: str) -> None:
    from agent import compaction

    agent = repl.session.agent
    if len(agent.history) <= compaction.KEEP_RECENT:
        repl.say("Nothing to compact yet: the conversation is short.")
        return
    agent.compact()
    repl.session.save()


def _tokens(repl: "Repl", arg: str) -> None:
    from agent.compaction import message_tokens
    from agent.tokens import count_tokens

    session = repl.session
    agent = session.agent
    model = agent.client.model
    parts: Counter[str] = Counter()
    parts["instructions"] = count_tokens(agent.instructions, model)
    for message in agent.history:
        parts[f"history: {message.role} messages"] += message_tokens(message, model)
    for path, n in repl.pinned.tokens(session.workspace.root).items():
        parts[f"pinned: {path}"] = n
    total = sum(parts.values())
    window = session.limits.context_window
    width = max(len(k) for k in parts)
    lines = [f"{name:<{width}}  {n:>9,}" for name, n in parts.items()]
    lines.append(f"{'total':<{width}}  {total:>9,}  ({100 * total // max(window, 1)}% of {window:,})")
    repl.say("\n".join(lines))


def _cost(repl: "Repl", arg: str) -> None:
    from agent.render_rich import usage_and_cost

    agent = repl.session.agent
    priced = "" if agent.cost is not None else f" · not priced for {agent.client.model}"
    repl.say(f"{usage_and_cost(agent.usage, agent.cost)}{priced} · {agent.steps} model requests")


def _clear(repl: "Repl", arg: str) -> None:
    repl.clear_conversation()
    repl.say("New conversation; the working copy and its changes stay.")


# --------------------------------------------------------------------------- settings


def _model(repl: "Repl", arg: str) -> None:
    if not arg:
        repl.say(f"Model: {repl.session.agent.client.model}")
        return
    repl.switch_model(arg)
    repl.say(f"Model: {arg}")


def _approval(repl: "Repl", arg: str) -> None:
    from sandbox.approval import MODES

    if arg not in MODES:
        repl.say(f"Approval mode: {repl.settings.approval} (choose one of: {', '.join(MODES)})")
        return
    repl.set_approval(arg)
    repl.say(f"Approval mode: {arg}")


# --------------------------------------------------------------------------- sessions


def _save(repl: "Repl", arg: str) -> None:
    repl.session.save()
    run_id = repl.session.run_id
    repl.say(f"Saved session {run_id}; continue it with /resume {run_id} or `codex-agent resume {run_id}`.")


def _resume(repl: "Repl", arg: str) -> None:
    if arg:
        repl.resume(arg)
        return
    repl.say(_session_list(repl.session.run_id) or "No saved sessions.")


def _session_list(current: str) -> str:
    import json

    from agent.session import sessions_dir

    files = sorted(sessions_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    lines = []
    for path in files[:RESUME_LISTED]:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        prompts = state.get("prompts") or [""]
        first = " ".join(prompts[0].split())[:34]
        mark = "*" if state.get("run_id") == current else " "
        lines.append(f"{mark} {state.get('run_id', path.stem)}  {state.get('state') or '?':<9} "
                     f"{len(prompts):>2} msg  {first}")
    return "\n".join(lines)


def _exit(repl: "Repl", arg: str) -> None:
    repl.running = False


def _expand(repl: "Repl", arg: str) -> None:
    if arg and not arg.lstrip("#").isdigit():
        repl.say("Usage: /expand [N], N as shown after a tool line (#N)")
        return
    problem = repl.view.expand(int(arg.lstrip("#")) if arg else None)
    if problem:
        repl.say(problem)


def _help(repl: "Repl", arg: str) -> None:
    width = max(len(name) + len(c.usage) for name, c in COMMANDS.items()) + 2
    lines = [f"/{(name + ' ' + c.usage).strip():<{width}} {c.help}" for name, c in COMMANDS.items()]
    lines += [
        "",
        "Enter sends; Alt-Enter (or Esc Enter) adds a line; Ctrl-R searches earlier messages.",
        "@path attaches a file (@folder/ its listing). Ctrl-C stops a turn; Ctrl-D exits.",
    ]
    repl.say("\n".join(lines))


COMMANDS: dict[str, Command] = {
    "help": Command(_help, "this list"),
    "diff": Command(_diff, "what the agent changed so far"),
    "apply": Command(_apply, "apply the changes to your tree; go on in a fresh copy"),
    "undo": Command(_undo, "revert the last turn's changes in the working copy"),
    "test": Command(_test, "run the tests now", "[ARGS]"),
    "run": Command(_run, "run a command in the sandbox; its output joins the chat", "CMD"),
    "add": Command(_add, "pin files: their content goes with each message", "PATH"),
    "drop": Command(_drop, "unpin files (all without PATH)", "[PATH]"),
    "compact": Command(_compact, "summarise older turns to free context"),
    "tokens": Command(_tokens, "what the context holds, by part"),
    "cost": Command(_cost, "tokens and cost so far"),
    "expand": Command(_expand, "show tool call N (default: the last) in full", "[N]"),
    "model": Command(_model, "show or switch the model", "[NAME]"),
    "approval": Command(_approval, "show or set: read-only | auto | ask", "[MODE]"),
    "save": Command(_save, "save the session now"),
    "resume": Command(_resume, "list saved sessions, or continue one", "[ID]"),
    "clear": Command(_clear, "new conversation on the same working copy"),
    "exit": Command(_exit, "leave (asks about unapplied changes)"),
}
