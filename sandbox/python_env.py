"""Which Python a sandboxed command gets, and what must stay visible for it.

The working copy never holds the project's virtualenv (a git worktree has
no ignored files, a plain copy skips it), so it is looked up in the user's
project and used read-only, in this order:

1. the `venv=` given to `Runner`;
2. a `.venv` or `venv` folder (with pyvenv.cfg) in the project;
3. the active `VIRTUAL_ENV`;
4. the interpreter running the agent.

To use another interpreter — a conda env, a pyenv version, a venv kept
elsewhere — pass its prefix (the folder holding `bin/python`):
`Runner(root, venv=Path("/opt/conda/envs/py311"))`. Its `bin` comes first on
PATH inside the sandbox, and VIRTUAL_ENV is set when it is a virtualenv.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PythonEnv:
    prefix: Path
    is_venv: bool
    # Folders that must be readable inside the sandbox for this interpreter
    # to work: the prefix and the base installation a venv links to (which
    # may live in a hidden home, e.g. ~/.pyenv).
    mounts: tuple[Path, ...]

    @property
    def bin_dir(self) -> Path:
        return self.prefix / "bin"


def find_venv(project: Path) -> Path | None:
    """The project's virtualenv, or the active one; None when there is neither."""
    candidates = [project / ".venv", project / "venv"]
    if os.environ.get("VIRTUAL_ENV"):
        candidates.append(Path(os.environ["VIRTUAL_ENV"]))
    return next((c.resolve() for c in candidates if (c / "pyvenv.cfg").is_file()), None)


def python_env(project: Path, venv: Path | None = None) -> PythonEnv:
    prefix = Path(venv).resolve() if venv is not None else find_venv(project) or Path(sys.prefix).resolve()
    mounts = {prefix}
    config = prefix / "pyvenv.cfg"
    if config.is_file():
        home = _config_value(config, "home")
        if home:
            mounts.add(Path(home).resolve().parent)
    for name in ("python3", "python"):
        interpreter = prefix / "bin" / name
        if interpreter.exists():
            mounts.add(interpreter.resolve().parent.parent)
            break
    if prefix == Path(sys.prefix).resolve():
        mounts.add(Path(sys.base_prefix).resolve())
    return PythonEnv(prefix, config.is_file(), tuple(sorted(m for m in mounts if m.is_dir())))


def _config_value(config: Path, key: str) -> str | None:
    for line in config.read_text(errors="replace").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() == key:
            return value.strip()
    return None
