"""Model clients: one interface, the Responses and Chat Completions wire formats
through the official `openai` package, and replay of a recorded trajectory.

The conversation stays provider-neutral (`agent.messages`); each client
converts it to its wire format at the edge and parses the answer back into a
`ModelReply`. Retries are ours, not the SDK's (it is built with max_retries=0)
so the policy is visible, testable and reported through `on_retry`.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlparse

import openai

from agent.messages import Message, ModelReply, ToolCall, Usage

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Local servers (Ollama, llama.cpp, vLLM) ignore the key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "not-needed"
MAX_RETRY_AFTER = 60.0  # seconds; a server asking for longer still gets retried, just sooner
MAX_BACKOFF = 30.0

TextCallback = Callable[[str], None]
RetryHook = Callable[[int, float, str], None]  # (attempt, delay in seconds, reason)


class ModelError(Exception):
    """A model request that failed for good, with one line for the user.

    `kind` is one of auth, not_found, bad_request, rate_limit, server,
    connection, timeout, bad_response (not the API at all), replay; `code` is
    the server's error code when it sent one (e.g. "context_length_exceeded").
    """

    def __init__(self, message: str, kind: str = "server", *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.code = code


class ToolSchemas(Protocol):
    """What a client needs from `tools.registry.Registry`: the tool definitions
    in either wire format. Taking the registry keeps the wire format out of the loop."""

    def chat_schemas(self) -> list[dict[str, Any]]: ...

    def responses_schemas(self) -> list[dict[str, Any]]: ...


class ModelClient(Protocol):
    model: str

    def complete(
        self,
        instructions: str,
        history: list[Message],
        tools: ToolSchemas | None,
        on_text: TextCallback | None = None,
        on_reasoning: TextCallback | None = None,
    ) -> ModelReply: ...


def is_openai(base_url: str | None) -> bool:
    return base_url is None or urlparse(base_url).hostname == "api.openai.com"


def default_api(base_url: str | None) -> str:
    """The wire format to use: Responses for OpenAI itself, Chat for compatible servers."""
    return "responses" if is_openai(base_url) else "chat"


def make_client(
    *,
    model: str,
    base_url: str | None,
    api_key: str | None,
    api: str | None = None,
    stream: bool = True,
    max_retries: int = 4,
    timeout: float = 600,
    on_retry: RetryHook | None = None,
) -> "ResponsesClient | ChatClient":
    """A client for `model` at `base_url` (None = OpenAI). The key comes only
    from `api_key`: resolving OPENAI_API_KEY is the configuration's job."""
    url = (base_url or OPENAI_BASE_URL).rstrip("/")
    if urlparse(url).scheme not in ("http", "https"):
        raise ModelError(f"cannot reach {url}: the base URL must start with http:// or https://", "connection")
    if not api_key:
        if is_openai(base_url):
            raise ModelError("no API key: set OPENAI_API_KEY (or pass a key in the config)", "auth")
        api_key = PLACEHOLDER_KEY
    api = api or default_api(base_url)
    classes = {"responses": ResponsesClient, "chat": ChatClient}
    if api not in classes:
        raise ModelError(f"unknown API {api!r}: use 'responses' or 'chat'", "bad_request")
    sdk = openai.OpenAI(api_key=api_key, base_url=url, max_retries=0, timeout=timeout)
    return classes[api](sdk, model=model, stream=stream, max_retries=max_retries, on_retry=on_retry)


# --------------------------------------------------------------------------- shared request loop


class _Retryable(Exception):
    """An attempt that failed in a way worth another try."""

    def __init__(self, error: ModelError, retry_after: float | None = None) -> None:
        self.error = error
        self.retry_after = retry_after


