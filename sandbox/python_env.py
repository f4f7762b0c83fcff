"""Which Python runs the project's tests, why that one, and what must stay
visible in the sandbox for it.

The interpreter is found the way the project's own developers find theirs:

1. `--python PATH` (or the `python` setting): an interpreter or a prefix;
2. a `.venv` or `venv` folder with pyvenv.cfg in the user's folder or a parent,
   up to the repository root (uv's `.venv` included);
3. the active `VIRTUAL_ENV`;
4. the active `CONDA_PREFIX`;
5. Poetry's environment (`poetry env info -p`) for a `[tool.poetry]` project;
6. Pipenv's (`pipenv --venv`) when there is a Pipfile;
7. `python3` on the user's PATH;
8. the interpreter running the agent (only when there is no `python3` at all).

The working copy never holds the project's virtualenv (a git worktree has no
ignored files, a plain copy skips it), so the environment is used in place,
read-only. A pyvenv.cfg and a venv's interpreter symlink are repository
content and can point anywhere: a folder derived from them is mounted only
when it holds a Python installation, and never when it is `/`, or holds the
user's home, the agent's state, config or cache folders, or the repository.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from sandbox.state import cache_dir, config_dir, state_dir, user_homes

NAMES = ("python3", "python")
# Commands that must reach the chosen interpreter inside the sandbox.
SHIMMED = ("python", "python3", "pytest")
_DISCOVERY_TIMEOUT = 15.0
_ASKED: dict[tuple, Path | None] = {}


class PythonNotFound(ValueError):
    """`--python` names no interpreter; the message says what was looked at."""


@dataclass(frozen=True)
class PythonEnv:
    prefix: Path
    is_venv: bool
    # Folders that must be readable inside the sandbox for this interpreter
    # to work: the prefix and the base installation a venv links to (which
    # may live in a hidden home, e.g. ~/.pyenv).
    mounts: tuple[Path, ...]
    reason: str = "the agent's own interpreter"
    # Paths the environment pointed at that are not mounted, and why.
    refused: tuple[str, ...] = ()

    @property
    def bin_dir(self) -> Path:
        return self.prefix / "bin"

    @property
    def executable(self) -> Path:
        return next((self.bin_dir / n for n in NAMES if (self.bin_dir / n).exists()), self.bin_dir / "python3")

    def describe(self) -> str:
        return f"{self.executable} ({self.reason})"

    def missing_commands(self) -> list[str]:
        """Of `python`, `python3`, `pytest`: those its bin folder lacks, which
        would otherwise resolve to some other interpreter on PATH."""
        return [name for name in SHIMMED if not (self.bin_dir / name).exists()]

    def write_shims(self, folder: Path) -> None:
        """Scripts in `folder` running this interpreter for each missing command.
        Scripts, not symlinks: a venv is only recognised when its own
        bin/python is what gets executed."""
        for name in self.missing_commands():
            module = " -m pytest" if name == "pytest" else ""
            shim = folder / name
            shim.write_text(f'#!/bin/sh\nexec {shlex.quote(str(self.executable))}{module} "$@"\n')
            shim.chmod(0o755)


def find_venv(project: Path, repo_root: Path | None = None) -> Path | None:
    """A `.venv` or `venv` with pyvenv.cfg in `project` or a parent up to `repo_root`."""
    project = Path(project).resolve()
    top = Path(repo_root).resolve() if repo_root else project
    folders = [project, *project.parents] if project.is_relative_to(top) else [project]
    for folder in folders:
        for name in (".venv", "venv"):
            if (folder / name / "pyvenv.cfg").is_file() and _interpreter_in(folder / name):
                return (folder / name).resolve()
        if folder == top:
            break
    return None


def discover(
    project: Path,
    repo_root: Path | None = None,
    explicit: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> PythonEnv:
    """The project's interpreter, with the reason it was chosen.
    Raises PythonNotFound when `explicit` names no interpreter."""
    environ = os.environ if environ is None else environ
    project = Path(project).resolve()
    repo_root = Path(repo_root).resolve() if repo_root else project
    if explicit:
        return python_env(_explicit_prefix(Path(explicit).expanduser()), "--python", repo_root)
    if venv := find_venv(project, repo_root):
        where = f"the project's {venv.name}" if venv.parent == repo_root else f"the {venv.name} in {venv.parent}"
        return python_env(venv, where, repo_root)
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        value = environ.get(variable)
        if value and _interpreter_in(Path(value)):
            return python_env(Path(value), variable, repo_root)
    for manager in (_poetry_env, _pipenv_env):
        found = manager(repo_root, environ)
        if found is not None:
            return python_env(found[0], found[1], repo_root)
    path_python = _path_python(project, environ)
    if path_python is not None:
        return python_env(path_python, "python3 on your PATH", repo_root)
    return python_env(Path(sys.prefix), "the agent's own interpreter (no python3 on PATH)", repo_root)


def python_env(prefix: Path, reason: str = "the agent's own interpreter", repo_root: Path | None = None) -> PythonEnv:
    """What running `prefix`'s interpreter needs, its folders validated."""
    prefix = Path(prefix).resolve()
    config = prefix / "pyvenv.cfg"
    wanted: list[tuple[Path, str]] = [(prefix, "the environment")]
    refused: list[str] = []
    if config.is_file() and (home := _config_value(config, "home")):
        if Path(home).is_absolute():
            wanted.append((_base_of(Path(home)), f"pyvenv.cfg home = {home}"))
        else:
            refused.append(f"pyvenv.cfg home = {home} ignored (not an absolute path)")
    interpreter = _interpreter_in(prefix)
    if interpreter is not None:
        wanted.append((_base_of(interpreter.resolve().parent), f"{interpreter} -> {interpreter.resolve()}"))
    if prefix == Path(sys.prefix).resolve():
        wanted.append((Path(sys.base_prefix).resolve(), "the agent's base interpreter"))
    mounts: list[Path] = []
    for folder, origin in wanted:
        problem = _refusal(folder, repo_root, is_prefix=folder == prefix)
        if problem:
            refused.append(f"{origin}: {folder} not mounted ({problem})")
        elif folder not in mounts:
            mounts.append(folder)
    return PythonEnv(prefix, config.is_file(), tuple(sorted(mounts)), reason, tuple(refused))


