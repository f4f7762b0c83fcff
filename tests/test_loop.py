"""The loop in-process, with the real openai client over HTTP to the fake server
and real tools on a real folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.events import Compacted, Event, TurnFinished
from agent.loop import INTERRUPTED_NOTE, Agent, Limits
from agent.messages import ToolCall
from agent.model import make_client
from tests.fake_openai import FakeOpenAI, call, error, reply, text
from tools import default_registry
from tools.registry import ToolContext


def make_agent(server: FakeOpenAI, root: Path, events: list[Event], **limits) -> Agent:
    client = make_client(model="gpt-5.2-codex", base_url=server.base_url, api_key="k", api="chat")
    client.sleep = lambda _seconds: None
    return Agent(client=client, registry=default_registry(), ctx=ToolContext(root=root),
                 instructions="Be brief.", emit=events.append, limits=Limits(**limits))


def test_context_overflow_compacts_and_retries_the_step(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha\n")
    overflow = error(400, {"error": {"message": "maximum context length exceeded", "type": "invalid_request_error",
                                     "code": "context_length_exceeded", "param": None}})
    script = [
        *[call("read_file", {"path": "a.txt"}) for _ in range(5)],
        overflow,
        text("Summary: read a.txt, it says alpha."),  # the compaction request
        text("The file says alpha."),
    ]
    events: list[Event] = []
    with FakeOpenAI(script) as server:
        outcome = make_agent(server, tmp_path, events).run("what does a.txt say?")
    assert outcome.reason == "done", outcome.message
    assert outcome.final_text == "The file says alpha."
    assert any(isinstance(e, Compacted) for e in events)
    last = json.dumps(server.model_requests[-1]["messages"])
    assert "Summary: read a.txt" in last and "what does a.txt say?" in last


def test_token_budget_stops_before_the_next_request(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha\n")
    busy = reply(calls=[call("read_file", {"path": "a.txt"})], usage={"input_tokens": 900, "output_tokens": 200})
    with FakeOpenAI([busy, busy, busy]) as server:
        outcome = make_agent(server, tmp_path, [], max_tokens=2000).run("loop")
        requests = len(server.model_requests)
    assert outcome.reason == "budget"
    assert "token budget" in outcome.message and "2,000" in outcome.message
    assert requests == 2


def test_cost_budget_uses_the_price_table(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("alpha\n")
    pricey = reply(calls=[call("read_file", {"path": "a.txt"})],
                   usage={"input_tokens": 1_000_000, "output_tokens": 0})
    with FakeOpenAI([pricey, pricey]) as server:
        outcome = make_agent(server, tmp_path, [], max_cost=0.5).run("loop")
    assert outcome.reason == "budget" and "cost budget" in outcome.message
    assert outcome.cost is not None and outcome.cost >= 0.5


def test_interruption_answers_every_open_tool_call(tmp_path: Path) -> None:
    events: list[Event] = []
    with FakeOpenAI([]) as server:
        agent = make_agent(server, tmp_path, events)
    agent.history.append(_assistant_with_calls())
    agent.record_interruption()
    tool_ids = [m.tool_call_id for m in agent.history if m.role == "tool"]
    assert tool_ids == ["c1", "c2"]
    assert agent.history[-1].content == INTERRUPTED_NOTE


def _assistant_with_calls():
    from agent.messages import Message

    return Message(role="assistant", tool_calls=[ToolCall("c1", "read_file", "{}"), ToolCall("c2", "grep", "{}")])


def test_model_error_ends_the_turn_with_reason_error(tmp_path: Path) -> None:
    events: list[Event] = []
    with FakeOpenAI([error(401)]) as server:
        outcome = make_agent(server, tmp_path, events).run("hi")
    assert outcome.reason == "error" and "authentication" in outcome.message
    assert isinstance(events[-1], TurnFinished) and events[-1].outcome is outcome


@pytest.mark.parametrize("bad", ['{"path": ', "[1, 2]", '{"path": 3}', "{}"])
def test_bad_arguments_become_error_results(tmp_path: Path, bad: str) -> None:
    with FakeOpenAI([call("read_file", bad), text("ok")]) as server:
        outcome = make_agent(server, tmp_path, []).run("read")
        tool_message = next(m for m in server.model_requests[1]["messages"] if m["role"] == "tool")
    assert outcome.reason == "done"
    assert tool_message["content"].startswith("Error:")
