"""What real compatible servers send (tests/fake_openai.py quirks), through the
real openai client over loopback HTTP: each quirk ends in a usable reply or a
clear error, and nothing malformed goes back to the server."""

from __future__ import annotations

import json

import pytest

from agent.messages import Message, ToolCall
from agent.model import CONTEXT_OVERFLOW, ModelError, RequestOptions, make_client
from agent.tool_text import TRUNCATED
from agent.model_responses import _refused_reasoning
from tests.conftest import make_repo, run_cli
from tests.fake_openai import (
    FakeOpenAI,
    call,
    fenced_arguments,
    fenced_call,
    hermes_call,
    error,
    llamacpp_overflow,
    output,
    quirk,
    reply,
    text,
    vllm_overflow,
)
from tools import default_registry

STREAMS = [True, False]
TOOLS = default_registry()


def chat(server: FakeOpenAI, stream: bool, **kw):
    client = make_client(model="local-model", base_url=server.base_url, api_key=None, api="chat", stream=stream, **kw)
    client.sleep = lambda _delay: None
    return client


def ask(client, history=None):
    deltas: list[str] = []
    thoughts: list[str] = []
    result = client.complete("rules", history or [Message("user", "go")], TOOLS,
                             on_text=deltas.append, on_reasoning=thoughts.append)
    return result, "".join(deltas), "".join(thoughts)


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("turn", [
    hermes_call("read_file", {"path": "a.py"}, before="I will read it.\n"),
    fenced_call("read_file", {"path": "a.py"}),
    fenced_call("read_file", {"path": "a.py"}, key="parameters"),
    text('[TOOL_CALLS][{"name": "read_file", "arguments": {"path": "a.py"}}]'),
], ids=["hermes", "fenced-arguments", "fenced-parameters", "mistral"])
def test_tool_call_written_as_text_becomes_a_call(stream, turn):
    with FakeOpenAI([turn]) as server:
        result, deltas, _ = ask(chat(server, stream))
    assert "<tool_call>" not in deltas and "<tool_call>" not in result.message.content
    [found] = result.message.tool_calls
    assert (found.name, json.loads(found.arguments)) == ("read_file", {"path": "a.py"})
    assert "<tool_call>" not in result.message.content and "```" not in result.message.content
    assert result.notices and "as text" in result.notices[0]


@pytest.mark.parametrize("stream", STREAMS)
def test_json_about_an_unknown_tool_stays_text(stream):
    answer = 'Use this config:\n```json\n{"name": "app", "arguments": {"x": 1}}\n```'
    with FakeOpenAI([text(answer)]) as server:
        result, _, _ = ask(chat(server, stream))
    assert result.message.tool_calls == [] and result.message.content == answer


@pytest.mark.parametrize("stream", STREAMS)
def test_fenced_arguments_are_repaired_and_malformed_ones_go_back_as_valid_json(stream):
    turn = reply("", [fenced_arguments("read_file", {"path": "a.py"}), call("grep", '{"pattern": "x', id="bad")])
    with FakeOpenAI([turn, text("ok")]) as server:
        client = chat(server, stream)
        result, _, _ = ask(client)
        history = [Message("user", "go"), result.message,
                   *[Message("tool", "result", tool_call_id=c.id) for c in result.message.tool_calls]]
        ask(client, history)
    repaired, broken = result.message.tool_calls
    assert json.loads(repaired.arguments) == {"path": "a.py"}
    assert broken.arguments == '{"pattern": "x'  # the registry reports it; the model sees its error
    sent = [c["function"]["arguments"] for c in server.model_requests[1]["messages"][2]["tool_calls"]]
    assert json.loads(sent[0]) == {"path": "a.py"}
    assert json.loads(sent[1]) == {"invalid_json": '{"pattern": "x'}


@pytest.mark.parametrize("stream", STREAMS)
def test_call_cut_by_the_length_limit_is_refused_not_run(stream):
    cut_call = quirk(call("write_file", '{"path": "big.py", "content": "def f():\\n    return'), finish="length")
    with FakeOpenAI([cut_call]) as server:
        result, _, _ = ask(chat(server, stream))
    [refused] = result.message.tool_calls
    assert refused.refusal == TRUNCATED and "cut off" in result.notices[-1]


def test_parallel_calls_restarting_at_index_zero_stay_separate():
    calls = [call("read_file", {"path": "a.py"}, id="c1"), call("read_file", {"path": "b.py"}, id="c2")]
    turn = quirk(reply("", calls), index_restart=True)
    with FakeOpenAI([turn]) as server:
        result, _, _ = ask(chat(server, True))
    assert result.message.tool_calls == [ToolCall("c1", "read_file", '{"path": "a.py"}'),
                                         ToolCall("c2", "read_file", '{"path": "b.py"}')]


