"""Facts about the project as a whole: which file imports which, where the
program starts, which files configure it, and which tests exercise what."""

from __future__ import annotations

import configparser
import fnmatch
import json
import posixpath
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agent.repomap.tags import FileSummary

CONFIG_NAMES = (
    "pyproject.toml", "setup.py", "setup.cfg", "tox.ini", "pytest.ini", "noxfile.py", "requirements*.txt",
    "Pipfile", "environment.yml", "package.json", "tsconfig.json", "deno.json", "go.mod", "Cargo.toml",
    "pom.xml", "build.gradle", "build.gradle.kts", "settings.gradle*", "CMakeLists.txt", "Makefile",
    "Dockerfile", "Dockerfile.*", "*.dockerfile", "docker-compose*.y*ml", "compose.y*ml", "Procfile",
    ".pre-commit-config.yaml", ".env.example", "vite.config.*", "webpack.config.*", "jest.config.*",
    "vitest.config.*", "babel.config.*", ".eslintrc*", "eslint.config.*", "alembic.ini", "manage.py",
)
MAX_NAMED_MODULES = 3  # modules a test file's name may point at (test_utils.py and five utils.py: none)
CONFIG_MAX_DEPTH = 2  # folders deep; deeper ones belong to vendored or example code
_CONFIG_NAME = re.compile("|".join(fnmatch.translate(n) for n in CONFIG_NAMES))
_CI_CONFIG = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$|^\.gitlab-ci\.yml$")
_PY_ROOTS = ("", "src/", "lib/", "python/")  # where absolute imports start
_JS_EXTS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_TEST_NAME = re.compile(
    r"(^test_.*\.py$|_test\.py$|_test\.go$|\.(test|spec)\.[cm]?[jt]sx?$|Tests?\.java$|_test\.rs$)"
)
_TEST_DIRS = {"tests", "test", "__tests__", "spec", "testing"}
# Folders of code that is not the project's own: vendored libraries, stub
# collections (mypy's typeshed: 760 stubs of the standard library whose
# `Any` and `TypeVar` every file uses), data the tests read.
_FOREIGN_DIRS = {"typeshed", "vendor", "_vendor", "vendored", "third_party", "thirdparty", "extern",
                 "test-data", "testdata"}


@dataclass
class ProjectFacts:
    imports: dict[str, set[str]] = field(default_factory=dict)  # file -> files it imports
    entry_points: list[str] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)
    tests: dict[str, list[str]] = field(default_factory=dict)  # test file -> files it exercises


def is_test_file(path: str) -> bool:
    parts = path.split("/")
    return bool(_TEST_NAME.search(parts[-1])) or (
        any(p in _TEST_DIRS for p in parts[:-1]) and parts[-1] != "conftest.py" and parts[-1] != "__init__.py"
    )


def named_subjects(paths: Iterable[str], tests: set[str]) -> dict[str, list[str]]:
    """Per test file, the modules its name names: `test_blueprints.py` and
    `blueprints_test.py` -> every `blueprints.py` (or `_blueprints.py`), when few."""
    by_stem: dict[str, list[str]] = {}
    for path in paths:
        if path not in tests:
            by_stem.setdefault(posixpath.basename(path).rsplit(".", 1)[0].strip("_"), []).append(path)
    found = {}
    for test in tests:
        stem = posixpath.basename(test).rsplit(".", 1)[0].removeprefix("test_").removesuffix("_test")
        named = by_stem.get(stem, [])
        if 0 < len(named) <= MAX_NAMED_MODULES:
            found[test] = named
    return found


def is_foreign(path: str) -> bool:
    """Code the project carries but does not write: the map leaves it out
    unless the task names the file."""
    return any(p in _FOREIGN_DIRS for p in path.split("/")[:-1])


