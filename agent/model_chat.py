"""The Chat Completions client: the neutral history as chat messages, and
the whole or streamed (assembled from chunks) completion back as a ModelReply."""

from __future__ import annotations

from typing import Any

import openai

from agent.messages import Message, ModelReply, ToolCall, Usage
from agent.model import OpenAIClient, TextCallback, ToolSchemas, announce, arguments_text, dump


class ChatClient(OpenAIClient):
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
            return announce(parse_completion(self.sdk.chat.completions.create(**params)), on_text, on_reasoning)
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
        ToolCall(id=c.id or f"call_{i}", name=c.function.name, arguments=arguments_text(c.function.arguments))
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
        raw=dump(completion),
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
            self.usage = dump(chunk.usage)
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
                call["arguments"] += arguments_text(piece.function.arguments)

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
