"""Model clients: one interface, the Responses and Chat Completions wire formats
through the official `openai` package, and replay of a recorded trajectory.

The conversation stays provider-neutral (`agent.messages`); each client
converts it to its wire format at the edge and parses the answer back into a
`ModelReply`. Retries are ours, not the SDK's (it is built with max_retries=0)
so the policy is visible, testable and reported through `on_retry`.

This module holds the interface, the retrying base both wire formats share
and replay; the wire formats live in `agent.model_responses` and
`agent.model_chat`.
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

from agent.messages import Message, ModelReply
from agent.sdk import openai

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.model_chat import ChatClient
    from agent.model_responses import ResponsesClient

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Local servers (Ollama, llama.cpp, vLLM) ignore the key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "not-needed"
MAX_RETRY_AFTER = 60.0  # seconds; a server asking for longer still gets retried, just sooner
MAX_BACKOFF = 30.0
CONTEXT_OVERFLOW = "context_length_exceeded"  # the code the loop compacts on, whoever the server

# How servers other than OpenAI say the conversation no longer fits: vLLM and
# OpenRouter ("maximum context length is 4096 tokens"), llama.cpp
# (exceed_context_size_error, "exceeds the available context size"), Ollama
# ("input length exceeds the context length"), LM Studio, Anthropic-style proxies.
_OVERFLOW = re.compile(
    r"context[ _-]?(length|size|window)[ _-]?(exceeded|error)|maximum context length|"
    r"exceeds? (the )?(available |maximum )?context|exceed_context_size|context (length|window|size) (of|is) \d|"
    r"prompt is too long|too many tokens|"
    r"input length exceeds|context overflow|reduce the length of the (messages|prompt|input)",
    re.I,
)

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


@dataclass
class RequestOptions:
    """What the user asked to be sent with every request, beyond the conversation.

    `cache_key` groups requests for the provider's prompt cache (one session,
    one key, so parallel sessions do not evict each other's prefixes).
    `reasoning` None: decided per model (see `agent.model_responses`).
    `reasoning_content`: send the model's reasoning back on assistant
    messages (Chat), which DeepSeek's thinking mode requires and the OpenAI
    schema does not allow.
    """

    cache_key: str | None = None
    reasoning_effort: str | None = None
    verbosity: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = None
    reasoning: bool | None = None
    reasoning_content: bool = False


def request_options(settings: "Settings", cache_key: str | None = None) -> RequestOptions:
    """The per-request options the settings ask for; `cache_key` is the session's run id."""
    return RequestOptions(
        cache_key=cache_key,
        reasoning_effort=settings.reasoning_effort,
        verbosity=settings.verbosity,
        temperature=settings.temperature,
        max_output_tokens=settings.max_output_tokens,
        reasoning=settings.reasoning,
        reasoning_content=settings.reasoning_content
        or "deepseek" in (urlparse(settings.base_url or "").hostname or ""),
    )


def client_for(
    settings: "Settings",
    *,
    model: str | None = None,
    on_retry: RetryHook | None = None,
    cache_key: str | None = None,
) -> "ModelClient":
    """The client the user's settings describe (the model can be overridden)."""
    return make_client(model=model or settings.model, base_url=settings.base_url, api_key=settings.api_key,
                       api=settings.api, stream=settings.stream, on_retry=on_retry,
                       options=request_options(settings, cache_key), headers=settings.headers)


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
    options: RequestOptions | None = None,
    headers: dict[str, str] | None = None,
) -> ResponsesClient | ChatClient:
    """A client for `model` at `base_url` (None = OpenAI). The key comes only
    from `api_key`: resolving OPENAI_API_KEY is the configuration's job."""
    url = (base_url or OPENAI_BASE_URL).rstrip("/")
    if urlparse(url).scheme not in ("http", "https"):
        raise ModelError(f"cannot reach {url}: the base URL must start with http:// or https://", "connection")
    if not api_key:
        if is_openai(base_url):
            raise ModelError("no API key: set OPENAI_API_KEY (or pass a key in the config)", "auth")
        api_key = PLACEHOLDER_KEY
    # The client modules build on the base class below, so they load here, not at the top.
    from agent.model_chat import ChatClient
    from agent.model_responses import ResponsesClient

    api = api or default_api(base_url)
    classes = {"responses": ResponsesClient, "chat": ChatClient}
    if api not in classes:
        raise ModelError(f"unknown API {api!r}: use 'responses' or 'chat'", "bad_request")
    sdk = openai.OpenAI(api_key=api_key, base_url=url, max_retries=0, timeout=timeout, default_headers=headers or None)
    return classes[api](sdk, model=model, stream=stream, max_retries=max_retries, on_retry=on_retry,
                        options=options or RequestOptions())


