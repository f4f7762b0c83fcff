"""The results folder of a batch:

    results.jsonl            one line per task (the latest run of it)
    patches/<id>.diff        the agent's diff, when it changed anything
    trajectories/<id>.jsonl  the recorded session
    preds.jsonl              SWE-bench predictions (with --swebench-preds)

Only the batch's own process writes here; results.jsonl is rewritten whole
through a temporary file as each task ends, so a crash or Ctrl-C leaves it
complete and a rerun knows exactly what is done. Tasks a stopped batch was
running are recorded as `interrupted`, and a rerun runs them again.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from agent.batch.tasks import safe_name

STATUSES = ("resolved", "failed", "budget", "error", "interrupted")
RETRIED = ("failed", "error", "budget")
UNFINISHED = "interrupted"  # the batch stopped while it ran: it runs again, like a task without a result


class Results:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out / "results.jsonl"
        self.records: dict[str, dict[str, Any]] = _read(self.path)

    def to_run(self, tasks: Iterable[dict[str, Any]], retry_failed: bool) -> list[dict[str, Any]]:
        """The tasks without a result, and with `retry_failed` those that did not succeed."""
        def wanted(task: dict[str, Any]) -> bool:
            done = self.records.get(task["id"])
            return (done is None or done.get("status") == UNFINISHED
                    or (retry_failed and done.get("status") in RETRIED))

        return [task for task in tasks if wanted(task)]

    def record(self, result: dict[str, Any]) -> dict[str, Any]:
        """Store a worker's result: its patch and trajectory as files, its line
        in results.jsonl (replacing an earlier one). Returns the line."""
        result = dict(result)
        name = safe_name(result["id"])
        patch = result.pop("patch_text", "") or ""
        trajectory = result.pop("trajectory_text", None)
        result["patch"] = self._write(f"patches/{name}.diff", patch) if patch else None
        result["trajectory"] = self._write(f"trajectories/{name}.jsonl", trajectory) if trajectory else None
        result["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.records[result["id"]] = result
        _atomic_write(self.path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.records.values()))
        return result

    def cost(self) -> float:
        return sum(r.get("cost") or 0.0 for r in self.records.values())

    def patch_text(self, record: dict[str, Any]) -> str:
        return (self.out / record["patch"]).read_text(encoding="utf-8") if record.get("patch") else ""

    def write_preds(self) -> Path:
        """preds.jsonl in the SWE-bench harness's format, one line per recorded task."""
        lines = [
            {"instance_id": r["id"], "model_name_or_path": r.get("model") or "codex-agent",
             "model_patch": self.patch_text(r)}
            for r in self.records.values()
        ]
        path = self.out / "preds.jsonl"
        _atomic_write(path, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
        return path

    def _write(self, rel: str, text: str) -> str:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, text)
        return rel


def _read(path: Path) -> dict[str, dict[str, Any]]:
    """id -> record; for an id listed twice (an older file appended by hand) the last wins."""
    records: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "id" in record:
            records[str(record["id"])] = record
    return records


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
