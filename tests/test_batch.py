"""`codex-agent batch` as a user runs it: the real CLI, worker processes, git,
bubblewrap and pytest, against the fake OpenAI server (one script per task,
picked by the task id that each task's text contains)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import git, make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, error, text

CALC_BUG = "def add(a, b):\n    return a - b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
# A same-size edit, often within the second the working copy was made: the diff must still see it.
FIX = call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"})


@pytest.fixture
def calc_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "calc", {"calc.py": CALC_BUG, "tests/test_calc.py": CALC_TEST})


def write_tasks(path: Path, tasks: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    return path


def batch(server: FakeOpenAI, cwd: Path, *extra: str) -> Any:
    return run_cli(["batch", "tasks.jsonl", "-j", "2", "--out", "out", "--base-url", server.base_url,
                    "--api", "chat", *extra], cwd, timeout=240)


def results(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "results.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len({r["id"] for r in records}) == len(records), "one line per task"
    return {r["id"]: r for r in records}


def task(task_id: str, repo: Path, **extra: Any) -> dict[str, Any]:
    return {"id": task_id, "task": f"{task_id}: make add() work", "repo": str(repo), **extra}


def asked_about(server: FakeOpenAI) -> set[str]:
    """The task ids the model was asked about (each task's text starts with its id)."""
    return {r["messages"][1]["content"].split(":")[0] for r in server.model_requests}


def test_parallel_batch_records_every_status_and_errors_do_not_stop_the_rest(tmp_path: Path, calc_repo: Path) -> None:
    write_tasks(tmp_path / "tasks.jsonl", [
        task("fixes", calc_repo),
        task("loops", calc_repo, max_steps=2),
        task("no-repo", tmp_path / "missing"),
        task("denied", calc_repo),
    ])
    script = {
        "fixes": [FIX, text("Fixed.")],
        "loops": [call("read_file", {"path": "calc.py"}), call("read_file", {"path": "calc.py"})],
        "denied": [error(401)],
    }
    with FakeOpenAI(script) as server:
        result = batch(server, tmp_path)
    assert result.returncode == 3, result.stderr
    assert server.errors == []
    out = tmp_path / "out"
    records = results(out)
    assert {k: r["status"] for k, r in records.items()} == {
        "fixes": "resolved", "loops": "budget", "no-repo": "error", "denied": "error",
    }
    fixed = records["fixes"]
    assert fixed["reason"] == "done" and fixed["steps"] == 2
    assert fixed["input_tokens"] > 0 and fixed["output_tokens"] > 0 and fixed["cost"] > 0
    assert fixed["wall_time"] > 0
    assert "+    return a + b" in (out / fixed["patch"]).read_text()
    trajectory = [json.loads(line) for line in (out / fixed["trajectory"]).read_text().splitlines()]
    assert any(r["type"] == "model_response" for r in trajectory)
    assert "step budget" in records["loops"]["message"] and records["loops"]["patch"] is None
    assert "does not exist" in records["no-repo"]["message"]
    assert "authentication failed" in records["denied"]["message"]
    assert "resolved 1 of 4" in result.stdout
    assert "errored" in result.stderr and "no-repo" in result.stderr
    # The source repository is as it was: no branch, worktree or change of the agent's.
    assert git(calc_repo, "status", "--porcelain") == ""
    assert git(calc_repo, "branch", "--format=%(refname:short)").split() == ["main"]
    assert len(git(calc_repo, "worktree", "list").splitlines()) == 1


def test_rerun_skips_finished_tasks_and_retry_failed_reruns_the_others(tmp_path: Path, calc_repo: Path) -> None:
    tasks_file = tmp_path / "tasks.jsonl"
    write_tasks(tasks_file, [task("first", calc_repo), task("flaky", calc_repo)])
    with FakeOpenAI({"first": [FIX, text("Fixed.")], "flaky": [error(401)]}) as server:
        assert batch(server, tmp_path).returncode == 3
    before = results(tmp_path / "out")
    assert before["flaky"]["status"] == "error"

    # The batch grows a task (or was interrupted before it): only that one runs.
    write_tasks(tasks_file, [task("first", calc_repo), task("flaky", calc_repo), task("late", calc_repo)])
    with FakeOpenAI({"late": [FIX, text("Fixed.")]}) as server:
        again = batch(server, tmp_path)
    assert again.returncode == 3  # flaky's error still stands
    assert server.errors == []
    assert asked_about(server) == {"late"}
    after = results(tmp_path / "out")
    assert after["first"] == before["first"] and after["flaky"] == before["flaky"]
    assert after["late"]["status"] == "resolved"

    # --retry-failed runs the errored task again and replaces its line.
    with FakeOpenAI({"flaky": [FIX, text("Fixed.")]}) as server:
        retried = batch(server, tmp_path, "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    assert server.errors == []
    assert asked_about(server) == {"flaky"}
    final = results(tmp_path / "out")
    assert set(final) == {"first", "flaky", "late"}
    assert final["flaky"]["status"] == "resolved"
    assert final["first"] == before["first"]


def test_default_out_folder_is_resumed_by_the_same_command(tmp_path: Path, calc_repo: Path) -> None:
    write_tasks(tmp_path / "tasks.jsonl", [task("only", calc_repo)])
    with FakeOpenAI({"only": [FIX, text("Fixed.")]}) as server:
        args = ["batch", "tasks.jsonl", "--base-url", server.base_url, "--api", "chat"]
        first = run_cli(args, tmp_path)
        second = run_cli(args, tmp_path)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert len(server.model_requests) == 2  # both from the first run
    folder = first.stderr.split("results in ")[1].split()[0]
    assert "/batches/" in folder
    assert f"0 to run; results in {folder}" in second.stderr


def test_max_cost_stops_starting_new_tasks(tmp_path: Path, calc_repo: Path) -> None:
    write_tasks(tmp_path / "tasks.jsonl", [task("one", calc_repo), task("two", calc_repo)])
    with FakeOpenAI({"one": [FIX, text("Fixed.")], "two": [FIX, text("Fixed.")]}) as server:
        result = run_cli(["batch", "tasks.jsonl", "-j", "1", "--out", "out", "--max-cost", "0.000001",
                          "--base-url", server.base_url, "--api", "chat"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert list(results(tmp_path / "out")) == ["one"]
    assert asked_about(server) == {"one"}
    assert "1 task(s) not started" in result.stderr


SWE_REPO = {
    "calc.py": CALC_BUG + "\n\ndef mul(a, b):\n    return a * b\n",
    "tests/test_other.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
}
TEST_PATCH = """diff --git a/tests/test_calc.py b/tests/test_calc.py
new file mode 100644
--- /dev/null
+++ b/tests/test_calc.py
@@ -0,0 +1,5 @@
+from calc import add  # only in the test patch
+
+
+def test_add_hidden_marker():
+    assert add(2, 3) == 5
"""


def swe_instance(instance_id: str, repo: Path) -> dict[str, Any]:
    return {
        "instance_id": instance_id,
        "repo": str(repo),
        "base_commit": git(repo, "rev-parse", "HEAD").strip(),
        "problem_statement": f"{instance_id}: add() subtracts instead of adding.",
        "FAIL_TO_PASS": json.dumps(["tests/test_calc.py::test_add_hidden_marker"]),
        "PASS_TO_PASS": ["tests/test_other.py::test_mul"],
        "test_patch": TEST_PATCH,
        "version": "0.1",
    }


def test_swebench_instances_are_judged_by_their_tests(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "lib", SWE_REPO)
    write_tasks(tmp_path / "tasks.jsonl", [swe_instance("lib__good", repo), swe_instance("lib__wrong", repo),
                                           swe_instance("lib__idle", repo)])
    fake_test = "def test_add_hidden_marker():\n    assert True\n"
    script = {
        # Fixes add() and also writes the file the test patch brings: the judge resets it.
        "lib__good": [FIX, call("write_file", {"path": "tests/test_calc.py", "content": fake_test}), text("Done.")],
        "lib__wrong": [call("edit_file", {"path": "calc.py", "old": "a - b", "new": "b - a"}), text("Done.")],
        "lib__idle": [text("Nothing to do.")],
    }
    with FakeOpenAI(script) as server:
        result = batch(server, tmp_path, "--swebench-preds")
    assert result.returncode == 0, result.stderr
    assert server.errors == []
    assert not any("only in the test patch" in json.dumps(r) for r in server.model_requests), "the model saw the test patch"
    records = results(tmp_path / "out")
    good, wrong = records["lib__good"], records["lib__wrong"]
    assert good["status"] == "resolved", good
    assert good["judge"]["resolved"] and good["judge"]["fail_to_pass_failed"] == []
    assert wrong["status"] == "failed", wrong
    assert wrong["judge"]["fail_to_pass_failed"] == ["tests/test_calc.py::test_add_hidden_marker"]
    assert wrong["judge"]["pass_to_pass_failed"] == [] and "note" not in wrong["judge"]  # its patch was judged
    # Each named test's outcome and reason, and a message that agrees with the status.
    hidden = wrong["judge"]["tests"]["tests/test_calc.py::test_add_hidden_marker"]
    assert hidden["list"] == "FAIL_TO_PASS" and hidden["outcome"] == "failed"
    assert "assert 1 == 5" in hidden["message"]
    assert wrong["judge"]["tests"]["tests/test_other.py::test_mul"]["outcome"] == "passed"
    assert wrong["message"].startswith("FAIL_TO_PASS 1 failed: tests/test_calc.py::test_add_hidden_marker")
    assert good["message"] == "resolved: all 2 named tests pass"
    # No change: failed as such, with no test claimed to have failed.
    idle = records["lib__idle"]
    assert idle["status"] == "failed" and idle["message"] == "no changes", idle
    assert idle["judge"]["pass_to_pass_failed"] == [] and idle["judge"]["fail_to_pass_failed"] == []
    assert idle["judge"]["tests"]["tests/test_other.py::test_mul"] == {
        "list": "PASS_TO_PASS", "outcome": "not run", "message": "no changes"}
    for record in records.values():
        assert ("tests pass" in record["message"]) == (record["status"] == "resolved"), record
    preds_file = tmp_path / "out" / "preds.jsonl"
    preds = {p["instance_id"]: p for p in map(json.loads, preds_file.read_text().splitlines())}
    assert set(preds) == {"lib__good", "lib__wrong", "lib__idle"}
    assert "+    return a + b" in preds["lib__good"]["model_patch"]
    assert preds["lib__good"]["model_name_or_path"] == "gpt-5.2-codex"
    assert "resolved 1 of 3 (33.3%)" in result.stdout


def test_bad_task_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "tasks.jsonl").write_text('{"id": "a", "task": "x", "repo": "."}\n{"id": "a"\n')
    result = run_cli(["batch", "tasks.jsonl", "--out", "out"], tmp_path)
    assert result.returncode == 2
    assert "line 2" in result.stderr


def test_task_values_never_reach_git_as_options(tmp_path: Path, calc_repo: Path) -> None:
    """Issue 13 item 4: a hostile task file's base_commit once ran `--upload-pack` on the host."""
    marker = tmp_path / "pwned"
    write_tasks(tmp_path / "tasks.jsonl", [
        task("evil-commit", f"file://{calc_repo}", base_commit=f"--upload-pack=touch {marker};false"),
        task("evil-local", calc_repo, base_commit=f"--upload-pack=touch {marker};false"),
        task("evil-url", f"ext::sh -c touch% {marker}"),
        task("odd-url", "testgit://host/repo"),  # a remote helper git would look for and run
        task("fine", calc_repo, base_commit="main"),
    ])
    with FakeOpenAI({"fine": [FIX, text("Fixed.")]}) as server:
        result = batch(server, tmp_path)
    assert not marker.exists(), "a task file value ran a command on the host"
    assert result.returncode == 3, result.stderr
    records = results(tmp_path / "out")
    assert records["fine"]["status"] == "resolved", records["fine"]
    for name in ("evil-commit", "evil-local"):
        assert records[name]["status"] == "error"
        assert "neither a commit id (hex) nor a valid ref name" in records[name]["message"], records[name]
    assert records["evil-url"]["status"] == "error"
    assert "only https://" in records["odd-url"]["message"] and records["odd-url"]["status"] == "error"
    assert asked_about(server) == {"fine"}


def kill_while_running(tmp_path: Path, calc_repo: Path, kill: Any) -> tuple[int, str]:
    """Start a batch of a quick and a slow task; once the quick one has its
    result and the slow one sleeps in a command, `kill(pid)`. (exit code, stderr)."""
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    write_tasks(tmp_path / "tasks.jsonl", [task("quick", calc_repo), task("slow", calc_repo)])
    script = {"quick": [FIX, text("Fixed.")], "slow": [call("shell", {"command": "sleep 120"}), text("Done.")]}
    out = tmp_path / "out"
    with FakeOpenAI(script) as server:
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "batch", "tasks.jsonl", "-j", "2", "--out", "out", "--base-url",
             server.base_url, "--api", "chat"], cwd=tmp_path, env=env, start_new_session=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not (
                (out / "results.jsonl").is_file() and "quick" in (out / "results.jsonl").read_text()
                and any("slow:" in json.dumps(r) for r in server.model_requests)):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        time.sleep(1.5)  # the shell call has started
        kill(proc.pid)
        _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


def leftovers() -> list[Path]:
    """Working copies and scratch checkouts of batch tasks."""
    import os

    state, cache = Path(os.environ["XDG_STATE_HOME"]), Path(os.environ["XDG_CACHE_HOME"])
    return [*state.rglob("worktrees/*"), *(cache / "codex-agent" / "batch" / "work").glob("*")]


def resume_runs_only_the_slow_task(tmp_path: Path) -> Any:
    with FakeOpenAI({"slow": [FIX, text("Fixed.")]}) as server:
        again = batch(server, tmp_path)
    assert again.returncode == 0, again.stderr
    assert asked_about(server) == {"slow"}
    final = results(tmp_path / "out")
    assert final["slow"]["status"] == "resolved" and final["quick"]["status"] == "resolved"
    return again


@pytest.mark.parametrize("whom", ["process group", "batch process"])
def test_a_killed_batch_keeps_finished_results_cleans_up_and_resumes(tmp_path: Path, calc_repo: Path,
                                                                    whom: str) -> None:
    """`timeout` sends SIGTERM to the whole process group; a job scheduler may send it to the batch alone."""
    import os
    import signal

    def kill(pid: int) -> None:
        if whom == "process group":
            os.killpg(pid, signal.SIGTERM)
        else:
            os.kill(pid, signal.SIGTERM)

    code, stderr = kill_while_running(tmp_path, calc_repo, kill)
    assert code == 130, stderr
    records = results(tmp_path / "out")
    assert records["quick"]["status"] == "resolved"
    assert records["slow"]["status"] == "interrupted", records["slow"]
    assert "running the batch again runs it" in records["slow"]["message"]
    assert "Run the same command again" in stderr
    # No working copy, scratch checkout or branch is left behind.
    assert leftovers() == []
    assert git(calc_repo, "branch", "--format=%(refname:short)").split() == ["main"]
    resume_runs_only_the_slow_task(tmp_path)


def test_a_batch_killed_outright_is_cleaned_up_by_the_next_run(tmp_path: Path, calc_repo: Path) -> None:
    import os
    import signal

    code, _ = kill_while_running(tmp_path, calc_repo, lambda pid: os.killpg(pid, signal.SIGKILL))
    assert code == -signal.SIGKILL
    assert results(tmp_path / "out")["quick"]["status"] == "resolved"  # written as it ended
    stale = leftovers()
    assert stale, "the killed task left its working copy"
    again = resume_runs_only_the_slow_task(tmp_path)
    assert "removed a leftover of a killed batch" in again.stderr
    assert leftovers() == []



def test_swebench_style_instances_with_a_prepared_venv_and_only_the_documented_commands(tmp_path: Path) -> None:
    """docs/batch.md's recipe: a clone, a venv with the project installed editable
    from it, `python` on each task, no test_cmd. The gold fix resolves, no change fails."""
    import subprocess
    import sys

    pyproject = ('[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
                 '[project]\nname = "calc"\nversion = "0.1"\n\n[tool.setuptools]\npy-modules = ["calc"]\n')
    clone = make_repo(tmp_path / "calc", {"pyproject.toml": pyproject, **SWE_REPO})
    env = tmp_path / "envs" / "calc"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env)], check=True)
    # `pip install -e` as documented; offline here, with the system's setuptools.
    subprocess.run([str(env / "bin" / "pip"), "install", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-e", str(clone)], check=True, capture_output=True)
    test_patch = TEST_PATCH.replace(
        "+def test_add_hidden_marker():\n",
        "+def test_add_hidden_marker():\n+    import calc, sys\n"
        f"+    assert sys.prefix == {str(env)!r}  # the task's environment\n"
        f"+    assert not calc.__file__.startswith({str(clone) + '/'!r})  # the patched checkout, not the clone\n"
    ).replace("@@ -0,0 +1,5 @@", "@@ -0,0 +1,8 @@")
    instances = [{**swe_instance(name, clone), "repo": "calc", "python": "envs/calc", "test_patch": test_patch}
                 for name in ("calc__gold", "calc__idle")]
    write_tasks(tmp_path / "tasks.jsonl", instances)
    with FakeOpenAI({"calc__gold": [FIX, text("Done.")], "calc__idle": [text("Nothing to change.")]}) as server:
        result = batch(server, tmp_path)
    assert result.returncode == 0, result.stderr
    records = results(tmp_path / "out")
    gold, idle = records["calc__gold"], records["calc__idle"]
    assert gold["status"] == "resolved", gold
    assert gold["judge"]["command"].startswith("python -m pytest")
    assert {t["outcome"] for t in gold["judge"]["tests"].values()} == {"passed"}
    assert idle["status"] == "failed" and idle["message"] == "no changes", idle
