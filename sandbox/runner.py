"""Run commands in the working copy under the strongest isolation available.

Modes:

- `auto` (default): bubblewrap when it works here — fully, or reduced to
  what the kernel/container allows — else plain processes; `notice` then
  says once what is missing.
- `bwrap`: bubblewrap or an error (SandboxUnavailable).
- `process`: plain processes: scrubbed environment, timeout with
  process-group kill, resource limits. No filesystem or network isolation.
- `none`: the user's explicit choice: scrubbed environment and timeouts only.

The project's Python environment is used read-only; see sandbox.python_env
for how it is found and how to point at another interpreter (`python=`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sandbox.editable import working_copy_import_roots
from sandbox.env import scrubbed_env
from sandbox.isolation import BwrapConfig, Layout, fix_hint, probe_bwrap
from sandbox.limits import Limits, protect_own_environment
from sandbox.process import CommandResult, execute
from sandbox.python_env import PythonEnv, discover
from sandbox.state import agent_folders
from sandbox.toolchains import home_toolchains

if TYPE_CHECKING:
    from sandbox.workspace import Workspace

__all__ = ["CommandResult", "Isolation", "Runner", "SandboxUnavailable", "choose_isolation"]

MODES = ("auto", "bwrap", "process", "none")


class SandboxUnavailable(RuntimeError):
    """mode="bwrap" was asked for and bubblewrap can't run here."""


@dataclass(frozen=True)
class Isolation:
    """What commands will run under, for a mode on this machine."""

    name: str  # "bwrap", "bwrap (reduced: …)", "process" or "none"
    bwrap: BwrapConfig | None = None
    notice: str | None = None  # said once when the sandbox is reduced


