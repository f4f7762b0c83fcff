"""Auto-compaction through the whole program: the real CLI against the fake
OpenAI server, with a small context window so a short session crosses it.
Asserts on the summarisation request the server receives and on the history
sent after it."""

from __future__ import annotations

import json
from pathlib import Path

from agent.compaction import SUMMARY_PREFIX, SUMMARY_REQUEST
from tests.conftest import make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, reply, text

TASK = "make add() work"
SUMMARY = "add() subtracts; the test expects 5. Next: fix calc.py."


def small(name: str, args: dict, input_tokens: int = 500) -> dict:
    """A tool call with the input tokens the server reports for its request."""
    return reply(calls=[call(name, args)], usage={"input_tokens": input_tokens, "output_tokens": 20})


def test_auto_compaction_keeps_task_and_latest_tests_and_goes_on(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {
        "calc.py": "def add(a, b):\n    return a - b\n",
        "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
        ".codex-agent.toml": "context_window = 10000\n",
    })
    script = [
        small("run_tests", {}),
        small("read_file", {"path": "calc.py"}),
        small("read_file", {"path": "tests/test_calc.py"}),
        # The server reports a context of 9,000 tokens: past 80% of 10,000.
        small("grep", {"pattern": "def add"}, input_tokens=9000),
        text(SUMMARY),  # the summarisation request
        small("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}),
        text("Fixed add()."),
    ]
    with FakeOpenAI(script) as server:
        result = run_cli([TASK, "--base-url", server.base_url, "--model", "gpt-5.2-codex", "--api", "chat",
                          "--json", "--no-apply"], repo)
    assert result.returncode == 0, result.stderr
    assert server.errors == [] and server.remaining() == 0
    requests = server.model_requests

    # The summariser got the older turns as a transcript, and no tools.
    summarise = requests[4]
    assert "tools" not in summarise
    asked = summarise["messages"][-1]["content"]
    assert asked.startswith("<transcript>") and asked.endswith(SUMMARY_REQUEST)
    assert TASK in asked and "tests/test_calc.py::test_add" in asked

    # Afterwards: the summary with the task verbatim and the latest test run,
    # then the recent turns as they were, starting at a whole assistant step.
    after = requests[5]["messages"]
    assert after[0]["role"] == "system" and after[0]["content"] == requests[0]["messages"][0]["content"]
    head = after[1]
    assert head["role"] == "user" and head["content"].startswith(SUMMARY_PREFIX)
    assert f"<task>\n{TASK}\n</task>" in head["content"]
    latest_tests = head["content"].split("<latest-tests>")[1]
    assert "tests/test_calc.py::test_add" in latest_tests and "1 failed" in latest_tests
    assert SUMMARY in head["content"]
    assert after[2]["role"] == "assistant" and after[2]["tool_calls"][0]["function"]["name"] == "read_file"
    assert [m["role"] for m in after[2:]] == ["assistant", "tool"] * 3
    assert not any("1 failed" in (m.get("content") or "") for m in after[2:])  # the old run is gone

    events = [json.loads(line) for line in result.stdout.splitlines()]
    compactions = [e["item"] for e in events if e.get("item", {}).get("type") == "compaction"]
    assert len(compactions) == 1 and compactions[0]["tokens_before"] >= 9000
