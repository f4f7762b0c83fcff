"""The SWE-bench judgement: does the agent's patch make FAIL_TO_PASS pass
without breaking PASS_TO_PASS?

As the SWE-bench harness does it: a fresh checkout at the base commit, the
setup commands, the agent's patch, the test files of `test_patch` reset to
the base and the test patch applied, then pytest over the files holding the
named tests, and each named test looked up in pytest's short summary
(`PASSED id`, `FAILED id - message`, ...). A test missing from the summary
did not pass. The agent's own working copy is never touched, and the model
never sees the test patch. Test ids are pytest node ids (`path::name`).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from agent.batch.checkout import checkout
from sandbox.git import GitError, git
from sandbox.runner import Runner

JUDGE_TIMEOUT = 1800.0  # seconds for the judged test run
SETUP_TIMEOUT = 1800.0
OUTPUT_BYTES = 8_000_000  # the summary is at the end; the tail is kept
PYTEST = "python -m pytest"
# Short summary of every outcome except passes with their captured output.
SUMMARY_OPTIONS = "-rfEsxXp --tb=no -p no:cacheprovider"
_PASSING = ("PASSED", "XFAIL")
_FAILING = ("FAILED", "ERROR")
_PATCHED_FILE = re.compile(r"^(?:---|\+\+\+) [ab]/(.+?)\s*$", re.MULTILINE)


class JudgeError(Exception):
    """The judgement could not be made (the test patch does not apply): an infrastructure error."""


class SetupError(Exception):
    """A task's setup command failed: an infrastructure error, not a model miss."""


def judge(task: dict[str, Any], patch: str, dest: Path, *, sandbox: str = "auto") -> dict[str, Any]:
    """The verdict on `patch` for a judged task: {"resolved", "fail_to_pass_failed",
    "pass_to_pass_failed", "command", "exit_code"} (plus "note" when it never ran)."""
    root = checkout(task["repo"], task["base_commit"], dest)
    runner = Runner(root, mode=sandbox)
    run_setup(runner, task["setup"])
    if not patch.strip():
        return _verdict(task, {}, note="empty patch")
    try:
        _apply(root, patch)
    except GitError as exc:
        return _verdict(task, {}, note=f"the patch does not apply: {exc}")
    if task["test_patch"]:
        _reset_to_base(root, patched_files(task["test_patch"]))
        try:
            _apply(root, task["test_patch"])
        except GitError as exc:
            raise JudgeError(f"the test patch does not apply: {exc}") from exc
    command = f"{_pytest(task)} {SUMMARY_OPTIONS} {' '.join(map(shlex.quote, _test_files(task)))}".strip()
    result = runner.run(command, timeout=JUDGE_TIMEOUT, max_output_bytes=OUTPUT_BYTES)
    verdict = _verdict(task, parse_summary(result.output))
    verdict.update(command=command, exit_code=result.exit_code)
    if result.timed_out:
        verdict["note"] = f"timed out after {JUDGE_TIMEOUT:g} s"
    return verdict


def run_setup(runner: Runner, commands: list[str]) -> None:
    for command in commands:
        result = runner.run(command, timeout=SETUP_TIMEOUT)
        if result.exit_code != 0:
            status = "timed out" if result.timed_out else f"exit {result.exit_code}"
            tail = "\n".join(result.output.rstrip().splitlines()[-20:])
            raise SetupError(f"setup command {command!r} failed ({status}):\n{tail}")


def parse_summary(output: str) -> dict[str, str]:
    """Test id -> outcome from pytest's short summary; a failure of a test
    (say, in teardown) outweighs its pass."""
    outcomes: dict[str, str] = {}
    for line in output.splitlines():
        word, _, rest = line.partition(" ")
        if word not in _PASSING + _FAILING or not rest:
            continue
        test_id = rest.split(" - ", 1)[0].strip()
        if outcomes.get(test_id) not in _FAILING:
            outcomes[test_id] = word
    return outcomes


def patched_files(patch: str) -> list[str]:
    return sorted(set(_PATCHED_FILE.findall(patch)))


def _verdict(task: dict[str, Any], outcomes: dict[str, str], *, note: str | None = None) -> dict[str, Any]:
    def failing(ids: list[str]) -> list[str]:
        return [t for t in ids if outcomes.get(t) not in _PASSING]

    f2p, p2p = failing(task["fail_to_pass"]), failing(task["pass_to_pass"])
    verdict: dict[str, Any] = {
        "resolved": note is None and not f2p and not p2p,
        "fail_to_pass_failed": f2p,
        "pass_to_pass_failed": p2p,
    }
    if note:
        verdict["note"] = note
    return verdict


def _apply(root: Path, patch: str) -> None:
    git("apply", "--whitespace=nowarn", "-", cwd=root, input=patch.encode())


def _reset_to_base(root: Path, paths: list[str]) -> None:
    """Undo the agent's edits to the files the test patch writes, as the harness does."""
    for path in paths:
        try:
            git("checkout", "--quiet", "HEAD", "--", path, cwd=root)
        except GitError:  # not in the base: the test patch creates it
            (root / path).unlink(missing_ok=True)


def _pytest(task: dict[str, Any]) -> str:
    command = task["test_cmd"]
    return command if command and "pytest" in command else PYTEST


def _test_files(task: dict[str, Any]) -> list[str]:
    ids = task["fail_to_pass"] + task["pass_to_pass"]
    return sorted({t.split("::", 1)[0] for t in ids if "::" in t})
