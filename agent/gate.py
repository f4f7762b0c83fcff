"""The verification gate: what runs when the model answers without a tool
call, and what that answer is worth.

- Targeted first: with pytest, the tests that failed at the previous gate and
  the test files related to the changed files (a changed test file, or one
  named after / importing a changed module) run first. If they fail, that is
  the report; only when they pass does the whole suite run, under
  `test_timeout`. A whole suite that runs out of time after the related tests
  passed leaves the verdict "related tests pass" instead of failing the run.
- Pre-existing failures: failing tests are run once more on the starting
  state of the run. Those that fail there the same way predate the run: the
  model is told once that it need not chase them, and they do not hold the
  run hostage (unless `strict`). The starting state is put in place in the
  working copy itself for that one run and then put back (`_starting_state`):
  only the failing test files run, only when the gate fails, and at the very
  paths the working copy's tests see, so editable installs, conftest path
  hacks and messages holding paths compare alike. Running the suite up front
  instead would cost a whole suite on every run, mostly for nothing.
- Stuck: an answer with nothing changed in the working copy since a failing
  gate is not re-tested (the same code gives the same report); the model is
  told once that nothing changed, and the next such answer ends the turn as
  stuck rather than spending the budget.
- Cannot run (no test report, a timeout): the model is told once, since it
  may be its own doing; the same again ends the turn as an error.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from agent.events import Event, Notice, TestsRan
from agent.verification import NO_TESTS, READ_ONLY, Status, Verification
from sandbox.git import GitError, git, git_text, snapshot_tree, staged_index
from tools.registry import ToolContext, ToolResult
from tools.search import walk_files
from tools.test_command import is_pytest_file
from tools.testing import is_pytest, run_test_command

if TYPE_CHECKING:
    from sandbox.workspace import Workspace

STUCK_ROUNDS = 2  # answers in a row with nothing changed while tests fail

TEST_FAILURE_PROMPT = (
    "The verification gate ran the tests after your last answer and they fail:\n\n{report}\n\n"
    "Fix the code (not the tests, unless a test is wrong) and answer again when done."
)
OLDER_FAILURES_PROMPT = "The verification gate ran the tests after your last answer:\n\n{report}"
PREEXISTING_NOTE = (
    "These tests also fail, the same way, on the code as it was before your changes, so the failures "
    "predate this run: {ids}. Fix them only if the task is about them; otherwise leave them and answer "
    "again: the run ends with them reported to the user as older failures."
)
NO_CHANGE_PROMPT = (
    "Nothing changed in the working copy since the last test run, and these tests still fail: {ids}. "
    "Change the code to make them pass (run_tests checks), or say what stops you. If you answer again "
    "without changing anything, the run stops as stuck."
)
CANNOT_RUN_PROMPT = (
    "The verification gate could not run the tests: {reason}.\n\n{report}\n\n"
    "If your changes caused this (a bad import, a syntax error), fix them. If the environment lacks "
    "something, say so: the run stops if the tests still cannot run."
)


@dataclass
class Check:
    """One gate run: the verdict, what to tell the model (empty: nothing, the
    turn may end) and, when the turn must end otherwise than done, how."""

    verification: Verification
    feedback: str = ""
    stop: str | None = None  # "stuck" | "error"
    message: str = ""  # the outcome's message when stop is set


@dataclass
class _Last:
    tree: str
    check: Check
    idle: int = 0  # answers since, with nothing changed


@dataclass
class Gate:
    ctx: ToolContext
    workspace: "Workspace"
    strict: bool = False  # pre-existing failures count too
    full_timeout: float | None = None  # for the whole suite; None: the command timeout
    _last: _Last | None = None
    _base: dict[str, str] = field(default_factory=dict)  # test id -> its failure at the start ("" passed)
    _told: set[str] = field(default_factory=set)  # pre-existing failures the model has been told about

    def new_turn(self) -> None:
        """A new user message is news: answers without change count afresh."""
        if self._last is not None:
            self._last.idle = 0

    def check(self, emit: Callable[[Event], None]) -> Check:
        if self.ctx.approval is not None and self.ctx.approval.mode == "read-only":
            # Running the tests runs the project's code: not in a read-only session (the REPL may switch).
            return Check(Verification.unverified(READ_ONLY))
        try:
            tree = snapshot_tree(self.ctx.root)
        except GitError as exc:
            return self._ended(Verification(Status.CANNOT_RUN, f"cannot read the working copy: {exc}"), "error")
        last = self._last
        if last is not None and last.tree == tree:
            last.idle += 1
            return self._unchanged(last)
        check = self._verify(emit)
        self._told.update(check.verification.preexisting)
        self._last = _Last(tree, check)
        return check

    # -- running ---------------------------------------------------------------

    def _verify(self, emit: Callable[[Event], None]) -> Check:
        """The related tests, then (when they pass) the whole suite."""
        targets = self._targets()
        targeted: Check | None = None
        if targets:
            result = self._run(" ".join(shlex.quote(t) for t in targets), emit, scope="related tests")
            if result.ok or _failures(result):  # else (say, nothing selected) the whole suite tells
                targeted = self._judge(result, "related tests", emit)
                if targeted.verification.status is not Status.PASSED:
                    return targeted
        full_ctx = replace(self.ctx, command_timeout=self.full_timeout or self.ctx.command_timeout)
        full = self._run("", emit, "whole suite", full_ctx)
        if full.data.get("timed_out") and targeted is not None:
            emit(Notice(f"the whole test suite took longer than {full_ctx.command_timeout:g} s; "
                        "only the tests related to the changes were verified"))
            return targeted
        return self._judge(full, "", emit)

    def _run(self, args: str, emit: Callable[[Event], None], scope: str,
             ctx: ToolContext | None = None) -> ToolResult:
        result = run_test_command(ctx or self.ctx, args)
        emit(TestsRan(result.ok, result.output, result.data.get("tests", {}), scope))
        return result

    @property
    def _pytest(self) -> bool:
        return is_pytest(self.ctx.test_cmd or "")

    def _targets(self) -> list[str]:
        """Test ids that failed last time and test files related to the
        changes, for pytest; nothing when their files are most of the suite
        (then running them first would only add a run)."""
        if not self._pytest:
            return []
        root = self.ctx.root
        previous = self._last.check.verification.failing if self._last else ()
        ids = [i for i in previous if (root / i.split("::")[0]).is_file()]
        tests = [f for f in walk_files(root) if is_pytest_file(f)]
        related = _related_tests(root, [c.path for c in self.workspace.changed_files()], tests)
        failed_files = {i.split("::")[0] for i in ids}
        if len(failed_files | set(related)) * 2 > len(tests):  # most of the suite: run it whole at once
            return []
        return ids + [t for t in related if t not in failed_files]

    # -- judging ---------------------------------------------------------------

    def _judge(self, result: ToolResult, scope: str, emit: Callable[[Event], None]) -> Check:
        tests = result.data.get("tests", {})
        passed = tests.get("passed", 0)
        if result.ok and tests.get("exit_code") == 5:  # pytest collected nothing: there are no tests yet
            return Check(Verification.unverified(NO_TESTS))
        if result.ok:
            return Check(Verification(Status.PASSED, passed=passed, scope=scope))
        reason = cannot_run_reason(result, pytest=self._pytest)
        if reason:
            verdict = Verification(Status.CANNOT_RUN, reason)
            previous = self._last.check.verification if self._last else None
            if previous is not None and previous.status is Status.CANNOT_RUN and previous.reason == reason:
                return self._ended(verdict, "error")
            return Check(verdict, CANNOT_RUN_PROMPT.format(reason=reason, report=result.output))
        failures = {f["id"]: f.get("message", "") for f in tests.get("failures", [])}
        old = [] if self.strict else self._preexisting(failures, emit)
        counting = tuple(i for i in failures if i not in old)
        new_to_model = [i for i in old if i not in self._told]
        note = PREEXISTING_NOTE.format(ids=", ".join(new_to_model)) if new_to_model else ""
        if not counting and failures:
            # Only older failures: the tests this run could break pass. The
            # report goes along, for a task that is about those failures.
            told = f"{OLDER_FAILURES_PROMPT.format(report=result.output)}\n\n{note}" if note else ""
            return Check(Verification(Status.PASSED, passed=passed, preexisting=tuple(old), scope=scope), told)
        verdict = Verification(Status.FAILED, passed=passed, failing=counting,
                               preexisting=tuple(old), scope=scope)
        feedback = TEST_FAILURE_PROMPT.format(report=result.output)
        return Check(verdict, f"{feedback}\n\n{note}" if note else feedback)

    def _preexisting(self, failures: dict[str, str], emit: Callable[[Event], None]) -> list[str]:
        """The failing ids that fail the same way on the starting state."""
        unknown = [i for i in failures if i not in self._base]
        if unknown:
            try:
                with _starting_state(self.ctx.root, self.workspace.base):
                    base = self._run_at_start(unknown)
            except GitError as exc:
                emit(Notice(f"could not compare the failures with the starting state: {exc}"))
                return []
            at_start = {f["id"]: f.get("message", "") for f in (base.data.get("tests", {}).get("failures", [])
                                                                 if base else [])}
            for test_id in unknown:
                self._base[test_id] = _same_text(at_start[test_id]) if test_id in at_start else ""
        old = [i for i in failures if self._base.get(i) and self._base[i] == _same_text(failures[i])]
        if old and not set(old) <= self._told:
            emit(Notice(f"{len(old)} failing test(s) fail the same way on the code as it was before this run, "
                        f"so they are not held against it: {', '.join(old)}"))
        return old

    def _run_at_start(self, ids: list[str]) -> ToolResult | None:
        """The files holding `ids` with pytest (those that existed at the
        start: a new test cannot predate the run); another runner's whole suite."""
        if not self._pytest:
            return run_test_command(self.ctx)
        files = dict.fromkeys(i.split("::")[0] for i in ids)
        present = [f for f in files if (self.ctx.root / f).is_file()]
        return run_test_command(self.ctx, " ".join(shlex.quote(f) for f in present)) if present else None

    def _unchanged(self, last: _Last) -> Check:
        """The model answered with nothing changed since the last gate."""
        verdict = last.check.verification
        if verdict.status is Status.CANNOT_RUN:
            return self._ended(verdict, "error")
        if verdict.status is not Status.FAILED:
            return Check(verdict)
        if last.idle >= STUCK_ROUNDS:
            stuck = replace(verdict, status=Status.STUCK)
            message = f"the model answered {last.idle} times in a row without changing anything"
            return Check(stuck, stop="stuck", message=message)
        ids = ", ".join(verdict.failing) or "(see the last report)"
        return Check(verdict, NO_CHANGE_PROMPT.format(ids=ids))

    def _ended(self, verdict: Verification, stop: str) -> Check:
        return Check(verdict, stop=stop,
                     message="nothing can be verified (fix the environment, or pass --test-cmd or --no-verify)")


