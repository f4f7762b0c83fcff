"""What compatible servers send instead of clean tool calls, made usable.

Models served by Ollama, vLLM or llama.cpp without a matching tool parser
write their calls as text (Hermes `<tool_call>`, a fenced JSON object,
Llama's `<|python_tag|>`, Mistral's `[TOOL_CALLS]`), wrap arguments in
```json fences, or think aloud in `<think>` blocks. This module turns such
text into calls and reasoning, repairs arguments when the repair is
unambiguous, and makes sure whatever goes back to a server is valid JSON: a
malformed argument string sent back verbatim makes vLLM refuse the whole
conversation (400) and llama-server fail (500).
"""

from __future__ import annotations

import json
import re
from typing import Any

from agent.messages import ToolCall

TRUNCATED = ("not executed: your reply was cut off at the output-token limit while writing this call, so its "
             "arguments are incomplete. Make smaller changes: one edit or a short file per call.")

_FENCE = re.compile(r"^\s*```[\w-]*\s*\n?(.*?)\n?\s*```\s*$", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_THINK = re.compile(r"<think>(.*?)(?:</think>|\Z)", re.S)

# Text forms of a call, each capturing the JSON that names the tool.
_CALL_FORMS = (
    re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|\Z)", re.S),  # Hermes, Qwen
    re.compile(r"```(?:json|tool_call|tool_code)?\s*\n(\{.*?\})\s*\n?```", re.S),  # ollama/ollama#11185
    re.compile(r"<\|python_tag\|>\s*(\{.*\})", re.S),  # Llama 3.x
    re.compile(r"\[TOOL_CALLS\]\s*(\[.*\]|\{.*\})", re.S),  # Mistral
    re.compile(r"<function_call>\s*(\{.*?\})\s*</function_call>", re.S),
)


def repair_arguments(raw: str) -> str | None:
    """`raw` as the JSON text of an object, or None when it cannot be read
    without guessing. Repairs: ```json fences around it, trailing commas.
    Empty arguments stay empty (no arguments)."""
    if not raw.strip():
        return raw
    candidates = [raw]
    if fenced := _FENCE.match(raw):
        candidates.append(fenced.group(1))
    candidates += [_TRAILING_COMMA.sub(r"\1", c) for c in candidates]
    for i, text in enumerate(candidates):
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return raw if i == 0 else json.dumps(value)
    return None


def settle_calls(calls: list[ToolCall], truncated: bool) -> list[str]:
    """Repair the calls' arguments where unambiguous and refuse every call of
    a reply cut by the output limit (its arguments are incomplete, whatever
    they parse as). Returns the notices for the transcript."""
    notices = []
    for call in calls:
        repaired = repair_arguments(call.arguments)
        if repaired is not None and repaired != call.arguments:
            notices.append(f"repaired the arguments of {call.name} (code fences or a trailing comma)")
            call.arguments = repaired
        if truncated:
            call.refusal = TRUNCATED
    if truncated and calls:
        notices.append("the reply was cut off at the output-token limit mid-call; the call was not run")
    return notices


def sendable_arguments(raw: str) -> str:
    """Arguments as they may go back to a server: valid JSON whatever the
    model sent. What could not be read goes back as a string inside an
    object, so the model still sees what it wrote."""
    if not raw.strip():
        return "{}"
    try:
        json.loads(raw)
        return raw
    except json.JSONDecodeError:
        return json.dumps({"invalid_json": raw[:4000]})


def split_think(content: str) -> tuple[str, str]:
    """(answer, reasoning): `<think>` blocks (an unclosed one runs to the end)
    taken out of the answer."""
    if "<think>" not in content:
        return content, ""
    thoughts = [m.strip() for m in _THINK.findall(content)]
    return _THINK.sub("", content).strip(), "\n\n".join(t for t in thoughts if t)


def text_tool_calls(content: str, tool_names: set[str]) -> tuple[str, list[tuple[str, str]]]:
    """Tool calls written as text: (the text without them, [(name, arguments)]).

    Only calls naming a known tool count, so a JSON example in an answer is
    left alone. A reply that is nothing but a JSON object with a tool name
    and arguments is a call too."""
    for form in _CALL_FORMS:
        calls: list[tuple[str, str]] = []
        rest = content
        for match in form.finditer(content):
            found = _calls_in(match.group(1), tool_names)
            if found:
                calls += found
                rest = rest.replace(match.group(0), "", 1)
        if calls:
            return rest.strip(), calls
    bare = _calls_in(content.strip(), tool_names) if content.strip().startswith(("{", "[")) else []
    return ("", bare) if bare else (content, [])


def _calls_in(text: str, tool_names: set[str]) -> list[tuple[str, str]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        fixed = repair_arguments(text)
        if fixed is None:
            return []
        value = json.loads(fixed)
    objects = value if isinstance(value, list) else [value]
    calls = []
    for obj in objects:
        call = _as_call(obj, tool_names)
        if call is None:
            return []
        calls.append(call)
    return calls


def _as_call(obj: Any, tool_names: set[str]) -> tuple[str, str] | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # {"type": "function", "function": {...}}
        obj = obj["function"]
    name = obj.get("name")
    if name not in tool_names:
        return None
    arguments = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(arguments, str):
        return name, repair_arguments(arguments) or arguments
    return name, json.dumps(arguments if arguments is not None else {})
