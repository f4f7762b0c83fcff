"""The verification gate through the real CLI: the fake OpenAI server, real
git repositories, real pytest in the sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.gate import _starting_state
from sandbox.git import snapshot_tree
from sandbox.workspace import Workspace
from tests.conftest import git, make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, text

CALC_BUG = "def add(a, b):\n    return a - b\n"
CALC_OK = "def add(a, b):\n    return a + b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
LEGACY_TEST = "def test_legacy_flaky():\n    assert 1 + 1 == 3, 'depends on the old server'\n"
LEGACY_ID = "tests/test_legacy.py::test_legacy_flaky"
FIX = call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"})


def agent_args(server: FakeOpenAI, *extra: str) -> list[str]:
    return ["--base-url", server.base_url, "--model", "gpt-5.2-codex", "--api", "chat", *extra]


def flat(output: str) -> str:
    """The terminal output with rich's line wrapping undone."""
    return " ".join(output.split())


def last_message(request: dict) -> str:
    return request["messages"][-1]["content"]


def test_related_tests_run_first_and_the_whole_suite_after(tmp_path: Path) -> None:
    others = {f"tests/test_{name}.py": f"def test_{name}():\n    assert True\n" for name in "abc"}
    # Imports calc but is no test (pytest would not collect it): naming it to pytest would import it.
    fixture_app = {"tests/apps/calc_app.py": "import calc\n\nraise RuntimeError('a fixture app, not a test')\n"}
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_OK, "tests/test_calc.py": CALC_TEST, **others,
                                         **fixture_app})
    script = [call("write_file", {"path": "calc.py", "content": "def add(a, b):\n    return a * b\n"}),
              text("Done."), call("edit_file", {"path": "calc.py", "old": "a * b", "new": "a + b"}), text("Done.")]
    with FakeOpenAI(script) as server:
        result = run_cli(["tidy calc", *agent_args(server, "--no-apply", "--json")], repo)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    runs = [e["item"] for e in events if e["type"] == "item.completed" and e["item"]["type"] == "test_run"]
    assert [(r["scope"], r["status"]) for r in runs] == [
        ("related tests", "failed"),  # tests/test_calc.py alone; the report goes back at once
        ("related tests", "passed"),  # the failed test and its file again, after the fix
        ("whole suite", "passed"),
    ]
    assert (runs[0]["passed"], runs[0]["failed"]) == (0, 1)
    assert (runs[2]["passed"], runs[2]["failed"]) == (4, 0)
    assert events[-1]["verification"]["status"] == "passed"


@pytest.fixture
def legacy_repo(tmp_path: Path) -> Path:
    """A bug to fix, plus an unrelated test that already fails."""
    return make_repo(tmp_path / "proj", {"calc.py": CALC_BUG, "tests/test_calc.py": CALC_TEST,
                                         "tests/test_legacy.py": LEGACY_TEST})


def test_preexisting_failure_is_named_and_does_not_hold_the_run(legacy_repo: Path) -> None:
    with FakeOpenAI([FIX, text("Fixed add()."), text("Done.")]) as server:
        result = run_cli(["fix add", *agent_args(server, "--apply")], legacy_repo)
    assert result.returncode == 0, result.stderr + result.stdout
    assert (legacy_repo / "calc.py").read_text() == CALC_OK
    # One feedback about the old failure, saying it predates the run; then done.
    requests = server.model_requests
    assert len(requests) == 3
    told = last_message(requests[2])
    assert LEGACY_ID in told and "predate" in told
    assert "done: finished · no new failures; 1 failing before the run: " + LEGACY_ID in flat(result.stdout)
    # The test file related to the change ran first, then the whole suite.
    lines = [line for line in result.stdout.splitlines() if line.startswith("verification:")]
    assert "1 passed" in lines[0] and lines[0].endswith("(related tests)")
    assert lines[1].endswith("(whole suite)") and "1 failed" in lines[1]
    # The check against the starting state left the user's tree and the result clean.
    assert git(legacy_repo, "status", "--porcelain").strip() == "M calc.py"


def test_strict_tests_counts_preexisting_failures(legacy_repo: Path) -> None:
    with FakeOpenAI([FIX, text("Fixed add().")] + [text("Done.")] * 4) as server:
        result = run_cli(["fix add", *agent_args(server, "--apply", "--strict-tests")], legacy_repo)
    assert result.returncode == 1, result.stderr + result.stdout
    assert "stuck" in result.stderr and LEGACY_ID in result.stderr
    requests = server.model_requests
    assert len(requests) == 4
    report = last_message(requests[2])
    assert "depends on the old server" in report and "predate" not in report
    assert (legacy_repo / "calc.py").read_text() == CALC_BUG  # not applied


def test_model_that_keeps_saying_done_stops_as_stuck(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_OK, "tests/test_calc.py": CALC_TEST})
    breaks = call("write_file", {"path": "calc.py", "content": "def add(a, b):\n    return a * b\n"})
    with FakeOpenAI([breaks] + [text("Done.")] * 20) as server:
        result = run_cli(["make add faster", *agent_args(server, "--apply")], repo)
    assert result.returncode == 1, result.stderr + result.stdout
    requests = server.model_requests
    assert len(requests) == 4
    assert "assert 6 == 5" in last_message(requests[2])
    nudge = last_message(requests[3])
    assert "Nothing changed" in nudge and "tests/test_calc.py::test_add" in nudge
    assert "codex-agent: stuck:" in result.stderr and "tests/test_calc.py::test_add" in result.stderr
    assert "stuck: the model answered 2 times in a row without changing anything · tests still fail (1 failing: " \
           "tests/test_calc.py::test_add)" in flat(result.stdout)
    assert (repo / "calc.py").read_text() == CALC_OK


