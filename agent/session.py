"""A session: one working copy, one conversation, one agent — the engine the
one-shot command, the REPL and batch all drive.

It wires the parts together (workspace, runner, approval, tools, model,
instructions, trajectory) and keeps the session's state on disk after every
step so an interrupted run can be inspected and resumed.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple

from agent.config import Settings
from agent.events import Event, EventBus, ModelResponded, Notice, Retrying, RunStarted, ToolFinished, TurnFinished
from agent.exit_codes import EXIT_FAILED, EXIT_USAGE
from agent.messages import Message, Usage
from agent.trajectory import TrajectoryWriter
from sandbox.approval import ApprovalPolicy
from sandbox.git import GitError, project_root
from sandbox.python_env import PythonEnv, PythonNotFound, discover
from sandbox.runner import Isolation, Runner, SandboxUnavailable, choose_isolation
from sandbox.state import state_dir
from sandbox.workspace import Workspace, new_run_id
from tools import default_registry
from tools.registry import ToolContext

if TYPE_CHECKING:
    from agent.loop import Limits, Outcome
    from agent.model import ModelClient
    from tools.test_command import TestCommand


MAP_SHARE = 8  # the repository map takes at most 1/8 of the context window
BACKGROUND_NICENESS = 10  # for making the working copy, which the first request does not wait for


def _start_repo_map(root: Path, tokens: int, focus: str) -> "Future[str]":
    """Build the repo map in another process: it is CPU work that would
    otherwise hold the GIL against the SDK import and the git work."""
    done: Future[str] = Future()
    if not tokens:
        done.set_result("")
        return done
    # fork: the child starts in milliseconds and needs no __main__ guard from
    # whatever program embeds the session. CPython re-creates the import lock
    # in a forked child, so the imports it makes are safe.
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    future = pool.submit(_repo_map_text, root, tokens, focus)
    pool.shutdown(wait=False)
    return future


def _repo_map_text(root: Path, tokens: int, focus: str) -> str:
    from agent.repomap import build_repo_map

    try:
        return build_repo_map(root, tokens=tokens, task=focus)
    except Exception as exc:  # the agent works without a map; say why there is none
        return f"(no repository map: {type(exc).__name__}: {exc})"


def _window_for(settings: Settings) -> tuple[int, "str | None"]:
    """The model's context window, and a notice when it is a guess."""
    from agent.model_window import window_for

    return window_for(settings, settings.model)


def _in_background(create: Callable[[Path, str], Workspace], source: Path, run_id: str) -> Workspace:
    """Make the working copy at a lower CPU priority: it is needed by the
    first tool call, after the model's first answer, while the first request
    needs every core it can get now. On Linux a thread has a priority of its
    own, and the git processes it starts inherit it."""
    with contextlib.suppress(OSError, AttributeError):  # elsewhere: the usual priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
    return create(source, run_id=run_id)


class _PythonCheck(NamedTuple):
    """What the start-up check found; see Session._check_python."""

    python: PythonEnv  # the tests' interpreter
    isolation: Isolation  # the commands' sandbox
    detected: list[TestCommand]  # the test commands the tree declares
    problem: str | None  # why the test command cannot start; None: it can


def sessions_dir() -> Path:
    return state_dir() / "sessions"


