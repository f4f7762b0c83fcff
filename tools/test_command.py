"""Which commands run a project's tests, from what the project declares.

One per language the project has, each run (a Python backend and its JS
frontend): for Python pytest (configuration, a conftest.py or test files),
else tox.ini or noxfile.py (only when tox / nox is installed: they are
otherwise a certain failure); package.json's `scripts.test` through the
package manager its lock file names; go.mod; Cargo.toml. A Makefile `test`
target only when there is none of those: it usually drives one of them.
`--test-cmd` wins over all.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from tools.search import walk_files

DEFAULT_PYTEST = "python -m pytest"

_PYTEST_CONFIG = {"pytest.ini": "", "pyproject.toml": "[tool.pytest.ini_options]", "setup.cfg": "[tool:pytest]",
                  "tox.ini": "[pytest]"}
_TEST_FILE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test)\.py$")  # pytest's default python_files
# Lock file -> the package manager that made it; npm without one.
_LOCK_FILES = {"pnpm-lock.yaml": "pnpm test", "yarn.lock": "yarn test", "bun.lock": "bun run test",
               "bun.lockb": "bun run test", "package-lock.json": "npm test"}
# `npm init` writes this placeholder; it fails and tests nothing.
_NPM_PLACEHOLDER = "no test specified"
_MAKE_TARGET = re.compile(r"^test\s*:(?!=)", re.MULTILINE)


@dataclass(frozen=True)
class TestCommand:
    __test__ = False  # not a pytest test class, whatever its name

    command: str
    source: str  # what declared it: "package.json", "go.mod", "Python tests"…

    def __str__(self) -> str:
        return f"{self.command} (from {self.source})"


def is_pytest_file(path: str) -> bool:
    """A file pytest collects by default: any other file under tests/ (a
    fixture app, a helper) is not a test, and naming it to pytest imports it."""
    return bool(_TEST_FILE.search(path))


def detect_test_commands(root: Path) -> list[TestCommand]:
    """The test command of each language `root` declares, Python's first."""
    python = _pytest(root) or _installed(root, "tox.ini", "tox") or _installed(root, "noxfile.py", "nox")
    found = [python, _package_json(root), _file(root, "go.mod", "go test ./..."),
             _file(root, "Cargo.toml", "cargo test")]
    commands = [command for command in found if command is not None]
    if not commands and (make := _makefile(root)):
        commands.append(make)
    return commands


def detect_test_command(root: Path) -> str | None:
    """The command that runs `root`'s tests; None when it declares none."""
    commands = detect_test_commands(root)
    return commands[0].command if commands else None


def _pytest(root: Path) -> TestCommand | None:
    for name, marker in _PYTEST_CONFIG.items():
        path = root / name
        if path.is_file() and marker in path.read_text(errors="replace"):
            return TestCommand(DEFAULT_PYTEST, f"pytest configuration in {name}")
    if (root / "conftest.py").is_file():
        return TestCommand(DEFAULT_PYTEST, "conftest.py")
    if any(map(is_pytest_file, walk_files(root))):
        return TestCommand(DEFAULT_PYTEST, "Python tests")
    return None


def _package_json(root: Path) -> TestCommand | None:
    try:
        manifest = json.loads((root / "package.json").read_text(errors="replace"))
    except (OSError, ValueError):
        return None
    scripts = manifest.get("scripts") if isinstance(manifest, dict) else None
    script = scripts.get("test") if isinstance(scripts, dict) else None
    if not isinstance(script, str) or not script.strip() or _NPM_PLACEHOLDER in script:
        return None
    command = next((run for lock, run in _LOCK_FILES.items() if (root / lock).is_file()), "npm test")
    return TestCommand(command, "package.json")


def _file(root: Path, name: str, command: str) -> TestCommand | None:
    return TestCommand(command, name) if (root / name).is_file() else None


def _makefile(root: Path) -> TestCommand | None:
    for name in ("GNUmakefile", "makefile", "Makefile"):
        path = root / name
        if path.is_file() and _MAKE_TARGET.search(path.read_text(errors="replace")):
            return TestCommand("make test", name)
    return None


def _installed(root: Path, name: str, tool: str) -> TestCommand | None:
    return TestCommand(tool, name) if (root / name).is_file() and shutil.which(tool) else None