class _OpenAIClient:
    api = ""

    def __init__(
        self,
        sdk: openai.OpenAI,
        *,
        model: str,
        stream: bool = True,
        max_retries: int = 4,
        on_retry: RetryHook | None = None,
    ) -> None:
        self.sdk = sdk
        self.model = model
        self.stream = stream
        self.max_retries = max_retries
        self.on_retry = on_retry
        self.base_delay = 1.0  # first backoff; doubles per attempt
        self.sleep: Callable[[float], None] = time.sleep  # replaceable in tests

    @property
    def base_url(self) -> str:
        return str(self.sdk.base_url).rstrip("/")

    def complete(
        self,
        instructions: str,
        history: list[Message],
        tools: ToolSchemas | None,
        on_text: TextCallback | None = None,
        on_reasoning: TextCallback | None = None,
    ) -> ModelReply:
        """One model response. Retries rate limits, server errors, timeouts and
        broken connections (text already streamed to `on_text` is streamed
        again on the retry); raises ModelError when that is not enough."""
        on_text = on_text or _ignore
        on_reasoning = on_reasoning or _ignore
        attempt = 0
        while True:
            try:
                try:
                    return self._request(instructions, history, tools, on_text, on_reasoning)
                except openai.OpenAIError as exc:
                    raise self._translate(exc) from exc
                except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
                    # The SDK hands back what it could not parse (a web page, another
                    # API's JSON) as a str or a half-built model; reading it fails here.
                    raise self._not_the_api(f"{type(exc).__name__}: {exc}") from exc
            except _Retryable as failure:
                if attempt >= self.max_retries:
                    raise failure.error from failure.__cause__
                attempt += 1
                delay = self._delay(attempt, failure.retry_after)
                if self.on_retry:
                    self.on_retry(attempt, delay, failure.error.message)
                self.sleep(delay)

    def _request(
        self,
        instructions: str,
        history: list[Message],
        tools: ToolSchemas | None,
        on_text: TextCallback,
        on_reasoning: TextCallback,
    ) -> ModelReply:
        raise NotImplementedError

    def _ended_early(self, stream: Any) -> ModelError | _Retryable:
        content_type = stream.response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            got = content_type or "no content type"
            return self._not_the_api(f"asked for a stream, got {got}; a server that cannot stream needs stream = false")
        message = f"the stream from {self.base_url} ended before the reply was complete"
        return _Retryable(ModelError(message, "connection"))

    def _not_the_api(self, detail: str) -> ModelError:
        """A reply that is not the wire format at all: retrying will not help."""
        return ModelError(
            f"{self.base_url} did not answer like an OpenAI {self.api} API ({_one_line(detail, 160)}); "
            "check --base-url and --api",
            "bad_response",
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        # Jitter keeps parallel batch tasks from retrying in lockstep.
        return min(self.base_delay * 2 ** (attempt - 1), MAX_BACKOFF) * random.uniform(0.8, 1.2)

    def _translate(self, exc: openai.OpenAIError) -> ModelError | _Retryable:
        """The SDK's exception as our one-line error, wrapped in _Retryable when
        another attempt may succeed."""
        if isinstance(exc, openai.APITimeoutError):
            return _Retryable(ModelError(f"the request to {self.base_url} timed out", "timeout"))
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = str(cause) if cause and str(cause) else exc.message
            return _Retryable(ModelError(f"cannot reach {self.base_url}: {_one_line(detail)}", "connection"))
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc)
        if isinstance(exc, openai.APIError):  # an error event inside a stream
            return _Retryable(ModelError(f"model server error: {_one_line(exc.message)}", "server", code=exc.code))
        return ModelError(_one_line(str(exc)), "bad_request")

    def _status_error(self, exc: openai.APIStatusError) -> ModelError | _Retryable:
        status, code = exc.status_code, exc.code
        said = _server_message(exc)
        should_retry = exc.response.headers.get("x-should-retry")
        if status == 401:
            return ModelError("authentication failed: check OPENAI_API_KEY", "auth", code=code)
        if status == 403:
            return ModelError(f"permission denied by {self.base_url}: {said}", "auth", code=code)
        if status == 404:
            if "model" in said.lower() or code == "model_not_found":
                return ModelError(f"model '{self.model}' not found at {self.base_url}", "not_found", code=code)
            other = "chat" if self.api == "responses" else "responses"
            return ModelError(
                f"{exc.response.request.url} not found (HTTP 404): check the base URL, or try --api {other}",
                "not_found",
                code=code,
            )
        if status == 429:
            if code == "insufficient_quota":
                return ModelError(f"quota exceeded at {self.base_url}: {said}", "rate_limit", code=code)
            error = ModelError(f"rate limited by {self.base_url}: {said}", "rate_limit", code=code)
        elif status >= 500 or status in (408, 409):
            error = ModelError(f"model server error (HTTP {status}): {said}", "server", code=code)
        else:
            return ModelError(f"bad request (HTTP {status}): {said}", "bad_request", code=code)
        if should_retry == "false":
            return error
        return _Retryable(error, _retry_after(exc.response.headers))


