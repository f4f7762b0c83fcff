"""The run_tests tool, and the same run for the loop's verification gate.

For pytest the summary comes from pytest's own junit XML report, not from
scraping its console: counts, and for each failure the test id, the message
and a traceback trimmed to the project's own frames. Commands run under
bubblewrap with a private /tmp, so the report is written inside the working
copy under a unique name and deleted before the result is returned: it never
reaches the diff. Any other test command (npm test, go test ./...) gives its
exit code and output.
"""

from __future__ import annotations

import re
import secrets
import shlex
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tools.paths import read_own_file
from tools.registry import Tool, ToolContext, ToolResult
from tools.search import walk_files
from tools.shell import cut_note

if TYPE_CHECKING:
    from sandbox.runner import CommandResult

DEFAULT_PYTEST = "python -m pytest"
OUTPUT_BYTES = 60_000  # of a test command's output
SHOWN_FAILURES = 10  # with message and traceback; the rest by id only
TRACEBACK_LINES = 20
MESSAGE_CHARS = 500

_PYTEST_CONFIG = {"pytest.ini": "", "pyproject.toml": "[tool.pytest.ini_options]", "setup.cfg": "[tool:pytest]",
                  "tox.ini": "[pytest]"}
_TEST_FILE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test)\.py$")
_FRAME = re.compile(r"^(\S.*?):(\d+): in ")


def detect_test_command(root: Path) -> str | None:
    """`python -m pytest` when the repository has Python tests or pytest
    configuration; None otherwise."""
    for name, marker in _PYTEST_CONFIG.items():
        path = root / name
        if path.is_file() and marker in path.read_text(errors="replace"):
            return DEFAULT_PYTEST
    if (root / "conftest.py").is_file():
        return DEFAULT_PYTEST
    if any(_TEST_FILE.search(f) for f in walk_files(root)):
        return DEFAULT_PYTEST
    return None


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

    def counts(self) -> str:
        return f"{self.passed} passed, {self.failed} failed, {self.errors} errors, {self.skipped} skipped"


def parse_junit(xml_text: str, root: Path) -> Summary:
    """A Summary of a pytest junit report (junit_family=xunit1: file and line per test)."""
    summary = Summary()
    for case in ET.fromstring(xml_text).iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if case.find("skipped") is not None:
            summary.skipped += 1
        elif problem is None:
            summary.passed += 1
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
    base = ctx.test_cmd or detect_test_command(ctx.root) or (DEFAULT_PYTEST if args else None)
    if base is None:
        return ToolResult.error("no test command: this project has no tests that were recognised. "
                                "Pass args (pytest is used) or run your test command with shell.")
    if ctx.runner is None:
        return ToolResult.error("no sandbox runner is configured; tests cannot run.")
    command = " ".join(part for part in (base, args.strip()) if part)
    if not is_pytest(base):
        return _run_other(ctx, command)

    # The sandbox binds the working copy at its real path, so this path is valid inside it too.
    report = ctx.root.resolve() / f".codex-agent-junit-{secrets.token_hex(6)}.xml"
    # Our options go before the model's args so that its own --tb wins.
    options = f"--junitxml={shlex.quote(str(report))} -o junit_family=xunit1 --tb=short"
    try:
        result = ctx.runner.run(f"{base} {options} {args.strip()}".strip(), timeout=ctx.command_timeout,
                                max_output_bytes=OUTPUT_BYTES)
        data = read_own_file(report)
        xml_text = data.decode(errors="replace") if data is not None else None
    finally:
        report.unlink(missing_ok=True)

    if result.timed_out or xml_text is None:  # no report: timeout, usage error, crash
        status = f"timed out after {ctx.command_timeout:g} s" if result.timed_out else f"exit {result.exit_code}"
        output = f"{command}: {status}, no test report.\n{_tail(result.output)}"
        return ToolResult(output, ok=False, data=_data(command, result))
    summary = parse_junit(xml_text, ctx.root.resolve())
    # The whole suite collecting nothing means no tests exist yet: not a failure
    # (the gate would otherwise never let such a run finish). A filter that
    # selects nothing is the caller's mistake and stays one.
    ok = result.exit_code == 0 or (result.exit_code == 5 and not args.strip())
    return ToolResult(_pytest_report(summary, result.exit_code, command), ok=ok, data=_data(command, result, summary))


def _run_other(ctx: ToolContext, command: str) -> ToolResult:
    assert ctx.runner is not None
    result = ctx.runner.run(command, timeout=ctx.command_timeout, max_output_bytes=OUTPUT_BYTES)
    status = f"timed out after {ctx.command_timeout:g} s" if result.timed_out else f"exit {result.exit_code}"
    return ToolResult(f"{command}: {status}{cut_note(result)}\n{result.output.rstrip()}",
                      ok=result.exit_code == 0 and not result.timed_out, data=_data(command, result))


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
