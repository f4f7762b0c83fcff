"""Every request body the clients send is valid under the `openai` package's
own request types (the TypedDicts generated from the OpenAPI spec), with extra
keys forbidden: the bodies are captured by the fake server over real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat.completion_create_params import (
    CompletionCreateParamsNonStreaming,
    CompletionCreateParamsStreaming,
)
from openai.types.responses.response_create_params import (
    ResponseCreateParamsNonStreaming,
    ResponseCreateParamsStreaming,
)
from pydantic import BaseModel, ConfigDict, ValidationError

from agent.messages import Message
from agent.model import RequestOptions, make_client
from tests.conftest import make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, fenced_arguments, hermes_call, quirk, reply, text
from tools import default_registry


def _strict(body_type: Any) -> type[BaseModel]:
    # A TypedDict without its own config takes the enclosing model's, so
    # extra="forbid" reaches every nested item, tool and content part.
    return type("Body", (BaseModel,), {"model_config": ConfigDict(extra="forbid"),
                                       "__annotations__": {"body": body_type}})


VALIDATORS = {
    ("/v1/responses", True): _strict(ResponseCreateParamsStreaming),
    ("/v1/responses", False): _strict(ResponseCreateParamsNonStreaming),
    ("/v1/chat/completions", True): _strict(CompletionCreateParamsStreaming),
    ("/v1/chat/completions", False): _strict(CompletionCreateParamsNonStreaming),
}


def _drain(value: Any) -> None:
    """Validate what pydantic left lazy: `Iterable[...]` fields (tools, input
    items, messages) are only checked as they are iterated."""
    if isinstance(value, dict):
        for item in value.values():
            _drain(item)
    elif not isinstance(value, (str, bytes)) and hasattr(value, "__iter__"):
        for item in value:
            _drain(item)


def violations(request: dict[str, Any]) -> list[str]:
    """What in one captured request the request types refuse (short form)."""
    body = {k: v for k, v in request.items() if not k.startswith("_")}
    try:
        _drain(VALIDATORS[request["_path"], bool(body.get("stream"))].model_validate({"body": body}).body)
    except ValidationError as exc:
        # Union members each report; the relevant one is the shortest path that is not a type mismatch.
        return sorted({f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in exc.errors()})
    return []


def test_the_check_catches_what_the_issue_reported():
    tool = {"type": "function", "name": "grep", "description": "d", "parameters": {"type": "object"}}
    no_strict = {"_path": "/v1/responses", "model": "m", "input": "hi", "tools": [tool]}
    reasoning_without_id = {"_path": "/v1/responses", "model": "m", "input": [
        {"type": "reasoning", "summary": [], "encrypted_content": "x"}]}
    extra_key = {"_path": "/v1/chat/completions", "model": "m", "messages": [
        {"role": "assistant", "content": "x", "reasoning_content": "y"}]}
    assert violations(no_strict) and violations(reasoning_without_id) and violations(extra_key)
    assert violations({**no_strict, "tools": [{**tool, "strict": False}]}) == []


HISTORY_TURNS = [
    reply("Let me look.", [call("read_file", {"path": "a.py"}), call("grep", {"pattern": "x"})], reasoning="Plan"),
    fenced_arguments("read_file", {"path": "b.py"}),
    reply("", [call("grep", '{"pattern": "broken')], reasoning="Again"),
    hermes_call("read_file", {"path": "c.py"}),
    quirk(call("write_file", '{"path": "d.py", "content": "cut'), finish="length"),
    text("Done."),
]


@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.parametrize("stream", [True, False])
def test_every_request_of_a_session_validates(api, stream):
    options = RequestOptions(cache_key="run-123", reasoning_effort="high", verbosity="low", temperature=0.2,
                             max_output_tokens=4000)
    tools = default_registry()
    with FakeOpenAI(list(HISTORY_TURNS)) as server:
        client = make_client(model="gpt-5.2-codex", base_url=server.base_url, api_key="k", api=api, stream=stream,
                             options=options)
        history = [Message("user", "fix it")]
        for _ in HISTORY_TURNS:
            result = client.complete("rules", history, tools)
            history.append(result.message)
            history += [Message("tool", "output", tool_call_id=c.id) for c in result.message.tool_calls]
        history.append(Message("user", "summarise"))
        server.add(text("summary"))
        client.complete("rules", history, None)  # compaction's request: no tools
    requests = server.model_requests
    assert len(requests) == len(HISTORY_TURNS) + 1
    assert {r: violations(r) for r in range(len(requests)) if violations(requests[r])} == {}
    last = requests[-2]
    if api == "responses":
        assert last["prompt_cache_key"] == "run-123" and last["text"] == {"verbosity": "low"}
        assert last["reasoning"] == {"effort": "high", "summary": "auto"}
        assert all(t["strict"] is False for t in last["tools"])
        assert sum(1 for item in last["input"] if item.get("type") == "reasoning") == 2
    else:
        assert last["reasoning_effort"] == "high" and last["verbosity"] == "low"
        assert last["max_tokens"] == 4000  # not OpenAI itself: the key local servers know


def test_requests_of_a_real_cli_run_validate(tmp_path):
    repo = make_repo(tmp_path / "proj", {"calc.py": "def add(a, b):\n    return a - b\n",
                                         "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n"
                                                               "    assert add(2, 3) == 5\n"})
    for api in ("responses", "chat"):
        script = [reply("", [call("read_file", {"path": "calc.py"})], reasoning="Look first"),
                  call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}), text("Fixed.")]
        with FakeOpenAI(script) as server:
            result = run_cli(["fix add", "--base-url", server.base_url, "--api", api, "--model", "gpt-5.2-codex",
                              "--reasoning-effort", "medium", "--no-apply"], repo, env={"OPENAI_API_KEY": "sk-x"})
        assert result.returncode == 0, result.stderr
        requests = server.model_requests
        assert len(requests) == 3 and all(violations(r) == [] for r in requests), [violations(r) for r in requests]
        if api == "responses":
            keys = {r["prompt_cache_key"] for r in requests}
            assert len(keys) == 1 and keys.pop()  # one session, one cache key
            assert requests[0]["reasoning"]["effort"] == "medium"