def _retry_after(headers: Any) -> float | None:
    """Seconds the server asked us to wait: retry-after-ms, or Retry-After as
    seconds or as an HTTP date."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value) / scale
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return when.timestamp() - time.time()
    return None


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return _one_line(body["message"])
    return _one_line(str(body) if body else exc.message)


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _ignore(_text: str) -> None:
    pass


def _announce(reply: ModelReply, on_text: TextCallback, on_reasoning: TextCallback) -> ModelReply:
    """Give a reply that was not streamed to the callbacks in one piece, so
    renderers see every reply the same way."""
    if reply.reasoning:
        on_reasoning(reply.reasoning)
    if reply.message.content:
        on_text(reply.message.content)
    return reply


def _dump(obj: Any) -> dict[str, Any]:
    """An SDK object as plain JSON-able data, keeping only what the server sent
    (verbatim, even where it strays from the schema: no warnings about that)."""
    return obj.model_dump(mode="json", exclude_unset=True, warnings=False)


def _arguments_text(arguments: Any) -> str:
    """Tool-call arguments as the JSON text the registry parses: some
    compatible servers send an object, or null, instead of a string."""
    if isinstance(arguments, str):
        return arguments
    return "" if arguments is None else json.dumps(arguments)


def _reasoning_model(model: str) -> bool:
    name = model.rsplit("/", 1)[-1]
    return name.startswith(("gpt-5", "o1", "o3", "o4", "codex"))


# --------------------------------------------------------------------------- Responses API


class ResponsesClient(_OpenAIClient):
    """The Responses API (OpenAI itself: the GPT-5.x-Codex models live here).

    Stateless (`store=False`): the whole conversation is sent each time, with
    the reasoning items (encrypted content) kept from earlier replies.
    """

    api = "responses"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reasoning_summary: str | None = "auto"

    def _request(
        self,
        instructions: str,
        history: list[Message],
        tools: ToolSchemas | None,
        on_text: TextCallback,
        on_reasoning: TextCallback,
    ) -> ModelReply:
        params: dict[str, Any] = {
            "model": self.model,
            "instructions": instructions,
            "input": responses_input(history),
            "store": False,
        }
        if tools is not None and (schemas := tools.responses_schemas()):
            params["tools"] = schemas
        if _reasoning_model(self.model):
            # Without storage, reasoning only survives between turns encrypted.
            params["include"] = ["reasoning.encrypted_content"]
            if self.reasoning_summary:
                params["reasoning"] = {"summary": self.reasoning_summary}
        try:
            return self._send(params, on_text, on_reasoning)
        except openai.BadRequestError as exc:
            # Reasoning summaries need a verified organisation; do without them.
            if "reasoning" not in params or "summar" not in exc.message.lower():
                raise
            self.reasoning_summary = None
            del params["reasoning"]
            return self._send(params, on_text, on_reasoning)

    def _send(self, params: dict[str, Any], on_text: TextCallback, on_reasoning: TextCallback) -> ModelReply:
        if not self.stream:
            return _announce(parse_response(self.sdk.responses.create(**params)), on_text, on_reasoning)
        final = None
        stream = self.sdk.responses.create(**params, stream=True)
        for event in stream:
            kind = event.type
            if kind == "response.output_text.delta":
                on_text(event.delta)
            elif kind == "response.reasoning_summary_text.delta":
                on_reasoning(event.delta)
            elif kind == "response.reasoning_summary_part.added" and event.summary_index > 0:
                on_reasoning("\n\n")  # summary parts are paragraphs
            elif kind in ("response.completed", "response.incomplete"):
                final = event.response
            elif kind == "response.failed":
                err = event.response.error
                raise _stream_failure(err.code if err else None, err.message if err else "the response failed")
            elif kind == "error":
                raise _stream_failure(event.code, event.message)
        if final is None:
            raise self._ended_early(stream)
        return parse_response(final)


def _stream_failure(code: str | None, message: str) -> ModelError | _Retryable:
    error = ModelError(f"model server error: {_one_line(message)}", "server", code=code)
    return _Retryable(error) if code in (None, "server_error", "rate_limit_exceeded") else error


def responses_input(history: list[Message]) -> list[dict[str, Any]]:
    """The neutral history as Responses API input items."""
    items: list[dict[str, Any]] = []
    for m in history:
        if m.role == "user":
            items.append({"role": "user", "content": m.content})
        elif m.role == "tool":
            items.append({"type": "function_call_output", "call_id": m.tool_call_id, "output": m.content})
        else:
            items.extend(m.provider_items)  # reasoning items go back before what they led to
            if m.content:
                items.append({"role": "assistant", "content": m.content})
            for c in m.tool_calls:
                items.append({"type": "function_call", "call_id": c.id, "name": c.name, "arguments": c.arguments})
    return items


def parse_response(response: Any) -> ModelReply:
    """A Responses API `Response` as a ModelReply."""
    texts: list[str] = []
    summaries: list[str] = []
    calls: list[ToolCall] = []
    kept: list[dict[str, Any]] = []
    for item in response.output:
        if item.type == "message":
            texts.extend(part.text for part in item.content if part.type == "output_text")
        elif item.type == "function_call":
            calls.append(ToolCall(id=item.call_id, name=item.name, arguments=_arguments_text(item.arguments)))
        elif item.type == "reasoning":
            summaries.extend(s.text for s in item.summary)
            if item.encrypted_content:
                # Sent back without its id: with store=False the server knows no
                # "rs_..." ids, only the encrypted content (Codex does the same).
                summary = [{"type": "summary_text", "text": s.text} for s in item.summary]
                kept.append({"type": "reasoning", "summary": summary, "encrypted_content": item.encrypted_content})
    usage = Usage()
    if response.usage:
        details = response.usage.input_tokens_details
        usage = Usage(
            input_tokens=response.usage.input_tokens,
            cached_input_tokens=(details.cached_tokens or 0) if details else 0,
            output_tokens=response.usage.output_tokens,
        )
    message = Message(role="assistant", content="".join(texts), tool_calls=calls, provider_items=kept)
    return ModelReply(message, usage, reasoning="\n\n".join(summaries), model=response.model, raw=_dump(response))


# --------------------------------------------------------------------------- Chat Completions API


class ChatClient(_OpenAIClient):
    """The Chat Completions API: every OpenAI-compatible server (Ollama, vLLM,
    llama.cpp, LM Studio, OpenRouter, Azure)."""

    api = "chat"

    def _request(
        self,
        instructions: str,
        history: list[Message],
        tools: ToolSchemas | None,
        on_text: TextCallback,
        on_reasoning: TextCallback,
    ) -> ModelReply:
        params: dict[str, Any] = {"model": self.model, "messages": chat_messages(instructions, history)}
        if tools is not None and (schemas := tools.chat_schemas()):
            params["tools"] = schemas
        if not self.stream:
            return _announce(parse_completion(self.sdk.chat.completions.create(**params)), on_text, on_reasoning)
        stream = self.sdk.chat.completions.create(**params, stream=True, stream_options={"include_usage": True})
        assembler = _ChunkAssembler()
        for chunk in stream:
            assembler.add(chunk, on_text, on_reasoning)
        if assembler.finish_reason is None:
            raise self._ended_early(stream)
        return parse_completion(assembler.completion())


def chat_messages(instructions: str, history: list[Message]) -> list[dict[str, Any]]:
    """The instructions and neutral history as Chat Completions messages."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": instructions}]
    for m in history:
        if m.role == "tool":
            messages.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
        elif m.role == "assistant" and m.tool_calls:
            calls = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in m.tool_calls
            ]
            messages.append({"role": "assistant", "content": m.content or None, "tool_calls": calls})
        else:
            messages.append({"role": m.role, "content": m.content})
    return messages