# --------------------------------------------------------------------------- shared request loop


class Retryable(Exception):
    """An attempt that failed in a way worth another try."""

    def __init__(self, error: ModelError, retry_after: float | None = None) -> None:
        self.error = error
        self.retry_after = retry_after


class OpenAIClient:
    api = ""

    def __init__(
        self,
        sdk: openai.OpenAI,
        *,
        model: str,
        stream: bool = True,
        max_retries: int = 4,
        on_retry: RetryHook | None = None,
        options: RequestOptions | None = None,
    ) -> None:
        self.sdk = sdk
        self.options = options or RequestOptions()
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
            except Retryable as failure:
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

    def _ended_early(self, stream: Any) -> ModelError | Retryable:
        content_type = stream.response.headers.get("content-type", "")
        if "text/event-stream" not in content_type:
            got = content_type or "no content type"
            return self._not_the_api(f"asked for a stream, got {got}; a server that cannot stream needs stream = false")
        message = f"the stream from {self.base_url} ended before the reply was complete"
        return Retryable(ModelError(message, "connection"))

    def _not_the_api(self, detail: str) -> ModelError:
        """A reply that is not the wire format at all: retrying will not help."""
        return ModelError(
            f"{self.base_url} did not answer like an OpenAI {self.api} API ({one_line(detail, 160)}); "
            "check --base-url and --api",
            "bad_response",
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        # Jitter keeps parallel batch tasks from retrying in lockstep.
        return min(self.base_delay * 2 ** (attempt - 1), MAX_BACKOFF) * random.uniform(0.8, 1.2)

    def _translate(self, exc: openai.OpenAIError) -> ModelError | Retryable:
        """The SDK's exception as our one-line error, wrapped in Retryable when
        another attempt may succeed."""
        if isinstance(exc, openai.APIError) and _is_overflow(exc):
            said = _server_message(exc) if isinstance(exc, openai.APIStatusError) else one_line(exc.message)
            return ModelError(f"the conversation is too long for the model: {said}", "bad_request",
                              code=CONTEXT_OVERFLOW)
        if isinstance(exc, openai.APITimeoutError):
            return Retryable(ModelError(f"the request to {self.base_url} timed out", "timeout"))
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc.__context__
            detail = str(cause) if cause and str(cause) else exc.message
            return Retryable(ModelError(f"cannot reach {self.base_url}: {one_line(detail)}", "connection"))
        if isinstance(exc, openai.APIStatusError):
            return self._status_error(exc)
        if isinstance(exc, openai.APIError):  # an error event inside a stream
            return Retryable(ModelError(f"model server error: {one_line(exc.message)}", "server", code=exc.code))
        return ModelError(one_line(str(exc)), "bad_request")

    def _status_error(self, exc: openai.APIStatusError) -> ModelError | Retryable:
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
        return Retryable(error, _retry_after(exc.response.headers))


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


def _is_overflow(exc: openai.APIError) -> bool:
    if exc.code == CONTEXT_OVERFLOW:
        return True
    if isinstance(exc, openai.APIStatusError) and exc.status_code in (401, 403, 404, 429):
        return False  # a token-rate limit speaks of tokens too
    body = exc.body if isinstance(exc.body, dict) else {}
    said = " ".join(str(body.get(k) or "") for k in ("message", "type", "code")) + " " + str(exc.message)
    return is_overflow_text(said)


def is_overflow_text(text: str) -> bool:
    """Whether a server's error text says the request did not fit the context window."""
    return bool(_OVERFLOW.search(text))


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return one_line(body["message"])
    return one_line(str(body) if body else exc.message)


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _ignore(_text: str) -> None:
    pass


def announce(reply: ModelReply, on_text: TextCallback, on_reasoning: TextCallback) -> ModelReply:
    """Give a reply that was not streamed to the callbacks in one piece, so
    renderers see every reply the same way."""
    if reply.reasoning:
        on_reasoning(reply.reasoning)
    if reply.message.content:
        on_text(reply.message.content)
    return reply


def dump(obj: Any) -> dict[str, Any]:
    """An SDK object as plain JSON-able data, keeping only what the server sent
    (verbatim, even where it strays from the schema: no warnings about that)."""
    return obj.model_dump(mode="json", exclude_unset=True, warnings=False)


def arguments_text(arguments: Any) -> str:
    """Tool-call arguments as the JSON text the registry parses: some
    compatible servers send an object, or null, instead of a string."""
    if isinstance(arguments, str):
        return arguments
    return "" if arguments is None else json.dumps(arguments)


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
        return announce(self._replies[self._next - 1], on_text or _ignore, on_reasoning or _ignore)
