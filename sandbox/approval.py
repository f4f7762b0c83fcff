"""Approval policy, in the three modes users know from Codex.

- `read-only`: tools that change files or run code (mutates=True) are
  refused; shell commands only from a small read-only allow-list
  (ls, cat, grep, git status/diff/log…).
- `auto` (default): everything runs inside the sandbox without asking.
- `ask`: the user is asked before each shell command, each mutating tool
  and before applying the result. "always" remembers that exact command
  (or, for other tools, that tool). With no one to ask (ask=None, a
  non-interactive run) the action is refused rather than left hanging.

In every mode a short deny-list (sandbox.commands) is refused with a reason
the model sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from sandbox.commands import denial, is_read_only

if TYPE_CHECKING:
    from tools.registry import Tool

MODES = ("read-only", "auto", "ask")


class ApprovalPolicy:
    def __init__(self, mode: str = "auto", ask: Callable[[str], str] | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"approval mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.ask = ask
        self._always: set[str] = set()  # "command:<exact text>" and "tool:<name>"

    def check_tool(self, tool: "Tool", args: dict[str, Any]) -> str | None:
        """None when the call may run, else a refusal message for the model."""
        if tool.command_arg is not None and tool.runs_project_code:
            return self._check_run_tests(args.get(tool.command_arg))
        if tool.command_arg is not None:
            return self.check_command(str(args.get(tool.command_arg, "")))
        if not tool.mutates:
            return None
        if self.mode == "read-only":
            return (
                f"Refused: {tool.name} changes files, and this session is read-only. "
                "Only reading tools and read-only commands are available."
            )
        if self.mode == "ask":
            return self._ask(f"tool:{tool.name}", f"Allow {tool.name}({_describe(args)})?", what=f"the {tool.name} call")
        return None

    def check_command(self, command: str) -> str | None:
        """Deny-list in every mode; read-only allow-list; ask in ask mode."""
        return self._check_line(
            command, key=f"command:{command}", read_only=is_read_only(command),
            question=f"Run this command?\n  {command}", what="the command",
        )

    def confirm_apply(self, summary: str) -> bool:
        """In ask mode, ask before the result lands in the user's tree."""
        if self.mode != "ask":
            return True
        if self.ask is None:
            return False
        return self._answer(f"Apply these changes to your working tree?\n{summary}") in ("yes", "always")

    def _check_run_tests(self, extra: str | None) -> str | None:
        # A string or absent: Registry.call has checked the type against the tool's schema.
        text = extra or ""
        label = f"run_tests {text}".strip()
        # Running the tests executes the project's code: never read-only.
        return self._check_line(
            text, key=f"command:{label}", read_only=False, question=f"Run the tests?\n  {label}", what="the test run"
        )

    def _check_line(self, text: str, *, key: str, read_only: bool, question: str, what: str) -> str | None:
        reason = denial(text)
        if reason:
            return f"Refused in every approval mode: {reason}. Don't retry it; find another way."
        if self.mode == "read-only" and not read_only:
            return (
                "Refused: this session is read-only; only reading tools and read-only commands "
                "(ls, cat, grep, find, git status/diff/log/show…, without output redirection) may run."
            )
        if self.mode == "ask":
            return self._ask(key, question, what=what)
        return None

    def _ask(self, key: str, question: str, *, what: str) -> str | None:
        if key in self._always:
            return None
        if self.ask is None:
            return (
                f"Refused: approval mode is 'ask' but this run is non-interactive, "
                f"so no one can approve {what}."
            )
        answer = self._answer(question)
        if answer == "always":
            self._always.add(key)
        if answer in ("yes", "always"):
            return None
        return f"Refused: the user declined {what}. Ask them or try a different approach."

    def _answer(self, question: str) -> str:
        try:
            reply = (self.ask(question) if self.ask else "").strip().lower()
        except EOFError:  # stdin closed: nobody is there to say yes
            return "no"
        return {"y": "yes", "yes": "yes", "a": "always", "always": "always"}.get(reply, "no")


def _describe(args: dict[str, Any]) -> str:
    """A one-line, bounded rendering of tool arguments for a question."""
    parts = []
    for key, value in args.items():
        text = repr(value)
        parts.append(f"{key}={text[:77] + '...' if len(text) > 80 else text}")
    return ", ".join(parts)
