"""The Chat Completions client: the neutral history as chat messages, and
the whole or streamed (assembled from chunks) completion back as a ModelReply.

Compatible servers stray from OpenAI's behaviour in ways users meet daily;
`ChatClient._settle` turns what they send into what the loop can trust (see
`agent.tool_text` for calls written as text and repaired arguments)."""

from __future__ import annotations

import json
import secrets
from typing import Any

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
    is_openai,
)
from agent.sdk import openai
from agent.tool_text import sendable_arguments, settle_calls, split_think, text_tool_calls


class ChatClient(OpenAIClient):
    """The Chat Completions API: every OpenAI-compatible server (Ollama, vLLM,
    llama.cpp, LM Studio, OpenRouter, Azure)."""

    api = "chat"

    def _params(self, instructions: str, history: list[Message], schemas: list[dict[str, Any]]) -> dict[str, Any]:
        opts = self.options
        messages = chat_messages(instructions, history, reasoning_content=opts.reasoning_content)
        params: dict[str, Any] = {"model": self.model, "messages": messages}
        if schemas:
            params["tools"] = schemas
        if opts.temperature is not None:
            params["temperature"] = opts.temperature
        if opts.reasoning_effort:
            params["reasoning_effort"] = opts.reasoning_effort
        if opts.verbosity:
            params["verbosity"] = opts.verbosity
        openai_itself = is_openai(self.base_url)
        if opts.max_output_tokens:
            # OpenAI's reasoning models refuse max_tokens; most local servers only know it.
            params["max_completion_tokens" if openai_itself else "max_tokens"] = opts.max_output_tokens
        if opts.cache_key and openai_itself:
            params["prompt_cache_key"] = opts.cache_key
        return params

    def _request(
        self,
        instructions: str,
        history: list[Message],
        tools: ToolSchemas | None,
        on_text: TextCallback,
        on_reasoning: TextCallback,
    ) -> ModelReply:
        schemas = tools.chat_schemas() if tools is not None else []
        params = self._params(instructions, history, schemas)
        names = {s["function"]["name"] for s in schemas}
        if not self.stream:
            completion = self.sdk.chat.completions.create(**params)
            if completion.choices == []:
                raise Retryable(ModelError(f"{self.base_url} sent a reply with no choices", "server"))
            finish = completion.choices[0].finish_reason if completion.choices else None
            reply = self._settle(parse_completion(completion), finish, params, names)
            return announce(reply, on_text, on_reasoning)
        stream = self.sdk.chat.completions.create(**params, stream=True, stream_options={"include_usage": True})
        assembler = _ChunkAssembler(on_text, on_reasoning)
        for chunk in stream:
            assembler.add(chunk)
        assembler.flush()
        if assembler.finish_reason is None:
            if not assembler.received:
                raise self._ended_early(stream)
            # vLLM and others end some streams with [DONE] and no finish_reason.
            assembler.finish_reason = "tool_calls" if assembler.calls else "stop"
        return self._settle(parse_completion(assembler.completion()), assembler.finish_reason, params, names)

    def _settle(self, reply: ModelReply, finish: str | None, params: dict[str, Any], names: set[str]) -> ModelReply:
        """The reply as the loop may trust it: thinking out of the answer,
        calls written as text made calls, arguments repaired where
        unambiguous, calls cut by the output limit refused, usage estimated
        when missing. An empty reply is a server failure, not an answer."""
        message = reply.message
        content, thought = split_think(message.content)
        reasoning = "\n\n".join(t for t in (reply.reasoning, thought) if t)
        calls = list(message.tool_calls)
        if not calls and names:
            content, found = text_tool_calls(content, names)
            calls = [ToolCall(f"call_{secrets.token_hex(6)}", name, args) for name, args in found]
            if found:
                reply.notices.append(f"the model wrote {len(found)} tool call(s) as text; running them as calls")
        reply.notices += settle_calls(calls, truncated=finish == "length")
        if not calls and not content.strip():
            raise Retryable(ModelError(f"{self.base_url} sent an empty reply (finish_reason {finish!r})", "server"))
        items = [{"type": "reasoning_content", "text": reasoning}] if reasoning else []
        reply.message = Message(role="assistant", content=content, tool_calls=calls, provider_items=items)
        reply.reasoning = reasoning
        if not reply.usage.input_tokens and not reply.usage.output_tokens:
            reply.usage = _estimated_usage(params, reply, self.model)
        return reply


def _estimated_usage(params: dict[str, Any], reply: ModelReply, model: str) -> Usage:
    """Usage the server did not report, counted with the tokenizer: without it
    the budget (--max-tokens) and compaction would see nothing spent."""
    from agent.tokens import count_tokens

    sent = json.dumps(params["messages"]) + json.dumps(params.get("tools", []))
    m = reply.message
    produced = m.content + reply.reasoning + "".join(c.name + c.arguments for c in m.tool_calls)
    return Usage(count_tokens(sent, model), 0, count_tokens(produced, model), estimated=True)


