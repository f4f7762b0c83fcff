"""A task's `env_setup`: a virtualenv built once per repository state and
commands, with the network, kept in the cache and shared by later tasks.

SWE-bench users expect `pip install -e .` and the test requirements to be
installed before the agent starts. The task sandbox has no network, so this
step runs apart from it: in a checkout of the task's starting state at
`<cache>/batch/envs/<repo>-<key>/`, whose `.venv` the commands see activated
(VIRTUAL_ENV, PATH). The key covers the repository, the starting tree, the
commands and the base interpreter, so a changed command or commit builds a
new environment. An editable install names that checkout's path, so the
task's working copy (and the judge's checkout) is shown at the same path:
the install then imports the code being worked on, as it does for a user's
own venv (see Runner.for_workspace). After a good build the checkout's files
are removed (the folder stays, as that path) and a marker is written last,
so a failed or killed build is never reused.

Task files may be hostile: the commands run in the batch's sandbox like
every other command — the host read-only, the home and the agent's folders
hidden, only this folder writable — with the network as the one exception.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Callable

from agent.batch.checkout import checkout, folder_name, locked
from agent.batch.judge import SetupError, run_setup
from agent.batch.paths import cache_dir
from sandbox.git import GitError, git_text
from sandbox.python_env import PythonEnv, PythonNotFound, discover, python_env
from sandbox.runner import Runner, SandboxUnavailable
from sandbox.state import agent_folders

VENV = ".venv"
_MARKER = "codex-agent-env.json"  # in the venv, written when the build succeeded


@dataclasses.dataclass(frozen=True)
class BuiltEnv:
    folder: Path  # the checkout it was built in: commands see working copies at this path
    built: bool  # False: an earlier task's build was reused

    @property
    def python(self) -> Path:
        return self.folder / VENV


def prepare_env(task: dict[str, Any], source: Path, python: str | None, sandbox: str,
                report: Callable[[str], None]) -> BuiltEnv:
    """The environment for `task` (whose `env_setup` is not empty), built from
    `source`, the task's checkout at its starting state, unless a good one
    exists. `python`: the base interpreter (default: the one discovered for
    the checkout). Raises SetupError with the failing command's output."""
    try:
        base = discover(source, explicit=python)
    except PythonNotFound as exc:
        raise SetupError(str(exc)) from exc
    try:  # the content, not the commit: a plain folder copied anew gets a new commit, the same tree
        tree = git_text("rev-parse", "--verify", "HEAD^{tree}", cwd=source)
    except GitError as exc:
        raise SetupError(f"env_setup: cannot read the checkout's state: {exc}") from exc
    inputs = {"repo": task["repo"], "tree": tree, "env_setup": task["env_setup"], "python": str(base.prefix)}
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    folder = cache_dir() / "envs" / f"{folder_name(task['repo'])}-{digest}"
    report("environment: waiting")
    with locked(folder.parent / f"{folder.name}.lock"):  # one build per key; the others wait and reuse it
        if (folder / VENV / _MARKER).is_file():
            return BuiltEnv(folder, built=False)
        report("environment: building")
        shutil.rmtree(folder, ignore_errors=True)  # a failed or killed build's leftovers
        try:
            _build(folder, source, base, task["env_setup"], sandbox)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        (folder / VENV / _MARKER).write_text(json.dumps(inputs, indent=1) + "\n")
    return BuiltEnv(folder, built=True)


def _build(folder: Path, source: Path, base: PythonEnv, commands: list[str], sandbox: str) -> None:
    checkout(str(source), "HEAD", folder)
    # The agent's folders (other tasks' checkouts, sessions, the user's config) stay hidden.
    hidden = agent_folders()
    run_setup(_runner(folder, base, hidden, sandbox), [f"python3 -m venv {VENV}"], field="env_setup")
    venv = python_env(folder / VENV, "the task's env_setup environment")
    # The venv lies in the writable checkout: bound back read-only like a project's
    # .venv, it could not be installed into.
    writable = dataclasses.replace(venv, mounts=tuple(m for m in venv.mounts if m != venv.prefix))
    runner = _runner(folder, writable, hidden, sandbox)
    run_setup(runner, commands, network=True, field="env_setup")
    for child in folder.iterdir():  # the working copies stand in for the checkout
        if child.name != VENV:
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()


def _runner(folder: Path, python: PythonEnv, hidden: list[Path], sandbox: str) -> Runner:
    try:
        # The venv's files are no user's secrets, and pip needs its CA bundle
        # (cacert.pem), which would otherwise be shown empty like a key file.
        return Runner(folder, sandbox, python=python, hide=hidden, allow_secrets=(f"{VENV}/*",))
    except SandboxUnavailable as exc:
        raise SetupError(f"env_setup cannot run: {exc}") from exc