def _base_of(bin_dir: Path) -> Path:
    """The installation a `bin` folder belongs to (its parent)."""
    resolved = Path(os.path.realpath(bin_dir))
    return resolved.parent if resolved.name == "bin" else resolved


def _refusal(folder: Path, repo_root: Path | None, *, is_prefix: bool) -> str | None:
    """Why `folder` must not be bound into the sandbox, or None."""
    if folder == Path("/") or not folder.is_dir():
        return "the root folder" if folder == Path("/") else "no such folder"
    protected = [*user_homes(), state_dir(), config_dir(), cache_dir()]
    if repo_root is not None:
        protected.append(repo_root)
    for path in protected:
        path = Path(os.path.realpath(path))
        if path == folder or path.is_relative_to(folder):
            return f"it holds {path}"
    if is_prefix:
        return None if _interpreter_in(folder) else "no python interpreter in it"
    if repo_root is not None and folder.is_relative_to(repo_root):
        return "inside the repository"
    # A base installation: an interpreter and its standard library.
    if _interpreter_in(folder) is None or not any(folder.glob("lib*/python3*/os.py")):  # lib64 on Fedora
        return "no Python installation in it"
    return None


def _interpreter_in(prefix: Path) -> Path | None:
    for name in NAMES:
        candidate = prefix / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _explicit_prefix(path: Path) -> Path:
    """`--python` accepts a prefix (holding bin/python3), an interpreter, or a command on PATH."""
    if not path.exists() and len(path.parts) == 1 and (found := shutil.which(str(path))):
        path = Path(found)
    if path.is_dir() and _interpreter_in(path):
        return path
    if path.is_file() and os.access(path, os.X_OK) and path.parent.name == "bin":
        return path.parent.parent
    if path.is_file() and os.access(path, os.X_OK):
        # e.g. a python3 not in a bin folder: ask it where it lives.
        return _ask_prefix([str(path)], Path.cwd(), os.environ) or path.parent
    raise PythonNotFound(f"--python {path}: no Python interpreter there (give bin/python3 or the folder holding bin/)")


def _path_python(project: Path, environ: Mapping[str, str]) -> Path | None:
    found = shutil.which("python3", path=environ.get("PATH", os.defpath))
    if found is None:
        return None
    # Shims (pyenv, asdf) pick the version from the project's folder, so ask
    # the interpreter itself, from there.
    return _ask_prefix([found], project, environ)


def _ask_prefix(python: list[str], cwd: Path, environ: Mapping[str, str]) -> Path | None:
    """The prefix an interpreter reports; remembered for the process (a pyenv
    shim takes a third of a second, and every Runner asks)."""
    key = (tuple(python), cwd, *(environ.get(v, "") for v in ("PATH", "PYENV_VERSION", "ASDF_PYTHON_VERSION")))
    if key not in _ASKED:
        # -I: no PYTHON* variables, no user site, and not the project's folder
        # on sys.path, so nothing of the repository runs here.
        out = _output([*python, "-I", "-c", "import sys; print(sys.prefix)"], cwd, environ)
        prefix = Path(out) if out else None
        _ASKED[key] = prefix if prefix is not None and _interpreter_in(prefix) else None
    return _ASKED[key]


def _poetry_env(repo_root: Path, environ: Mapping[str, str]) -> tuple[Path, str] | None:
    pyproject = repo_root / "pyproject.toml"
    text = pyproject.read_text(errors="replace") if pyproject.is_file() else ""
    # requires-plugins makes Poetry install and run packages the repository names.
    if "[tool.poetry" not in text or "requires-plugins" in text:
        return None
    poetry = shutil.which("poetry", path=environ.get("PATH", os.defpath))
    out = _output([poetry, "env", "info", "-p"], repo_root, environ) if poetry else None
    return (Path(out), "Poetry's environment") if out and _interpreter_in(Path(out)) else None


def _pipenv_env(repo_root: Path, environ: Mapping[str, str]) -> tuple[Path, str] | None:
    pipenv = shutil.which("pipenv", path=environ.get("PATH", os.defpath))
    if not (repo_root / "Pipfile").is_file() or pipenv is None:
        return None
    out = _output([pipenv, "--venv"], repo_root, {**environ, "PIPENV_DONT_LOAD_ENV": "1"})
    return (Path(out), "Pipenv's environment") if out and _interpreter_in(Path(out)) else None


def _output(argv: list[str], cwd: Path, environ: Mapping[str, str]) -> str | None:
    """The last line a helper program prints, or None when it fails."""
    try:
        done = subprocess.run(argv, cwd=cwd, env=dict(environ), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=_DISCOVERY_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.strip().splitlines()
    return lines[-1].strip() if done.returncode == 0 and lines else None


def _config_value(config: Path, key: str) -> str | None:
    for line in config.read_text(errors="replace").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return value.strip()
    return None
