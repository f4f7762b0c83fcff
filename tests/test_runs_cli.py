"""`codex-agent runs` and the end of a run, through the real CLI: what a kept or
interrupted run says, and what `runs` shows and refuses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox.runs import list_runs
from tests.conftest import REPO, git, make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, reply, text

CALC_BUG = "def add(a, b):\n    return a - b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FIX = [call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}), text("Fixed add().")]


@pytest.fixture
def calc_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "proj", {"calc.py": CALC_BUG, "tests/test_calc.py": CALC_TEST})


def _kept_run(repo: Path) -> tuple[str, subprocess.CompletedProcess[str]]:
    (repo / "notes.txt").write_text("the user's uncommitted work\n")  # a dirty tree: git merge would refuse
    with FakeOpenAI(FIX) as server:
        result = run_cli(["make add() work", "--base-url", server.base_url, "--no-apply"], repo)
    assert result.returncode == 0, result.stderr
    [run] = list_runs()
    return run.id, result


def test_a_kept_run_says_how_to_apply_see_and_discard_it_in_that_order(calc_repo: Path) -> None:
    run_id, result = _kept_run(calc_repo)
    out = result.stdout
    hints = [out.index(f"codex-agent runs {run_id} {flag}") for flag in ("--apply", "--diff", "--discard")]
    assert hints == sorted(hints)
    assert "git merge" not in out and "git diff" not in out
    # What it says works, from another folder, and names where the change went.
    applied = run_cli(["runs", run_id, "--apply"], calc_repo.parent)
    assert applied.returncode == 0, applied.stderr
    assert f"in {calc_repo}" in applied.stdout
    assert "a + b" in (calc_repo / "calc.py").read_text()
    assert (calc_repo / "notes.txt").read_text() == "the user's uncommitted work\n"


def test_runs_id_shows_the_run(calc_repo: Path) -> None:
    run_id, _ = _kept_run(calc_repo)
    shown = run_cli(["runs", run_id], calc_repo)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == f"run {run_id}"
    assert "  task:       make add() work" in lines
    assert f"  repository: {calc_repo}" in lines
    assert any(line.startswith("  changed:") and "M calc.py (+1 -1)" in line for line in lines)


def test_the_list_has_a_header_marks_this_repository_and_keeps_columns(calc_repo: Path, tmp_path: Path) -> None:
    run_id, _ = _kept_run(calc_repo)
    other = make_repo(tmp_path / "other", {"calc.py": CALC_BUG, "tests/test_calc.py": CALC_TEST})
    with FakeOpenAI(FIX) as server:
        assert run_cli(["fix it over there", "--base-url", server.base_url, "--no-apply"], other).returncode == 0
    listed = run_cli(["runs"], calc_repo, env={"COLUMNS": "80"}).stdout.splitlines()
    header, *rows, marker, footer = listed
    assert header.split() == ["ID", "STATE", "REPOSITORY", "TASK"]
    assert len(rows) == 2 and all(len(line) <= 80 for line in listed)
    mine = next(row for row in rows if run_id in row)
    assert mine.startswith("* ") and not next(row for row in rows if row is not mine).startswith("*")
    assert len({row.index("kept") for row in rows}) == 1  # the columns line up
    assert marker == "* the repository you are in" and "codex-agent runs ID" in footer


@pytest.mark.parametrize("flags", [["--apply", "--discard"], ["--discard", "--apply"]])
def test_contradictory_flags_are_refused(calc_repo: Path, flags: list[str]) -> None:
    run_id, _ = _kept_run(calc_repo)
    result = run_cli(["runs", run_id, *flags], calc_repo)
    assert result.returncode == 2
    assert "contradict" in result.stderr
    assert [r.id for r in list_runs()] == [run_id]  # neither happened
    assert (calc_repo / "calc.py").read_text() == CALC_BUG


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_terminated_run_keeps_its_working_copy_and_says_so(calc_repo: Path, sig: signal.Signals) -> None:
    slow = [call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}), reply("thinking", delay=60)]
    with FakeOpenAI(slow) as server:
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, "-m", "agent", "fix add", "--base-url", server.base_url,
                                 "--no-apply"], cwd=calc_repo, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(server.model_requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.model_requests) == 2, "the run never reached its second model request"
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert f"stopped by {sig.name}. The working copy is kept" in err
    assert "Traceback" not in err
    [run] = list_runs()
    assert (run.state, run.task) == ("interrupted", "fix add")
    assert "a + b" in (run.path / "calc.py").read_text()  # the edit made before the signal survives
    assert f"codex-agent resume {run.id}" in err and f"codex-agent runs {run.id} --apply" in err
    assert git(calc_repo, "status", "--porcelain") == ""


def test_ctrl_c_at_the_apply_question_keeps_the_result(calc_repo: Path) -> None:
    import pexpect

    with FakeOpenAI(FIX) as server:
        child = pexpect.spawn(sys.executable, ["-m", "agent", "fix add", "--base-url", server.base_url],
                              cwd=calc_repo, env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)},
                              encoding="utf-8", timeout=120, dimensions=(40, 100))
        child.expect_exact("to your working tree?")
        child.sendintr()
        child.expect(pexpect.EOF)
        child.close()
    assert "Traceback" not in child.before
    [run] = list_runs()
    assert f"codex-agent runs {run.id} --apply" in child.before
    assert (calc_repo / "calc.py").read_text() == CALC_BUG
