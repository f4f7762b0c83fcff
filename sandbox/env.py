"""The environment a sandboxed command sees: a short allow-list, nothing else.

Secrets travel in environment variables (OPENAI_API_KEY, AWS_*, GITHUB_TOKEN,
anything a user exported); an allow-list rather than a deny-list means a
secret with a name nobody thought of still never reaches a model-run command.
"""

from __future__ import annotations

import os
from pathlib import Path

from sandbox.python_env import PythonEnv

# Where toolchains live (sandbox.toolchains shows those folders read-only).
TOOLCHAIN_HOMES = frozenset({"CARGO_HOME", "RUSTUP_HOME", "GOPATH", "GOMODCACHE"})
PASSED = frozenset({"PATH", "LANG", "LANGUAGE", "TERM", "TZ"}) | TOOLCHAIN_HOMES
PASSED_PREFIXES = ("LC_",)


def scrubbed_env(*, home: Path, tmp: Path, python: PythonEnv | None, shims: Path | None = None) -> dict[str, str]:
    """`python`'s bin folder comes first on PATH, after `shims` (the commands
    it lacks, see PythonEnv.write_shims), so `python`, `python3` and `pytest`
    are the project's."""
    env = {k: v for k, v in os.environ.items() if k in PASSED or k.startswith(PASSED_PREFIXES)}
    path = env.get("PATH", os.defpath)
    env["HOME"] = str(home)
    env["TMPDIR"] = str(tmp)
    # No __pycache__ folders in the working copy: they would end up in the diff
    # of a repository whose .gitignore doesn't list them.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if python is not None:
        path = f"{python.bin_dir}{os.pathsep}{path}"
        if shims is not None:
            path = f"{shims}{os.pathsep}{path}"
        if python.is_venv:
            env["VIRTUAL_ENV"] = str(python.prefix)
    env["PATH"] = path
    return env
