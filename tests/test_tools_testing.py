"""run_tests on a real tiny pytest project, run by the real sandbox Runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sandbox.runner import Runner, SandboxUnavailable
from tests.conftest import git, make_repo
from tools import default_registry
from tools.registry import ToolContext, ToolResult
from tools.testing import detect_test_command, parse_junit, run_test_command

CALC = """\
def add(a, b):
    return a + b


def sub(a, b):
    return a + b  # the bug


def ratio(a, b):
    assert b != 0, "b must not be zero"
    return a / b
"""

TESTS = """\
import pytest
from calc import add, ratio, sub


def test_add():
    assert add(2, 3) == 5


def test_sub():
    assert sub(5, 3) == 2


class TestRatio:
    @pytest.mark.parametrize("b", [2, 0])
    def test_ratio(self, b):
        assert ratio(4, b) == 4 / b


@pytest.mark.skip(reason="later")
def test_later():
    pass
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "proj", {"calc.py": CALC, "tests/test_calc.py": TESTS, "pytest.ini": "[pytest]\n"})


def context(root: Path, mode: str = "auto", **kwargs) -> ToolContext:
    return ToolContext(root=root, runner=Runner(root, mode=mode), **kwargs)


def call(ctx: ToolContext, **args) -> ToolResult:
    return default_registry().call("run_tests", json.dumps(args), ctx)


def leftovers(root: Path) -> list[Path]:
    return list(root.rglob(".codex-agent-junit-*"))


def test_a_failing_suite_is_summarised_from_the_junit_report(project: Path) -> None:
    result = call(context(project))
    assert not result.ok
    tests = result.data["tests"]
    assert (tests["passed"], tests["failed"], tests["errors"], tests["skipped"]) == (2, 2, 0, 1)
    assert tests["exit_code"] == 1
    ids = [f["id"] for f in tests["failures"]]
    assert ids == ["tests/test_calc.py::test_sub", "tests/test_calc.py::TestRatio::test_ratio[0]"]
    assert "assert 8 == 2" in tests["failures"][0]["message"]
    assert tests["failures"][1]["message"] == "AssertionError: b must not be zero"
    out = result.output
    assert out.startswith("python -m pytest: 2 passed, 2 failed, 0 errors, 1 skipped (exit 1)")
    assert "FAILED tests/test_calc.py::test_sub: assert 8 == 2" in out
    # The traceback runs from the test into the project's code and ends at the failing line.
    assert "tests/test_calc.py:16: in test_ratio" in out and "calc.py:10: in ratio" in out
    assert out.rstrip().endswith("E   AssertionError: b must not be zero")
    assert leftovers(project) == []
    assert ".codex-agent-junit" not in git(project, "status", "--porcelain", "--untracked-files=all")


def test_args_are_appended(project: Path) -> None:
    result = call(context(project), args="tests/test_calc.py::test_add -q")
    assert result.ok, result.output
    assert result.data["tests"]["passed"] == 1 and result.data["tests"]["failed"] == 0
    assert result.data["command"] == "python -m pytest tests/test_calc.py::test_add -q"


def test_a_collection_error_is_reported_as_such(project: Path) -> None:
    (project / "tests" / "test_broken.py").write_text("import no_such_module\n")
    result = call(context(project), args="tests/test_broken.py")
    assert not result.ok
    tests = result.data["tests"]
    assert tests["errors"] == 1 and tests["exit_code"] == 2
    assert tests["failures"] == [
        {
            "id": "tests/test_broken.py",
            "kind": "collection",
            "message": "ModuleNotFoundError: No module named 'no_such_module'",
        }
    ]
    assert "ERROR (collection) tests/test_broken.py" in result.output
    assert "importlib" not in result.output  # the stdlib frame is trimmed away
    assert leftovers(project) == []


def test_a_collection_error_says_the_other_tests_did_not_run(project: Path) -> None:
    # pytest stops after collecting when a file cannot be imported: the good
    # tests in test_calc.py never run, and the model must not read 0 failed as fine.
    (project / "tests" / "test_broken.py").write_text("import no_such_module\n")
    result = call(context(project))
    assert not result.ok
    assert result.data["tests"]["passed"] == 0 and result.data["tests"]["exit_code"] == 2
    first_lines = result.output.splitlines()[:2]
    assert "no tests ran" in first_lines[1] and "collection" in first_lines[1]


