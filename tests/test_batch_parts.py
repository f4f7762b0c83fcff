"""The parts of batch on their own: the task file, checkouts, the SWE-bench
judge, the per-task runner, the results file and the shared rate limiter
(with real processes)."""

from __future__ import annotations

import json
import sys
import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from agent.batch.checkout import CheckoutError, checkout
from agent.batch.executors import _Services
from agent.batch.judge import judge
from agent.batch.ratelimit import ThrottledClient, TokenBucket
from agent.batch.results import Results
from agent.batch.tasks import TaskFileError, load_tasks, normalise
from agent.batch.worker import run_task, settings_dict, status_of, task_client, task_settings
from agent.config import Settings
from tests.conftest import git, make_repo
from tests.fake_openai import FakeOpenAI, call, error, text

CALC_BUG = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
TESTS = {
    "tests/test_mul.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
}


def make_patch(repo: Path, files: dict[str, str], tmp_path: Path) -> str:
    """A real git diff of `files` written over a clone of `repo`."""
    scratch = tmp_path / f"patch-{len(list(tmp_path.glob('patch-*')))}"
    git(tmp_path, "clone", "-q", str(repo), str(scratch))
    for rel, content in files.items():
        (scratch / rel).parent.mkdir(parents=True, exist_ok=True)
        (scratch / rel).write_text(content)
    git(scratch, "add", "-A")
    return git(scratch, "diff", "--cached")


ADD_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FIXED = CALC_BUG.replace("a - b", "a + b")


def task_of(repo: Path, **raw) -> dict:
    return normalise({"id": "t", "task": "t: fix", "repo": str(repo), **raw}, repo.parent, "test")


# ----------------------------------------------------------------------------- the task file


