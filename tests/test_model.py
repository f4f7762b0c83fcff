"""Model clients against the fake OpenAI server, over real HTTP through the real
`openai` client, for both wire formats, streaming and not."""

from __future__ import annotations

import email.utils
import json
import socket
import time

import pytest

from agent.messages import Message, ModelReply, ToolCall, Usage
from agent.model import ModelError, ReplayClient, _retry_after, default_api, make_client
from agent.pricing import cost, price
from tests.fake_openai import FakeOpenAI, call, cut, error, raw, reply, text
from tools.registry import Registry, Tool, ToolResult

APIS = ["responses", "chat"]
MODES = [pytest.param(api, stream, id=f"{api}-{'stream' if stream else 'plain'}") for api in APIS for stream in (True, False)]

TOOLS = Registry([
    Tool("read_file", "Read a file.", {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
         lambda args, ctx: ToolResult("")),
    Tool("grep", "Search.", {"type": "object", "properties": {"pattern": {"type": "string"}}, "required": ["pattern"]},
         lambda args, ctx: ToolResult("")),
])


def client_for(server: FakeOpenAI, api: str, stream: bool = True, model: str = "fake-model", **kw):
    client = make_client(model=model, base_url=server.base_url, api_key="sk-test", api=api, stream=stream, **kw)
    client.base_delay = 0.01  # backoff without Retry-After: keep the suite fast
    return client


def ask(client, history=None, tools=None, instructions="Be brief."):
    deltas: list[str] = []
    thoughts: list[str] = []
    history = history or [Message("user", "hello")]
    result = client.complete(instructions, history, tools, on_text=deltas.append, on_reasoning=thoughts.append)
    return result, deltas, thoughts


# --------------------------------------------------------------------------- replies


@pytest.mark.parametrize("api,stream", MODES)
def test_text_reply_streams_deltas_in_order(api, stream):
    with FakeOpenAI([text("Hello there, brave new world")]) as server:
        result, deltas, _ = ask(client_for(server, api, stream))
    assert (result.message.role, result.message.content, result.message.tool_calls) == (
        "assistant", "Hello there, brave new world", [])
    assert "".join(deltas) == "Hello there, brave new world"
    assert len(deltas) == (5 if stream else 1)
    assert result.model == "fake-model"
    json.dumps(result.raw)  # kept verbatim in trajectories
    body = server.model_requests[0]
    assert body["_path"] == f"/v1/{'responses' if api == 'responses' else 'chat/completions'}"
    assert body["_headers"]["authorization"] == "Bearer sk-test"
    assert bool(body.get("stream")) is stream
    if api == "responses":
        assert body["instructions"] == "Be brief."
        assert body["input"] == [{"role": "user", "content": "hello"}]
        assert body["store"] is False
    else:
        assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello"}]
        assert ("stream_options" in body) is stream


@pytest.mark.parametrize("api,stream", MODES)
def test_several_tool_calls_parsed_with_exact_arguments(api, stream):
    turn = reply("Let me look.", [call("read_file", {"path": "a.py"}, id="c1"), call("grep", '{"pattern": "x', id="c2")])
    with FakeOpenAI([turn]) as server:
        result, _, _ = ask(client_for(server, api, stream), tools=TOOLS)
    assert result.message.content == "Let me look."
    assert result.message.tool_calls == [
        ToolCall("c1", "read_file", '{"path": "a.py"}'),
        ToolCall("c2", "grep", '{"pattern": "x'),  # malformed JSON passes through untouched
    ]
    sent = server.model_requests[0]["tools"]
    expected = [{**t, "strict": False} for t in TOOLS.responses_schemas()] if api == "responses" else TOOLS.chat_schemas()
    assert sent == expected


@pytest.mark.parametrize("api,stream", MODES)
def test_arguments_sent_as_a_json_object_become_text(api, stream, recwarn):
    # Some compatible servers send the arguments as an object, not as a JSON string.
    turn = {**reply(), "calls": [{"id": "c1", "name": "read_file", "arguments": {"path": "a.py"}},
                                 {"id": "c2", "name": "grep", "arguments": None}]}
    with FakeOpenAI([turn]) as server:
        result, _, _ = ask(client_for(server, api, stream), tools=TOOLS)
    assert result.message.tool_calls == [ToolCall("c1", "read_file", '{"path": "a.py"}'), ToolCall("c2", "grep", "")]
    assert not [w for w in recwarn if "serializ" in str(w.message).lower()]  # no pydantic noise on stderr


@pytest.mark.parametrize("api,stream", MODES)
def test_usage_with_cached_tokens(api, stream):
    turn = reply("ok", usage={"input_tokens": 1200, "cached_input_tokens": 1024, "output_tokens": 7})
    with FakeOpenAI([turn]) as server:
        result, _, _ = ask(client_for(server, api, stream))
    assert result.usage == Usage(1200, 1024, 7)


@pytest.mark.parametrize("api,stream", MODES)
def test_reasoning_reaches_on_reasoning(api, stream):
    with FakeOpenAI([reply("ok", reasoning="Check the tests first")]) as server:
        result, deltas, thoughts = ask(client_for(server, api, stream))
    assert result.reasoning == "Check the tests first"
    assert "".join(thoughts) == "Check the tests first"
    assert "".join(deltas) == "ok"


# --------------------------------------------------------------------------- history on the wire

HISTORY = [
    Message("user", "fix the bug"),
    Message("assistant", "Looking.", tool_calls=[ToolCall("c1", "read_file", '{"path": "a.py"}')]),
    Message("tool", "1: x = 1", tool_call_id="c1"),
    Message("assistant", "", tool_calls=[ToolCall("c2", "grep", '{"pattern": "x"}')]),
    Message("tool", "a.py:1: x = 1", tool_call_id="c2"),
    Message("assistant", "Fixed."),
    Message("user", "thanks"),
]


@pytest.mark.parametrize("stream", [True, False])
def test_history_in_responses_wire_shape(stream):
    with FakeOpenAI([text("ok")]) as server:
        ask(client_for(server, "responses", stream), HISTORY)
    assert server.model_requests[0]["input"] == [
        {"role": "user", "content": "fix the bug"},
        {"role": "assistant", "content": "Looking."},
        {"type": "function_call", "call_id": "c1", "name": "read_file", "arguments": '{"path": "a.py"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "1: x = 1"},
        {"type": "function_call", "call_id": "c2", "name": "grep", "arguments": '{"pattern": "x"}'},
        {"type": "function_call_output", "call_id": "c2", "output": "a.py:1: x = 1"},
        {"role": "assistant", "content": "Fixed."},
        {"role": "user", "content": "thanks"},
    ]


@pytest.mark.parametrize("stream", [True, False])
def test_history_in_chat_wire_shape(stream):
    with FakeOpenAI([text("ok")]) as server:
        ask(client_for(server, "chat", stream), HISTORY, instructions="rules")
    assert server.model_requests[0]["messages"] == [
        {"role": "system", "content": "rules"},
        {"role": "user", "content": "fix the bug"},
        {"role": "assistant", "content": "Looking.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read_file", "arguments": '{"path": "a.py"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "1: x = 1"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c2", "type": "function", "function": {"name": "grep", "arguments": '{"pattern": "x"}'}}]},
        {"role": "tool", "tool_call_id": "c2", "content": "a.py:1: x = 1"},
        {"role": "assistant", "content": "Fixed."},
        {"role": "user", "content": "thanks"},
    ]


@pytest.mark.parametrize("stream", [True, False])
def test_reasoning_items_are_sent_back_before_the_calls(stream):
    first = reply("", [call("read_file", {"path": "a.py"}, id="c1")], reasoning="Need the file")
    with FakeOpenAI([first, text("done")]) as server:
        client = client_for(server, "responses", stream, model="gpt-5.1-codex")
        history = [Message("user", "go")]
        result, _, _ = ask(client, history)
        history += [result.message, Message("tool", "x = 1", tool_call_id="c1")]
        ask(client, history)
    assert result.message.provider_items[0]["encrypted_content"] == "enc:Need the file"
    sent = server.model_requests[1]
    assert sent["include"] == ["reasoning.encrypted_content"]
    assert [item.get("type") for item in sent["input"]] == [None, "reasoning", "function_call", "function_call_output"]
    reasoning_id = result.raw["output"][0]["id"]
    assert reasoning_id.startswith("rs_")
    assert sent["input"][1] == {  # with its id, as the request types require
        "type": "reasoning",
        "id": reasoning_id,
        "summary": [{"type": "summary_text", "text": "Need the file"}],
        "encrypted_content": "enc:Need the file",
    }


def test_reasoning_summary_dropped_when_the_organisation_may_not_have_it():
    refusal = error(400, {"error": {"message": "Your organization must be verified to generate reasoning summaries.",
                                    "type": "invalid_request_error", "code": "unsupported_value", "param": "reasoning.summary"}})
    with FakeOpenAI([refusal, text("ok"), text("again")]) as server:
        client = client_for(server, "responses", model="gpt-5.1-codex")
        assert ask(client)[0].message.content == "ok"
        ask(client)
    first, second, third = server.model_requests
    assert first["reasoning"] == {"summary": "auto"}
    assert "reasoning" not in second and "reasoning" not in third
    assert second["include"] == ["reasoning.encrypted_content"]


def test_empty_registry_sends_no_tools_field():
    with FakeOpenAI([text("ok")]) as server:
        ask(client_for(server, "chat"), tools=Registry())
    assert "tools" not in server.model_requests[0]


# --------------------------------------------------------------------------- retries


@pytest.mark.parametrize("api", APIS)
def test_429_retry_after_is_honoured(api):
    retries: list[tuple[int, float, str]] = []
    with FakeOpenAI([error(429, headers={"Retry-After": "0.2"}), text("after the wait")]) as server:
        client = client_for(server, api, on_retry=lambda *event: retries.append(event))
        started = time.monotonic()
        result, _, _ = ask(client)
        elapsed = time.monotonic() - started
    assert result.message.content == "after the wait"
    assert len(server.model_requests) == 2
    assert elapsed >= 0.2
    [(attempt, delay, reason)] = retries
    assert (attempt, delay) == (1, 0.2)
    assert reason.startswith("rate limited by http://127.0.0.1:")


@pytest.mark.parametrize("api", APIS)
def test_500_then_success_backs_off(api):
    delays: list[float] = []
    with FakeOpenAI([error(500), error(502), text("ok")]) as server:
        client = client_for(server, api, on_retry=lambda attempt, delay, reason: delays.append(delay))
        client.sleep = delays.append  # record instead of waiting
        assert ask(client)[0].message.content == "ok"
    assert len(server.model_requests) == 3
    # on_retry and sleep both saw each delay; the second backoff is about twice the first
    first, _, second, _ = delays
    assert 0.008 <= first <= 0.012 and 0.016 <= second <= 0.024


@pytest.mark.parametrize("api,stream", MODES)
def test_connection_dropped_mid_response_is_retried(api, stream):
    reasons: list[str] = []
    with FakeOpenAI([cut("partial text that never ends"), text("whole answer")]) as server:
        client = client_for(server, api, stream, on_retry=lambda a, d, reason: reasons.append(reason))
        result, _, _ = ask(client)
    assert result.message.content == "whole answer"
    assert len(server.model_requests) == 2
    assert len(reasons) == 1 and reasons[0].startswith(f"cannot reach {server.base_url}")


def test_gives_up_after_max_retries():
    with FakeOpenAI([error(503)] * 3) as server:
        client = client_for(server, "chat", max_retries=2)
        with pytest.raises(ModelError) as caught:
            ask(client)
    assert caught.value.kind == "server"
    assert str(caught.value) == "model server error (HTTP 503): fake server: HTTP 503"
    assert len(server.model_requests) == 3


def test_exhausted_script_fails_at_once():
    with FakeOpenAI([]) as server:
        with pytest.raises(ModelError, match="fake server: script exhausted") as caught:
            ask(client_for(server, "responses"))
    assert caught.value.kind == "server"
    assert len(server.model_requests) == 1  # x-should-retry: false is honoured
    assert server.errors == ["fake server: script exhausted"]


def test_timeout_is_a_timeout_error():
    with FakeOpenAI([reply("late", delay=1.0)]) as server:
        client = client_for(server, "chat", timeout=0.3, max_retries=0)
        with pytest.raises(ModelError) as caught:
            ask(client)
    assert caught.value.kind == "timeout"
    assert str(caught.value) == f"the request to {server.base_url} timed out"


def test_retry_after_forms():
    future = email.utils.formatdate(time.time() + 3, usegmt=True)
    assert _retry_after({"retry-after": "1.5"}) == 1.5
    assert _retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert 1.0 < _retry_after({"retry-after": future}) <= 3.0
    assert _retry_after({"retry-after": "soon"}) is None
    assert _retry_after({}) is None


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("api", APIS)
def test_401_is_one_clear_line(api):
    with FakeOpenAI([error(401, {"error": {"message": "Incorrect API key provided: sk-te**st.\nSee docs.",
                                           "type": "invalid_request_error", "code": "invalid_api_key"}})]) as server:
        with pytest.raises(ModelError) as caught:
            ask(client_for(server, api))
    assert caught.value.kind == "auth"
    assert str(caught.value) == "authentication failed: check OPENAI_API_KEY"
    assert len(server.model_requests) == 1


def test_unknown_model_is_not_found():
    body = {"error": {"message": "The model `nope` does not exist", "type": "invalid_request_error", "code": "model_not_found"}}
    with FakeOpenAI([error(404, body)]) as server:
        with pytest.raises(ModelError) as caught:
            ask(client_for(server, "chat", model="nope"))
    assert caught.value.kind == "not_found"
    assert str(caught.value) == f"model 'nope' not found at {server.base_url}"


def test_wrong_path_suggests_the_base_url_or_other_api():
    with FakeOpenAI([text("unused")]) as server:
        client = make_client(model="m", base_url=server.base_url.removesuffix("/v1"), api_key="k", api="responses")
        with pytest.raises(ModelError) as caught:
            ask(client)
    assert caught.value.kind == "not_found"
    assert "check the base URL, or try --api chat" in str(caught.value)


@pytest.mark.parametrize("api,stream", MODES)
@pytest.mark.parametrize("body,content_type", [("<html><body>Welcome</body></html>", "text/html"),
                                               ('{"status": "ok"}', "application/json")])
def test_a_server_that_is_not_the_api_is_one_clear_line_not_retried(api, stream, body, content_type):
    # A base URL pointing at a web page or another service: no traceback, no retries.
    with FakeOpenAI([raw(body, content_type), text("unused")]) as server:
        with pytest.raises(ModelError) as caught:
            ask(client_for(server, api, stream=stream))
    assert caught.value.kind == "bad_response"
    message = str(caught.value)
    assert message.startswith(f"{server.base_url} did not answer like an OpenAI {api} API")
    assert message.endswith("check --base-url and --api") and "\n" not in message
    assert server.remaining() == 1


def test_bad_request_is_not_retried_and_keeps_the_code():
    body = {"error": {"message": "This model's maximum context length is 8192 tokens.", "type": "invalid_request_error",
                      "code": "context_length_exceeded", "param": "messages"}}
    with FakeOpenAI([error(400, body), text("unused")]) as server:
        with pytest.raises(ModelError) as caught:
            ask(client_for(server, "chat"))
    assert (caught.value.kind, caught.value.code) == ("bad_request", "context_length_exceeded")
    assert str(caught.value) == "the conversation is too long for the model: This model's maximum context length is 8192 tokens."
    assert server.remaining() == 1


def test_insufficient_quota_is_not_retried():
    body = {"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota", "code": "insufficient_quota"}}
    with FakeOpenAI([error(429, body), text("unused")]) as server:
        with pytest.raises(ModelError) as caught:
            ask(client_for(server, "responses"))
    assert caught.value.kind == "rate_limit"
    assert server.remaining() == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused():
    base_url = f"http://127.0.0.1:{_closed_port()}/v1"
    retries: list[int] = []
    client = make_client(model="m", base_url=base_url, api_key=None, max_retries=1,
                         on_retry=lambda attempt, delay, reason: retries.append(attempt))
    client.sleep = lambda _delay: None
    with pytest.raises(ModelError) as caught:
        ask(client)
    assert caught.value.kind == "connection"
    assert str(caught.value).startswith(f"cannot reach {base_url}: ")
    assert "\n" not in str(caught.value)
    assert retries == [1]


# --------------------------------------------------------------------------- construction


def test_default_api():
    assert default_api(None) == "responses"
    assert default_api("https://api.openai.com/v1") == "responses"
    assert default_api("http://localhost:11434/v1") == "chat"
    assert default_api("https://openrouter.ai/api/v1") == "chat"


def test_make_client_picks_the_wire_format():
    assert make_client(model="m", base_url=None, api_key="k").api == "responses"
    assert make_client(model="m", base_url="http://localhost:11434/v1", api_key=None).api == "chat"
    assert make_client(model="m", base_url="http://localhost:11434/v1", api_key=None, api="responses").api == "responses"


def test_openai_without_a_key_is_an_auth_error():
    with pytest.raises(ModelError) as caught:
        make_client(model="gpt-5.1-codex", base_url=None, api_key=None)
    assert caught.value.kind == "auth"
    assert "OPENAI_API_KEY" in str(caught.value)


def test_local_server_without_a_key_gets_a_placeholder():
    with FakeOpenAI([text("ok")]) as server:
        client = make_client(model="llama3", base_url=server.base_url, api_key=None)
        assert ask(client)[0].message.content == "ok"
    assert server.model_requests[0]["_headers"]["authorization"] == "Bearer not-needed"


@pytest.mark.parametrize("base_url,api", [("localhost:11434", None), ("http://x/v1", "grpc")])
def test_bad_settings_are_refused_up_front(base_url, api):
    with pytest.raises(ModelError) as caught:
        make_client(model="m", base_url=base_url, api_key="k", api=api)
    assert caught.value.kind == ("connection" if api is None else "bad_request")


# --------------------------------------------------------------------------- replay


def test_replay_plays_back_then_errors():
    recorded = [
        ModelReply(Message("assistant", "", tool_calls=[ToolCall("c1", "read_file", "{}")]), Usage(10, 0, 2), model="gpt-5"),
        ModelReply(Message("assistant", "All done."), Usage(20, 10, 3), reasoning="wrap up", model="gpt-5"),
    ]
    client = ReplayClient(recorded)
    assert client.model == "gpt-5"
    first, _, _ = ask(client)
    second, deltas, thoughts = ask(client)
    assert (first, second) == (recorded[0], recorded[1])
    assert (deltas, thoughts) == (["All done."], ["wrap up"])
    with pytest.raises(ModelError) as caught:
        ask(client)
    assert str(caught.value) == "replay: the trajectory has no more model responses"
    assert caught.value.kind == "replay"


def test_replay_round_trips_a_live_reply():
    with FakeOpenAI([reply("hi", [call("grep", {"pattern": "x"})], reasoning="think")]) as server:
        live, _, _ = ask(client_for(server, "responses", model="gpt-5.1-codex"))
    replayed, _, _ = ask(ReplayClient([ModelReply.from_dict(json.loads(json.dumps(live.to_dict())))]))
    assert replayed == live


# --------------------------------------------------------------------------- pricing


def test_pricing_known_dated_and_unknown_models():
    assert cost("gpt-4o", Usage(1_000_000, 0, 1_000_000)) == pytest.approx(12.5)
    # cached tokens are part of the input and billed at the cached rate
    assert cost("gpt-5.1-codex", Usage(1_000_000, 800_000, 0)) == pytest.approx(0.2 * 1.25 + 0.8 * 0.125)
    assert price("gpt-4o-2024-08-06") == price("gpt-4o")
    assert price("gpt-4o-mini-2024-07-18") == price("gpt-4o-mini") != price("gpt-4o")
    assert price("openai/gpt-5.2-codex") == price("gpt-5.2-codex")
    assert cost("llama3.1:8b", Usage(10, 0, 10)) is None
    assert price("gpt-5.3") is None  # not priced as gpt-5
    assert cost("gpt-5-mini", Usage()) == 0.0
