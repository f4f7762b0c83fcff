"""A whole scripted run as a user sees it at 80 columns: nothing wider, nothing
ending in blanks, cost said once for an unpriced model."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from tests.conftest import make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, reply, text

CALC_BUG = "import math\n\n\ndef add(a, b):\n    return a - b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5, 'add() must add its two arguments together, not subtract them'\n"
LONG_TEXT = ("Looking at calc.py, add() subtracts its second argument instead of adding it; the test in "
             "tests/test_calc.py pins the expected behaviour, so I will change the operator and run the "
             "tests to be sure nothing else depends on the old result.\n\nPlan:\n  1. edit calc.py\n  2. run the tests")


def test_a_scripted_run_fits_80_columns(tmp_path: Path) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-" * 3) / "project"
    repo = make_repo(deep, {"calc.py": CALC_BUG, "tests/test_calc.py": CALC_TEST})
    script = [
        reply(LONG_TEXT, [call("shell", {"command": "grep -rn 'def add' . && python3 -c 'import calc; print(calc.add(2, 3))' && echo " + "x" * 60})]),
        call("edit_file", {"path": "calc.py", "old": "return a - b", "new": "return a * b"}),
        call("run_tests", {}),
        call("edit_file", {"path": "calc.py", "old": "return a * b", "new": "return a + b"}),
        text("Fixed add(): it now returns the sum of its two arguments, and the test that pins it passes."),
    ]
    with FakeOpenAI(script) as server:
        result = run_cli(["make add() work", "--base-url", server.base_url, "--model", "qwen2.5-coder",
                          "--no-apply"], repo, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    too_wide = [line for line in lines if len(line) > 80]
    assert too_wide == []
    trailing = [line for line in lines if line != line.rstrip()]
    assert trailing == []
    out = result.stdout
    assert out.count("not priced for qwen2.5-coder") == 1 and "$" not in out.split("changes")[0]
    assert "1 steps" not in out and "5 steps" in out
    # The model's words come after the header of the step that produced them.
    assert out.index("step 1") < out.index("Looking at calc.py") < out.index("step 2")
    assert "  2. run the tests" in out  # the model's own line breaks and indentation survive


def test_doctor_wraps_at_words(tmp_path: Path) -> None:
    result = run_cli(["doctor"], tmp_path, env={"COLUMNS": "60"})
    lines = result.stdout.splitlines()
    assert lines and all(len(line) <= 60 or " " not in line.strip() for line in lines)
    assert all(line.startswith(("ok  ", "NO  ", "warn", "    ")) for line in lines)


def test_review_findings_wrap_under_their_text_in_a_terminal(tmp_path: Path) -> None:
    import shutil

    import pexpect

    from tests.conftest import REPO

    repo = make_repo(tmp_path / "app", {}, commit=False)
    shutil.copytree(REPO / "tests" / "data" / "vulnapp", repo, dirs_exist_ok=True)
    child = pexpect.spawn(sys.executable, ["-m", "agent", "review", "--no-model", "--all"], cwd=repo,
                          env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "80"},
                          dimensions=(60, 80), encoding="utf-8", timeout=120)
    child.expect(pexpect.EOF)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", child.before)  # NO_COLOR drops colours, not bold or dim
    assert "\x1b[33m" not in child.before and "\x1b[1;31m" not in child.before
    lines = plain.replace("\r\n", "\n").splitlines()
    findings = [i for i, line in enumerate(lines) if line.startswith("  Line ")]
    assert findings and all(len(line) <= 80 for line in lines)
    # A finding's second line starts under its text, not at the margin or mid-word.
    continued = [lines[i + 1] for i in findings if lines[i + 1].startswith(" " * 21)]
    assert continued and all(line[21] != " " for line in continued)
    assert all(line == line.rstrip() for line in lines)


def test_the_batch_summary_names_task_time_and_wall_time_apart() -> None:
    import io

    from rich.console import Console

    from agent.batch.view import summary_table

    records = [{"id": f"t{i}", "status": "resolved", "steps": 2, "cost": None, "wall_time": 4.0} for i in range(2)]
    out = io.StringIO()
    Console(file=out, width=100, no_color=True).print(summary_table(records, wall_time=13.5))
    text = out.getvalue()
    assert "task time" in text and "8s" in text  # the tasks' own times, added up
    assert "wall time 13.5s" in text  # how long the batch took