@pytest.mark.parametrize("stream", STREAMS)
@pytest.mark.parametrize("overflow", [vllm_overflow(), llamacpp_overflow()], ids=["vllm", "llama.cpp"])
def test_context_overflow_of_other_servers_is_recognised(stream, overflow):
    with FakeOpenAI([overflow]) as server:
        with pytest.raises(ModelError) as caught:
            ask(chat(server, stream))
    assert caught.value.code == CONTEXT_OVERFLOW and len(server.model_requests) == 1


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_overflow_reported_inside_a_200_stream_is_recognised(api):
    turn = quirk(text("x"), stream_error="This model's maximum context length is 4096 tokens.")
    with FakeOpenAI([turn]) as server:
        client = make_client(model="m", base_url=server.base_url, api_key="k", api=api)
        with pytest.raises(ModelError) as caught:
            client.complete("rules", [Message("user", "go")], TOOLS)
    assert caught.value.code == CONTEXT_OVERFLOW


@pytest.mark.parametrize("stream", STREAMS)
def test_empty_choices_are_retried_then_an_error(stream):
    retries: list[str] = []
    with FakeOpenAI([quirk(text("x"), empty_choices=True), text("real answer")]) as server:
        result, _, _ = ask(chat(server, stream, on_retry=lambda a, d, reason: retries.append(reason)))
    assert result.message.content == "real answer" and len(retries) == 1
    with FakeOpenAI([quirk(text("x"), empty_choices=True)] * 3) as server:
        with pytest.raises(ModelError) as caught:
            ask(chat(server, stream, max_retries=2))
    assert caught.value.kind in ("server", "connection") and len(server.model_requests) == 3


def test_done_without_finish_reason_is_a_complete_reply():
    turn = quirk(reply("Reading.", [call("read_file", {"path": "a.py"}, id="c1")]), no_finish=True)
    with FakeOpenAI([turn]) as server:
        result, deltas, _ = ask(chat(server, True))
    assert len(server.model_requests) == 1 and deltas == "Reading."
    assert result.message.tool_calls == [ToolCall("c1", "read_file", '{"path": "a.py"}')]


@pytest.mark.parametrize("stream", STREAMS)
def test_missing_usage_is_estimated_and_marked(stream):
    with FakeOpenAI([quirk(text("a fairly short answer"), no_usage=True)]) as server:
        result, _, _ = ask(chat(server, stream))
    assert result.usage.estimated and result.usage.input_tokens > 10 and result.usage.output_tokens > 0


@pytest.mark.parametrize("stream", STREAMS)
def test_think_blocks_are_reasoning_not_the_answer(stream):
    with FakeOpenAI([text("<think>The bug is in add.</think>\nFixed add().")]) as server:
        result, deltas, thoughts = ask(chat(server, stream))
    assert result.message.content == "Fixed add()." and "think" not in deltas
    assert "The bug is in add." in thoughts and result.reasoning == "The bug is in add."


@pytest.mark.parametrize("stream", STREAMS)
def test_reasoning_content_goes_back_only_where_the_provider_needs_it(stream):
    first = reply("", [call("read_file", {"path": "a.py"}, id="c1")], reasoning="Need a.py")
    for send_back in (False, True):
        with FakeOpenAI([first, text("ok")]) as server:
            client = chat(server, stream)
            client.options.reasoning_content = send_back
            result, _, _ = ask(client)
            ask(client, [Message("user", "go"), result.message, Message("tool", "x", tool_call_id="c1")])
        assistant = server.model_requests[1]["messages"][2]
        assert assistant.get("reasoning_content") == ("Need a.py" if send_back else None)


# --------------------------------------------------------------------------- Responses API


def responses(server: FakeOpenAI, stream: bool, model: str = "gpt-6.2-sol", **kw):
    return make_client(model=model, base_url=server.base_url, api_key="k", api="responses", stream=stream, **kw)


@pytest.mark.parametrize("stream", STREAMS)
def test_output_items_are_replayed_in_their_order_with_their_ids(stream):
    turn = output(reply(reasoning="A"), call("read_file", {"path": "a.py"}, id="c1"), reply(reasoning="B"),
                  text("Reading both."), call("read_file", {"path": "b.py"}, id="c2"))
    with FakeOpenAI([turn, text("ok")]) as server:
        client = responses(server, stream)  # an unknown name: reasoning is asked for all the same
        result, _, _ = ask(client)
        ask(client, [Message("user", "go"), result.message, Message("tool", "1", tool_call_id="c1"),
                     Message("tool", "2", tool_call_id="c2")])
    sent = server.model_requests[1]["input"][1:6]
    returned = server.model_requests and result.raw["output"]
    assert [(i["type"], i["id"]) for i in sent] == [(i["type"], i["id"]) for i in returned]
    assert [i["type"] for i in sent] == ["reasoning", "function_call", "reasoning", "message", "function_call"]
    assert [i.get("encrypted_content") for i in sent[::2]] == ["enc:A", "enc:B", None]
    assert server.model_requests[0]["include"] == ["reasoning.encrypted_content"]