def cannot_run_reason(result: ToolResult, pytest: bool) -> str | None:
    """Why a failed test run says nothing about the code, or None when it does."""
    data = result.data
    if data.get("cannot_run"):  # the environment lacks something (tools.testing says what)
        return data["cannot_run"]
    if data.get("timed_out"):
        return "the test command timed out (raise command_timeout or test_timeout, or narrow --test-cmd)"
    tests = data.get("tests", {})
    if pytest and not tests.get("failures") and not tests.get("passed"):
        return f"no test report (exit {data.get('exit_code')}): {_cause(result.output)}"
    return None


_ERROR_LINE = re.compile(r"error|not found|no module named", re.I)


def _cause(output: str) -> str:
    """The line of a failed run's output most likely to say why: the last
    that mentions an error, else the last."""
    lines = [line.strip() for line in output.splitlines()[1:] if line.strip()]
    cause = next((line for line in reversed(lines) if _ERROR_LINE.search(line)), lines[-1] if lines else "no output")
    return cause[:200]


def _failures(result: ToolResult) -> list[dict]:
    return result.data.get("tests", {}).get("failures", [])


_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")
_PYTEST_TMP = re.compile(r"pytest-\d+")


def _same_text(message: str) -> str:
    """A failure message with what differs between two runs of the same
    failure (object addresses, pytest's numbered temp folders) blanked."""
    first = message.strip().partition("\n")[0]
    return _PYTEST_TMP.sub("pytest-N", _ADDRESS.sub("0x…", first)) or "(no message)"


