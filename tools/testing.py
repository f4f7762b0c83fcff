"""The run_tests tool, and the same run for the loop's verification gate.

For pytest the summary comes from pytest's own junit XML report, not from
scraping its console: counts, and for each failure the test id, the message
and a traceback trimmed to the project's own frames. Commands run under
bubblewrap with a private /tmp, so the report is written inside the working
copy under a unique name and deleted before the result is returned: it never
reaches the diff. Any other test command (npm test, go test ./...) gives its
exit code, the failing tests its runner names (TAP's "not ok", node's, go's,
cargo's and jest's summary lines) and its output, head and tail kept.
Which command a project declares is tools.test_command's job.
"""

from __future__ import annotations

import re
import secrets
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.paths import read_own_file
from tools.registry import Tool, ToolContext, ToolResult
from tools.shell import cut_note
from tools.test_command import DEFAULT_PYTEST, detect_test_command

if TYPE_CHECKING:
    from sandbox.runner import CommandResult, Runner

OUTPUT_BYTES = 60_000  # of a test command's output
SHOWN_FAILURES = 10  # with message and traceback; the rest by id only
TRACEBACK_LINES = 20
MESSAGE_CHARS = 500

_FRAME = re.compile(r"^(\S.*?):(\d+): in ")
OTHER_HEAD_LINES = 30  # of another runner's output: how it started…
OTHER_TAIL_LINES = 150  # …and how it ended, where runners summarise
# The lines other runners name a failing test on: TAP (node --test, prove),
# node's spec reporter, go test, cargo test, jest.
_FAILING_LINE = re.compile(
    r"^\s*(?:not ok \d+ - (?P<tap>.+?)(?:\s+#.*)?"
    r"|✖ (?P<node>.+?) \([\d.]+m?s\)"
    r"|--- FAIL: (?P<go>\S+) \([\d.]+s\)"
    r"|test (?P<cargo>\S+) \.\.\. FAILED"
    r"|● (?P<jest>.+?))\s*$",
    re.MULTILINE,
)


def is_pytest(command: str) -> bool:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return any(Path(w).name in ("pytest", "py.test") for w in words)


@dataclass
class Failure:
    id: str
    kind: str  # "failed", "error", or "collection" (a test file that could not be imported)
    message: str
    traceback: str


@dataclass
class Summary:
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    # Test id -> passed | failed | error | skipped | xfailed, for judging named tests.
    outcomes: dict[str, str] = field(default_factory=dict)

    def counts(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.errors} errors, {self.skipped} skipped"


def parse_junit(xml_text: str, root: Path) -> Summary:
    """A Summary of a pytest junit report (junit_family=xunit1: file and line per test)."""
    summary = Summary()
    for case in ET.fromstring(xml_text).iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        if skipped is not None:
            summary.skipped += 1
            summary.outcomes[_test_id(case)] = "xfailed" if skipped.get("type") == "pytest.xfail" else "skipped"
        elif problem is None:
            summary.passed += 1
            summary.outcomes[_test_id(case)] = "passed"
        else:
            kind = "failed" if problem.tag == "failure" else "error"
            if kind == "error" and problem.get("message") == "collection failure":
                kind = "collection"
            if kind == "failed":
                summary.failed += 1
            else:
                summary.errors += 1
            text = problem.text or ""
            summary.failures.append(Failure(_test_id(case), kind, _message(problem, text), _trim_traceback(text, root)))
            summary.outcomes[_test_id(case)] = "failed" if kind == "failed" else "error"
    return summary


def _test_id(case: ET.Element) -> str:
    """tests/test_x.py::TestK::test_a[1] from the testcase's file, class path and name."""
    file, classname, name = case.get("file", ""), case.get("classname", ""), case.get("name", "")
    if not classname:  # a collection error: the name is the module
        return file or name
    module = file.removesuffix(".py").replace("/", ".")
    classes = classname[len(module) + 1 :].split(".") if classname.startswith(module + ".") else []
    return "::".join([file or classname, *[c for c in classes if c], name])


def _message(problem: ET.Element, text: str) -> str:
    message = problem.get("message", "")
    if message in ("", "collection failure") or message.startswith("failed on setup"):
        # The last "E   ..." lines say what went wrong better than pytest's label.
        errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
        message = " ".join(errors[-3:]) or message
    message = message.strip()
    return message[:MESSAGE_CHARS] + ("…" if len(message) > MESSAGE_CHARS else "")


