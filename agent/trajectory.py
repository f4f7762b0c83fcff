"""The trajectory: one JSON object per line, appended and flushed as events
happen, so a crash loses nothing. Every model response is kept verbatim;
`codex-agent replay` feeds them back through the loop."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from agent.events import (
    Compacted,
    Event,
    ModelResponded,
    Notice,
    RunStarted,
    TestsRan,
    ToolFinished,
    TurnFinished,
    TurnStarted,
)
from agent.messages import ModelReply

_RECORDED = (RunStarted, TurnStarted, ModelResponded, ToolFinished, TestsRan, Compacted, Notice, TurnFinished)


class TrajectoryWriter:
    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: TextIO = path.open("a", encoding="utf-8")
        self._write({"type": "meta", **meta})

    def __call__(self, event: Event) -> None:
        if not isinstance(event, _RECORDED):
            return
        if isinstance(event, ModelResponded):
            record = {"type": "model_response", "step": event.step, "cost": event.cost, "reply": event.reply.to_dict()}
        else:
            record = {"type": _snake(type(event).__name__), **_plain(asdict(event))}
        self._write(record)

    def _write(self, record: dict[str, Any]) -> None:
        record["time"] = round(time.time(), 3)
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_trajectory(path: Path) -> list[dict[str, Any]]:
    """Every record; a line cut short by a crash is skipped, not fatal."""
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def recorded_replies(records: list[dict[str, Any]]) -> list[ModelReply]:
    return [ModelReply.from_dict(r["reply"]) for r in records if r.get("type") == "model_response"]


def recorded_prompts(records: list[dict[str, Any]]) -> list[str]:
    return [r["prompt"] for r in records if r.get("type") == "turn_started"]


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _plain(value: Any) -> Any:
    """JSON-safe copy: anything unknown (paths, sets) becomes text."""
    return json.loads(json.dumps(value, default=str))
