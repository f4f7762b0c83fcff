"""Records of working copies, so an interrupted or kept run can be found again.

Each run has `worktrees/<id>.json` beside its working copy in the state
folder. The record names the process that owns the run; a record whose owner
is gone is an interrupted run.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox.state import worktrees_dir


@dataclass
class RunInfo:
    id: str
    source: Path
    created: datetime
    kind: str  # "git" | "copy"
    state: str  # "active" (its process is running) | "interrupted" | "kept"
    task: str | None
    path: Path | None  # the working copy, or a kept run's patch file; None when kept as a branch
    branch: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def record_path(run_id: str) -> Path:
    return worktrees_dir() / f"{run_id}.json"


def read_record(run_id: str) -> dict[str, Any]:
    path = record_path(run_id)
    if not path.exists():
        raise FileNotFoundError(f"no saved run with id {run_id!r} (looked for {path})")
    return json.loads(path.read_text())


def write_record(record: dict[str, Any]) -> None:
    path = record_path(record["id"])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str))
    tmp.replace(path)  # atomic: a crash never leaves half a record


def delete_record(run_id: str) -> None:
    record_path(run_id).unlink(missing_ok=True)


def owner_stamp() -> dict[str, Any]:
    """Who owns a run: pid plus the process start time, because pids are reused."""
    return {"pid": os.getpid(), "pid_start": _start_time(os.getpid())}


def list_runs() -> list[RunInfo]:
    """Every run that was neither applied nor discarded, oldest first."""
    runs = []
    for path in sorted(worktrees_dir().glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a foreign or damaged file is not a run
        runs.append(_info(record))
    return sorted(runs, key=lambda run: run.created)


def _info(record: dict[str, Any]) -> RunInfo:
    started = record.get("pid_start")
    if record.get("kept"):
        state = "kept"
    elif started is not None and _start_time(record["pid"]) == started:
        state = "active"
    else:
        state = "interrupted"
    meta = record.get("meta") or {}
    return RunInfo(
        id=record["id"],
        source=Path(record["source"]),
        created=datetime.fromisoformat(record["created"]),
        kind=record["kind"],
        state=state,
        task=meta.get("task"),
        path=_where_the_work_is(record),
        branch=record.get("branch"),
        meta=meta,
    )


def _where_the_work_is(record: dict[str, Any]) -> Path | None:
    if not record.get("kept"):
        return Path(record["root"])
    return Path(record["kept_at"]) if record["kind"] == "copy" else None


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 (starttime); the command name in field 2 may contain spaces.
    return stat.rsplit(")", 1)[1].split()[19]
