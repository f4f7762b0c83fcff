"""`--json`: one JSON object per line on stdout, in the event vocabulary of
`codex exec --json` (thread.started, turn.*, item.* with agent_message,
reasoning, command_execution, file_change), so scripts written for it keep
working. Items Codex has no type for use our own: tool_call, test_run,
compaction, notice."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from agent.events import (
    Compacted,
    Event,
    ModelResponded,
    Notice,
    RunStarted,
    TestsRan,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    TurnStarted,
)
from tools import tool_named


class JsonLinesRenderer:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._next_id = 0
        self._ids: dict[str, str] = {}

    def __call__(self, event: Event) -> None:
        for record in self.records(event):
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()

    def records(self, event: Event) -> list[dict[str, Any]]:
        if isinstance(event, RunStarted):
            return [{"type": "thread.started", "thread_id": event.run_id}]
        if isinstance(event, TurnStarted):
            return [{"type": "turn.started"}]
        if isinstance(event, ModelResponded):
            items = []
            if event.reply.reasoning:
                items.append(self._completed({"type": "reasoning", "text": event.reply.reasoning}))
            if event.reply.message.content:
                items.append(self._completed({"type": "agent_message", "text": event.reply.message.content}))
            return items
        if isinstance(event, ToolStarted):
            return [{"type": "item.started", "item": self._tool_item(event, self._new_id(event.call_id))}]
        if isinstance(event, ToolFinished):
            item = self._tool_item(event, self._ids.pop(event.call_id, None) or self._new_id(event.call_id))
            return [{"type": "item.completed", "item": item}]
        if isinstance(event, TestsRan):
            return [self._completed({"type": "test_run", "status": "passed" if event.ok else "failed",
                                     **event.counts, "summary": event.summary, "scope": event.scope})]
        if isinstance(event, Compacted):
            return [self._completed({"type": "compaction", "tokens_before": event.tokens_before,
                                     "tokens_after": event.tokens_after})]
        if isinstance(event, Notice):
            return [self._completed({"type": "notice", "message": event.message})]
        if isinstance(event, TurnFinished):
            outcome = event.outcome
            usage = {
                "input_tokens": outcome.usage.input_tokens,
                "cached_input_tokens": outcome.usage.cached_input_tokens,
                "output_tokens": outcome.usage.output_tokens,
            }
            verification = outcome.verification.to_dict()
            if outcome.ok:
                return [{"type": "turn.completed", "usage": usage, "cost_usd": outcome.cost,
                         "verification": verification}]
            return [{"type": "turn.failed", "reason": outcome.reason, "error": {"message": outcome.message},
                     "usage": usage, "cost_usd": outcome.cost, "verification": verification}]
        return []

    def _new_id(self, call_id: str | None = None) -> str:
        """The next item id; a tool call's id is remembered for its completion."""
        item_id = f"item_{self._next_id}"
        self._next_id += 1
        if call_id is not None:
            self._ids[call_id] = item_id
        return item_id

    def _completed(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"type": "item.completed", "item": {"id": self._new_id(), **item}}

    @staticmethod
    def _tool_item(event: ToolStarted | ToolFinished, item_id: str) -> dict[str, Any]:
        finished = isinstance(event, ToolFinished)
        status = "in_progress" if not finished else ("completed" if event.ok else "failed")
        args = _arguments(event.arguments)
        tool = tool_named(event.name)
        if tool is not None and tool.command_arg is not None:
            command = str(args.get(tool.command_arg, "") or "")
            if tool.runs_project_code:
                command = f"{event.name} {command}".strip()
            return {
                "id": item_id, "type": "command_execution", "command": command,
                "aggregated_output": event.output if finished else "",
                "exit_code": _exit_code(event.data) if finished else None,
                "status": status,
            }
        if tool is not None and tool.edits_files:
            changes = event.data.get("changes", []) if finished else []
            if not changes and "path" in args:
                changes = [{"path": args["path"], "kind": "update"}]
            return {"id": item_id, "type": "file_change", "changes": changes, "status": status}
        item = {"id": item_id, "type": "tool_call", "name": event.name, "arguments": args, "status": status}
        if finished:
            item["output"] = event.output
        return item


def _exit_code(data: dict[str, Any]) -> int | None:
    if "exit_code" in data:
        return data["exit_code"]
    return data.get("tests", {}).get("exit_code")


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (json.JSONDecodeError, TypeError):
        return {"raw": raw}
    return value if isinstance(value, dict) else {"raw": raw}
