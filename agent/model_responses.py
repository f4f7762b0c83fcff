"""The Responses API client: the neutral history as input items, and the
streamed or whole `Response` back as a ModelReply."""

from __future__ import annotations

from typing import Any

from agent.messages import Message, ModelReply, ToolCall, Usage
from agent.model import (
    CONTEXT_OVERFLOW,
    ModelError,
    OpenAIClient,
    Retryable,
    TextCallback,
    ToolSchemas,
    announce,
    arguments_text,
    is_overflow_text,
    one_line,
)
from agent.sdk import openai
from agent.tool_text import sendable_arguments, settle_calls


# Model families known not to reason: the Responses API refuses `reasoning`
# and `include: reasoning.encrypted_content` for them. Anything else is asked
# for reasoning; a refusal is remembered (per server and model) for the run.
_NO_REASONING = ("gpt-4", "gpt-3.5", "chatgpt-4o")
_refused_reasoning: set[tuple[str, str]] = set()


def _refuses(message: str) -> str | None:
    """What part of the reasoning request a 400 refuses: "summary" (an
    organisation not verified for summaries), "reasoning" (a model that does
    not reason), or None (something else)."""
    said = message.lower()
    if "summar" in said and "reasoning" in said:
        return "summary"
    unsupported = "not supported" in said or "unsupported" in said
    if unsupported and ("reasoning" in said or "encrypted_content" in said or "include" in said):
        return "reasoning"
    return None


class ResponsesClient(OpenAIClient):
    """The Responses API (OpenAI itself: the GPT-5.x-Codex models live here).

    Stateless (`store=False`): the whole conversation is sent each time, with
    every output item replayed as returned -- order, ids, and the reasoning
    items' encrypted content -- since reasoning only survives between turns
    that way.
    """

    api = "responses"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reasoning_summary: str | None = "auto"

    def wants_reasoning(self) -> bool:
        if self.options.reasoning is not None:
            return self.options.reasoning
        if (self.base_url, self.model) in _refused_reasoning:
            return False
        return not self.model.rsplit("/", 1)[-1].startswith(_NO_REASONING)

    def _params(self, instructions: str, history: list[Message], tools: ToolSchemas | None) -> dict[str, Any]:
        opts = self.options
        params: dict[str, Any] = {
            "model": self.model,
            "instructions": instructions,
            "input": responses_input(history),
            "store": False,
        }
        if tools is not None and (schemas := tools.responses_schemas()):
            # strict: false, explicitly: an omitted `strict` lets the API force
            # every optional property into a required one (docs/models.md says why not strict).
            params["tools"] = [{**schema, "strict": False} for schema in schemas]
        if opts.cache_key:
            params["prompt_cache_key"] = opts.cache_key
        if opts.verbosity:
            params["text"] = {"verbosity": opts.verbosity}
        if opts.temperature is not None:
            params["temperature"] = opts.temperature
        if opts.max_output_tokens:
            params["max_output_tokens"] = opts.max_output_tokens
        if self.wants_reasoning():
            # Without storage, reasoning only survives between turns encrypted.
            params["include"] = ["reasoning.encrypted_content"]
            reasoning = {"effort": opts.reasoning_effort, "summary": self.reasoning_summary}
            if reasoning := {k: v for k, v in reasoning.items() if v}:
                params["reasoning"] = reasoning
        return params

    def _request(
        self,
        instructions: str,
        history: list[Message],
        tools: ToolSchemas | None,
        on_text: TextCallback,
        on_reasoning: TextCallback,
    ) -> ModelReply:
        params = self._params(instructions, history, tools)
        try:
            return self._send(params, on_text, on_reasoning)
        except openai.BadRequestError as exc:
            refused = _refuses(exc.message) if "include" in params else None
            if refused is None:
                raise
            if refused == "summary" and self.reasoning_summary:
                # Reasoning summaries need a verified organisation; do without them.
                self.reasoning_summary = None
            elif refused == "reasoning" and self.options.reasoning is None:
                _refused_reasoning.add((self.base_url, self.model))
                if self.on_retry:
                    self.on_retry(1, 0.0, f"{self.model} does not take reasoning parameters; going on without them")
            else:
                raise
            return self._send(self._params(instructions, history, tools), on_text, on_reasoning)

    def _send(self, params: dict[str, Any], on_text: TextCallback, on_reasoning: TextCallback) -> ModelReply:
        if not self.stream:
            return announce(self._settle(self._post(params, stream=False)), on_text, on_reasoning)
        final = None
        stream = self._post(params, stream=True)
        for event in stream:
            kind = event["type"]
            if kind == "response.output_text.delta":
                on_text(event["delta"])
            elif kind == "response.reasoning_summary_text.delta":
                on_reasoning(event["delta"])
            elif kind == "response.reasoning_summary_part.added" and event.get("summary_index"):
                on_reasoning("\n\n")  # summary parts are paragraphs
            elif kind in ("response.completed", "response.incomplete"):
                final = event["response"]
            elif kind == "response.failed":
                err = event["response"].get("error") or {}
                raise _stream_failure(err.get("code"), err.get("message") or "the response failed")
            elif kind == "error":
                raise _stream_failure(event.get("code"), event.get("message") or "the stream reported an error")
        if final is None:
            raise self._ended_early(stream)
        return self._settle(final)

    def _post(self, params: dict[str, Any], *, stream: bool) -> Any:
        """POST /responses through the SDK's client -- its auth, retries'
        errors and SSE decoding -- but not through its typed `responses`
        resource: importing that builds the whole Responses API model tree
        (about 0.3 s of CPU, most of the first request's delay on a fresh
        process) for replies of which we read a few fields. The response and
        the events come back as the JSON the server sent."""
        body = {**params, "stream": True} if stream else params
        return self.sdk.post("/responses", body=body, cast_to=object, stream=stream,
                             stream_cls=openai.Stream[object],
                             options={"security": {"bearer_auth": True}})  # as the resource sends it

    def _settle(self, response: Any) -> ModelReply:
        """The reply as the loop may trust it: arguments repaired where
        unambiguous, calls of a reply cut by max_output_tokens refused; an
        empty reply is a server failure, not an answer."""
        reply = parse_response(response)
        status = response.get("status")
        incomplete = status == "incomplete"
        reply.notices += settle_calls(reply.message.tool_calls, truncated=incomplete)
        if not reply.message.tool_calls and not reply.message.content.strip():
            said = f"status {status!r}" + (" (cut by max_output_tokens)" if incomplete else "")
            raise Retryable(ModelError(f"{self.base_url} sent an empty reply ({said})", "server"))
        return reply