def test_task_file_formats_and_swebench_fields(tmp_path: Path) -> None:
    make_repo(tmp_path / "repos" / "a", {"x.py": ""})
    swe = {"instance_id": "astropy__astropy-1", "repo": "astropy/astropy", "base_commit": "abc",
           "problem_statement": "broken", "FAIL_TO_PASS": '["t.py::a"]', "PASS_TO_PASS": [], "test_patch": "p"}
    lines = [
        {"id": "local", "task": "do it", "repo": "repos/a", "setup": "make", "max_steps": 3,
         "env_setup": ["pip install -e .", "pip install pytest"]},
        {"id": 7, "task": "url", "repo": "file:///srv/x.git", "model": "m", "test_cmd": "make test"},
        swe,
    ]
    (tmp_path / "tasks.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    local, url, instance = load_tasks(tmp_path / "tasks.jsonl")
    assert local["repo"] == str((tmp_path / "repos" / "a").resolve())  # relative to the task file
    assert local["setup"] == ["make"] and local["max_steps"] == 3
    assert local["env_setup"] == ["pip install -e .", "pip install pytest"] and url["env_setup"] == []
    assert (url["id"], url["repo"], url["model"], url["test_cmd"]) == ("7", "file:///srv/x.git", "m", "make test")
    assert instance["id"] == "astropy__astropy-1" and instance["task"] == "broken"
    assert instance["repo"] == "https://github.com/astropy/astropy.git"
    assert instance["fail_to_pass"] == ["t.py::a"] and instance["pass_to_pass"] == []

    (tmp_path / "tasks.yaml").write_text("tasks:\n  - id: y\n    task: from yaml\n    repo: repos/a\n")
    assert [t["task"] for t in load_tasks(tmp_path / "tasks.yaml")] == ["from yaml"]
    (tmp_path / "list.json").write_text(json.dumps([swe]))
    assert load_tasks(tmp_path / "list.json")[0]["id"] == "astropy__astropy-1"


@pytest.mark.parametrize("content, message", [
    ('{"id": "a", "task": "x", "repo": "r"}\n{"task": "x", "repo": "r"}\n', "line 2: missing 'id'"),
    ('{"id": "a", "task": "x", "repo": "r"}\n{"id": "a", "task": "y", "repo": "r"}\n', "more than once"),
    ('{"id": "a", "repo": "r"}\n', "has no 'task'"),
    ('{"id": "a", "task": "x", "repo": "r", "FAIL_TO_PASS": "[oops"}\n', "FAIL_TO_PASS"),
    ('{"id": "a", "task": "x", "repo": "r", "max_steps": 0}\n', "max_steps"),
    ('{"id": "a", "task": "x", "repo": "r", "env_setup": {"pip": "x"}}\n', "'env_setup' must be a command"),
    ('not json\n', "line 1: not valid JSON"),
])
def test_task_file_errors_say_where(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "tasks.jsonl").write_text(content)
    with pytest.raises(TaskFileError, match=message.replace("(", r"\(")):
        load_tasks(tmp_path / "tasks.jsonl")


# ----------------------------------------------------------------------------- checkouts


def test_url_checkout_goes_through_a_cache_and_fetches_missing_commits(tmp_path: Path) -> None:
    origin = make_repo(tmp_path / "origin", {"a.txt": "one\n"})
    first = git(origin, "rev-parse", "HEAD").strip()
    url = f"file://{origin}"
    work = checkout(url, first, tmp_path / "w1")
    assert (work / "a.txt").read_text() == "one\n"
    (origin / "a.txt").write_text("two\n")
    git(origin, "commit", "-qam", "second")
    second = git(origin, "rev-parse", "HEAD").strip()
    work2 = checkout(url, second, tmp_path / "w2")  # not in the cache yet: fetched
    assert (work2 / "a.txt").read_text() == "two\n"
    assert git(work2, "rev-parse", "HEAD").strip() == second
    assert git(work2, "remote").strip() == ""  # nothing done in a checkout can reach the source
    assert git(origin, "branch", "--format=%(refname:short)").split() == ["main"]
    with pytest.raises(CheckoutError, match="not found"):
        checkout(url, "0" * 40, tmp_path / "w3")


def test_plain_folder_checkout_is_a_git_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "a.py").write_text("x = 1\n")
    work = checkout(str(folder), None, tmp_path / "w")
    assert git(work, "ls-files").split() == ["a.py"]
    assert not (folder / ".git").exists()
    with pytest.raises(CheckoutError, match="not a git repository"):
        checkout(str(folder), "abc", tmp_path / "w2")


# ----------------------------------------------------------------------------- the judge


@pytest.fixture
def swe_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "lib", {"calc.py": CALC_BUG, **TESTS})


def swe_task(repo: Path, tmp_path: Path) -> dict:
    return task_of(repo, FAIL_TO_PASS=["tests/test_add.py::test_add"], PASS_TO_PASS=["tests/test_mul.py::test_mul"],
                   test_patch=make_patch(repo, {"tests/test_add.py": ADD_TEST}, tmp_path),
                   base_commit=git(repo, "rev-parse", "HEAD").strip())


def test_judge_resolves_a_fix_and_fails_a_fix_that_breaks_other_tests(tmp_path: Path, swe_repo: Path) -> None:
    task = swe_task(swe_repo, tmp_path)
    good = judge(task, make_patch(swe_repo, {"calc.py": FIXED}, tmp_path), tmp_path / "j1")
    assert good["resolved"] is True and good["exit_code"] == 0
    breaking = make_patch(swe_repo, {"calc.py": FIXED.replace("a * b", "a ** b")}, tmp_path)
    breaks = judge(task, breaking, tmp_path / "j2")
    assert breaks["resolved"] is False
    assert breaks["fail_to_pass_failed"] == [] and breaks["pass_to_pass_failed"] == ["tests/test_mul.py::test_mul"]
    assert breaks["tests"]["tests/test_mul.py::test_mul"]["outcome"] == "failed"
    assert "assert 8 == 6" in breaks["tests"]["tests/test_mul.py::test_mul"]["message"]
    assert breaks["tests"]["tests/test_add.py::test_add"] == {"list": "FAIL_TO_PASS", "outcome": "passed",
                                                               "message": ""}
    assert breaks["reason"].startswith("PASS_TO_PASS 1 failed: tests/test_mul.py::test_mul (failed: ")
    assert "1 failed" in breaks["output_tail"]
    # Nothing changed: nothing is run, so no test is claimed to have failed.
    empty = judge(task, "", tmp_path / "j3")
    assert empty["resolved"] is False and empty["note"] == empty["reason"] == "no changes"
    assert empty["fail_to_pass_failed"] == [] and empty["pass_to_pass_failed"] == []
    assert empty["not_run"] == ["tests/test_add.py::test_add", "tests/test_mul.py::test_mul"]
    assert {t["outcome"] for t in empty["tests"].values()} == {"not run"}
    assert "exit_code" not in empty and not (tmp_path / "j3").exists()
    assert git(swe_repo, "status", "--porcelain") == ""


