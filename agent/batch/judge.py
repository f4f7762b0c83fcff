"""The SWE-bench judgement: does the agent's patch make FAIL_TO_PASS pass
without breaking PASS_TO_PASS?

As the SWE-bench harness does it: a fresh checkout at the base commit, the
setup commands, the agent's patch, the test files of `test_patch` reset to
the base and the test patch applied, then pytest over the files holding the
named tests, with the project's interpreter (`python`, see
worker.task_settings) and the checkout's code first on the import path. Each named test's outcome and message come from
pytest's junit report, read by the run_tests tool's own parser; a test the
report lacks did not run, and says why. An empty patch is not run at all: it
is "no changes", not a list of failures. The agent's own working copy is
never touched, and the model never sees the test patch. Test ids are pytest
node ids (`path::name`).
"""

from __future__ import annotations

import os
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath
from typing import Any

from agent.batch.checkout import checkout
from sandbox.git import GitError, git
from sandbox.python_env import discover
from sandbox.runner import Runner
from tools.testing import DEFAULT_PYTEST, Summary, is_pytest, parse_junit, run_pytest

JUDGE_TIMEOUT = 1800.0  # seconds for the judged test run
SETUP_TIMEOUT = 1800.0
SETUP_TAIL_LINES = 20  # of a failed setup command's output, in the task's reason
OUTPUT_BYTES = 8_000_000
OUTPUT_TAIL_LINES = 30  # of the judged run's output, kept in the verdict
# A test file that cannot be imported leaves the other files judged.
PYTEST_OPTIONS = "-p no:cacheprovider --continue-on-collection-errors"
NO_CHANGES = "no changes"
_PASSING = ("passed", "xfailed")
_LISTS = (("FAIL_TO_PASS", "fail_to_pass"), ("PASS_TO_PASS", "pass_to_pass"))


class JudgeError(Exception):
    """The judgement could not be made (the test patch does not apply): an infrastructure error."""


class SetupError(Exception):
    """A task's setup command or environment failed: an infrastructure error, not a model miss."""


def judge(task: dict[str, Any], patch: str, dest: Path, *, sandbox: str = "auto",
          python: str | None = None, shown_at: Path | None = None) -> dict[str, Any]:
    """The verdict on `patch` for a judged task: {"resolved", "fail_to_pass_failed",
    "pass_to_pass_failed", "not_run", "tests" (id -> list, outcome, message),
    "reason"} plus, when tests ran, "command", "exit_code" and "output_tail",
    or a "note" saying why nothing was run. `shown_at`: where the tests see
    the checkout (an env_setup environment's path, see envs.py)."""
    if not patch.strip():
        return _verdict(task, None, note=NO_CHANGES)
    root = checkout(task["repo"], task["base_commit"], dest)
    runner = Runner(root, mode=sandbox, python=discover(root, explicit=python_prefix(python)) if python else None,
                    project=shown_at)
    run_setup(runner, task["setup"])
    try:
        _apply(root, patch)
    except GitError as exc:
        return _verdict(task, None, note=f"the patch does not apply: {exc}")
    if task["test_patch"]:
        _reset_to_base(root, patched_files(task["test_patch"]))
        try:
            _apply(root, task["test_patch"])
        except GitError as exc:
            raise JudgeError(f"the test patch does not apply: {exc}") from exc
    base = f"{_pytest(task)} {PYTEST_OPTIONS}"
    files = " ".join(map(shlex.quote, _test_files(task)))
    result, xml_text = run_pytest(runner, root, base, files, timeout=JUDGE_TIMEOUT, max_output_bytes=OUTPUT_BYTES,
                                  env={"PYTHONPATH": import_path(root, runner.workdir)})
    tail = result.output.rstrip().splitlines()[-OUTPUT_TAIL_LINES:]
    summary = _summary(xml_text, runner.workdir)
    if result.timed_out:
        why = f"timed out after {JUDGE_TIMEOUT:g} s"
    elif summary is None:
        why = f"pytest wrote no report (exit {result.exit_code}): {tail[-1] if tail else 'no output'}"
    else:
        why = "not in pytest's report"
    verdict = _verdict(task, summary, not_run=why)
    verdict.update(command=f"{base} {files}".strip(), exit_code=result.exit_code, output_tail="\n".join(tail))
    return verdict


def import_path(root: Path, workdir: Path) -> str:
    """The checkout's own code ahead of whatever the environment installed
    (an editable install points at the clone it was made from, not at this
    checkout): its root, and `src` too in the src layout, as the commands see
    them (at `workdir`)."""
    src = root / "src"
    roots = [workdir, workdir / "src"] if src.is_dir() and not (src / "__init__.py").exists() else [workdir]
    return os.pathsep.join(str(r) for r in roots)


def python_prefix(value: str) -> Path:
    """The prefix of `value`, an interpreter (`…/bin/python`) or a prefix.
    Not resolved: a virtualenv's python is a link to the base interpreter."""
    path = Path(value).expanduser().absolute()
    prefix = path.parent.parent if path.is_file() else path
    if not any((prefix / "bin" / name).is_file() for name in ("python3", "python")):
        raise SetupError(f"python {value}: no interpreter there (give a virtualenv's folder or its bin/python)")
    home = Path.home().resolve()
    if prefix.resolve() in (home, *home.parents):
        raise SetupError(f"python {value}: {prefix} is too wide to show to the sandbox; give the environment's folder")
    return prefix


