"""The fake OpenAI server itself: what it emits must parse under the real
client's strict validation, and its scripting features must hold."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest

from tests.fake_openai import FakeOpenAI, call, error, first_user_text, reply, text

ROOT = Path(__file__).resolve().parent.parent
TURN = reply("Two words", [call("read_file", {"path": "a.py"}, id="c1"), call("grep", {"pattern": "def"})],
             usage={"input_tokens": 50, "cached_input_tokens": 20, "output_tokens": 9}, reasoning="Plan it")


def strict(server: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, _strict_response_validation=True)


def test_responses_plain_validates_strictly():
    with FakeOpenAI([TURN]) as server:
        response = strict(server).responses.create(model="m", input="hi")
    assert [item.type for item in response.output] == ["reasoning", "message", "function_call", "function_call"]
    assert response.output_text == "Two words"
    assert [(o.call_id, o.name) for o in response.output[2:]] == [("c1", "read_file"), ("call_1", "grep")]
    assert response.output[0].encrypted_content == "enc:Plan it"
    assert response.usage.input_tokens_details.cached_tokens == 20


def test_responses_stream_validates_strictly():
    with FakeOpenAI([TURN]) as server:
        events = list(strict(server).responses.create(model="m", input="hi", stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Two words"
    args = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(args) == 6 and "".join(args) == '{"path": "a.py"}{"pattern": "def"}'
    assert events[-1].response.usage.output_tokens == 9


def test_chat_plain_validates_strictly():
    with FakeOpenAI([TURN]) as server:
        completion = strict(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert [c.function.arguments for c in choice.message.tool_calls] == ['{"path": "a.py"}', '{"pattern": "def"}']
    assert completion.usage.prompt_tokens_details.cached_tokens == 20


def test_chat_stream_validates_strictly_with_usage_last():
    with FakeOpenAI([TURN, text("no usage asked")]) as server:
        client = strict(server)
        chunks = list(client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}))
        plain = list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 9
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    pieces = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    assert len(pieces) > 4  # each call: a head, then its arguments in several chunks
    assert all(c.usage is None for c in plain)


def test_callable_turn_sees_the_request_and_add_appends():
    def echo(request):
        return text(f"you said {first_user_text(request)}")

    with FakeOpenAI([echo]) as server:
        server.add(text("second"))
        client = strict(server)
        first = client.responses.create(model="m", input=[{"role": "user", "content": "ping"}])
        second = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    assert first.output_text == "you said ping"
    assert second.choices[0].message.content == "second"
    assert server.errors == [] and server.remaining() == 0


def test_keyed_scripts_serve_parallel_conversations():
    script = {"task-1": [text("one"), text("one again")], "task-10": [text("ten")]}
    with FakeOpenAI(script) as server:
        client = strict(server)

        def ask(task: str) -> str:
            messages = [{"role": "user", "content": f"Do {task} now"}]
            return client.chat.completions.create(model="m", messages=messages).choices[0].message.content

        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(ask, ["task-10", "task-1", "task-1"]))
        with pytest.raises(openai.InternalServerError, match="no script for key ''"):
            ask("task-2")
    assert answers[0] == "ten" and sorted(answers[1:]) == ["one", "one again"]


def test_models_errors_and_unknown_routes():
    with FakeOpenAI([error(429, headers={"Retry-After": "3"})], models=["a", "b"]) as server:
        client = strict(server)
        assert [m.id for m in client.models.list()] == ["a", "b"]
        with pytest.raises(openai.RateLimitError) as caught:
            client.responses.create(model="m", input="hi")
        assert caught.value.response.headers["retry-after"] == "3"
        with pytest.raises(openai.NotFoundError):
            client.embeddings.create(model="m", input="x")
    assert server.errors == ["fake server: no route POST /v1/embeddings"]
    assert [r["_path"] for r in server.requests] == ["/v1/models", "/v1/responses", "/v1/embeddings"]


def test_command_line_serves_a_json_script(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"text": "from a file"}, {"calls": [{"name": "grep", "arguments": "{}"}]}]))
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_openai", str(script), "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        base_url = proc.stdout.readline().split()[3]
        client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, _strict_response_validation=True)
        assert client.responses.create(model="m", input="hi").output_text == "from a file"
        completion = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        assert completion.choices[0].message.tool_calls[0].id == "call_1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