def test_judge_resets_the_agents_edits_to_the_test_patch_files(tmp_path: Path, swe_repo: Path) -> None:
    cheat = make_patch(swe_repo, {"tests/test_add.py": ADD_TEST.replace("add(2, 3) == 5", "True")}, tmp_path)
    verdict = judge(swe_task(swe_repo, tmp_path), cheat, tmp_path / "j")
    assert verdict["resolved"] is False
    assert verdict["fail_to_pass_failed"] == ["tests/test_add.py::test_add"]


def test_judge_gives_each_named_test_its_outcome_and_reason(tmp_path: Path) -> None:
    tests = {
        "tests/test_many.py": (
            "import pytest\n\n\n@pytest.fixture\ndef broken_teardown():\n    yield\n"
            "    raise RuntimeError('teardown broke')\n\n\n"
            "def test_teardown(broken_teardown):\n    pass\n\n\n"
            "@pytest.mark.parametrize('x', ['a b'])\ndef test_param(x):\n    pass\n\n\n"
            "@pytest.mark.xfail(reason='known')\ndef test_xfail():\n    assert False\n\n\n"
            "@pytest.mark.skip(reason='not here')\ndef test_skipped():\n    pass\n"),
        "tests/test_broken.py": "import no_such_module\n\n\ndef test_never():\n    pass\n",
    }
    repo = make_repo(tmp_path / "many", {"calc.py": CALC_BUG, **tests})
    names = ["tests/test_many.py::test_teardown", "tests/test_many.py::test_param[a b]",
             "tests/test_many.py::test_xfail", "tests/test_many.py::test_skipped",
             "tests/test_broken.py::test_never", "tests/test_many.py::test_gone"]
    task = task_of(repo, FAIL_TO_PASS=names[:2], PASS_TO_PASS=names[2:],
                   base_commit=git(repo, "rev-parse", "HEAD").strip())
    verdict = judge(task, make_patch(repo, {"calc.py": FIXED}, tmp_path), tmp_path / "j")
    outcomes = {t: (r["outcome"], r["message"]) for t, r in verdict["tests"].items()}
    assert outcomes["tests/test_many.py::test_teardown"][0] == "error"  # the teardown outweighs the pass
    assert "teardown broke" in outcomes["tests/test_many.py::test_teardown"][1]
    assert outcomes["tests/test_many.py::test_param[a b]"] == ("passed", "")
    assert outcomes["tests/test_many.py::test_xfail"][0] == "xfailed"
    assert outcomes["tests/test_many.py::test_skipped"][0] == "skipped"
    never = outcomes["tests/test_broken.py::test_never"]
    assert never[0] == "not run" and "collection error" in never[1] and "no_such_module" in never[1]
    assert outcomes["tests/test_many.py::test_gone"] == ("not run", "not in pytest's report")
    assert verdict["fail_to_pass_failed"] == ["tests/test_many.py::test_teardown"]
    assert verdict["pass_to_pass_failed"] == ["tests/test_many.py::test_skipped"]
    assert verdict["not_run"] == ["tests/test_broken.py::test_never", "tests/test_many.py::test_gone"]
    assert verdict["resolved"] is False