class SessionError(Exception):
    """The session could not start; the message says why, for the user.
    `code`: EXIT_USAGE when the settings are at fault (no key, a bad URL, no
    interpreter), not the machine."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code  # EXIT_USAGE: the configuration is wrong, nothing was spent


class Session:
    def __init__(
        self,
        settings: Settings,
        cwd: Path,
        listeners: list[Callable[[Event], None]],
        *,
        ask: Callable[[str], str] | None = None,
        client: "ModelClient | None" = None,
        run_id: str | None = None,
        workspace: Workspace | None = None,
        interactive: bool = False,
        focus: str = "",
        persist: bool = True,
        shown_at: Path | None = None,
    ) -> None:
        """`focus`: text (usually the task) whose file and identifier names the
        repo map should lean towards. `persist=False` keeps no session state
        for `resume` (batch tasks: their result is the patch). `shown_at`:
        where commands see the working copy when not at the user's tree (see
        Runner.for_workspace)."""
        self.settings = settings
        self._shown_at = shown_at
        self.persist = persist
        self.interactive = interactive
        self.cwd = cwd.resolve()
        self.source = project_root(self.cwd)
        self.run_id = run_id or (workspace.run_id if workspace else new_run_id())
        # The slow parts start together: the repo map (of the user's tree,
        # which the new copy equals) in a process of its own, the working copy
        # (git: mostly waiting on subprocesses) and the tests' interpreter
        # check in threads, while this thread imports the model SDK. Only the
        # check is waited for here: the first request is built from the user's
        # tree and goes out while the copy is still being made; the loop waits
        # for the copy before any tool runs (`_copy_ready`).
        self._repo_map = _start_repo_map(workspace.root if workspace else self.source, settings.map_tokens, focus)
        pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="start-up")
        self._copying = pool.submit(lambda: workspace or _in_background(Workspace.create, self.source, self.run_id))
        checking = pool.submit(self._check_python, workspace.root if workspace else self.source)
        asking = pool.submit(_window_for, settings)  # a local server is asked over HTTP
        pool.shutdown(wait=False)
        from agent.loop import Agent

        self._fresh = workspace is None  # a copy this session made: discarded when the session cannot start
        self._workspace: Workspace | None = None  # set once the copy exists
        self._runner: Runner | None = None
        self.bus = EventBus(*listeners)
        self.client = client or self._first_client()
        checked = self._checked(checking)
        self._python, self.isolation = checked.python, checked.isolation
        self.ctx = self._tool_context(workspace.root if workspace else Workspace.root_for(self.run_id),
                                      checked.detected, ask)
        self._preflight(checked.problem)
        self.trajectory_path = settings.trajectory or state_dir() / "trajectories" / f"{self.run_id}.jsonl"
        self.limits = self._limits(asking)
        self.trajectory = TrajectoryWriter(self.trajectory_path, self._meta())
        self.bus.subscribe(self.trajectory)
        if persist:
            self.bus.subscribe(self._save_on_progress)
        self.agent = Agent(
            client=self.client,
            registry=default_registry(),
            ctx=self.ctx,
            instructions="",  # built at the first turn, when the repo map is ready
            emit=self.bus,
            limits=self.limits,
            gate=None,  # made with the runner, once the copy exists
            unverified=self._unverified(),
            tools_ready=self._copy_ready,
        )
        self.prompts: list[str] = []
        self.bus(RunStarted(self.run_id, self.client.model, str(self.ctx.root), self.isolation.name, self.tests_line))
        if self.isolation.notice:
            self.bus(Notice(self.isolation.notice))
        for refused in self._python.refused:  # e.g. a pyvenv.cfg pointing at /
            self.bus(Notice(f"Python environment: {refused}"))
        if workspace is not None:  # resumed: nothing to wait for
            self._copy_ready()

    @property
    def workspace(self) -> Workspace:
        """The working copy, waiting for it while it is still being made."""
        self._copy_ready()
        assert self._workspace is not None
        return self._workspace

    @property
    def runner(self) -> Runner:
        """What runs commands in the working copy (made with the copy)."""
        self._copy_ready()
        assert self._runner is not None
        return self._runner

    def _copy_ready(self) -> None:
        """Wait for the working copy, then wire what needs it: the runner the
        tools and the gate use, and the run's record. Raises SessionError when
        the copy could not be made."""
        if self._workspace is not None:
            return
        try:
            workspace = self._copying.result()
            runner = Runner.for_workspace(workspace, mode=self.settings.sandbox, python=self._python,
                                          shown_at=self._shown_at,
                                          read_only=self.settings.approval == "read-only",
                                          allow_secrets=self.settings.allow_secrets)
        except (GitError, OSError, SandboxUnavailable) as exc:
            raise SessionError(f"cannot prepare the working copy: {exc}") from exc
        self.ctx.runner = runner
        if not self.agent.unverified:
            from agent.gate import Gate

            self.agent.gate = Gate(self.ctx, workspace, strict=self.settings.strict_tests,
                                   full_timeout=self.settings.test_timeout)
        self._workspace, self._runner = workspace, runner
        workspace.meta.update({"trajectory": str(self.trajectory_path), "state": "running"})
        if self.prompts:  # a run killed mid-turn still says what it was doing
            workspace.meta.setdefault("task", self.prompts[0])
        workspace.save_meta()

    def _discard_copy(self) -> None:
        """The session cannot start: a copy it made goes (once git is done making it)."""
        if self._fresh and self._copying.exception() is None:
            self._copying.result().discard()

    def _check_python(self, tree: Path) -> _PythonCheck:
        """The tests' interpreter, the sandbox commands will get, the test
        commands `tree` declares (none looked for when one is configured), and
        why the test command cannot start (None: it can). `tree`: the user's
        tree, which a new copy equals, so this runs while the copy is made; or
        a resumed copy."""
        from tools.test_command import detect_test_commands
        from tools.test_env import preflight

        python = discover(self.cwd, self.source, self.settings.python)
        isolation = choose_isolation(self.settings.sandbox)
        detected = [] if self.settings.test_cmd else detect_test_commands(tree)
        test_cmd = self.settings.test_cmd or (detected[0].command if detected else None)
        gated = self.settings.verify and test_cmd
        problem = preflight(python, self.settings.sandbox, test_cmd, self.source) if gated else None
        return _PythonCheck(python, isolation, detected, problem)

    def _checked(self, checking: "Future[_PythonCheck]") -> _PythonCheck:
        """The start-up check's findings, or why there is no interpreter or sandbox."""
        try:
            return checking.result()
        except PythonNotFound as exc:
            self._discard_copy()
            raise SessionError(str(exc), EXIT_USAGE) from exc
        except SandboxUnavailable as exc:
            self._discard_copy()
            raise SessionError(f"cannot prepare the working copy: {exc}") from exc

    def _preflight(self, problem: str | None) -> None:
        """Before the first model request: can the test command start at all?
        A run whose gate can never pass would spend the whole budget."""
        if problem:
            self._discard_copy()
            raise SessionError(problem, EXIT_USAGE)

    def _first_client(self) -> "ModelClient":
        """Made while the working copy is still being created (the SDK's
        client setup takes tens of milliseconds)."""
        from agent.model import ModelError

        try:
            return self._make_client(self.settings.model)
        except ModelError as exc:  # no key, a bad base URL: nothing to keep
            self._discard_copy()
            raise SessionError(str(exc), EXIT_USAGE) from exc

    def _tool_context(self, root: Path, detected: "list[TestCommand]", ask: Callable[[str], str] | None) -> ToolContext:
        """The tools' context for the copy at `root`, with the configured test
        command or the `detected` ones; its runner comes with the copy
        (`_copy_ready`)."""
        test_cmd = self.settings.test_cmd
        more: tuple[str, ...] = ()
        self.tests_line = f"{test_cmd} (configured)" if test_cmd else ""  # by --test-cmd or a config file
        if detected:
            test_cmd, more = detected[0].command, tuple(d.command for d in detected[1:])
            self.tests_line = "; ".join(map(str, detected))
        return ToolContext(
            root=root,
            approval=ApprovalPolicy(self.settings.approval, ask=ask),
            test_cmd=test_cmd,
            more_test_cmds=more,
            command_timeout=self.settings.command_timeout,
            secret_allow=list(self.settings.allow_secrets),
        )

    def _make_client(self, model: str) -> "ModelClient":
        from agent.model import client_for

        return client_for(self.settings, model=model, cache_key=self.run_id,
                          on_retry=lambda attempt, delay, reason: self.bus(Retrying(attempt, delay, reason)))

    def switch_model(self, model: str) -> None:
        """Go on with another model: same conversation, its own context window."""
        self.client = self.agent.client = self._make_client(model)
        self.settings.model = model
        self.limits.context_window = self._window()
        if self.window_notice:
            self.bus(Notice(self.window_notice))

    # -- running -------------------------------------------------------------

    def run(self, prompt: str) -> "Outcome":
        from agent.mentions import expand_mentions

        self.prompts.append(prompt)
        if self._workspace is not None:  # else the record gets the task once the copy exists
            self._workspace.meta.setdefault("task", prompt)
            self._workspace.save_meta()  # a run killed mid-turn still says what it was doing
        if not self.agent.instructions:
            self.agent.instructions = self._instructions()
        expanded, _ = expand_mentions(prompt, self._tree(), list(self.settings.allow_secrets),
                                      cwd=self.work_dir())
        outcome = self.agent.run(expanded)
        self.workspace.meta["state"] = outcome.reason
        self.workspace.save_meta()
        self.save()
        return outcome

    def _unverified(self) -> str:
        """Why the run has no verification gate, or "" when it has one."""
        from agent import verification

        if not self.settings.verify:
            return verification.NO_VERIFY
        return "" if self.ctx.test_cmd else verification.NO_TESTS

    def _limits(self, asking: "Future[tuple[int, str | None]]") -> "Limits":
        from agent.loop import Limits

        context_window, self.window_notice = asking.result()
        return Limits(
            max_steps=self.settings.max_steps,
            max_tokens=self.settings.max_tokens,
            max_cost=self.settings.max_cost,
            context_window=context_window,
        )

    def _window(self) -> int:
        """The configured context window, else what the server says, else the current model's."""
        window, self.window_notice = _window_for(self.settings)
        return window

    def _instructions(self) -> str:
        """The stable prefix of every request: built once per session so
        providers' prompt caching hits."""
        from agent.prompts import build_instructions
        from agent.rules import load_rules

        mode = ("interactive: the user reads along and answers questions" if self.interactive
                else "one-shot: the user is not watching, ask nothing")
        env = (
            f"Session: {mode}.\nSandbox: {self.isolation.name}; network off.\n"
            f"Test command: {self.tests_line or 'none detected'}."
        )
        return build_instructions(
            rules=load_rules(self._tree(), self.work_dir()),
            repo_map=self._repo_map_result(),
            environment=env,
        )

    def _tree(self) -> Path:
        """What the model's view is read from: the working copy once it
        exists, else the user's tree, which a new copy equals."""
        return self._workspace.root if self._workspace is not None else self.source

    def work_dir(self) -> Path:
        """The user's current folder, inside `_tree()`."""
        inside = self.cwd.relative_to(self.source) if self.cwd.is_relative_to(self.source) else Path()
        return self._tree() / inside

    def _repo_map_result(self) -> str:
        from agent.tokens import cap_tokens, count_tokens

        if self.window_notice:  # said here, at the first turn, with what the window means for the map
            self.bus(Notice(self.window_notice))

        try:
            text = self._repo_map.result()
        except Exception as exc:  # e.g. the map's process died
            return f"(no repository map: {type(exc).__name__}: {exc})"
        # A small window (a local server's 4,096 tokens) must leave room for the conversation.
        # The map was cut to map_tokens already: only a smaller budget needs the tokenizer.
        budget = self.limits.context_window // MAP_SHARE
        if self.settings.map_tokens > budget and count_tokens(text) > budget:
            self.bus(Notice(f"the model's context window is {self.limits.context_window:,} tokens: "
                            f"the repository map is cut to {budget:,} tokens"))
            return cap_tokens(text, budget)
        return text

    # -- the result ----------------------------------------------------------

    def finish(self, apply: bool) -> str:
        """Apply the changes to the user's tree, or keep them aside; says where they went."""
        if not self.workspace.changed_files():
            self.workspace.discard()
            self._set_state("discarded")
            return "No changes were made."
        if apply:
            result = self.workspace.apply(self.settings.allow_secrets)
            if not result.ok:
                # The working copy stays where the message says, listed by `runs`.
                self._set_state("not applied")
                return f"{result.message}\n`codex-agent runs {self.run_id} --apply` tries again; --discard drops it."
            self._set_state("applied")  # apply() already removed the working copy
            return result.message
        where = self.workspace.keep()
        self._set_state("kept")
        return f"{where}\n{kept_run_hints(self.run_id)}"

    def _set_state(self, state: str) -> None:
        self.workspace.meta["state"] = state
        self.save()

    # -- persistence -----------------------------------------------------------

    def _meta(self) -> dict:
        return {
            "run_id": self.run_id,
            "source": str(self.source),
            "workspace": str(self.ctx.root),
            "model": self.client.model,
            "cwd": str(self.cwd),
        }

    def _save_on_progress(self, event: Event) -> None:
        if isinstance(event, (ModelResponded, ToolFinished, TurnFinished)):
            self.save()

    def save(self) -> None:
        """Write the session state atomically: what `codex-agent resume` reads."""
        if not self.persist:
            return
        agent = self.agent
        state = {
            **self._meta(),
            "prompts": self.prompts,
            "state": self._workspace.meta.get("state") if self._workspace else "running",
            "settings": {k: v for k, v in self.settings.public().items() if k != "api_key"},
            "steps": agent.steps,
            "usage": asdict(agent.usage),
            "cost": agent.cost,
            "trajectory": str(self.trajectory_path),
            "history": [m.to_dict() for m in agent.history],
        }
        path = sessions_dir() / f"{self.run_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    def restore(self, state: dict) -> None:
        """Continue a saved conversation (`resume`)."""
        self.agent.history = [Message.from_dict(m) for m in state.get("history", [])]
        self.agent.steps = state.get("steps", 0)
        self.agent.usage = Usage(**state.get("usage", {}))
        self.agent.cost = state.get("cost", 0.0)
        self.prompts = list(state.get("prompts", []))
        # A run killed mid-step may have tool calls without results.
        self.agent.repair_history()

    def close(self) -> None:
        self.trajectory.close()


def kept_run_hints(run_id: str, resumable: bool = False) -> str:
    """What to do with a kept run, in the order people need it."""
    hints = [("continue:", f"resume {run_id}")] if resumable else []
    hints += [("apply them:", f"runs {run_id} --apply"), ("see them:", f"runs {run_id} --diff"),
              ("discard them:", f"runs {run_id} --discard")]
    return "\n".join(f"  {what:14}codex-agent {command}" for what, command in hints)


def load_session_state(run_id: str | None) -> dict:
    """The saved state of `run_id`, or of the most recent session."""
    folder = sessions_dir()
    if run_id:
        path = folder / f"{run_id}.json"
        if not path.is_file():
            raise FileNotFoundError(f"no saved session {run_id!r} in {folder}")
    else:
        candidates = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
        if not candidates:
            raise FileNotFoundError(f"no saved sessions in {folder}")
        path = candidates[-1]
    return json.loads(path.read_text(encoding="utf-8"))