def project_facts(root: Path, files: list[str], summaries: dict[str, FileSummary]) -> ProjectFacts:
    resolver = _Resolver(summaries)
    facts = ProjectFacts()
    facts.imports = {path: resolver.resolve(path, s) for path, s in summaries.items()}
    facts.configs = [
        f for f in files
        if (f.count("/") <= CONFIG_MAX_DEPTH and _CONFIG_NAME.match(f.rsplit("/", 1)[-1])) or _CI_CONFIG.match(f)
    ]
    declared = _declared_entry_points(root, set(files), resolver)
    # A script the packaging declares is not listed a second time as a file with a main guard.
    targets = " ".join(declared)
    facts.entry_points = declared + [
        e for e in _code_entry_points(summaries)
        if not (e.endswith(" (main)") and f" → {e.removesuffix(' (main)')}:" in targets)
    ]
    # tests/test_blueprints.py tests blueprints.py even when it imports only the package.
    subjects = named_subjects(summaries, {f for f in summaries if is_test_file(f)})
    for path in summaries:
        if is_test_file(path):
            targets = {t for t in facts.imports[path] if not is_test_file(t) and not t.endswith("conftest.py")}
            targets.update(subjects.get(path, ()))
            if path.endswith("_test.go"):  # Go tests live in the package they test
                folder = posixpath.dirname(path)
                targets |= {f for f in resolver.go_dirs.get(folder, ()) if not f.endswith("_test.go")}
            if targets:
                facts.tests[path] = sorted(targets)
    return facts


class _Resolver:
    """Import specs -> files of this repository (third-party imports resolve to nothing)."""

    def __init__(self, summaries: dict[str, FileSummary]) -> None:
        self.files = set(summaries)
        self.python: dict[str, str] = {}  # dotted module path from the repo root -> file
        self.go_dirs: dict[str, list[str]] = {}
        self.java: dict[str, str] = {}  # dotted class path suffixes -> file
        self._py_roots = [r.replace("/", ".") for r in _PY_ROOTS]
        self._absolute: dict[tuple[str, str], str | None] = {}  # (folder, module) -> file
        for path, summary in summaries.items():
            if summary.lang == "python":
                module = path.rsplit(".", 1)[0].removesuffix("/__init__")
                self.python.setdefault(module.replace("/", "."), path)
            elif summary.lang == "go":
                self.go_dirs.setdefault(posixpath.dirname(path), []).append(path)
            elif summary.lang == "java":
                parts = path[:-5].split("/")
                for i in range(len(parts) - 1):
                    self.java.setdefault(".".join(parts[i:]), path)

    def resolve(self, path: str, summary: FileSummary) -> set[str]:
        resolve = {
            "python": self._python, "go": self._go, "java": self._java,
            "javascript": self._js, "typescript": self._js, "tsx": self._js,
        }.get(summary.lang)
        if resolve is None:
            return set()
        found = {resolve(path, spec) for spec in summary.imports}
        found.discard(None)
        found.discard(path)
        # `from pkg import mod` names pkg/__init__.py only on the way to pkg/mod.py.
        packages = {f for f in found if f.endswith("/__init__.py")}
        for package in packages:
            folder = package.removesuffix("__init__.py")
            if any(f != package and f.startswith(folder) for f in found):
                found.discard(package)
        return found  # type: ignore[return-value]

    def _python(self, path: str, spec: str) -> str | None:
        level = len(spec) - len(spec.lstrip("."))
        name = spec[level:]
        if level:
            package = posixpath.dirname(path).split("/") if "/" in path else []
            base = package[: len(package) - (level - 1)] if level - 1 <= len(package) else None
            if base is None:
                return None
            dotted = ".".join([*base, name] if name else base).strip(".")
            return self.python.get(dotted)
        here = posixpath.dirname(path)
        key = (here, name)
        if key not in self._absolute:
            # The importing file's folder first (scripts and tests import siblings), then the usual roots.
            prefixes = [here.replace("/", ".") + "."] if here else []
            self._absolute[key] = next(
                (self.python[p + name] for p in prefixes + self._py_roots if p + name in self.python), None
            )
        return self._absolute[key]

    def _js(self, path: str, spec: str) -> str | None:
        if not spec.startswith("."):
            return None  # a package, not a file here
        base = posixpath.normpath(posixpath.join(posixpath.dirname(path), spec))
        stem = base.rsplit(".", 1)[0] if base.endswith((".js", ".jsx", ".mjs", ".cjs")) else base
        candidates = [base] + [stem + e for e in _JS_EXTS] + [f"{base}/index{e}" for e in _JS_EXTS]
        return next((c for c in candidates if c in self.files), None)

    def _go(self, path: str, spec: str) -> str | None:
        parts = spec.split("/")
        for i in range(len(parts)):
            folder = self.go_dirs.get("/".join(parts[i:]))
            if folder:
                return sorted(folder)[0]  # one file stands for the package
        return None

    def _java(self, path: str, spec: str) -> str | None:
        return self.java.get(spec)

    def python_module(self, dotted: str) -> str | None:
        return next((self.python[p + dotted] for p in self._py_roots if p + dotted in self.python), None)