def _reasoning_of(obj: Any) -> str:
    # Not in the OpenAI schema: Ollama and vLLM send `reasoning_content`, OpenRouter `reasoning`.
    return getattr(obj, "reasoning_content", None) or getattr(obj, "reasoning", None) or ""


def parse_completion(completion: Any) -> ModelReply:
    """A `ChatCompletion` (or the dict form `_ChunkAssembler` builds) as a ModelReply."""
    if isinstance(completion, dict):
        completion = openai.types.chat.ChatCompletion.model_validate(completion)
    if completion.choices is None:  # the SDK builds its models without validation
        raise ValueError("the reply has no choices")
    message = completion.choices[0].message if completion.choices else None
    calls = [
        ToolCall(id=c.id or f"call_{i}", name=c.function.name, arguments=_arguments_text(c.function.arguments))
        for i, c in enumerate((message.tool_calls if message else None) or [])
        if c.type == "function"
    ]
    usage = Usage()
    if completion.usage:
        details = completion.usage.prompt_tokens_details
        usage = Usage(
            input_tokens=completion.usage.prompt_tokens,
            cached_input_tokens=(details.cached_tokens or 0) if details else 0,
            output_tokens=completion.usage.completion_tokens,
        )
    content = (message.content or "") if message else ""
    return ModelReply(
        Message(role="assistant", content=content, tool_calls=calls),
        usage,
        reasoning=_reasoning_of(message) if message else "",
        model=completion.model,
        raw=_dump(completion),
    )