@pytest.mark.parametrize("stream", STREAMS)
def test_responses_settle_like_chat(stream):
    cut_call = quirk(call("write_file", '{"path": "big.py", "content": "def f'), finish="length")
    script = [fenced_arguments("read_file", {"path": "a.py"}), cut_call, text(""), text("real answer")]
    retries: list[str] = []
    with FakeOpenAI(script) as server:
        client = responses(server, stream, on_retry=lambda a, d, reason: retries.append(reason))
        client.sleep = lambda _delay: None
        fenced, _, _ = ask(client)
        cut, _, _ = ask(client)
        answered = Message("tool", TRUNCATED, tool_call_id=cut.message.tool_calls[0].id)
        history = [Message("user", "go"), cut.message, answered]
        answer, _, _ = ask(client, history)
    assert json.loads(fenced.message.tool_calls[0].arguments) == {"path": "a.py"}
    assert cut.message.tool_calls[0].refusal == TRUNCATED
    assert answer.message.content == "real answer" and len(retries) == 1 and "empty reply" in retries[0]
    replayed = [i for i in server.model_requests[2]["input"] if i.get("type") == "function_call"]
    assert json.loads(replayed[0]["arguments"]) == {"invalid_json": '{"path": "big.py", "content": "def f'}


def test_a_model_that_refuses_reasoning_is_asked_once_then_remembered():
    refusal = error(400, {"error": {"message": "Unsupported parameter: 'reasoning.effort' is not supported with "
                                    "this model.", "type": "invalid_request_error", "code": "unsupported_parameter",
                                    "param": "reasoning.effort"}})
    notices: list[str] = []
    with FakeOpenAI([refusal, text("one"), text("two")]) as server:
        client = responses(server, True, model="plain-model", options=RequestOptions(reasoning_effort="high"),
                           on_retry=lambda a, d, reason: notices.append(reason))
        assert ask(client)[0].message.content == "one"
        again = responses(server, True, model="plain-model")  # a new client of the same run remembers
        assert ask(again)[0].message.content == "two"
    first, second, third = server.model_requests
    assert first["reasoning"] == {"effort": "high", "summary": "auto"} and "include" in first
    assert "reasoning" not in second and "include" not in second and "include" not in third
    assert len(notices) == 1 and "does not take reasoning" in notices[0]
    _refused_reasoning.clear()


def test_reasoning_can_be_switched_off_by_the_user():
    with FakeOpenAI([text("ok")]) as server:
        ask(responses(server, False, model="gpt-5.2-codex", options=RequestOptions(reasoning=False)))
    assert "include" not in server.model_requests[0] and "reasoning" not in server.model_requests[0]


# --------------------------------------------------------------------------- through the real CLI

CALC_BUG = "def add(a, b):\n    return a - b\n"
CALC_TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def test_a_session_full_of_quirks_ends_with_the_fix(tmp_path):
    repo = make_repo(tmp_path / "proj", {"calc.py": CALC_BUG, "tests/test_calc.py": CALC_TEST})
    both = reply("", [call("read_file", {"path": "calc.py"}, id="r1"),
                      call("read_file", {"path": "tests/test_calc.py"}, id="r2")])
    script = [
        hermes_call("read_file", {"path": "calc.py"}, before="Reading first.\n"),
        quirk(call("write_file", '{"path": "calc.py", "content": "def add(a, b):\\n    return a +'), finish="length"),
        quirk(both, index_restart=True),
        vllm_overflow(),
        text("Summary: add() subtracts; the fix is a + b."),
        fenced_arguments("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}),
        quirk(text("x"), empty_choices=True),
        quirk(text("<think>Tests should pass now.</think>Fixed add()."), no_usage=True),
    ]
    with FakeOpenAI(script) as server:
        result = run_cli(["fix add", "--base-url", server.base_url, "--model", "qwen3:8b", "--api", "chat",
                          "--apply"], repo)
    assert result.returncode == 0, result.stderr + result.stdout
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert server.remaining() == 0 and server.errors == []
    requests = server.model_requests
    for request in requests:  # nothing malformed ever goes back
        for message in request["messages"]:
            for c in message.get("tool_calls") or []:
                json.loads(c["function"]["arguments"])
            assert "<tool_call>" not in (message.get("content") or "") or message["role"] == "tool"
    after_cut = [m for m in requests[2]["messages"] if m["role"] == "tool"][-1]["content"]
    assert "cut off" in after_cut and "smaller" in after_cut
    assert "Summary: add() subtracts" in json.dumps(requests[5]["messages"])  # compacted, then retried
    assert "as text" in result.stderr + result.stdout
