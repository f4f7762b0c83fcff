"""`codex-agent batch FILE`: run every task of FILE, a few at a time, into one
results folder, skipping what an earlier run of the same batch finished.

Exit codes: 0 when every task has a result that is not an error (tasks the
model failed still count: they are results), 3 when any task errored
(infrastructure: a bad repository, a failed clone or setup, a model server
error), 2 for a bad task file or executor, 130 when interrupted (Ctrl-C or
SIGTERM: finished tasks keep their results, running ones are stopped, their
working copies removed and their lines marked `interrupted`, and running the
same command again runs them).
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console

from agent.batch.executors import Executor, ExecutorUnavailable, make_executor
from agent.batch.paths import batches_dir
from agent.batch.results import Results
from agent.batch.tasks import TaskFileError, load_tasks
from agent.batch.view import BatchProgress, summary_table
from agent.batch.worker import INTERRUPTED, remove_leftovers, settings_dict
from agent.config import Settings
from agent.exit_codes import EXIT_BATCH_ERRORS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

POLL_SECONDS = 0.25
BATCH_RECORD = "batch.json"
STOP_GRACE_SECONDS = 60.0  # for running tasks to stop and clean up once the batch is interrupted
WORKER_FAILED = "worker failed: "


def batch_main(
    settings: Settings,
    file: Path,
    *,
    jobs: int,
    out: Path | None,
    retry_failed: bool,
    swebench_preds: bool,
    executor: str,
    address: str | None,
    max_cost: float | None,
    rpm: float | None = None,
    tpm: float | None = None,
    cpus_per_task: float = 1.0,
) -> int:
    try:
        tasks = load_tasks(file)
    except TaskFileError as exc:
        _say(f"codex-agent: {exc}")
        return EXIT_USAGE
    if jobs < 1:
        _say("codex-agent: -j must be at least 1")
        return EXIT_USAGE
    if settings.python:  # workers may run elsewhere: a path relative to here means here
        settings = dataclasses.replace(settings, python=str(Path(settings.python).expanduser().absolute()))
    out = (out or default_out(file)).resolve()
    out.mkdir(parents=True, exist_ok=True)
    _remember_task_file(out, file)
    results = Results(out)
    todo = results.to_run(tasks, retry_failed)
    _say(f"Batch of {len(tasks)} tasks, {len(todo)} to run; results in {out}")

    unstarted: list[dict[str, Any]] = []
    interrupted = False
    started = time.monotonic()
    if todo:
        try:
            pool = make_executor(executor, jobs=jobs, address=address, rpm=rpm, tpm=tpm, cpus_per_task=cpus_per_task)
        except ExecutorUnavailable as exc:
            _say(f"codex-agent: {exc}")
            return EXIT_USAGE
        if executor == "local":
            for folder in remove_leftovers():
                _say(f"removed a leftover of a killed batch: {folder}")
        signal.signal(signal.SIGTERM, _terminate)
        with BatchProgress(len(todo)) as view:
            try:
                unstarted = schedule(todo, pool, settings_dict(settings), results, view, jobs=jobs, max_cost=max_cost)
            except KeyboardInterrupt:
                interrupted = True

    records = [results.records[t["id"]] for t in tasks if t["id"] in results.records]
    if swebench_preds:
        _say(f"SWE-bench predictions: {results.write_preds()}")
    Console().print(summary_table(records, wall_time=time.monotonic() - started))
    if interrupted:
        _say("Interrupted. Run the same command again to continue where it stopped.")
        return EXIT_INTERRUPTED
    if unstarted:
        _say(f"--max-cost ${max_cost:.2f} reached (${results.cost():.4f} spent): {len(unstarted)} task(s) "
             "not started. Run again with a higher --max-cost to continue.")
    errors = [r["id"] for r in records if r.get("status") == "error"]
    if errors:
        _say(f"{len(errors)} task(s) errored (not a model miss: see 'message' in {results.path}): "
             f"{', '.join(errors[:10])}{' …' if len(errors) > 10 else ''}")
        return EXIT_BATCH_ERRORS
    return EXIT_OK


def schedule(
    todo: list[dict[str, Any]],
    pool: Executor,
    settings: dict[str, Any],
    results: Results,
    view: BatchProgress,
    *,
    jobs: int,
    max_cost: float | None,
) -> list[dict[str, Any]]:
    """Keep `jobs` tasks running, record each result as it arrives; stop
    starting tasks once the batch has spent `max_cost`. Returns the tasks
    never started."""
    queue = deque(todo)
    running: dict[Future, str] = {}
    try:
        while queue or running:
            while queue and len(running) < jobs and not (max_cost is not None and results.cost() >= max_cost):
                task = queue.popleft()
                running[pool.submit(task, settings)] = task["id"]
                view.started(task["id"])
            if not running:
                break
            done, _ = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for task_id, doing in pool.updates():
                view.update(task_id, doing)
            for future in done:
                task_id = running.pop(future)
                view.finished(results.record(_result(future, task_id)))
    except KeyboardInterrupt:
        view.say("Interrupted: stopping the running tasks…")
        with _signals_ignored():
            _stop_running(pool, running, results, view)
        raise
    pool.close()
    return list(queue)


def _stop_running(pool: Executor, running: dict[Future, str], results: Results, view: BatchProgress) -> None:
    """Stop the running tasks, record each as it comes back (`interrupted`,
    having removed its working copy), and mark those that never do."""
    pool.interrupt()
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while running and time.monotonic() < deadline:
        done, _ = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
        for future in done:
            task_id = running.pop(future)
            result = _result(future, task_id)
            if result["status"] == "error" and result["message"].startswith(WORKER_FAILED):
                result = _interrupted(task_id)
            view.finished(results.record(result))
    for task_id in running.values():
        results.record(_interrupted(task_id))
    pool.close(cancel=True)


def _interrupted(task_id: str) -> dict[str, Any]:
    return {"id": task_id, "status": "interrupted", "reason": "cancelled", "message": INTERRUPTED}


@contextmanager
def _signals_ignored() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM must not cut the recording of the results short."""
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _terminate(_number: int, _frame: Any) -> None:
    """SIGTERM (a timeout, a job scheduler) stops the batch as Ctrl-C does."""
    raise KeyboardInterrupt


def _result(future: Future, task_id: str) -> dict[str, Any]:
    """The worker's result; a worker that died (or a Ray failure) is the task's error."""
    try:
        return future.result()
    except Exception as exc:
        return {"id": task_id, "status": "error", "reason": "error", "message": f"{WORKER_FAILED}{exc!r}"}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def default_out(file: Path) -> Path:
    """The latest batch of this task file, so that rerunning the same command
    resumes it; a new timestamped folder under the state folder otherwise."""
    source = str(file.resolve())
    folders = sorted(batches_dir().glob("*/" + BATCH_RECORD), reverse=True) if batches_dir().is_dir() else []
    for record in folders:
        try:
            if json.loads(record.read_text(encoding="utf-8")).get("task_file") == source:
                return record.parent
        except (OSError, json.JSONDecodeError):
            continue
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder, n = batches_dir() / stamp, 1
    while folder.exists():
        n += 1
        folder = batches_dir() / f"{stamp}-{n}"
    return folder


def _remember_task_file(out: Path, file: Path) -> None:
    record = out / BATCH_RECORD
    if not record.exists():
        created = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        record.write_text(json.dumps({"task_file": str(file.resolve()), "created": created}) + "\n", encoding="utf-8")