class _ChunkAssembler:
    """Builds one chat completion from its stream chunks, passing text on as it comes."""

    def __init__(self) -> None:
        self.head: dict[str, Any] = {}
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None

    def add(self, chunk: Any, on_text: TextCallback, on_reasoning: TextCallback) -> None:
        self.head = self.head or {"id": chunk.id, "created": chunk.created, "model": chunk.model}
        if chunk.usage:
            self.usage = _dump(chunk.usage)
        if not chunk.choices:
            return
        choice = chunk.choices[0]
        delta = choice.delta
        if choice.finish_reason:
            self.finish_reason = choice.finish_reason
        if thought := _reasoning_of(delta):
            self.reasoning.append(thought)
            on_reasoning(thought)
        if delta.content:
            self.text.append(delta.content)
            on_text(delta.content)
        for piece in delta.tool_calls or []:
            # Some servers leave out `index`: a new id starts a new call.
            index = piece.index if piece.index is not None else len(self.calls) - (0 if piece.id else 1)
            call = self.calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
            call["id"] = call["id"] or piece.id or ""
            if piece.function:
                # Servers that repeat the name in every chunk must not get it doubled.
                call["name"] = call["name"] or piece.function.name or ""
                call["arguments"] += _arguments_text(piece.function.arguments)

    def completion(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.text) or None}
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if self.calls:
            message["tool_calls"] = [
                {
                    "id": c["id"] or f"call_{i}",
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for i, c in sorted(self.calls.items())
            ]
        choice = {"index": 0, "message": message, "finish_reason": self.finish_reason}
        body = {**self.head, "object": "chat.completion", "choices": [choice]}
        if self.usage:
            body["usage"] = self.usage
        return body


# --------------------------------------------------------------------------- replay


class ReplayClient:
    """Plays back recorded replies in order, for `codex-agent replay` and tests."""

    api = "replay"

    def __init__(self, replies: list[ModelReply]) -> None:
        self._replies = list(replies)
        self._next = 0
        self.model = replies[0].model if replies and replies[0].model else "replay"

    def complete(
        self,
        instructions: str,
        history: list[Message],
        tools: ToolSchemas | None,
        on_text: TextCallback | None = None,
        on_reasoning: TextCallback | None = None,
    ) -> ModelReply:
        if self._next >= len(self._replies):
            raise ModelError("replay: the trajectory has no more model responses", "replay")
        self._next += 1
        return _announce(self._replies[self._next - 1], on_text or _ignore, on_reasoning or _ignore)