def _stream_failure(code: str | None, message: str) -> ModelError | Retryable:
    if code == CONTEXT_OVERFLOW or is_overflow_text(message):
        return ModelError(f"the conversation is too long for the model: {one_line(message)}", "bad_request",
                          code=CONTEXT_OVERFLOW)
    error = ModelError(f"model server error: {one_line(message)}", "server", code=code)
    return Retryable(error) if code in (None, "server_error", "rate_limit_exceeded") else error


def responses_input(history: list[Message]) -> list[dict[str, Any]]:
    """The neutral history as Responses API input items."""
    items: list[dict[str, Any]] = []
    for m in history:
        if m.role == "user":
            items.append({"role": "user", "content": m.content})
        elif m.role == "tool":
            items.append({"type": "function_call_output", "call_id": m.tool_call_id, "output": m.content})
        elif any(item.get("type") in REPLAYED for item in m.provider_items):
            items.extend(_replayed(m))
        else:  # a reply from another wire format or an older trajectory
            items.extend(i for i in m.provider_items if i.get("type") == "reasoning")
            if m.content:
                items.append({"role": "assistant", "content": m.content})
            for c in m.tool_calls:
                items.append({"type": "function_call", "call_id": c.id, "name": c.name,
                              "arguments": sendable_arguments(c.arguments)})
    return items


REPLAYED = ("message", "function_call")


def _replayed(m: Message) -> list[dict[str, Any]]:
    """An assistant reply's output items in the order and with the ids the
    server gave them: a reasoning item must stay right before the item it led
    to, or the API refuses the request. Calls take their arguments from the
    message (repaired ones stay repaired); calls no longer in it are left out."""
    arguments = {c.id: c.arguments for c in m.tool_calls}
    items = []
    for item in m.provider_items:
        if item.get("type") == "function_call":
            if item.get("call_id") not in arguments:
                continue
            item = {**item, "arguments": sendable_arguments(arguments[item["call_id"]])}
        items.append(item)
    return items


def _input_item(item: dict[str, Any]) -> dict[str, Any] | None:
    """An output item as the input item that replays it, or None when it
    cannot be replayed (reasoning without encrypted content is useless
    without storage, and its bare id would be refused)."""
    kind = item.get("type")
    if kind == "reasoning":
        if not item.get("encrypted_content"):
            return None
        summary = [{"type": "summary_text", "text": s["text"]} for s in item.get("summary") or ()]
        return {"type": "reasoning", "id": item["id"], "summary": summary, "encrypted_content": item["encrypted_content"]}
    if kind == "message":
        content = [{"type": "output_text", "text": part["text"], "annotations": []} for part in _output_texts(item)]
        if not item.get("id"):
            return {"role": "assistant", "content": "".join(p["text"] for p in content)}
        return {"type": "message", "id": item["id"], "role": "assistant", "status": "completed", "content": content}
    if kind == "function_call":
        replay = {"type": "function_call", "call_id": item["call_id"], "name": item["name"],
                  "arguments": arguments_text(item.get("arguments"))}
        return {**replay, "id": item["id"]} if item.get("id") else replay
    return None


def _output_texts(item: dict[str, Any]) -> list[dict[str, Any]]:
    return [part for part in item.get("content") or () if part.get("type") == "output_text"]


def parse_response(response: dict[str, Any]) -> ModelReply:
    """A Responses API `Response`, as the JSON the server sent, as a ModelReply."""
    texts: list[str] = []
    summaries: list[str] = []
    calls: list[ToolCall] = []
    kept: list[dict[str, Any]] = []
    for item in response["output"]:  # none: not a Response (the caller says the server is not the API)
        kind = item.get("type")
        if kind == "message":
            texts.extend(part["text"] for part in _output_texts(item))
        elif kind == "function_call":
            calls.append(ToolCall(id=item["call_id"], name=item["name"], arguments=arguments_text(item.get("arguments"))))
        elif kind == "reasoning":
            summaries.extend(s["text"] for s in item.get("summary") or ())
        if (replay := _input_item(item)) is not None:
            kept.append(replay)
    usage = Usage()
    if used := response.get("usage"):
        details = used.get("input_tokens_details") or {}
        usage = Usage(
            input_tokens=used.get("input_tokens") or 0,
            cached_input_tokens=details.get("cached_tokens") or 0,
            output_tokens=used.get("output_tokens") or 0,
        )
    message = Message(role="assistant", content="".join(texts), tool_calls=calls, provider_items=kept)
    return ModelReply(message, usage, reasoning="\n\n".join(summaries), model=response.get("model") or "",
                      raw=response)
