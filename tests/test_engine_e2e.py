"""The whole program against the fake OpenAI server: CLI, loop, tools, sandbox,
git and pytest, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git, make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, error, reply, text

CALC_BUG = "def add(a, b):\n    return a - b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


@pytest.fixture
def calc_repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "proj", {"calc.py": CALC_BUG, "tests/test_calc.py": CALC_TEST})


def agent_args(server: FakeOpenAI, *extra: str, api: str = "chat") -> list[str]:
    return ["--base-url", server.base_url, "--model", "gpt-5.2-codex", "--api", api, *extra]


def all_text(request: dict) -> str:
    return json.dumps(request)


def self_correction_script() -> list:
    return [
        call("write_file", {"path": "calc.py", "content": "def add(a, b):\n    return a * b\n"}),
        call("run_tests", {}),
        call("edit_file", {"path": "calc.py", "old": "return a * b", "new": "return a + b"}),
        text("Fixed add()."),
    ]


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_self_correction_applies_fix(calc_repo: Path, api: str) -> None:
    with FakeOpenAI(self_correction_script()) as server:
        result = run_cli(["make add() work", *agent_args(server, "--apply", api=api)], calc_repo,
                         env={"OPENAI_API_KEY": "sk-test-not-a-real-key-1234"})
    assert result.returncode == 0, result.stderr + result.stdout
    assert (calc_repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    requests = server.model_requests
    assert len(requests) == 4
    assert all(r["_path"] == ("/v1/responses" if api == "responses" else "/v1/chat/completions") for r in requests)
    # The failing test's id and assertion message reached the model after run_tests.
    after_tests = all_text(requests[2])
    assert "tests/test_calc.py::test_add" in after_tests
    assert "assert 6 == 5" in after_tests
    # The key never reaches the model's conversation.
    assert not any("sk-test-not-a-real-key" in all_text({k: v for k, v in r.items() if k != "_headers"})
                   for r in requests)
    # Nothing of the agent's is left in the user's repository.
    assert git(calc_repo, "status", "--porcelain").strip() == "M calc.py"


def test_gate_sends_failures_back_when_model_claims_done(calc_repo: Path) -> None:
    script = [
        call("write_file", {"path": "calc.py", "content": "def add(a, b):\n    return a * b\n"}),
        text("Done, add works now."),
        call("edit_file", {"path": "calc.py", "old": "a * b", "new": "a + b"}),
        text("Really done."),
    ]
    with FakeOpenAI(script) as server:
        result = run_cli(["fix add", *agent_args(server, "--no-apply")], calc_repo)
    assert result.returncode == 0, result.stderr
    requests = server.model_requests
    assert len(requests) == 4
    gate_report = requests[2]["messages"][-1]["content"]
    assert "test_add" in gate_report and "assert 6 == 5" in gate_report
    # --no-apply: the user's file is untouched, the result is kept aside.
    assert (calc_repo / "calc.py").read_text() == CALC_BUG
    assert "codex-agent/" in result.stdout + result.stderr


def test_max_steps_stops_a_model_that_never_fixes(calc_repo: Path) -> None:
    never_done = [call("read_file", {"path": "calc.py"}) for _ in range(10)]
    with FakeOpenAI(never_done) as server:
        result = run_cli(["fix add", *agent_args(server, "--max-steps", "3", "--no-apply")], calc_repo)
    assert result.returncode != 0
    assert "step budget" in result.stderr
    assert len(server.model_requests) == 3


def test_malformed_json_and_unknown_tool_are_answered_and_loop_continues(calc_repo: Path) -> None:
    script = [
        reply(calls=[call("read_file", '{"path": "calc.py"'), call("teleport", {"to": "mars"})]),
        call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}),
        text("ok"),
    ]
    with FakeOpenAI(script) as server:
        result = run_cli(["fix add", *agent_args(server, "--apply")], calc_repo)
    assert result.returncode == 0, result.stderr
    tool_messages = [m for m in server.model_requests[1]["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 2
    assert "not valid JSON" in tool_messages[0]["content"]
    assert "unknown tool 'teleport'" in tool_messages[1]["content"]
    assert "a + b" in (calc_repo / "calc.py").read_text()


def test_rate_limit_is_retried(calc_repo: Path) -> None:
    script = [
        error(429, headers={"Retry-After": "0.2"}),
        call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}),
        text("done"),
    ]
    with FakeOpenAI(script) as server:
        result = run_cli(["fix add", *agent_args(server, "--no-apply")], calc_repo)
    assert result.returncode == 0, result.stderr
    assert len(server.model_requests) == 3


def test_auth_error_is_one_clear_line(calc_repo: Path) -> None:
    with FakeOpenAI([error(401)]) as server:
        result = run_cli(["fix add", *agent_args(server, "--no-apply")], calc_repo)
    assert result.returncode != 0
    assert "authentication" in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_json_events_follow_codex_exec_vocabulary(calc_repo: Path) -> None:
    script = [
        call("shell", {"command": "echo hello"}),
        call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}),
        text("done"),
    ]
    with FakeOpenAI(script) as server:
        result = run_cli(["fix add", *agent_args(server, "--json", "--no-apply")], calc_repo)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "thread.started" and types[1] == "turn.started" and types[-1] == "turn.completed"
    items = [e["item"] for e in events if e["type"] == "item.completed"]
    command = next(i for i in items if i["type"] == "command_execution")
    assert command["command"] == "echo hello" and command["exit_code"] == 0
    assert "hello" in command["aggregated_output"]
    change = next(i for i in items if i["type"] == "file_change")
    assert change["changes"] == [{"path": "calc.py", "kind": "update"}]
    assert any(i["type"] == "agent_message" and i["text"] == "done" for i in items)
    test_run = next(i for i in items if i["type"] == "test_run")
    assert test_run["status"] == "passed" and test_run["passed"] == 1
    assert set(events[-1]["usage"]) >= {"input_tokens", "cached_input_tokens", "output_tokens"}


def test_replay_reproduces_the_diff(calc_repo: Path, tmp_path: Path) -> None:
    trajectory = tmp_path / "run.jsonl"
    with FakeOpenAI(self_correction_script()) as server:
        first = run_cli(["make add() work", *agent_args(server, "--no-apply", "--trajectory", str(trajectory))],
                        calc_repo)
    assert first.returncode == 0, first.stderr
    original_branch = next(b.strip(" *") for b in git(calc_repo, "branch").splitlines() if "codex-agent/" in b)
    original_diff = git(calc_repo, "diff", "main", original_branch)

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(calc_repo), str(clone))
    replayed = run_cli(["replay", str(trajectory), "--apply"], clone)
    assert replayed.returncode == 0, replayed.stderr + replayed.stdout
    assert git(clone, "diff") == original_diff


FAKE_AWS_KEY = "AKIA" + "Z7QW3XK9PLM2VN4B"  # shaped like an AWS key id, not a real one
FAKE_AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vLtR2d1"


def test_secrets_never_reach_the_model_commands_or_the_users_tree(calc_repo: Path) -> None:
    # Untracked and not ignored: it is copied into the working copy.
    (calc_repo / ".env").write_text(f"AWS_SECRET_ACCESS_KEY={FAKE_AWS_SECRET}\n")
    script = [
        reply(calls=[call("read_file", {"path": ".env"}), call("shell", {"command": "cat .env; env"})]),
        call("write_file", {"path": "settings.py", "content": f"AWS_KEY = '{FAKE_AWS_KEY}'\n"}),
        call("git_commit", {"message": "add settings"}),
        text("done"),
    ]
    with FakeOpenAI(script) as server:
        result = run_cli(["configure aws", *agent_args(server, "--apply")], calc_repo,
                         env={"OPENAI_API_KEY": "sk-test-not-a-real-key-1234"})
    sent = json.dumps([{k: v for k, v in r.items() if k != "_headers"} for r in server.model_requests])
    assert FAKE_AWS_SECRET not in sent
    assert "sk-test-not-a-real-key" not in sent
    tool_results = [m["content"] for m in server.model_requests[1]["messages"] if m["role"] == "tool"]
    assert "may hold secrets" in tool_results[0]
    # The commit was refused with the file and line.
    commit_result = next(m["content"] for m in server.model_requests[3]["messages"][::-1] if m["role"] == "tool")
    assert "settings.py:1" in commit_result
    # Apply refused: the user's tree never gets the key.
    assert not (calc_repo / "settings.py").exists()
    assert "secret" in (result.stdout + result.stderr).lower()


def test_an_interrupted_run_is_kept_listed_and_applied_later(calc_repo: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    script = [
        call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}),
        reply("still thinking", delay=30),
    ]
    with FakeOpenAI(script) as server:
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, "-m", "agent", "fix add", *agent_args(server, "--no-apply")],
                                cwd=calc_repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while len(server.model_requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # Ctrl-C while the model is answering
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "cancelled" in stderr and "codex-agent runs" in stderr
    assert (calc_repo / "calc.py").read_text() == CALC_BUG  # nothing applied

    listed = run_cli(["runs"], calc_repo)
    run_id = next(line.lstrip("* ").split()[0] for line in listed.stdout.splitlines() if "fix add" in line)
    shown = run_cli(["runs", run_id, "--diff"], calc_repo)
    assert "+    return a + b" in shown.stdout
    applied = run_cli(["runs", run_id, "--apply"], calc_repo)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (calc_repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert run_id not in run_cli(["runs"], calc_repo).stdout