def _declared_entry_points(root: Path, files: set[str], resolver: _Resolver) -> list[str]:
    """Console scripts and binaries the packaging files declare."""
    out = []

    def script(name: str, target: str, source: str) -> None:
        module, _, func = target.partition(":")
        where = resolver.python_module(module.strip())
        shown = f"{where}:{func.strip()}" if where and func else where or target
        out.append(f"{name} → {shown} ({source})")

    if "pyproject.toml" in files:
        data = _read_toml(root / "pyproject.toml")
        project = data.get("project", {})
        for table in ("scripts", "gui-scripts"):
            for name, target in project.get(table, {}).items():
                script(name, str(target), "pyproject.toml")
        for name, target in data.get("tool", {}).get("poetry", {}).get("scripts", {}).items():
            if isinstance(target, str):
                script(name, target, "pyproject.toml")
    if "setup.cfg" in files:
        parser = configparser.ConfigParser()
        try:
            parser.read(root / "setup.cfg", encoding="utf-8")
            lines = parser.get("options.entry_points", "console_scripts", fallback="")
        except configparser.Error:
            lines = ""
        for line in lines.splitlines():
            if "=" in line:
                name, target = line.split("=", 1)
                script(name.strip(), target.strip(), "setup.cfg")
    if "package.json" in files:
        try:
            data = json.loads((root / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if isinstance(data, dict):
            bins = data.get("bin")
            bins = {data.get("name", "bin"): bins} if isinstance(bins, str) else bins or {}
            for name, target in bins.items():
                out.append(f"{name} → {target} (package.json bin)")
            if isinstance(data.get("main"), str):
                out.append(f"{data['main']} (package.json main)")
            start = (data.get("scripts") or {}).get("start")
            if isinstance(start, str):
                out.append(f"npm start: {start}")
    if "Cargo.toml" in files:
        for binary in _read_toml(root / "Cargo.toml").get("bin", []):
            if isinstance(binary, dict) and binary.get("path"):
                out.append(f"{binary.get('name', '?')} → {binary['path']} (Cargo.toml)")
    return out


def _code_entry_points(summaries: dict[str, FileSummary]) -> list[str]:
    """Files that run as programs, and app factories, found in the code itself:
    packages run with `python -m` first, then apps, then scripts; shallow
    files before deep ones (the project's own before a vendored package's)."""
    found: list[tuple[int, int, str]] = []
    for path, s in summaries.items():
        if is_test_file(path) or not _TEST_DIRS.isdisjoint(path.split("/")[:-1]):
            continue  # test apps and fixtures are not where the program starts
        depth = path.count("/")
        if path.endswith("__main__.py"):
            found.append((0, depth, f"{path} (python -m)"))
        elif s.is_main:
            found.append((2, depth, f"{path} (main)"))
        if s.app:
            found.append((1, depth, f"{path}: {s.app}"))
    return [text for _, _, text in sorted(found)]


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
