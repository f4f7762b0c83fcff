"""The Responses API client: the neutral history as input items, and the
streamed or whole `Response` back as a ModelReply."""

from __future__ import annotations

from typing import Any

import openai

from agent.messages import Message, ModelReply, ToolCall, Usage
from agent.model import (
    ModelError,
    OpenAIClient,
    Retryable,
    TextCallback,
    ToolSchemas,
    announce,
    arguments_text,
    dump,
    one_line,
)


def _reasoning_model(model: str) -> bool:
    name = model.rsplit("/", 1)[-1]
    return name.startswith(("gpt-5", "o1", "o3", "o4", "codex"))


class ResponsesClient(OpenAIClient):
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
            return announce(parse_response(self.sdk.responses.create(**params)), on_text, on_reasoning)
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


def _stream_failure(code: str | None, message: str) -> ModelError | Retryable:
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
            calls.append(ToolCall(id=item.call_id, name=item.name, arguments=arguments_text(item.arguments)))
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
    return ModelReply(message, usage, reasoning="\n\n".join(summaries), model=response.model, raw=dump(response))