def _related_tests(root: Path, changed: list[str], tests: list[str]) -> list[str]:
    """Test files a change may break: changed test files, and those named
    after a changed module or importing it."""
    related = [t for t in changed if t in tests]
    modules = {Path(p).parent.name if Path(p).name == "__init__.py" else Path(p).stem
               for p in changed if p.endswith(".py") and p not in tests}
    modules.discard("")
    if not modules:
        return related
    names = "|".join(re.escape(m) for m in sorted(modules))
    importing = re.compile(rf"^\s*(?:from|import)\s[^\n]*\b(?:{names})\b", re.M)
    named = {f"test_{m}.py" for m in modules} | {f"{m}_test.py" for m in modules}
    for test in tests:
        if test in related:
            continue
        if Path(test).name in named:
            related.append(test)
            continue
        try:
            text = (root / test).read_text(errors="replace")
        except OSError:
            continue
        if importing.search(text):
            related.append(test)
    return related


@contextmanager
def _starting_state(root: Path, base: str) -> Iterator[None]:
    """The working copy as it was when the run started, for the time of the
    block; then exactly as it was before it. The private index starts as the
    working copy now (with its stat data), so only files that differ are
    rewritten either way. The model's state is a tree object meanwhile: if the
    way back fails, the error names it."""
    with staged_index(root) as index:
        current = git_text("write-tree", index=index, cwd=root)
        try:
            git("read-tree", "--reset", "-u", base, index=index, cwd=root)
            yield
        finally:
            try:
                git("read-tree", "--reset", "-u", current, index=index, cwd=root)
            except GitError as exc:
                raise GitError(f"{exc}; the working copy's changes are saved as git tree {current}") from exc