def test_judge_uses_the_projects_interpreter_and_says_when_pytest_is_missing(tmp_path: Path, swe_repo: Path) -> None:
    import subprocess
    import sys

    bare = tmp_path / "bare-venv"  # a virtualenv without pytest, as a repository's .venv often starts
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    task = swe_task(swe_repo, tmp_path)
    fixed = make_patch(swe_repo, {"calc.py": FIXED}, tmp_path)
    verdict = judge(task, fixed, tmp_path / "j1", python=str(bare / "bin" / "python"))
    assert verdict["resolved"] is False and verdict["fail_to_pass_failed"] == []
    assert verdict["not_run"] == ["tests/test_add.py::test_add", "tests/test_mul.py::test_mul"]
    message = verdict["tests"]["tests/test_add.py::test_add"]["message"]
    assert "pytest wrote no report" in message and "No module named pytest" in message, message
    assert judge(task, fixed, tmp_path / "j2", python=sys.executable)["resolved"] is True


def test_the_tasks_python_wins_then_the_batchs_then_the_repositorys_venv(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_BUG})
    (repo / ".venv" / "bin").mkdir(parents=True)
    (repo / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (repo / ".venv" / "bin" / "python3").symlink_to(sys.executable)  # a venv only counts with an interpreter
    trajectory = tmp_path / "t.jsonl"
    batch_wide = settings_dict(Settings(python="/opt/batch-env"))
    assert task_settings(batch_wide, task_of(repo, python="/opt/task-env"), trajectory).python == "/opt/task-env"
    assert task_settings(batch_wide, task_of(repo), trajectory).python == "/opt/batch-env"
    assert task_settings(settings_dict(Settings()), task_of(repo), trajectory).python == str((repo / ".venv").resolve())
    assert task_of(repo, python="envs/p")["python"] == str(repo.parent / "envs" / "p")  # relative to the task file
    assert task_of(repo, python="~/envs/p")["python"] == str(Path.home() / "envs" / "p")


@pytest.mark.parametrize("reason, tests_ok, verdict, status", [
    ("done", True, None, "resolved"),
    ("done", None, None, "resolved"),
    ("budget", False, None, "budget"),
    ("error", None, None, "error"),
    ("cancelled", None, None, "interrupted"),
    ("done", True, {"resolved": False}, "failed"),
    ("budget", False, {"resolved": True}, "resolved"),
    ("budget", False, {"resolved": False}, "budget"),
])
def test_status_of(reason: str, tests_ok: bool | None, verdict: dict | None, status: str) -> None:
    assert status_of(reason, tests_ok, verdict) == status


# ----------------------------------------------------------------------------- one task


def test_setup_runs_in_the_sandbox_before_the_agent_and_stays_out_of_the_patch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_BUG})
    task = task_of(repo, setup=["echo generated-by-setup > build.txt"], test_cmd="true")
    script = {"t": [call("read_file", {"path": "build.txt"}),
                    call("write_file", {"path": "notes.txt", "content": "agent was here\n"}), text("Done.")]}
    with FakeOpenAI(script) as server:
        result = run_task(task, settings_dict(Settings(base_url=server.base_url, api="chat")))
    assert result["status"] == "resolved", result
    assert "generated-by-setup" in json.dumps(server.model_requests[1]["messages"])
    assert "notes.txt" in result["patch_text"] and "build.txt" not in result["patch_text"]
    assert "setup done" in result["trajectory_text"]
    assert not (repo / "build.txt").exists()


def test_failing_setup_is_an_error_and_leaves_nothing_behind(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_BUG})
    with FakeOpenAI({}) as server:
        result = run_task(task_of(repo, setup="echo nope; exit 3"), settings_dict(Settings(base_url=server.base_url)))
    assert result["status"] == "error"
    assert "exit 3" in result["message"] and "nope" in result["message"]
    assert server.model_requests == []
    assert git(repo, "branch", "--format=%(refname:short)").split() == ["main"]