def _trim_traceback(text: str, root: Path) -> str:
    """The traceback without frames outside the project (stdlib, site-packages),
    ending at the failing line."""
    kept: list[str] = []
    keep = True
    for line in text.splitlines():
        if frame := _FRAME.match(line):
            path = frame.group(1)
            keep = not Path(path).is_absolute() or Path(path).is_relative_to(root)
        if keep:
            kept.append(line)
    return "\n".join(kept[-TRACEBACK_LINES:])


def _pytest_report(summary: Summary, exit_code: int | None, command: str) -> str:
    head = f"{command}: {summary.counts()} (exit {exit_code})"
    if exit_code == 5:
        head += "\nNo tests ran: pytest collected nothing (check the path, -k filter, or test file names)."
    elif exit_code == 2 and any(f.kind == "collection" for f in summary.failures):
        head += "\nInterrupted, so no tests ran: a test file could not be collected. Fix the collection errors first."
    lines = [head]
    labels = {"failed": "FAILED", "error": "ERROR", "collection": "ERROR (collection)"}
    for number, failure in enumerate(summary.failures):
        label = labels[failure.kind]
        if number >= SHOWN_FAILURES:
            lines.append(f"{label} {failure.id}")
            continue
        # The message's further lines repeat the traceback's "E" lines.
        first_line = failure.message.partition("\n")[0]
        lines.append(f"\n{label} {failure.id}: {first_line}")
        if failure.traceback:
            lines.append(_indent(failure.traceback))
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _tail(output: str, lines: int = 40) -> str:
    return "\n".join(output.rstrip().splitlines()[-lines:])


def run_test_command(ctx: ToolContext, args: str = "") -> ToolResult:
    """Run the project's tests (ctx.test_cmd, else the detected one) with
    `args` appended; for the verification gate and the run_tests tool."""
    if ctx.more_test_cmds and not args.strip():
        each = [replace(ctx, test_cmd=command, more_test_cmds=()) for command in (ctx.test_cmd, *ctx.more_test_cmds)]
        return _combined([run_test_command(one) for one in each])
    base = ctx.test_cmd or detect_test_command(ctx.root) or (DEFAULT_PYTEST if args else None)
    if base is None:
        return ToolResult.error("no test command: this project has no tests that were recognised. "
                                "Pass args (pytest is used) or run your test command with shell.")
    if ctx.runner is None:
        return ToolResult.error("no sandbox runner is configured; tests cannot run.")
    command = " ".join(part for part in (base, args.strip()) if part)
    if not is_pytest(base):
        return _run_other(ctx, command)

    result, xml_text = run_pytest(ctx.runner, ctx.root, base, args, timeout=ctx.command_timeout)
    if result.timed_out or xml_text is None:  # no report: timeout, usage error, crash
        status = f"timed out after {ctx.command_timeout:g} s" if result.timed_out else f"exit {result.exit_code}"
        output = f"{command}: {status}, no test report.\n{_tail(result.output)}"
        return _environment_checked(ctx, ToolResult(output, ok=False, data=_data(command, result)), None, result)
    summary = parse_junit(xml_text, ctx.runner.workdir)
    # The whole suite collecting nothing means no tests exist yet: not a failure
    # (the gate would otherwise never let such a run finish). A filter that
    # selects nothing is the caller's mistake and stays one.
    ok = result.exit_code == 0 or (result.exit_code == 5 and not args.strip())
    report = ToolResult(_pytest_report(summary, result.exit_code, command), ok=ok,
                        data=_data(command, result, summary))
    return _environment_checked(ctx, report, summary, result)


def _environment_checked(ctx: ToolContext, report: ToolResult, summary: Summary | None,
                         result: "CommandResult") -> ToolResult:
    """A failed run whose cause is the environment says so, in the output and
    as data["cannot_run"] (which the gate acts on)."""
    from tools.test_env import environment_problem

    if report.ok:
        return report
    problem = environment_problem(summary, result.output, ctx.root)
    if problem is None:
        return report
    assert ctx.runner is not None
    reason = f"{problem} ({ctx.runner.python.describe()})"
    report.data["cannot_run"] = reason
    report.output += f"\n\nThe tests cannot run: {reason}."
    return report


