"""Compaction of a long history. The model is a small stand-in object with the
one method compaction calls (the real server is exercised by the end-to-end
tests); the history it works on is real."""

from __future__ import annotations

import json

import pytest

from agent.compaction import (
    SUMMARY_PREFIX,
    compact,
    history_tokens,
    latest_test_status,
    original_task,
)
from agent.messages import Message, ModelReply, ToolCall
from agent.tokens import count_tokens

TASK = "Add a --verbose flag to cli.py and make tests/test_cli.py pass.\nKeep the output format."


class ScriptedSummariser:
    """Answers every request with a fixed summary and records what it got."""

    model = "gpt-4o"

    def __init__(self, summary: str = "Edited cli.py; the flag parses; one test still fails.") -> None:
        self.summary = summary
        self.requests: list[tuple[str, list[Message], object]] = []

    def complete(self, instructions, history, tools, on_text=None, on_reasoning=None) -> ModelReply:
        self.requests.append((instructions, history, tools))
        return ModelReply(message=Message(role="assistant", content=self.summary))


def _tool_step(n: int, name: str, args: dict, result: str) -> list[Message]:
    call = ToolCall(id=f"call_{n}", name=name, arguments=json.dumps(args))
    return [
        Message(role="assistant", content=f"step {n}", tool_calls=[call]),
        Message(role="tool", content=result, tool_call_id=call.id),
    ]


def _long_history() -> list[Message]:
    history = [Message(role="user", content=TASK)]
    history += _tool_step(1, "read_file", {"path": "cli.py"}, "1: import argparse\n" * 50)
    history += _tool_step(2, "run_tests", {}, "FAILED tests/test_cli.py::test_verbose - SystemExit: 2\n1 failed, 4 passed")
    history += _tool_step(3, "edit_file", {"path": "cli.py", "old": "a", "new": "b"}, "Edited cli.py")
    history += _tool_step(4, "run_tests", {}, "FAILED tests/test_cli.py::test_quiet - AssertionError\n1 failed, 5 passed")
    history += _tool_step(5, "read_file", {"path": "tests/test_cli.py"}, "def test_quiet(): ...")
    history += _tool_step(6, "grep", {"pattern": "quiet"}, "cli.py:3: quiet = False")
    history.append(Message(role="assistant", content="I will now fix the quiet flag."))
    return history


def test_history_tokens_count_content_and_tool_call_arguments() -> None:
    plain = [Message(role="assistant", content="hello")]
    big_args = json.dumps({"content": "x = 1\n" * 500})
    with_call = [Message(role="assistant", content="hello", tool_calls=[ToolCall("c1", "write_file", big_args)])]
    assert history_tokens("", with_call) - history_tokens("", plain) >= count_tokens(big_args)
    assert history_tokens("rules " * 100, plain) > history_tokens("", plain)


def test_compaction_keeps_task_latest_tests_and_recent_turns() -> None:
    history = _long_history()
    client = ScriptedSummariser()

    new, summary = compact(client, "You are a coding agent.", history, keep_recent=4)

    assert summary == client.summary
    head = new[0]
    assert head.role == "user" and head.content.startswith(SUMMARY_PREFIX)
    assert TASK in head.content  # verbatim, both lines
    assert "test_quiet - AssertionError" in head.content  # the latest run, not the first
    assert "test_verbose" not in head.content
    assert client.summary in head.content
    # The recent turns are the very same messages, in order; nothing is split.
    assert new[1:] == history[-len(new) + 1 :]
    assert len(new) - 1 >= 4
    kept_ids = {m.tool_call_id for m in new if m.role == "tool"}
    called_ids = {c.id for m in new for c in m.tool_calls}
    assert kept_ids == called_ids
    assert new[1].role != "tool"


def test_the_cut_moves_back_rather_than_orphan_tool_results() -> None:
    history = _long_history()
    # keep_recent=2 would start the kept part at a tool result.
    assert history[-2].role == "tool"
    new, _ = compact(ScriptedSummariser(), "", history, keep_recent=2)
    assert new[1].role == "assistant" and new[1].tool_calls
    assert new[2].role == "tool" and new[2].tool_call_id == new[1].tool_calls[0].id