# ----------------------------------------------------------------------------- results


def test_results_replace_lines_and_write_predictions(tmp_path: Path) -> None:
    results = Results(tmp_path)
    results.record({"id": "a/1", "status": "error", "model": "m", "patch_text": "", "cost": 0.5})
    results.record({"id": "b", "status": "resolved", "model": "m", "patch_text": "diff b\n", "cost": None,
                    "trajectory_text": "{}\n"})
    results.record({"id": "a/1", "status": "failed", "model": "m", "patch_text": "diff a\n", "cost": 0.25})
    again = Results(tmp_path)
    assert [r["id"] for r in again.records.values()] == ["a/1", "b"]
    assert again.records["a/1"]["status"] == "failed"
    assert (tmp_path / again.records["a/1"]["patch"]).read_text() == "diff a\n"
    assert again.records["a/1"]["patch"].startswith("patches/a_1-")  # ids become safe file names
    assert again.records["b"]["trajectory"] == "trajectories/b.jsonl"
    assert again.cost() == 0.25
    tasks = [{"id": "a/1"}, {"id": "b"}, {"id": "c"}]
    assert [t["id"] for t in again.to_run(tasks, retry_failed=False)] == ["c"]
    assert [t["id"] for t in again.to_run(tasks, retry_failed=True)] == ["a/1", "c"]
    preds = [json.loads(line) for line in again.write_preds().read_text().splitlines()]
    assert preds == [{"instance_id": "a/1", "model_name_or_path": "m", "model_patch": "diff a\n"},
                     {"instance_id": "b", "model_name_or_path": "m", "model_patch": "diff b\n"}]


# ----------------------------------------------------------------------------- the rate limiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_paces_requests_tokens_and_pauses() -> None:
    clock = Clock()
    bucket = TokenBucket(rpm=60, tpm=6000, burst_seconds=2, clock=clock)  # 1 request/s, 100 tokens/s
    assert [bucket.reserve() for _ in range(4)] == [0.0, 0.0, 1.0, 2.0]  # a burst of 2, then in turn
    clock.now += 10
    assert bucket.reserve() == 0.0
    bucket.spend(500)  # 200 saved up: 300 in debt, 3 s to pay off
    assert bucket.reserve() == pytest.approx(3.0)
    clock.now += 10
    bucket.pause(5)
    assert bucket.reserve() == 5.0
    clock.now += 5
    assert bucket.reserve() == 0.0
    unlimited = TokenBucket(clock=clock)
    assert all(unlimited.reserve() == 0.0 for _ in range(100))


def _reserve_and_send(bucket, count: int, sent) -> None:
    for _ in range(count):
        time.sleep(bucket.reserve())
        sent.append(time.monotonic())


def _pause(bucket, seconds: float) -> None:
    bucket.pause(seconds)


