"""Whether the project's tests can run at all where they run.

Two moments: before the first model request (does the chosen interpreter
start and import pytest?), and after a test run (did it stop on a module that
neither the environment nor the repository has?). Both are problems of the
environment, not of the code: sending "fix the code" for them spends the
budget on what the model cannot fix.
"""

from __future__ import annotations

import re
import shlex
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from tools.search import walk_files

if TYPE_CHECKING:
    from sandbox.python_env import PythonEnv
    from sandbox.runner import Runner
    from tools.testing import Summary

MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")
NO_PYTEST = re.compile(r"No module named '?pytest'?$", re.MULTILINE)
_CHECK_TIMEOUT = 60.0
# Found, not imported: importing pytest takes a quarter of a second, and this
# check runs before the first model request. The message is Python's own.
_FIND_PYTEST = (
    "import importlib.util, sys\n"
    "if importlib.util.find_spec('pytest') is None:\n"
    "    sys.exit(\"ModuleNotFoundError: No module named 'pytest'\")\n"
    "from importlib.metadata import PackageNotFoundError, version\n"
    "try:\n"
    "    print('pytest', version('pytest'))\n"
    "except PackageNotFoundError:\n"
    "    print('pytest (no version recorded)')\n"
)


def check_pytest(runner: "Runner", test_cmd: str = "python -m pytest") -> tuple[bool, str]:
    """(ok, "pytest 8.3.2" or why not) for the program `test_cmd` starts, run
    in the sandbox. No collection: that can take a minute on a large suite."""
    try:
        first = shlex.split(test_cmd)[0]
    except (ValueError, IndexError):
        return True, "not checked (cannot parse the test command)"
    name = Path(first).name
    if name.startswith("python"):
        argv = [first, "-c", _FIND_PYTEST]
    elif name in ("pytest", "py.test"):
        argv = [first, "--version"]
    else:  # uv run, poetry run, tox: they bring their own environment
        return True, f"not checked ({first} chooses the environment)"
    result = runner.run(argv, timeout=_CHECK_TIMEOUT, max_output_bytes=20_000)
    lines = result.output.strip().splitlines()
    if result.exit_code == 0 and not result.timed_out:
        return True, lines[-1] if lines else "pytest"
    if result.timed_out:
        return False, f"{first} did not answer within {_CHECK_TIMEOUT:g} s"
    return False, lines[-1] if lines else f"{first} exited with {result.exit_code}"


def check_pytest_in_sandbox(python: "PythonEnv", mode: str, test_cmd: str, project: Path) -> tuple[bool, str]:
    """check_pytest, asked from an empty folder in the sandbox a run would
    get, with the user's tree hidden (the interpreter may be repository
    content): needs no working copy, so it runs while one is being made."""
    from sandbox.runner import Runner, SandboxUnavailable
    from sandbox.state import agent_folders

    hidden = ([project] if project.is_dir() else []) + agent_folders()
    with tempfile.TemporaryDirectory(prefix="codex-agent-check-") as empty:
        try:
            runner = Runner(Path(empty), mode, python=python, hide=hidden)
        except SandboxUnavailable as exc:
            return False, str(exc)
        return check_pytest(runner, test_cmd)


def preflight(python: "PythonEnv", mode: str, test_cmd: str, project: Path) -> str | None:
    """None when the pytest command can start; else one line naming the
    interpreter, why it was chosen, what is missing and the fix."""
    from tools.testing import is_pytest

    if not is_pytest(test_cmd):
        return None
    ok, detail = check_pytest_in_sandbox(python, mode, test_cmd, project)
    if ok:
        return None
    return (
        f"tests cannot run: `{test_cmd}` with {python.describe()}: {detail}. "
        f"Fix: install pytest there ({python.executable} -m pip install pytest), "
        "choose the interpreter with --python PATH, set --test-cmd, or run with --no-verify."
    )


def environment_problem(summary: "Summary | None", output: str, root: Path) -> str | None:
    """Why a test run could not test the code, when the cause is the
    environment: a module the repository does not have and the interpreter
    cannot import, pytest itself missing, or a command not found. None when
    the failures are the code's."""
    # With a report, only what stopped tests from starting counts: a failing
    # test's own output may mention a missing module for other reasons.
    texts = [output] if summary is None else [
        f"{f.message}\n{f.traceback}" for f in summary.failures if f.kind in ("collection", "error")]
    for text in texts:
        if NO_PYTEST.search(text):  # `python -m pytest` without pytest says it this way
            return "pytest is not installed for this interpreter"
        for match in MISSING_MODULE.finditer(text):
            module = match.group(1)
            if not _in_repository(module, root):
                return f"module '{module}' is not installed and is not part of the repository"
    if summary is None and re.search(r"^(bash: )?(line \d+: )?\S+: (command )?not found", output, re.MULTILINE):
        return "the test command was not found"
    return None


def _in_repository(module: str, root: Path) -> bool:
    top = module.split(".")[0]
    return any(top in Path(f).parts[:-1] or Path(f).name == f"{top}.py" for f in walk_files(root))