def test_repository_without_tests_is_not_verified(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_BUG})
    with FakeOpenAI([FIX, text("Fixed.")]) as server:
        result = run_cli(["fix add", *agent_args(server, "--no-apply")], repo)
    assert result.returncode == 0, result.stderr
    assert "done: finished · not verified (no tests found)" in flat(result.stdout)
    assert "tests pass" not in result.stdout
    with FakeOpenAI([FIX, text("Fixed.")]) as server:
        result = run_cli(["fix add", *agent_args(server, "--no-apply", "--json")], repo)
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["type"] == "turn.completed"
    assert last["verification"]["status"] == "unverified"
    assert last["verification"]["summary"] == "not verified (no tests found)"


def test_pytest_configured_but_no_tests_is_not_verified(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_BUG, "pyproject.toml": "[tool.pytest.ini_options]\n"})
    with FakeOpenAI([FIX, text("Fixed.")]) as server:
        result = run_cli(["fix add", *agent_args(server, "--no-apply")], repo)
    assert result.returncode == 0, result.stderr
    assert "verification:" in result.stdout  # pytest ran, and collected nothing
    assert "done: finished · not verified (no tests found)" in flat(result.stdout)


@pytest.mark.parametrize("flags, reason", [(["--no-verify"], "--no-verify"),
                                           (["--approval", "read-only"], "read-only")])
def test_no_verify_and_read_only_skip_the_gate(tmp_path: Path, flags: list[str], reason: str) -> None:
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_BUG, "tests/test_calc.py": CALC_TEST})
    with FakeOpenAI([text("Done.")]) as server:
        result = run_cli(["fix add", *agent_args(server, "--no-apply", *flags)], repo)
    assert result.returncode == 0, result.stderr
    assert len(server.model_requests) == 1  # the failing test was never run nor sent back
    assert "verification:" not in result.stdout
    assert f"done: finished · not verified ({reason})" in flat(result.stdout)


def test_tests_that_cannot_run_stop_the_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_BUG, "tests/test_calc.py": CALC_TEST})
    broken = "python -m pytest --no-such-option"
    with FakeOpenAI([text("Done.")] * 5) as server:
        result = run_cli(["fix add", *agent_args(server, "--no-apply", "--test-cmd", broken)], repo)
    assert result.returncode == 1
    assert len(server.model_requests) == 2  # told once, then stopped
    assert "could not run the tests" in last_message(server.model_requests[1])
    assert "cannot run: no test report (exit 4)" in result.stderr
    assert "--no-such-option" in result.stderr  # the cause, not just "failed"


def test_starting_state_is_put_back_exactly(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"a.py": "a = 1\n", "gone.py": "x = 1\n", "pkg/m.py": "m = 1\n"})
    workspace = Workspace.create(repo)
    try:
        root = workspace.root
        (root / "a.py").write_text("a = 2\n")
        (root / "gone.py").unlink()
        (root / "new" / "deep").mkdir(parents=True)
        (root / "new" / "deep" / "n.py").write_text("n = 1\n")
        before = snapshot_tree(root)
        with _starting_state(root, workspace.base):
            assert (root / "a.py").read_text() == "a = 1\n"
            assert (root / "gone.py").read_text() == "x = 1\n"
            assert not (root / "new").exists()
        assert snapshot_tree(root) == before
        assert (root / "a.py").read_text() == "a = 2\n" and not (root / "gone.py").exists()
        assert (root / "new" / "deep" / "n.py").read_text() == "n = 1\n"
    finally:
        workspace.discard()


def test_batch_records_the_verification_and_a_stuck_task_as_failed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_OK, "tests/test_calc.py": CALC_TEST})
    breaks = call("write_file", {"path": "calc.py", "content": "def add(a, b):\n    return a * b\n"})
    tasks = [{"id": "fixes", "task": "fixes: tidy add()", "repo": str(repo)},
             {"id": "stuck", "task": "stuck: speed up add()", "repo": str(repo)}]
    (tmp_path / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    script = {"fixes": [text("Nothing to change.")], "stuck": [breaks] + [text("Done.")] * 5}
    with FakeOpenAI(script) as server:
        result = run_cli(["batch", "tasks.jsonl", "--out", "out", "--base-url", server.base_url, "--api", "chat"],
                         tmp_path, timeout=240)
    records = {r["id"]: r for r in map(json.loads, (tmp_path / "out" / "results.jsonl").read_text().splitlines())}
    assert result.returncode == 0, result.stderr  # a stuck model is a miss, not a batch error
    assert records["fixes"]["status"] == "resolved"
    assert records["fixes"]["verification"]["summary"] == "tests pass"
    assert records["stuck"]["status"] == "failed" and records["stuck"]["reason"] == "stuck"
    assert records["stuck"]["verification"]["failing"] == ["tests/test_calc.py::test_add"]
    assert server.remaining("stuck") == 2  # stopped after 4 requests of 6


def test_whole_suite_over_its_time_budget_leaves_the_related_tests_verdict(tmp_path: Path) -> None:
    import os

    config = Path(os.environ["XDG_CONFIG_HOME"]) / "codex-agent" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("test_timeout = 3\n")
    others = {f"tests/test_{name}.py": f"def test_{name}():\n    assert True\n" for name in "ab"}
    slow = "import time\n\n\ndef test_slow():\n    time.sleep(30)\n"
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_BUG, "tests/test_calc.py": CALC_TEST,
                                         "tests/test_slow.py": slow, **others})
    with FakeOpenAI([FIX, text("Fixed.")]) as server:
        result = run_cli(["fix add", *agent_args(server, "--no-apply")], repo)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "took longer than 3 s" in flat(result.stdout)
    assert "done: finished · related tests pass" in flat(result.stdout)