def run_pytest(runner: "Runner", root: Path, base: str, args: str, *, timeout: float,
               max_output_bytes: int = OUTPUT_BYTES,
               env: dict[str, str] | None = None) -> tuple["CommandResult", str | None]:
    """Run the pytest command `base` with a junit report, then `args`: the
    result and the report's XML (None when pytest wrote none)."""
    # Written inside the working copy: the sandbox's /tmp is private. Commands
    # may see the copy at another path (Runner.workdir).
    name = f".codex-agent-junit-{secrets.token_hex(6)}.xml"
    report, inside = root.resolve() / name, runner.workdir / name
    # Our options go before the model's args so that its own --tb wins.
    options = f"--junitxml={shlex.quote(str(inside))} -o junit_family=xunit1 --tb=short"
    try:
        result = runner.run(f"{base} {options} {args.strip()}".strip(), timeout=timeout,
                            max_output_bytes=max_output_bytes, env=env)
        data = read_own_file(report)  # the tests' code may have swapped it for a link
        xml_text = data.decode(errors="replace") if data is not None else None
    finally:
        report.unlink(missing_ok=True)
    return result, xml_text


def _run_other(ctx: ToolContext, command: str) -> ToolResult:
    assert ctx.runner is not None
    result = ctx.runner.run(command, timeout=ctx.command_timeout, max_output_bytes=OUTPUT_BYTES)
    ok = result.exit_code == 0 and not result.timed_out
    status = f"timed out after {ctx.command_timeout:g} s" if result.timed_out else f"exit {result.exit_code}"
    head = f"{command}: {status}{cut_note(result)}"
    summary = Summary()
    if not ok:
        names = failing_tests(result.output)
        summary = Summary(failed=len(names), failures=[Failure(name, "failed", "", "") for name in names])
        if names:
            shown = ", ".join(names[:SHOWN_FAILURES]) + (f" and {len(names) - SHOWN_FAILURES} more"
                                                         if len(names) > SHOWN_FAILURES else "")
            head += f"\nFailing: {shown}"
    report = ToolResult(f"{head}\n{_head_and_tail(result.output)}", ok=ok, data=_data(command, result, summary))
    return _environment_checked(ctx, report, None, result)


def _combined(results: list[ToolResult]) -> ToolResult:
    """One result for several test commands: passes when each passes."""
    tests = [r.data.get("tests", {}) for r in results]
    counts = {key: sum(t.get(key, 0) for t in tests) for key in ("passed", "failed", "errors", "skipped")}
    exit_code = next((r.data.get("exit_code") for r in results if r.data.get("exit_code") != 0), 0)
    data = {
        "command": "; ".join(r.data.get("command", "") for r in results), "exit_code": exit_code,
        "timed_out": any(r.data.get("timed_out") for r in results),
        "tests": {**counts, "exit_code": exit_code, "failures": [f for t in tests for f in t.get("failures", [])]},
    }
    # One command that cannot run (its runner missing) makes the whole run one the gate cannot judge.
    if reason := next((r.data["cannot_run"] for r in results if r.data.get("cannot_run")), None):
        data["cannot_run"] = reason
    return ToolResult("\n\n".join(r.output for r in results), ok=all(r.ok for r in results), data=data)


def failing_tests(output: str) -> list[str]:
    """The failing tests a runner's output names, once each, in order."""
    names: dict[str, None] = {}
    for match in _FAILING_LINE.finditer(output):
        names[next(group for group in match.groups() if group)] = None
    return list(names)


def _head_and_tail(output: str) -> str:
    lines = output.rstrip().splitlines()
    if len(lines) <= OTHER_HEAD_LINES + OTHER_TAIL_LINES:
        return "\n".join(lines)
    elided = len(lines) - OTHER_HEAD_LINES - OTHER_TAIL_LINES
    return "\n".join([*lines[:OTHER_HEAD_LINES], f"[... {elided} lines elided ...]", *lines[-OTHER_TAIL_LINES:]])


def _data(command: str, result: "CommandResult", summary: Summary | None = None) -> dict[str, Any]:
    """Facts for renderers; without a pytest report the counts stay 0."""
    summary = summary or Summary()
    tests = {
        "passed": summary.passed, "failed": summary.failed, "errors": summary.errors, "skipped": summary.skipped,
        "exit_code": result.exit_code,
        "failures": [{"id": f.id, "message": f.message, "kind": f.kind} for f in summary.failures],
    }
    return {"command": command, "exit_code": result.exit_code, "timed_out": result.timed_out, "tests": tests}


def _run_tests(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    return run_test_command(ctx, args.get("args") or "")


TOOL = Tool(
    name="run_tests",
    description="Run the project's tests; pytest gives counts and each failure's id, message and traceback.",
    parameters={
        "type": "object",
        "properties": {"args": {"type": "string", "description": "appended, e.g. tests/test_x.py -k name"}},
    },
    handler=_run_tests,
    mutates=True,
    command_arg="args",
    runs_project_code=True,
    subject_arg="args",
)
