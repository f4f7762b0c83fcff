"""The shell tool through the registry, with the real Runner and approval policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.approval import ApprovalPolicy
from sandbox.runner import Runner
from tools import default_registry
from tools.registry import ToolContext, ToolResult
from tools.shell import OUTPUT_BYTES


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(root=tmp_path, runner=Runner(tmp_path), command_timeout=10)


def call(ctx: ToolContext, command: str) -> ToolResult:
    return default_registry().call("shell", json.dumps({"command": command}), ctx)


def test_output_and_exit_code(ctx: ToolContext) -> None:
    result = call(ctx, "echo hello; echo oops >&2")
    assert result.ok
    assert result.output == "exit code 0\nhello\noops"
    assert result.data == {"command": "echo hello; echo oops >&2", "exit_code": 0, "output": "hello\noops",
                           "timed_out": False}


def test_a_failing_command_is_not_ok(ctx: ToolContext) -> None:
    result = call(ctx, "exit 3")
    assert not result.ok
    assert result.output == "exit code 3 (no output)" and result.data["exit_code"] == 3


def test_runs_in_the_working_copy(ctx: ToolContext) -> None:
    call(ctx, "echo made > made.txt")
    assert (ctx.root / "made.txt").read_text() == "made\n"


def test_a_hung_command_times_out(ctx: ToolContext) -> None:
    ctx.command_timeout = 1
    result = call(ctx, "echo started; sleep 30")
    assert not result.ok and result.data["timed_out"]
    assert result.output.startswith("timed out after 1 s") and "started" in result.output


def test_huge_output_is_capped(ctx: ToolContext) -> None:
    result = call(ctx, "head -c 5000000 /dev/zero | tr '\\0' x")
    assert result.ok
    assert len(result.output) < OUTPUT_BYTES + 1000


def test_the_status_line_says_how_much_output_was_cut(ctx: ToolContext) -> None:
    # The loop caps results again in tokens, which cuts the runner's marker
    # out of the middle; the first line survives any cap.
    result = call(ctx, "seq 1 300000")
    status = result.output.splitlines()[0]
    assert status.startswith("exit code 0; output ") and "MB" in status and "middle elided" in status
    assert result.output.splitlines()[1] == "1" and result.output.endswith("300000")
    assert call(ctx, "echo short").output.splitlines()[0] == "exit code 0"


def test_the_approval_policy_sees_the_command(ctx: ToolContext) -> None:
    ctx.approval = ApprovalPolicy("read-only")
    refused = call(ctx, "touch new.txt")
    assert not refused.ok and refused.data.get("refused") and "read-only" in refused.output
    assert not (ctx.root / "new.txt").exists()
    assert call(ctx, "ls").ok


def test_without_a_runner_it_is_an_error(tmp_path: Path) -> None:
    result = call(ToolContext(root=tmp_path), "echo hi")
    assert not result.ok and "runner" in result.output