def test_rate_limit_holds_across_real_processes() -> None:
    context = multiprocessing.get_context("spawn")
    with _Services(ctx=context) as services:
        bucket = services.TokenBucket(600, None, burst_seconds=0.1)  # 10 requests/s, no burst
        sent = services.list()
        workers = [context.Process(target=_reserve_and_send, args=(bucket, 5, sent)) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        times = sorted(sent)
        assert len(times) == 15
        # 15 requests at 10/s take at least 1.4 s, however the three processes interleave.
        assert times[-1] - times[0] >= 1.3

        # Long enough that starting and ending a process on a loaded machine cannot use it up.
        pauser = context.Process(target=_pause, args=(bucket, 30.0))
        pauser.start()
        pauser.join(60)
        assert bucket.reserve() > 1.0  # another worker's 429 holds this one back too


def test_a_429_with_retry_after_pauses_the_other_workers() -> None:
    bucket = TokenBucket()
    with FakeOpenAI([error(429, headers={"Retry-After": "3"}), text("hello")]) as server:
        settings = Settings(base_url=server.base_url, api="chat", model="gpt-5.2-codex")
        client = task_client(settings, bucket, lambda _text: None)
        assert isinstance(client, ThrottledClient)
        worker = threading.Thread(target=lambda: client.complete("be brief", [], None))
        worker.start()
        deadline = time.monotonic() + 10
        while not server.model_requests and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        other_waits = bucket.reserve()  # a second worker asking while the first waits out the 429
        worker.join(30)
    assert other_waits > 1.5
    assert len(server.model_requests) == 2


# ----------------------------------------------------------------------------- Ray


def test_ray_executor_runs_tasks_as_remote_tasks(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'codex-agent[ray]')")
    from agent.batch.executors import RayExecutor

    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_BUG})
    task = task_of(repo, test_cmd="true")
    with FakeOpenAI({"t": [call("write_file", {"path": "new.txt", "content": "hi\n"}), text("Done.")]}) as server:
        pool = RayExecutor(None, cpus_per_task=0.5)
        try:
            result = pool.submit(task, settings_dict(Settings(base_url=server.base_url, api="chat"))).result(120)
            updates = pool.updates()
        finally:
            pool.close()
    assert not ray.is_initialized()
    assert result["status"] == "resolved", result
    assert "new.txt" in result["patch_text"]
    assert any(task_id == "t" for task_id, _ in updates)


def test_judge_tests_the_checkouts_code_over_an_editable_install_of_the_clone(tmp_path: Path) -> None:
    """A src-layout project installed editable into its venv from the user's clone,
    as SWE-bench users prepare one: the judge must import the patched checkout."""
    import subprocess
    import sys

    clone = tmp_path / "mylib"
    pyproject = ('[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
                 '[project]\nname = "mylib"\nversion = "0.1"\n')
    make_repo(clone, {"pyproject.toml": pyproject, "src/mylib/__init__.py": CALC_BUG,
                      "tests/test_mul.py": TESTS["tests/test_mul.py"].replace("from calc", "from mylib")})
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(env)], check=True)
    subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "-e", str(clone)], check=True, capture_output=True)
    added = ("import mylib\n\n\ndef test_add():\n"
             f"    assert not mylib.__file__.startswith({str(clone)!r}), mylib.__file__\n"
             "    assert mylib.add(2, 3) == 5\n")
    task = task_of(clone, FAIL_TO_PASS=["tests/test_add.py::test_add"], PASS_TO_PASS=["tests/test_mul.py::test_mul"],
                   test_patch=make_patch(clone, {"tests/test_add.py": added}, tmp_path),
                   base_commit=git(clone, "rev-parse", "HEAD").strip())
    fixed = make_patch(clone, {"src/mylib/__init__.py": FIXED}, tmp_path)
    python = str(env / "bin" / "python")
    verdict = judge(task, fixed, tmp_path / "j", python=python)
    assert verdict["resolved"] is True, verdict
    unfixed = judge(task, make_patch(clone, {"README": "x\n"}, tmp_path), tmp_path / "j2", python=python)
    assert unfixed["fail_to_pass_failed"] == ["tests/test_add.py::test_add"]
    assert "assert -1 == 5" in unfixed["tests"]["tests/test_add.py::test_add"]["message"]


def test_a_test_patch_cannot_make_the_judge_delete_files_outside_the_checkout(tmp_path: Path, swe_repo: Path) -> None:
    from agent.batch.judge import JudgeError

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    hostile = ("diff --git a/../victim.txt b/../victim.txt\n--- a/../victim.txt\n+++ b/../victim.txt\n"
               "@@ -1 +1 @@\n-keep me\n+gone\n")
    task = {**swe_task(swe_repo, tmp_path), "test_patch": hostile}
    with pytest.raises(JudgeError, match="outside the repository"):
        judge(task, make_patch(swe_repo, {"calc.py": FIXED}, tmp_path), tmp_path / "j")
    assert victim.read_text() == "keep me\n"
