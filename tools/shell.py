"""The shell tool: one command in the sandbox, with a timeout and an output cap.

Approval is not asked here: Registry.call asks the policy's check_tool, which
for shell checks the command itself (ApprovalPolicy.check_command).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.output import human_size
from tools.registry import Tool, ToolContext, ToolResult

if TYPE_CHECKING:
    from sandbox.runner import CommandResult

OUTPUT_BYTES = 60_000


def cut_note(result: "CommandResult") -> str:
    """'; output 2.1 MB, the middle elided' when the runner cut the output.

    For the status line: the loop caps results again in tokens, and that cut
    may take the runner's own marker out of the middle."""
    if not result.truncated_bytes:
        return ""
    return f"; output {human_size(result.truncated_bytes + len(result.output.encode()))}, the middle elided"


def _shell(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    command: str = args["command"]
    if not command.strip():
        return ToolResult.error("empty command.")
    if ctx.runner is None:
        return ToolResult.error("no sandbox runner is configured; commands cannot run.")
    result = ctx.runner.run(command, timeout=ctx.command_timeout, max_output_bytes=OUTPUT_BYTES)
    if result.timed_out:
        status = f"timed out after {ctx.command_timeout:g} s (the command was killed)"
    else:
        status = f"exit code {result.exit_code}"
    status += cut_note(result)
    output = result.output.rstrip()
    return ToolResult(
        f"{status}\n{output}" if output else f"{status} (no output)",
        ok=result.exit_code == 0 and not result.timed_out,
        data={"command": command, "exit_code": result.exit_code, "output": output, "timed_out": result.timed_out},
    )


TOOL = Tool(
    name="shell",
    description="Run a shell command in the sandboxed working copy (no network); returns exit code and output.",
    parameters={"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
    handler=_shell,
    mutates=True,
    command_arg="command",
    subject_arg="command",
)
