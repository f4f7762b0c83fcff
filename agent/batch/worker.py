"""One task from start to finish, in whichever process or machine runs it.

`run_task` is top level and takes and returns plain dicts, so a process pool
or Ray can ship it anywhere codex-agent is installed. It checks the
repository out into a scratch folder, prepares the task's environment
(`env_setup`, see envs.py), runs the setup commands and the agent
in a Session (the result stays a diff: nothing is applied anywhere), judges
SWE-bench-style tasks in a fresh checkout, and hands back the status, the
counts, the patch and the trajectory; the caller writes the files.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable

from agent.batch.checkout import CheckoutError, checkout
from agent.batch.envs import prepare_env
from agent.batch.judge import JudgeError, SetupError, judge, python_prefix, run_setup
from agent.batch.paths import cache_dir
from agent.batch.ratelimit import Limiter, ThrottledClient, pause_on_rate_limit
from agent.batch.tasks import is_judged, is_url, safe_name
from agent.config import Settings
from agent.events import Event, ModelRequested, Notice, TestsRan, ToolStarted
from agent.model import ModelError, client_for
from agent.session import Session, SessionError
from sandbox.git import git_dirs
from sandbox.python_env import find_venv
from sandbox.state import worktrees_dir

# Faults of the infrastructure, reported as the task's error without a traceback.
_KNOWN_FAULTS = (CheckoutError, SetupError, JudgeError, ModelError, SessionError)
INTERRUPTED = "interrupted before it finished; running the batch again runs it"
RUN_PREFIX = "batch-"  # of the working copies' run ids
_ALIVE = ".alive"


def settings_dict(settings: Settings) -> dict[str, Any]:
    """Settings as a plain dict that pickles and crosses machines."""
    values = {k: v for k, v in asdict(settings).items() if k != "sources"}
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in values.items()}


def run_task(
    task: dict[str, Any], settings: dict[str, Any], limiter: Limiter | None = None, progress: Any = None
) -> dict[str, Any]:
    """Run one task; never raises (an interruption makes it `interrupted`).
    `limiter` is the batch's shared rate limit, `progress` a queue that gets
    (task id, what the agent is doing) pairs."""
    started = time.monotonic()
    scratch = cache_dir() / "work"
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{safe_name(task['id'])}-", dir=scratch))
    alive = (work / _ALIVE).open("w")  # locked while this task runs: see remove_leftovers
    fcntl.flock(alive, fcntl.LOCK_EX)
    result: dict[str, Any] = {
        "id": task["id"], "model": task["model"] or settings["model"], "steps": 0, "input_tokens": 0,
        "cached_input_tokens": 0, "output_tokens": 0, "cost": 0.0, "judge": None,
    }
    try:
        result.update(_run(task, settings, work, limiter, _reporter(task["id"], progress)))
    except KeyboardInterrupt:  # the batch is stopping: cleaned up below, run again next time
        result.update(status="interrupted", reason="cancelled", message=INTERRUPTED)
    except _KNOWN_FAULTS as exc:
        result.update(status="error", reason="error", message=str(exc))
    except Exception as exc:  # a bug or an unexpected fault must not take the batch down
        result.update(status="error", reason="error", message=f"{type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc(limit=-8))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        alive.close()
    result["wall_time"] = round(time.monotonic() - started, 2)
    return result


def remove_leftovers() -> list[str]:
    """Remove what tasks killed outright (SIGKILL, a crash) left on this
    machine: scratch folders whose lock no live task holds, and the working
    copies made from them. Returns the folders removed."""
    removed = []
    for folder in sorted((cache_dir() / "work").glob("*/")):
        try:
            handle = (folder / _ALIVE).open("r+")
        except OSError:  # no lock yet: a task is just starting there
            continue
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(str(folder))
    for copy in sorted(worktrees_dir().glob(f"{RUN_PREFIX}*/")):
        # Its repository was in a scratch folder removed above.
        if (copy / ".git").is_file() and not git_dirs(copy)[0].exists():
            shutil.rmtree(copy, ignore_errors=True)
            removed.append(str(copy))
    for record in worktrees_dir().glob(f"{RUN_PREFIX}*.json"):
        if not record.with_suffix("").exists():
            record.unlink(missing_ok=True)
    return removed


def _run(task: dict[str, Any], settings: dict[str, Any], work: Path, limiter: Limiter | None,
         report: Callable[[str], None]) -> dict[str, Any]:
    config = task_settings(settings, task, work / "trajectory.jsonl")
    if config.python:
        python_prefix(config.python)  # a wrong environment is found before the model is paid
    report("checking out")
    source = checkout(task["repo"], task["base_commit"], work / "repo")
    env = prepare_env(task, source, config.python, config.sandbox, report) if task["env_setup"] else None
    if env is not None:
        config.python = str(env.python)
    client = task_client(config, limiter, report)
    run_id = f"{RUN_PREFIX}{re.sub(r'[^A-Za-z0-9_-]', '_', safe_name(task['id']))}-{secrets.token_hex(3)}"
    session = Session(config, source, [_listener(report)], client=client, run_id=run_id, focus=task["task"],
                      persist=False, shown_at=env.folder if env else None)
    try:
        if env is not None:
            session.bus(Notice(f"environment {'built' if env.built else 'reused'}: {env.python}"))
        if task["setup"]:
            report("setup")
            run_setup(session.runner, task["setup"])
            session.bus(Notice(f"setup done: {'; '.join(task['setup'])}"))
            _start_after_setup(session.workspace)
        outcome = session.run(task["task"])
        patch = session.workspace.diff()
    finally:
        session.workspace.discard()
        session.close()
    verdict = None
    if is_judged(task) and outcome.reason in ("done", "budget", "stuck"):
        report("judging")
        verdict = judge(task, patch, work / "judge", sandbox=config.sandbox, python=config.python,
                        shown_at=env.folder if env else None)
    status = status_of(outcome.reason, outcome.tests_ok, verdict)
    return {
        "status": status,
        "reason": outcome.reason,
        "message": message_of(status, outcome.message, verdict),
        "verification": outcome.verification.to_dict(),
        "model": client.model,
        "steps": outcome.steps,
        "input_tokens": outcome.usage.input_tokens,
        "cached_input_tokens": outcome.usage.cached_input_tokens,
        "output_tokens": outcome.usage.output_tokens,
        "cost": outcome.cost,
        "judge": verdict,
        "patch_text": patch,
        "trajectory_text": config.trajectory.read_text(encoding="utf-8"),
    }


def status_of(reason: str, tests_ok: bool | None, verdict: dict[str, Any] | None) -> str:
    """resolved | failed | budget | error | interrupted. A judged task is
    resolved by its verdict even when a limit stopped the agent: the patch is
    what counts."""
    if reason == "cancelled":
        return "interrupted"
    if reason not in ("done", "budget", "stuck"):  # stuck: the model's failure, not the batch's
        return "error"
    if verdict is not None and verdict["resolved"]:
        return "resolved"
    if reason == "budget":
        return "budget"
    if verdict is not None or tests_ok is False:
        return "failed"
    return "resolved"


def message_of(status: str, session_message: str, verdict: dict[str, Any] | None) -> str:
    """The result's one line, never at odds with its status: for a judged
    task the verdict's reason (the session's own "tests pass" was about the
    tests it could see), after the limit that stopped the agent if one did."""
    if status == "interrupted":
        return INTERRUPTED
    if verdict is None:
        return session_message
    return verdict["reason"] if status in ("resolved", "failed") else f"{session_message}; judged: {verdict['reason']}"


def task_settings(settings: dict[str, Any], task: dict[str, Any], trajectory: Path) -> Settings:
    values = {**settings, "trajectory": trajectory, "apply": False}
    values["api_key"] = values.get("api_key") or os.environ.get("OPENAI_API_KEY")
    for key in ("model", "max_steps", "test_cmd", "python"):
        if task[key] is not None:
            values[key] = task[key]
    if not values.get("python") and not is_url(task["repo"]):
        # The checkout has no virtualenv (it is a fresh clone): the repository's own one is the project's.
        venv = find_venv(Path(task["repo"]))
        values["python"] = str(venv) if venv else None
    return Settings(**values)


def task_client(settings: Settings, limiter: Limiter | None, report: Callable[[str], None]):
    pause = pause_on_rate_limit(limiter) if limiter is not None else None

    def on_retry(attempt: int, delay: float, reason: str) -> None:
        report(f"retry {attempt} in {delay:.0f}s: {reason}")
        if pause is not None:
            pause(attempt, delay, reason)

    client = client_for(settings, on_retry=on_retry)
    return ThrottledClient(client, limiter) if limiter is not None else client


def _start_after_setup(workspace) -> None:
    """What setup made (builds, generated files) is the starting point, not part of the patch."""
    from sandbox.git import commit_tree, snapshot_tree

    tree = snapshot_tree(workspace.root)
    workspace.base = commit_tree(workspace.root, tree, [workspace.base], "batch: state after setup")
    workspace.save_meta()


def _reporter(task_id: str, progress: Any) -> Callable[[str], None]:
    def report(text: str) -> None:
        if progress is None:
            return
        try:
            progress.put((task_id, text))
        except Exception:  # the display is a nicety: losing it must not fail the task
            pass

    return report


def _listener(report: Callable[[str], None]) -> Callable[[Event], None]:
    step = 0

    def listen(event: Event) -> None:
        nonlocal step
        if isinstance(event, ModelRequested):
            step = event.step
            report(f"step {step}: model")
        elif isinstance(event, ToolStarted):
            report(f"step {step}: {event.name}")
        elif isinstance(event, TestsRan):
            report(f"step {step}: tests {'pass' if event.ok else 'fail'}")

    return listen
