"""`env_setup`: a task's environment built once per repository state, with
the network, in the sandbox, reused by later tasks, and used by the agent's
gate and by the judge. The real CLI against the fake server; the commands
need no downloads (they write what an editable install writes)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from sandbox.isolation import probe_bwrap
from tests.conftest import git, make_repo, skip_unless
from tests.fake_openai import FakeOpenAI, call, text
from tests.test_batch import batch, results, write_tasks

_BWRAP = shutil.which("bwrap")
# Under CI=true a missing bubblewrap fails the test rather than skipping it.
needs_bwrap = skip_unless(_BWRAP is not None and probe_bwrap(_BWRAP).config is not None,
                          "bubblewrap is not installed or cannot run here")

# A src layout: `calc` imports only through the environment's editable install.
REPO = {
    "src/calc/__init__.py": "def add(a, b):\n    return a - b\n",
    "tests/test_calc.py": "import envmark\nfrom calc import add\n\n\ndef test_add():\n"
                          "    assert envmark.BUILT\n    assert add(2, 3) == 5\n",
}
# What `pip install -e . pytest` leaves in site-packages, without a download:
# a .pth naming the checkout's src (an editable install of a src layout), one
# naming the site-packages that hold the pytest running these tests, and a
# module only this environment has. Each build appends a line to `.venv/builds`.
PYTEST_SITE = str(Path(pytest.__file__).resolve().parents[1])
ENV_SETUP = [
    "date +%s%N >> .venv/builds",
    "python -c \"import os, sysconfig; site = sysconfig.get_paths()['purelib']; "
    "open(os.path.join(site, 'calc_editable.pth'), 'w').write(os.getcwd() + '/src\\n'); "
    f"open(os.path.join(site, 'test_tools.pth'), 'w').write('{PYTEST_SITE}\\n'); "
    "open(os.path.join(site, 'envmark.py'), 'w').write('BUILT = True\\n')\"",
]
TEST_PATCH = """diff --git a/tests/test_judged.py b/tests/test_judged.py
new file mode 100644
--- /dev/null
+++ b/tests/test_judged.py
@@ -0,0 +1,7 @@
+import sys
+
+
+def test_judged():
+    import calc, envmark
+    assert sys.prefix.endswith("/.venv") and envmark.BUILT
+    assert calc.add(2, 3) == 5
"""


def envs() -> list[Path]:
    from agent.batch.paths import cache_dir

    return sorted(p for p in (cache_dir() / "envs").glob("*") if p.is_dir())


def notices(out: Path, record: dict[str, Any]) -> list[str]:
    lines = (out / record["trajectory"]).read_text().splitlines()
    return [r["message"] for r in map(json.loads, lines) if r["type"] == "notice"]


def instance(name: str, repo: Path, **extra: Any) -> dict[str, Any]:
    return {"instance_id": name, "repo": str(repo), "base_commit": git(repo, "rev-parse", "HEAD").strip(),
            "problem_statement": f"{name}: add() subtracts.", "FAIL_TO_PASS": ["tests/test_judged.py::test_judged"],
            "PASS_TO_PASS": [], "test_patch": TEST_PATCH, "env_setup": ENV_SETUP, **extra}


FIX_SRC = call("edit_file", {"path": "src/calc/__init__.py", "old": "a - b", "new": "a + b"})


def test_env_is_built_once_reused_and_used_by_the_gate_and_the_judge(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "calc", REPO)
    write_tasks(tmp_path / "tasks.jsonl", [instance("calc__gold", repo), instance("calc__idle", repo)])
    with FakeOpenAI({"calc__gold": [FIX_SRC, text("Done.")], "calc__idle": [text("Nothing to do.")] * 3}) as server:
        result = batch(server, tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    records = results(out)
    gold, idle = records["calc__gold"], records["calc__idle"]
    # The gate ran the tests with the environment (envmark, and calc through
    # the .pth) on the agent's code, and passed only after the fix.
    assert gold["verification"]["status"] == "passed", gold
    assert gold["status"] == "resolved" and gold["judge"]["resolved"], gold
    assert idle["status"] == "failed" and idle["message"] == "no changes", idle
    # One build for both tasks: the other reused it.
    said = [n for r in (gold, idle) for n in notices(out, r) if n.startswith("environment ")]
    assert sorted(n.split(":")[0] for n in said) == ["environment built", "environment reused"], said
    [folder] = envs()
    builds = (folder / ".venv" / "builds").read_text()
    assert len(builds.splitlines()) == 1
    assert sorted(p.name for p in folder.iterdir()) == [".venv"]  # the checkout's files removed

    # A later batch of the same repository state reuses it too.
    write_tasks(tmp_path / "tasks.jsonl", [instance("calc__later", repo)])
    with FakeOpenAI({"calc__later": [FIX_SRC, text("Done.")]}) as server:
        again = batch(server, tmp_path, "--out", "again")
    assert again.returncode == 0, again.stderr
    later = results(tmp_path / "again")["calc__later"]
    assert later["status"] == "resolved", later
    assert envs() == [folder] and (folder / ".venv" / "builds").read_text() == builds


def test_a_failed_env_build_is_an_error_with_its_output_and_is_not_kept(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "calc", REPO)
    broken = ["echo fetching the requirements", "echo 'ERROR: no such package: nothere' >&2; exit 3"]
    write_tasks(tmp_path / "tasks.jsonl", [instance("calc__broken", repo, env_setup=broken)])
    with FakeOpenAI({}) as server:
        result = batch(server, tmp_path)
    assert result.returncode == 3, result.stderr
    assert server.model_requests == []  # nothing was paid for
    record = results(tmp_path / "out")["calc__broken"]
    assert record["status"] == "error"
    assert "env_setup command" in record["message"] and "exit 3" in record["message"]
    assert "no such package: nothere" in record["message"]
    assert envs() == []  # a later task builds it again


@needs_bwrap
def test_env_setup_runs_in_the_sandbox_with_only_its_folder_writable(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "calc", REPO)
    secret = Path.home() / f".codex-agent-test-secret-{tmp_path.name}"
    secret.write_text("hunter2")
    try:
        probes = [f"! test -e {secret}",  # the home is hidden
                  f"! touch {repo}/written 2>/dev/null",  # the host is read-only
                  # pip's CA bundle is no secret to hide (pip could not reach an index)
                  "test -s \"$(python -c 'import pip._vendor.certifi as c; print(c.where())')\"",
                  *ENV_SETUP]
        write_tasks(tmp_path / "tasks.jsonl", [instance("calc__gold", repo, env_setup=probes)])
        with FakeOpenAI({"calc__gold": [FIX_SRC, text("Done.")]}) as server:
            result = batch(server, tmp_path)
    finally:
        secret.unlink()
    assert result.returncode == 0, result.stderr
    assert results(tmp_path / "out")["calc__gold"]["status"] == "resolved"
    assert not (repo / "written").exists()


def test_envs_are_keyed_by_the_repository_state_and_the_commands(tmp_path: Path) -> None:
    from agent.batch.checkout import checkout
    from agent.batch.envs import prepare_env

    repo = make_repo(tmp_path / "calc", REPO)
    first = checkout(str(repo), None, tmp_path / "first")
    (repo / "README").write_text("changed\n")
    git(repo, "add", "README")
    git(repo, "commit", "-qm", "next")
    second = checkout(str(repo), None, tmp_path / "second")
    task = {"repo": str(repo), "env_setup": ["true"]}

    def env(source: Path, **changes: Any) -> Path:
        built = prepare_env({**task, **changes}, source, None, "auto", lambda _: None)
        assert (built.python / "bin" / "python").exists()
        return built.folder

    assert env(first) == env(first)
    assert len({env(first), env(second), env(first, env_setup=["true", "true"])}) == 3


def test_without_bubblewrap_the_env_still_imports_the_working_copy(tmp_path: Path) -> None:
    """--sandbox process (what `auto` falls back to): the build runs as plain
    processes, and the editable install's folder maps to the working copy."""
    repo = make_repo(tmp_path / "calc", REPO)
    write_tasks(tmp_path / "tasks.jsonl", [instance("calc__gold", repo)])
    with FakeOpenAI({"calc__gold": [FIX_SRC, text("Done.")]}) as server:
        result = batch(server, tmp_path, "--sandbox", "process")
    assert result.returncode == 0, result.stderr
    gold = results(tmp_path / "out")["calc__gold"]
    assert gold["verification"]["status"] == "passed" and gold["status"] == "resolved", gold
