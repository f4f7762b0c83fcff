"""Where tasks run: worker processes on this machine, or Ray remote tasks on a
cluster. Both run the same `run_task`, give back concurrent.futures
Futures, and host one shared rate limiter and one progress queue:

- `LocalExecutor`: a ProcessPoolExecutor (spawn: no state inherited by
  accident) with the limiter and the queue in a multiprocessing manager.
- `RayExecutor`: `ray.remote(run_task)` with per-task resources, the limiter
  as a Ray actor and the queue a `ray.util.queue.Queue`.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.managers import SyncManager
from typing import Any, Protocol

from agent.batch.ratelimit import TokenBucket
from agent.batch.worker import run_task


class Executor(Protocol):
    def submit(self, task: dict[str, Any], settings: dict[str, Any]) -> Future: ...

    def updates(self) -> list[tuple[str, str]]: ...

    def interrupt(self) -> None:
        """Make the running tasks stop (they clean up and come back `interrupted`)."""

    def close(self, cancel: bool = False) -> None: ...


class ExecutorUnavailable(Exception):
    pass


class _Services(SyncManager):
    pass


_Services.register("TokenBucket", TokenBucket)


class LocalExecutor:
    def __init__(self, jobs: int, *, rpm: float | None = None, tpm: float | None = None) -> None:
        context = multiprocessing.get_context("spawn")
        self._services = _Services(ctx=context)
        self._services.start()
        self.limiter = self._services.TokenBucket(rpm, tpm)
        self._progress = self._services.Queue()
        self._pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_ignore_stop_signals)

    def submit(self, task: dict[str, Any], settings: dict[str, Any]) -> Future:
        return self._pool.submit(_interruptible_task, task, settings, self.limiter, self._progress)

    def updates(self) -> list[tuple[str, str]]:
        items = []
        while True:
            try:
                items.append(self._progress.get_nowait())
            except queue.Empty:
                return items

    def interrupt(self) -> None:
        # A SIGTERM may have reached the batch process alone (a job scheduler's
        # kill); the manager process ignores SIGINT, idle workers too.
        for child in multiprocessing.active_children():
            if child.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGINT)

    def close(self, cancel: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel)
        with contextlib.suppress(OSError, EOFError):  # a SIGTERM to the process group ended it already
            self._services.shutdown()


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _ignore_stop_signals() -> None:
    """An idle worker ignores Ctrl-C and SIGTERM (the batch process handles them)."""
    for number in _STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)


def _stop(_number: int, _frame: Any) -> None:
    """The first Ctrl-C or SIGTERM stops the task; more (the process group's
    and the batch's forwarded one) must not break its cleanup."""
    _ignore_stop_signals()
    raise KeyboardInterrupt


def _interruptible_task(*args: Any) -> dict[str, Any]:
    """A running task does get Ctrl-C and SIGTERM: the session stops and cleans up."""
    for number in _STOP_SIGNALS:
        signal.signal(number, _stop)
    try:
        return run_task(*args)
    finally:
        _ignore_stop_signals()


class RayExecutor:
    def __init__(self, address: str | None, *, rpm: float | None = None, tpm: float | None = None,
                 cpus_per_task: float = 1.0) -> None:
        try:
            import ray
            from ray.util.queue import Queue
        except ImportError as exc:
            raise ExecutorUnavailable("--executor ray needs Ray: pip install 'codex-agent[ray]'") from exc
        self._ray = ray
        try:
            ray.init(address=address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ExecutorUnavailable(f"cannot start or reach Ray at {address or 'a new local instance'}: {exc}") from exc
        self.limiter = RayLimiter(ray.remote(num_cpus=0)(TokenBucket).remote(rpm, tpm))
        self._progress = Queue(actor_options={"num_cpus": 0})
        self._remote = ray.remote(run_task).options(num_cpus=cpus_per_task, max_retries=0)
        self._refs: list[Any] = []

    def submit(self, task: dict[str, Any], settings: dict[str, Any]) -> Future:
        ref = self._remote.remote(task, settings, self.limiter, self._progress)
        self._refs.append(ref)
        return ref.future()

    def updates(self) -> list[tuple[str, str]]:
        waiting = self._progress.qsize()
        return self._progress.get_nowait_batch(waiting) if waiting else []

    def interrupt(self) -> None:
        for ref in self._refs:  # raises KeyboardInterrupt in a running task
            self._ray.cancel(ref)

    def close(self, cancel: bool = False) -> None:
        if cancel:
            self.interrupt()
        self._ray.shutdown()


class RayLimiter:
    """The Limiter interface over the TokenBucket actor, for Ray workers."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def reserve(self) -> float:
        import ray

        return ray.get(self.actor.reserve.remote())

    def spend(self, tokens: int) -> None:
        self.actor.spend.remote(tokens)

    def pause(self, seconds: float) -> None:
        self.actor.pause.remote(seconds)


def make_executor(kind: str, *, jobs: int, address: str | None, rpm: float | None, tpm: float | None,
                  cpus_per_task: float = 1.0) -> Executor:
    if kind == "local":
        return LocalExecutor(jobs, rpm=rpm, tpm=tpm)
    if kind == "ray":
        return RayExecutor(address, rpm=rpm, tpm=tpm, cpus_per_task=cpus_per_task)
    raise ExecutorUnavailable(f"unknown executor {kind!r}: use local or ray")