def run_setup(runner: Runner, commands: list[str], *, network: bool = False, field: str = "setup") -> None:
    """Each command in turn; SetupError naming the task file's `field` and
    the failing command, with its output's last lines."""
    for command in commands:
        result = runner.run(command, timeout=SETUP_TIMEOUT, network=network)
        if result.exit_code != 0:
            status = "timed out" if result.timed_out else f"exit {result.exit_code}"
            tail = "\n".join(result.output.rstrip().splitlines()[-SETUP_TAIL_LINES:])
            raise SetupError(f"{field} command {command!r} failed ({status}):\n{tail}")


def patched_files(patch: str) -> list[str]:
    """The paths a patch writes, each refused unless it stays inside the checkout."""
    paths = set()
    for line in patch.splitlines():
        if line.startswith(("--- a/", "+++ b/")):
            path = line[6:].rstrip()
            if PurePosixPath(path).is_absolute() or ".." in PurePosixPath(path).parts:
                raise JudgeError(f"the test patch names a path outside the repository: {path}")
            paths.add(path)
    return sorted(paths)


def describe(verdict: dict[str, Any]) -> str:
    """One line saying why a judged task is or is not resolved."""
    if verdict.get("note"):
        return verdict["note"]
    tests = verdict["tests"]
    if verdict["resolved"]:
        return f"resolved: all {len(tests)} named tests pass"
    parts = []
    for label, key in _LISTS:
        failed = verdict[f"{key}_failed"]
        if failed:
            first = tests[failed[0]]
            parts.append(f"{label} {len(failed)} failed: {failed[0]} ({first['outcome']}"
                         + (f": {first['message'].splitlines()[0][:120]}" if first["message"] else "") + ")")
    if verdict["not_run"]:
        parts.append(f"{len(verdict['not_run'])} did not run ({tests[verdict['not_run'][0]]['message']})")
    return "; ".join(parts)


def _summary(xml_text: str | None, workdir: Path) -> Summary | None:
    if xml_text is None:
        return None
    try:
        return parse_junit(xml_text, workdir)
    except ET.ParseError:  # the tests' own code can garble the report
        return None


def _verdict(task: dict[str, Any], summary: Summary | None, *, note: str | None = None,
             not_run: str = "") -> dict[str, Any]:
    """Per-test results of the named tests. With `note` nothing was run: no
    test counts as failed, every one as not run for that reason."""
    outcomes = summary.outcomes if summary else {}
    messages = {f.id: f.message for f in summary.failures} if summary else {}
    # A file that could not be collected explains why its tests did not run.
    broken = {f.id: f.message for f in summary.failures if f.kind == "collection"} if summary else {}
    tests: dict[str, dict[str, str]] = {}
    for label, key in _LISTS:
        for test_id in task[key]:
            outcome = outcomes.get(test_id, "not run")
            message = messages.get(test_id, "")
            file = test_id.split("::", 1)[0]
            if outcome == "not run":
                message = note or (f"collection error: {broken[file]}" if file in broken else not_run)
            tests[test_id] = {"list": label, "outcome": outcome, "message": message}
    verdict: dict[str, Any] = {
        "resolved": note is None and all(t["outcome"] in _PASSING for t in tests.values()),
        "fail_to_pass_failed": _ran_and_failed(task["fail_to_pass"], tests),
        "pass_to_pass_failed": _ran_and_failed(task["pass_to_pass"], tests),
        "not_run": [t for t, r in tests.items() if r["outcome"] == "not run"],
        "tests": tests,
    }
    if note:
        verdict["note"] = note
    verdict["reason"] = describe(verdict)
    return verdict


def _ran_and_failed(ids: list[str], tests: dict[str, dict[str, str]]) -> list[str]:
    return [t for t in ids if tests[t]["outcome"] not in (*_PASSING, "not run")]


def _apply(root: Path, patch: str) -> None:
    git("apply", "--whitespace=nowarn", "-", cwd=root, input=patch.encode())


def _reset_to_base(root: Path, paths: list[str]) -> None:
    """Undo the agent's edits to the files the test patch writes, as the harness does."""
    for path in paths:
        try:
            git("--literal-pathspecs", "checkout", "--quiet", "HEAD", "--", path, cwd=root)
        except GitError:  # not in the base: the test patch creates it
            target = root / path
            # The agent's patch may have made a parent folder a link out of the checkout.
            if target.parent.resolve().is_relative_to(root.resolve()):
                target.unlink(missing_ok=True)


def _pytest(task: dict[str, Any]) -> str:
    command = task["test_cmd"]
    return command if command and is_pytest(command) else DEFAULT_PYTEST


def _test_files(task: dict[str, Any]) -> list[str]:
    ids = task["fail_to_pass"] + task["pass_to_pass"]
    return sorted({t.split("::", 1)[0] for t in ids if "::" in t})