def choose_isolation(mode: str) -> Isolation:
    """The isolation a Runner in `mode` gets here. Needs no working copy (the
    probe is cached for the process), so a session can tell the model its
    sandbox before the copy exists. Raises SandboxUnavailable for "bwrap"
    when bubblewrap cannot run."""
    if mode not in MODES:
        raise ValueError(f"sandbox mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode not in ("auto", "bwrap"):
        return Isolation(mode)
    path = shutil.which("bwrap")
    probe = probe_bwrap(path) if path else None
    if probe is not None and probe.config is not None:
        reductions = probe.config.reductions
        if not reductions:
            return Isolation("bwrap", probe.config)
        notice = (f"Sandbox reduced to bubblewrap with {', '.join(reductions)} ({probe.error}). "
                  f"To fix: {fix_hint(probe.error)}.")
        return Isolation(f"bwrap (reduced: {', '.join(reductions)})", probe.config, notice)
    why = f"bubblewrap fails here ({probe.error})" if probe else "bubblewrap is not installed"
    if mode == "bwrap":
        raise SandboxUnavailable(f"{why}; run `codex-agent doctor` for how to fix it")
    return Isolation("process", None, (
        f"Sandbox reduced: {why}, so commands run as plain processes with a scrubbed environment, "
        "timeouts and resource limits, but can read and change every file your user can (your home, "
        "keys, other projects), reach the network and local services, and see your other processes. "
        "Run `codex-agent doctor` for how to fix it."
    ))


class Runner:
    def __init__(
        self,
        root: Path,
        mode: str = "auto",
        python: PythonEnv | None = None,
        *,
        limits: Limits | None = None,
        hide: Sequence[Path] = (),
        project: Path | None = None,
        node_modules: Path | None = None,
        read_only: bool = False,
        allow_secrets: Sequence[str] = (),
    ) -> None:
        """`python`: the interpreter commands get (default: discovered from
        `root`, see sandbox.python_env). `hide`: more folders to make
        invisible under bubblewrap (the user's own tree, whose ignored files
        may hold secrets such as .env).
        `project`: the user's tree this working copy was made from. Whatever
        points into it (editable installs, .pth entries, absolute paths in
        configuration) must reach the copy: under bubblewrap commands see the
        copy at that path; as plain processes the copy's import roots for the
        tree's editable installs come first on PYTHONPATH.
        `node_modules`: the project's installed JavaScript packages, which the
        copy lacks (they are ignored): shown read-only in the copy under
        bubblewrap, else found through NODE_PATH and PATH.
        `read_only`: under bubblewrap the working copy is mounted read-only
        (the read-only approval mode: a mount holds where a list of harmless
        command lines does not — `file -C` writes a file). `allow_secrets`:
        globs of sensitive files commands may read (the rest look empty)."""
        chosen = choose_isolation(mode)  # first: a bad mode raises before anything is written
        self.root = Path(root).resolve()
        self.mode = mode
        self.python = python or discover(self.root)
        self.limits = limits or Limits()
        self._hide = tuple(Path(p).resolve() for p in hide)
        self._project = Path(project).resolve() if project is not None else None
        self._node_modules = Path(node_modules).resolve() if node_modules is not None else None
        self.read_only = read_only
        self._allow_secrets = tuple(allow_secrets)
        self._layout: Layout | None = None
        self._private: Path | None = None
        self._shims = self._write_shims()
        self._bwrap: BwrapConfig | None = chosen.bwrap
        self.isolation, self.notice = chosen.name, chosen.notice
        if self._bwrap is not None:
            shown = (*home_toolchains(), *([self._node_modules] if self._node_modules else []))
            self._layout = Layout.for_root(self.root, self.python, hide=self._hide, shims=self._shims,
                                           shown_at=self._project, scratch=self._private_dir(), shown=shown,
                                           allow_secrets=self._allow_secrets)
        self._pythonpath = ""
        if self._layout is None and self._project is not None:
            roots = working_copy_import_roots(self.python, self._project, self.root)
            self._pythonpath = os.pathsep.join(map(str, roots))
        if self._bwrap is None or not self._bwrap.unshare_pid:
            # Commands can see our /proc/<pid>/environ (and the API key in
            # it) when they share our PID namespace; a non-dumpable process's
            # /proc files are closed to other processes of the same user.
            protect_own_environment()

    @property
    def workdir(self) -> Path:
        """Where the working copy appears to the commands this Runner runs
        (paths in their output, e.g. tracebacks, are under this folder)."""
        return self._layout.workdir if self._layout is not None else self.root

    @classmethod
    def for_workspace(cls, workspace: "Workspace", mode: str = "auto", *, shown_at: Path | None = None,
                      **options: Any) -> "Runner":
        """The Runner for a working copy: the project's venv is looked up in the
        user's tree (the copy has none). That tree is hidden (the copy is shown
        at its path), and so are the agent's state and cache (other sessions'
        conversations and working copies) and the user's config (its api_key),
        wherever XDG puts them. `shown_at`: the project path the environment's
        editable installs name, when that is not the user's tree (a batch
        environment built in a checkout of its own)."""
        if options.get("python") is None:
            options["python"] = discover(workspace.source)
        node_modules = workspace.source / "node_modules"
        if node_modules.is_dir() and not (workspace.root / "node_modules").exists():
            options.setdefault("node_modules", node_modules)
        hidden = ([workspace.source] if workspace.source.is_dir() else []) + agent_folders()
        return cls(workspace.root, mode, hide=hidden, project=shown_at or workspace.source, **options)

    def run(
        self,
        command: str | Sequence[str],
        *,
        timeout: float = 120.0,
        max_output_bytes: int = 200_000,
        git_writable: bool = False,
        network: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """Run `command` (a string goes to `bash -c`, no login files) in the working copy.

        `git_writable` lets the command commit on the task branch (for
        git_commit); `network` keeps the network namespace of the host;
        `env` adds variables after scrubbing (e.g. GIT_AUTHOR_NAME).
        Never raises for a failing command: see CommandResult.
        """
        argv = ["bash", "-c", command] if isinstance(command, str) else list(command)
        if self._bwrap is not None and self._layout is not None:
            argv = self._layout.argv(self._bwrap, git_writable=git_writable, network=network,
                                     read_only=self.read_only) + argv
            base_env = scrubbed_env(home=self._layout.home, tmp=Path("/tmp"), python=self.python, shims=self._shims)
        else:
            private = self._private_dir()
            base_env = scrubbed_env(home=private / "home", tmp=private / "tmp", python=self.python,
                                    shims=self._shims)
            if self._pythonpath:
                base_env["PYTHONPATH"] = self._pythonpath
            if self._node_modules:
                base_env["NODE_PATH"] = str(self._node_modules)
                base_env["PATH"] = f"{self._node_modules / '.bin'}{os.pathsep}{base_env['PATH']}"
        preexec = None if self.mode == "none" else self.limits.preexec(timeout)
        return execute(
            argv,
            cwd=self.root,
            env={**base_env, **(env or {})},
            timeout=timeout,
            max_output_bytes=max_output_bytes,
            preexec_fn=preexec,
        )

    def _write_shims(self) -> Path | None:
        """A folder of scripts for the commands the interpreter's bin lacks
        (e.g. /usr/bin has python3 but no python), removed with the Runner."""
        if not self.python.missing_commands():
            return None
        folder = Path(tempfile.mkdtemp(prefix="codex-agent-bin-"))
        weakref.finalize(self, shutil.rmtree, folder, True)
        self.python.write_shims(folder)
        return folder

    def _private_dir(self) -> Path:
        """HOME and TMPDIR for unsandboxed commands, removed with the Runner."""
        if self._private is None:
            self._private = Path(tempfile.mkdtemp(prefix="codex-agent-run-"))
            (self._private / "home").mkdir()
            (self._private / "tmp").mkdir()
            weakref.finalize(self, shutil.rmtree, self._private, True)
        return self._private
