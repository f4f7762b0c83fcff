"""Compaction: when the history nears the context window, older turns are
replaced by a model-written summary.

The new history starts with one user message holding the original task
verbatim, the latest test status found in the replaced turns, and the
summary; the most recent turns follow unchanged. The cut never falls between
an assistant's tool calls and their results.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent.messages import Message
from agent.tokens import cap_tokens, context_window, count_tokens

if TYPE_CHECKING:
    from agent.model import ModelClient

SUMMARY_PREFIX = "[Summary of earlier work]"
KEEP_RECENT = 6  # messages kept verbatim (more to keep tool calls with their results, fewer when huge)
MESSAGE_OVERHEAD = 4  # tokens of role and framing per message
TASK_TOKENS = 8_000  # the task is kept verbatim up to this size
TEST_STATUS_TOKENS = 1_500
TRANSCRIPT_ITEM_TOKENS = 600  # per message or tool result in what the summariser reads

SUMMARY_REQUEST = """\
The transcript above is the earlier part of this coding session. It will be
replaced by your summary; the most recent turns are kept as they are. Write a
summary that lets the work continue without the transcript:

- what the user asked for, including every later request or correction;
- decisions made and why, and approaches that failed (so they are not retried);
- files read, created or changed, with the gist of each change;
- commands and test runs, and where things stand now;
- what remains to be done next.

Be factual and specific (paths, names, error messages); no preamble."""

_PYTEST_SUMMARY = re.compile(r"\b\d+ (passed|failed|errors?)\b|\bno tests ran\b")
_TASK_BLOCK = re.compile(r"<task>\n(.*?)\n</task>", re.S)
_TESTS_BLOCK = re.compile(r"<latest-tests>\n(.*?)\n</latest-tests>", re.S)


def message_tokens(message: Message, model: str | None = None) -> int:
    n = MESSAGE_OVERHEAD + count_tokens(message.content, model)
    for call in message.tool_calls:
        n += MESSAGE_OVERHEAD + count_tokens(call.name, model) + count_tokens(call.arguments, model)
    return n


def history_tokens(instructions: str, history: list[Message], model: str | None = None) -> int:
    """Tokens a request with these instructions and this history will take."""
    return count_tokens(instructions, model) + sum(message_tokens(m, model) for m in history)


def compact(
    client: "ModelClient",
    instructions: str,
    history: list[Message],
    *,
    keep_recent: int = KEEP_RECENT,
    window: int | None = None,
) -> tuple[list[Message], str]:
    """The compacted history and the summary text.

    The last `keep_recent` messages stay verbatim, fewer when they alone
    would fill a quarter of the context window. The summariser gets the
    agent's own instructions (it should know the project's rules, and an
    unchanged prefix lets the provider reuse its prompt cache) and the older
    turns as one transcript, capped to half the window. Model errors
    propagate: the caller keeps the full history.
    """
    model = getattr(client, "model", None)
    window = window or context_window(model or "")
    split = _split_point(history, keep_recent, window // 4, model)
    if split == 0:
        return history, ""
    old, recent = history[:split], history[split:]
    transcript = cap_tokens(_transcript(old, model), window // 2, model)
    request = Message(role="user", content=f"<transcript>\n{transcript}\n</transcript>\n\n{SUMMARY_REQUEST}")
    reply = client.complete(instructions, [request], None)
    summary = reply.message.content.strip()
    head = Message(role="user", content=_summary_message(original_task(history), latest_test_status(old), summary))
    return [head, *recent], summary


def original_task(history: list[Message]) -> str:
    """The first thing the user asked, recovered from an earlier summary if need be."""
    first = next((m for m in history if m.role == "user"), None)
    if first is None:
        return ""
    if first.content.startswith(SUMMARY_PREFIX):
        found = _TASK_BLOCK.search(first.content)
        return found.group(1) if found else ""
    return first.content


def latest_test_status(history: list[Message]) -> str:
    """The most recent test outcome in `history`, or "" when tests never ran."""
    call_names = {c.id: c.name for m in history for c in m.tool_calls}
    for message in reversed(history):
        if message.content.startswith(SUMMARY_PREFIX):
            found = _TESTS_BLOCK.search(message.content)
            if found:
                return found.group(1)
            continue
        from_test_tool = message.role == "tool" and call_names.get(message.tool_call_id or "") == "run_tests"
        if from_test_tool or (message.role != "assistant" and _PYTEST_SUMMARY.search(message.content)):
            return cap_tokens(message.content.strip(), TEST_STATUS_TOKENS)
    return ""


def _split_point(history: list[Message], keep_recent: int, max_recent_tokens: int, model: str | None) -> int:
    """Where the kept part starts: never at a tool result (it must stay with
    the assistant message that called for it), and later when the kept part
    is too big, as long as something is left to keep."""
    starts = [i for i, m in enumerate(history) if m.role != "tool"]  # where a kept part may begin
    split = max(len(history) - keep_recent, 0)
    split = max((i for i in starts if i <= split), default=0)
    sizes = [message_tokens(m, model) for m in history]
    later = [i for i in starts if i > split]
    while later and sum(sizes[split:]) > max_recent_tokens:
        split = later.pop(0)
    return split


def _transcript(messages: list[Message], model: str | None) -> str:
    call_names = {c.id: c.name for m in messages for c in m.tool_calls}
    parts = []
    for m in messages:
        if m.role == "tool":
            label = f"[tool result: {call_names.get(m.tool_call_id or '', 'unknown tool')}]"
        else:
            label = f"[{m.role}]"
        if m.content.strip():
            parts.append(f"{label}\n{cap_tokens(m.content.strip(), TRANSCRIPT_ITEM_TOKENS, model)}")
        for call in m.tool_calls:
            parts.append(f"[tool call: {call.name}] {cap_tokens(call.arguments, TRANSCRIPT_ITEM_TOKENS, model)}")
    return "\n\n".join(parts)


def _summary_message(task: str, tests: str, summary: str) -> str:
    tests_block = f"<latest-tests>\n{tests}\n</latest-tests>" if tests else "No test run in the earlier work."
    return (
        f"{SUMMARY_PREFIX}\n"
        "Earlier turns of this session were replaced by this summary. The original task, verbatim:\n"
        f"<task>\n{cap_tokens(task, TASK_TOKENS)}\n</task>\n\n"
        f"Latest test status from the earlier work:\n{tests_block}\n\n"
        f"Summary:\n{summary}"
    )