def chat_messages(
    instructions: str, history: list[Message], *, reasoning_content: bool = False
) -> list[dict[str, Any]]:
    """The instructions and neutral history as Chat Completions messages.
    Arguments go back as valid JSON whatever the model wrote; the reasoning
    goes back on assistant messages only when asked (`reasoning_content`: not
    in the OpenAI schema, required by DeepSeek's thinking mode)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": instructions}]
    for m in history:
        if m.role == "tool":
            messages.append({"role": "tool", "tool_call_id": m.tool_call_id, "content": m.content})
            continue
        message: dict[str, Any] = {"role": m.role, "content": m.content}
        if m.role == "assistant" and m.tool_calls:
            message["content"] = m.content or None
            message["tool_calls"] = [
                {"id": c.id, "type": "function",
                 "function": {"name": c.name, "arguments": sendable_arguments(c.arguments)}}
                for c in m.tool_calls
            ]
        if m.role == "assistant" and reasoning_content:
            thought = "".join(i["text"] for i in m.provider_items if i.get("type") == "reasoning_content")
            if thought:
                message["reasoning_content"] = thought
        messages.append(message)
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


class _TagFilter:
    """Streamed text with `<think>` blocks routed to the reasoning callback and
    `<tool_call>` blocks held back (they become calls, not answer text), also
    when a tag is split across chunks."""

    def __init__(self, on_text: TextCallback, on_reasoning: TextCallback) -> None:
        self.on_text = on_text
        self.blocks: dict[str, tuple[str, TextCallback]] = {
            "<think>": ("</think>", on_reasoning),
            "<tool_call>": ("</tool_call>", lambda _text: None),
        }
        self.inside: tuple[str, TextCallback] | None = None  # (closing tag, where the block's text goes)
        self.pending = ""

    def feed(self, text: str) -> None:
        self.pending += text
        while self.pending:
            tags = [self.inside[0]] if self.inside else list(self.blocks)
            found = [(self.pending.find(tag), tag) for tag in tags if tag in self.pending]
            if found:
                at, tag = min(found)
                self._emit(self.pending[:at])
                self.pending = self.pending[at + len(tag):]
                self.inside = None if self.inside else self.blocks[tag]
                continue
            # Hold back what may be the start of a tag.
            keep = max((n for tag in tags for n in range(1, min(len(tag), len(self.pending) + 1))
                        if tag.startswith(self.pending[-n:])), default=0)
            self._emit(self.pending[: len(self.pending) - keep])
            self.pending = self.pending[len(self.pending) - keep:]
            break

    def flush(self) -> None:
        self._emit(self.pending)
        self.pending = ""

    def _emit(self, text: str) -> None:
        if text:
            (self.inside[1] if self.inside else self.on_text)(text)


class _ChunkAssembler:
    """Builds one chat completion from its stream chunks, passing text on as it comes."""

    def __init__(self, on_text: TextCallback, on_reasoning: TextCallback) -> None:
        self.head: dict[str, Any] = {}
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.calls: list[dict[str, str]] = []
        self.slots: dict[int, int] = {}  # the stream's call index -> position in self.calls
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.received = False  # any content, reasoning or call at all
        self.on_reasoning = on_reasoning
        self.filter = _TagFilter(on_text, on_reasoning)

    def add(self, chunk: Any) -> None:
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
            self.received = True
            self.reasoning.append(thought)
            self.on_reasoning(thought)
        if delta.content:
            self.received = True
            self.text.append(delta.content)
            self.filter.feed(delta.content)
        for piece in delta.tool_calls or []:
            self.received = True
            call = self.calls[self._slot(piece)]
            call["id"] = call["id"] or piece.id or ""
            if piece.function:
                # Servers that repeat the name in every chunk must not get it doubled.
                call["name"] = call["name"] or piece.function.name or ""
                call["arguments"] += arguments_text(piece.function.arguments)

    def _slot(self, piece: Any) -> int:
        """Which call a tool-call chunk continues. A new non-empty id starts a
        new call even when the index repeats (vLLM and lmdeploy restart at 0
        for parallel calls); without an index, a chunk without id continues
        the last call."""
        index = piece.index
        current = self.slots.get(index) if index is not None else (len(self.calls) - 1 if self.calls else None)
        if current is None or (piece.id and self.calls[current]["id"] and piece.id != self.calls[current]["id"]):
            self.calls.append({"id": "", "name": "", "arguments": ""})
            current = len(self.calls) - 1
            if index is not None:
                self.slots[index] = current
        return current

    def flush(self) -> None:
        self.filter.flush()

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
                for i, c in enumerate(self.calls)
            ]
        choice = {"index": 0, "message": message, "finish_reason": self.finish_reason}
        body = {**self.head, "object": "chat.completion", "choices": [choice]}
        if self.usage:
            body["usage"] = self.usage
        return body
