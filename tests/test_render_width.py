"""A whole scripted run as a user sees it at 80 columns: nothing wider, nothing
ending in blanks, cost said once for an unpriced model."""

from __future__ import annotations

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