def test_several_results_of_one_call_message_stay_together() -> None:
    calls = [ToolCall("a", "read_file", '{"path": "x.py"}'), ToolCall("b", "read_file", '{"path": "y.py"}')]
    history = [Message(role="user", content=TASK)] + _tool_step(1, "grep", {"pattern": "x"}, "hit") + [
        Message(role="assistant", content="", tool_calls=calls),
        Message(role="tool", content="x", tool_call_id="a"),
        Message(role="tool", content="y", tool_call_id="b"),
    ]
    new, _ = compact(ScriptedSummariser(), "", history, keep_recent=1)
    assert [m.tool_call_id for m in new if m.role == "tool"] == ["a", "b"]
    assert new[1].tool_calls == calls


def test_the_summariser_sees_the_old_turns_and_no_tools() -> None:
    history = _long_history()
    client = ScriptedSummariser()
    compact(client, "AGENT INSTRUCTIONS", history, keep_recent=4)
    (instructions, sent, tools), = client.requests
    assert instructions == "AGENT INSTRUCTIONS"
    assert tools is None
    assert len(sent) == 1 and sent[0].role == "user"
    transcript = sent[0].content
    assert TASK in transcript
    assert "[tool call: edit_file]" in transcript and '"path": "cli.py"' in transcript
    assert "[tool result: run_tests]" in transcript
    assert "I will now fix the quiet flag." not in transcript  # a kept turn is not summarised


def test_the_transcript_is_capped_to_half_the_window() -> None:
    history = [Message(role="user", content=TASK)]
    for n in range(40):
        history += _tool_step(n, "read_file", {"path": f"f{n}.py"}, f"content {n} " * 2000)
    client = ScriptedSummariser()
    compact(client, "", history, keep_recent=2, window=8_000)
    assert count_tokens(client.requests[0][1][0].content) <= 4_000 + 300


def test_a_second_compaction_keeps_the_original_task_and_test_status() -> None:
    history = _long_history()
    first, _ = compact(ScriptedSummariser("first summary"), "", history, keep_recent=2)
    later = first + [Message(role="user", content="Also add --quiet.")] + _tool_step(9, "grep", {"pattern": "q"}, "none")
    second, _ = compact(ScriptedSummariser("second summary"), "", later, keep_recent=2)

    assert original_task(second) == TASK
    assert "test_quiet - AssertionError" in second[0].content
    assert "second summary" in second[0].content
    assert second[0].content.count(SUMMARY_PREFIX) == 1


def test_latest_test_status_reads_the_verification_gate_message() -> None:
    history = _long_history() + [
        Message(role="user", content="The verification gate ran the tests ...\n2 failed, 7 passed in 0.3s")
    ]
    assert "2 failed, 7 passed" in latest_test_status(history)
    assert latest_test_status([Message(role="user", content=TASK)]) == ""


def test_nothing_to_compact_leaves_the_history_alone() -> None:
    history = [Message(role="user", content=TASK), Message(role="assistant", content="ok")]
    client = ScriptedSummariser()
    assert compact(client, "", history, keep_recent=6) == (history, "")
    assert client.requests == []


def test_a_model_failure_propagates_and_the_history_is_untouched() -> None:
    class Failing(ScriptedSummariser):
        def complete(self, *args, **kwargs):
            raise RuntimeError("server down")

    history = _long_history()
    snapshot = list(history)
    with pytest.raises(RuntimeError, match="server down"):
        compact(Failing(), "", history, keep_recent=2)
    assert history == snapshot


def test_huge_recent_turns_are_not_all_kept() -> None:
    history = _long_history()
    history += _tool_step(7, "read_file", {"path": "big.py"}, "x = 1\n" * 3000)  # ~6K tokens
    history.append(Message(role="assistant", content="Read it."))
    new, _ = compact(ScriptedSummariser(), "", history, keep_recent=6, window=8_000)
    # A quarter of the window holds only the last message; the big read is summarised.
    assert new[1:] == [history[-1]]
    assert history_tokens("", new[1:]) <= 2_000
