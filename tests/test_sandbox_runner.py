"""Commands under bubblewrap and as plain processes: real processes, real limits."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from sandbox.probe import doctor_report
from sandbox.isolation import probe_bwrap
from sandbox.limits import Limits, libc_prctl
from sandbox.output import CappedOutput, human_size
from sandbox.python_env import find_venv
from sandbox.runner import Runner, SandboxUnavailable
from sandbox.workspace import Workspace
from tests.conftest import skip_unless

PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4
BWRAP = shutil.which("bwrap")
PROBE = probe_bwrap(BWRAP) if BWRAP else None
if PROBE is None:
    _why = "bubblewrap is not installed"
elif PROBE.config is None or PROBE.config.reductions:
    _why = f"bubblewrap can't run with all namespaces here: {PROBE.error}"
else:
    _why = ""
needs_bwrap = skip_unless(not _why, _why)




@pytest.fixture
def repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "app.py").write_text("print('hello')\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "initial"], cwd=repo, check=True)
    return repo


@pytest.fixture
def workspace(repo):
    ws = Workspace.create(repo)
    yield ws
    ws.discard()


def processes_with(marker: str, settle: float = 5.0) -> list[int]:
    """Live processes whose command line contains `marker`, after giving killed
    ones up to `settle` seconds to disappear (the kernel reaps them asynchronously)."""
    deadline = time.monotonic() + settle
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def unique_sleep() -> str:
    """A sleep duration nobody else uses, to find its process afterwards."""
    return f"1000.{uuid.uuid4().int % 10**9}"


# -- under bubblewrap ------------------------------------------------------------


@needs_bwrap
def test_bwrap_writes_only_the_working_copy(workspace, repo):
    runner = Runner(workspace.root, mode="bwrap")
    assert runner.isolation == "bwrap" and runner.notice is None
    result = runner.run(
        f"echo made > made.txt; touch /usr/codex-agent-probe; echo leak > {repo}/leak.txt; echo done"
    )
    assert "done" in result.output
    assert (workspace.root / "made.txt").read_text() == "made\n"
    assert "Read-only file system" in result.output
    assert not Path("/usr/codex-agent-probe").exists()
    assert not (repo / "leak.txt").exists()


@needs_bwrap
def test_bwrap_has_no_network_unless_asked(workspace):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    port = server.getsockname()[1]
    connect = ["python", "-c", f"import socket; socket.create_connection(('127.0.0.1', {port}), 3); print('connected')"]
    with server:
        runner = Runner(workspace.root, mode="bwrap")
        blocked = runner.run(connect, timeout=30)
        assert blocked.exit_code != 0 and "connected" not in blocked.output
        with pytest.raises(socket.timeout):
            server.accept()
        allowed = runner.run(connect, timeout=30, network=True)
        assert "connected" in allowed.output  # the same command works with network=True


@needs_bwrap
def test_bwrap_hides_secrets_and_home(workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-commands")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_test_not_for_commands")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY\n")
    monkeypatch.setenv("HOME", str(home))
    runner = Runner(workspace.root, mode="bwrap")
    result = runner.run(f'env; echo "home=$HOME"; ls -A "$HOME"; cat {home}/.ssh/id_rsa')
    assert "sk-test-not-for-commands" not in result.output
    assert "ghp_test" not in result.output and "GITHUB_TOKEN" not in result.output
    assert f"home={home}" in result.output
    assert "PRIVATE KEY" not in result.output and "No such file" in result.output


@needs_bwrap
def test_bwrap_hides_the_agents_state_and_the_users_tree_wherever_they_are(repo, monkeypatch):
    from sandbox.state import cache_dir, state_dir

    # Outside the home and /tmp (both hidden anyway), where XDG may put them.
    outside = Path(tempfile.mkdtemp(prefix="codex-agent-test-", dir="/var/tmp"))
    try:
        monkeypatch.setenv("XDG_STATE_HOME", str(outside / "state"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(outside / "cache"))
        other_session = state_dir() / "sessions" / "other.json"
        other_session.parent.mkdir(parents=True)
        other_session.write_text('{"history": "another conversation"}')
        cache_dir().mkdir(parents=True)
        (cache_dir() / "note").write_text("cached")
        workspace = Workspace.create(repo)
        runner = Runner.for_workspace(workspace, mode="bwrap")
        result = runner.run(f"cat {other_session} {cache_dir() / 'note'}; echo ok > written.txt")
        assert "another conversation" not in result.output and "cached" not in result.output
        assert (workspace.root / "written.txt").read_text() == "ok\n"  # the working copy is still there
        workspace.discard()
    finally:
        shutil.rmtree(outside)


@needs_bwrap
def test_bwrap_cannot_read_the_real_home(workspace):
    real_home = Path(os.path.expanduser("~"))
    readable = next((p for p in real_home.iterdir() if p.is_file() and os.access(p, os.R_OK)), None)
    if readable is None:
        pytest.skip(f"no readable file directly in {real_home} to try")
    result = Runner(workspace.root, mode="bwrap").run(["cat", str(readable)])
    assert result.exit_code != 0 and "No such file" in result.output


@needs_bwrap
def test_bwrap_keeps_git_read_only_unless_git_writable(workspace, repo):
    runner = Runner(workspace.root, mode="bwrap")
    before = subprocess.run(["git", "rev-parse", workspace.branch], cwd=repo, capture_output=True, text=True).stdout
    commit = "git -c user.name=a -c user.email=a@b commit -qam agent"
    (workspace.root / "app.py").write_text("print('changed')\n")
    result = runner.run(f"{commit}; echo x > .git; echo x > {repo}/.git/hooks/post-commit; git status --short")
    assert result.exit_code == 0  # git status still works read-only
    assert " M app.py" in result.output
    assert (workspace.root / ".git").read_text().startswith("gitdir:")
    assert not (repo / ".git" / "hooks" / "post-commit").exists()
    after = subprocess.run(["git", "rev-parse", workspace.branch], cwd=repo, capture_output=True, text=True).stdout
    assert after == before

    result = runner.run(f"{commit} && echo committed; echo x > {repo}/.git/hooks/post-commit", git_writable=True)
    assert "committed" in result.output, result.output
    log = subprocess.run(["git", "log", "-1", "--format=%s", workspace.branch], cwd=repo, capture_output=True, text=True)
    assert log.stdout.strip() == "agent"
    assert not (repo / ".git" / "hooks" / "post-commit").exists()  # hooks stay read-only


@needs_bwrap
@pytest.mark.parametrize("command", ["sleep {t}", "trap '' TERM; sleep {t} & wait"], ids=["sleep", "ignores-sigterm"])
def test_bwrap_timeout_kills_everything(workspace, command):
    duration = unique_sleep()
    result = Runner(workspace.root, mode="bwrap").run(command.format(t=duration), timeout=1)
    assert result.timed_out and result.exit_code is None
    assert "timed out after 1 s" in result.output
    assert result.duration < 6
    assert processes_with(f"sleep {duration}") == []


@needs_bwrap
def test_bwrap_output_is_capped(workspace):
    result = Runner(workspace.root, mode="bwrap").run("yes | head -c 50000000", max_output_bytes=10_000)
    assert result.exit_code == 0
    assert len(result.output) < 10_200
    assert result.truncated_bytes > 49_900_000
    assert "MB elided ...]" in result.output and result.output.endswith("y\n")


@needs_bwrap
def test_bwrap_kills_processes_that_left_the_session(workspace):
    # setsid puts them beyond any process-group kill; the PID namespace still ends them.
    duration = unique_sleep()
    runner = Runner(workspace.root, mode="bwrap")
    result = runner.run(f"for i in 1 2 3 4 5; do setsid sleep {duration} & done; sleep {duration}", timeout=1)
    assert result.timed_out
    assert processes_with(f"sleep {duration}") == []


@needs_bwrap
@pytest.mark.skipif(os.getuid() == 0, reason="RLIMIT_NPROC never binds root: a fork bomb would load the machine until the timeout")
def test_bwrap_fork_bomb_runs_out_of_processes(workspace):
    marker = uuid.uuid4().hex
    runner = Runner(workspace.root, mode="bwrap", limits=Limits(processes=64))
    result = runner.run(f"# {marker}\nbomb() {{ bomb | bomb & }}; bomb; sleep 10", timeout=5)
    assert result.duration < 15
    assert processes_with(marker) == []


@needs_bwrap
def test_runner_for_workspace_uses_the_projects_venv_read_only(repo):
    (repo / ".gitignore").write_text(".venv/\n.env\n")
    (repo / ".env").write_text("SECRET=do-not-read\n")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    venv = (repo / ".venv").resolve()
    assert find_venv(repo) == venv
    ws = Workspace.create(repo)
    assert not (ws.root / ".venv").exists()  # the working copy has no venv of its own
    runner = Runner.for_workspace(ws, mode="bwrap")
    result = runner.run(
        'python -c "import sys; print(sys.prefix)"; echo "venv=$VIRTUAL_ENV"; touch "$VIRTUAL_ENV/x"; '
        f"cat {repo}/.env; git status --short app.py && echo git-ok"
    )
    ws.discard()
    assert f"{venv}\n" in result.output and f"venv={venv}" in result.output
    assert "Read-only file system" in result.output
    assert "do-not-read" not in result.output
    assert "git-ok" in result.output  # the repository's .git stays reachable


@needs_bwrap
def test_doctor_reports_a_full_sandbox(tmp_path):
    checks = {name: (ok, detail) for name, ok, detail in doctor_report()}
    assert checks["bubblewrap"] == (True, BWRAP)
    assert checks["sandbox"][0] and checks["git"][0] and checks["state folder"][0]


def _fake_bwrap(tmp_path: Path, script: str) -> Path:
    folder = tmp_path / "fakebin"
    folder.mkdir()
    fake = folder / "bwrap"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    return folder


@needs_bwrap
def test_isolation_degrades_when_a_namespace_is_forbidden(workspace, tmp_path, monkeypatch):
    # A bwrap that fails the way many containers make it fail: no network namespace.
    fake = _fake_bwrap(
        tmp_path,
        'for a in "$@"; do [ "$a" = --unshare-net ] && '
        '{ echo "bwrap: loopback: Failed RTM_NEWADDR: Operation not permitted" >&2; exit 1; }; done\n'
        f'exec {BWRAP} "$@"',
    )
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    runner = Runner(workspace.root)
    assert runner.isolation == "bwrap (reduced: no network namespace)"
    assert "RTM_NEWADDR" in runner.notice and "NET_ADMIN" in runner.notice
    result = runner.run("touch /usr/codex-agent-probe; echo still sandboxed")
    assert "Read-only file system" in result.output and "still sandboxed" in result.output


@needs_bwrap
def test_without_a_pid_namespace_the_agents_environ_stays_closed(workspace, tmp_path, monkeypatch):
    fake = _fake_bwrap(
        tmp_path,
        'for a in "$@"; do [ "$a" = --unshare-pid ] && '
        '{ echo "bwrap: Creating new namespace failed: Operation not permitted" >&2; exit 1; }; done\n'
        f'exec {BWRAP} "$@"',
    )
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-commands")
    prctl = libc_prctl()
    prctl(PR_SET_DUMPABLE, 1)  # as a fresh agent process would be
    runner = Runner(workspace.root)
    assert runner.isolation == "bwrap (reduced: no PID namespace)"
    assert prctl(PR_GET_DUMPABLE) == 0
    result = runner.run(f"cat /proc/{os.getpid()}/environ; ls /proc/{os.getpid()} >/dev/null && echo visible")
    assert "visible" in result.output  # the agent's process is there to see...
    assert "sk-test" not in result.output  # ...but not its environment


def test_isolation_falls_back_to_processes_when_bwrap_cannot_run(workspace, tmp_path, monkeypatch):
    fake = _fake_bwrap(tmp_path, 'echo "bwrap: Failed to make / slave: Permission denied" >&2; exit 1')
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    runner = Runner(workspace.root)
    assert runner.isolation == "process"
    assert "Failed to make / slave" in runner.notice
    assert runner.run("echo works").output == "works\n"
    with pytest.raises(SandboxUnavailable, match="slave"):
        Runner(workspace.root, mode="bwrap")
    checks = {name: (ok, detail) for name, ok, detail in doctor_report()}
    assert checks["sandbox"][0] is False and "seccomp=unconfined" in checks["sandbox"][1]


# -- plain processes ---------------------------------------------------------------


@pytest.fixture
def process_runner(tmp_path) -> Runner:
    root = tmp_path / "wc"
    root.mkdir()
    return Runner(root, mode="process")


def test_process_env_is_scrubbed(process_runner, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-commands")
    monkeypatch.setenv("MY_SERVICE_PASSWORD", "hunter2")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    result = process_runner.run("env")
    assert "sk-test" not in result.output and "hunter2" not in result.output
    assert "LC_ALL=C.UTF-8" in result.output and "PATH=" in result.output
    home = next(line for line in result.output.splitlines() if line.startswith("HOME="))
    assert home != f"HOME={os.path.expanduser('~')}"
    assert process_runner.isolation == "process" and process_runner.notice is None


def test_process_timeout_kills_a_sigterm_ignoring_group(process_runner):
    duration = unique_sleep()
    result = process_runner.run(f"trap '' TERM; sleep {duration} & sleep {duration}; wait", timeout=1)
    assert result.timed_out and result.exit_code is None
    assert "timed out after 1 s" in result.output
    assert 1 <= result.duration < 6  # the timeout plus the SIGTERM grace, not 1000 s
    assert processes_with(f"sleep {duration}") == []


def test_process_background_children_do_not_outlive_the_command(process_runner):
    duration = unique_sleep()
    result = process_runner.run(f"sleep {duration} & echo started")
    assert result.output == "started\n" and result.exit_code == 0
    assert result.duration < 5
    assert processes_with(f"sleep {duration}") == []


def test_process_memory_hog_hits_the_limit(tmp_path):
    runner = Runner(tmp_path, mode="process", limits=Limits(address_space=512 << 20))
    result = runner.run(["python", "-c", "block = bytearray(2 << 30); print('allocated')"])
    assert result.exit_code != 0
    assert "MemoryError" in result.output and "allocated" not in result.output


def test_process_output_is_capped_and_exit_codes_reported(process_runner):
    flood = process_runner.run("seq 1 2000000; exit 3", max_output_bytes=2_000)
    assert flood.exit_code == 3
    assert flood.output.startswith("1\n2\n") and flood.output.endswith("2000000\n")
    assert "elided ...]" in flood.output and flood.truncated_bytes > 10_000_000
    missing = process_runner.run(["definitely-not-a-command-xyz"])
    assert missing.exit_code == 127


def test_mode_none_still_scrubs_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-commands")
    runner = Runner(tmp_path, mode="none")
    assert runner.isolation == "none"
    assert "sk-test" not in runner.run("env").output


def test_capped_output_keeps_head_and_tail():
    out = CappedOutput(100)
    for i in range(1000):
        out.feed(f"line {i}\n".encode())
    text = out.text()
    assert text.startswith("line 0\n") and text.endswith("line 999\n")
    assert f"[... {human_size(out.elided)} elided ...]" in text
    assert 8000 < out.elided < out.total
    small = CappedOutput(100)
    small.feed(b"short")
    assert small.text() == "short" and small.elided == 0