def test_no_tests_ran_is_exit_5(project: Path) -> None:
    result = call(context(project), args="-k no_test_has_this_name")
    assert not result.ok
    assert result.data["tests"]["exit_code"] == 5
    assert "No tests ran" in result.output


def test_a_whole_suite_with_no_tests_yet_is_not_a_failure(tmp_path: Path) -> None:
    # pytest configured, no tests written: the verification gate must let the run finish.
    repo = make_repo(tmp_path / "fresh", {"pyproject.toml": "[tool.pytest.ini_options]\n", "app.py": "X = 1\n"})
    ctx = context(repo)
    result = run_test_command(ctx)
    assert result.ok and result.data["tests"]["exit_code"] == 5
    assert "No tests ran" in result.output


def test_a_pytest_usage_error_shows_pytest_output(project: Path) -> None:
    result = call(context(project), args="--no-such-option")
    assert not result.ok and result.data["exit_code"] == 4
    assert "no test report" in result.output and "unrecognized arguments" in result.output
    assert leftovers(project) == []


def test_a_hung_suite_times_out_and_leaves_no_report(project: Path) -> None:
    (project / "tests" / "test_slow.py").write_text("import time\n\ndef test_slow():\n    time.sleep(30)\n")
    result = call(context(project, command_timeout=2), args="tests/test_slow.py")
    assert not result.ok and result.data["timed_out"]
    assert "timed out after 2 s" in result.output
    assert leftovers(project) == []


def test_the_report_is_written_inside_the_working_copy_under_bubblewrap(project: Path) -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    try:
        ctx = context(project, mode="bwrap")
    except SandboxUnavailable as exc:
        pytest.skip(f"bubblewrap cannot run here: {exc}")
    result = run_test_command(ctx, "tests/test_calc.py::test_sub")
    assert result.data["tests"]["failed"] == 1  # read back despite the sandbox's private /tmp
    assert leftovers(project) == []


def test_another_test_command_gives_exit_code_and_output(project: Path) -> None:
    ctx = context(project, test_cmd="echo 'ran 3 checks, 1 failed'; exit 1")
    result = run_test_command(ctx)
    assert not result.ok
    assert result.data["exit_code"] == 1 and result.data["tests"]["exit_code"] == 1
    assert "exit 1" in result.output and "ran 3 checks, 1 failed" in result.output


def test_no_test_command_and_no_runner_are_errors(tmp_path: Path, project: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert "no test command" in run_test_command(context(tmp_path / "empty")).output
    assert "runner" in run_test_command(ToolContext(root=project)).output


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"tests/test_a.py": ""}, "python -m pytest"),
        ({"pkg/thing_test.py": ""}, "python -m pytest"),
        ({"pyproject.toml": "[tool.pytest.ini_options]\n"}, "python -m pytest"),
        ({"setup.cfg": "[tool:pytest]\n"}, "python -m pytest"),
        ({"conftest.py": ""}, "python -m pytest"),
        ({"main.py": "", "pyproject.toml": "[project]\nname='x'\n"}, None),
        ({"package.json": "{}"}, None),
    ],
)
def test_detect_test_command(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert detect_test_command(tmp_path) == expected


def test_ignored_test_files_do_not_count(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("vendor/\n")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "test_x.py").write_text("")
    assert detect_test_command(tmp_path) is None


def test_junit_parsing_of_classes_in_nested_packages(tmp_path: Path) -> None:
    xml = (
        '<testsuites><testsuite><testcase classname="pkg.tests.test_m.TestA.TestInner" name="test_x[a-b]" '
        'file="pkg/tests/test_m.py" line="3"><failure message="boom">pkg/tests/test_m.py:4: in test_x\n'
        "    raise ValueError\nE   ValueError</failure></testcase></testsuite></testsuites>"
    )
    summary = parse_junit(xml, tmp_path)
    assert summary.failures[0].id == "pkg/tests/test_m.py::TestA::TestInner::test_x[a-b]"
    assert summary.failed == 1 and summary.passed == 0
