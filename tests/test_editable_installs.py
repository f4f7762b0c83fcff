"""Editable installs point into the user's tree; commands in the sandbox import
the working copy's code instead (issue 15). Real venvs, real `pip install -e`
(offline: no dependencies, no build isolation, the interpreter's setuptools),
real bubblewrap and the real CLI against the fake OpenAI server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.isolation import probe_bwrap
from sandbox.runner import Runner
from sandbox.workspace import Workspace
from tests.conftest import make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, text

BWRAP = shutil.which("bwrap")
_PROBE = probe_bwrap(BWRAP) if BWRAP else None
NO_BWRAP = ("bubblewrap is not installed" if BWRAP is None
            else f"bubblewrap cannot run here: {_PROBE.error}" if _PROBE and _PROBE.config is None else "")
MODES = ["process", pytest.param("bwrap", marks=pytest.mark.skipif(bool(NO_BWRAP), reason=NO_BWRAP))]

BUGGY = "def double(x):\n    return x + 1\n"
FIXED = "def double(x):\n    return x * 2\n"
TEST = "from mypkg import double\n\n\ndef test_double():\n    assert double(5) == 10\n"


def _setuptools_project(package_dir: str) -> str:
    packages = '\n[tool.setuptools]\npackages = ["mypkg"]\n' if package_dir == "" else ""
    return ('[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "mypkg"\nversion = "0.1"\n{packages}')


def editable_project(root: Path, layout: str) -> Path:
    """A repository with `mypkg` (in src/, or at the top: setuptools then
    installs a finder instead of a path) installed editable into its .venv;
    `pth`: a hand-written path entry, as flit, hatchling and pdm write."""
    package_dir = "src/" if layout == "src" else ""
    files = {
        ".gitignore": ".venv/\n*.egg-info/\nbuild/\n",
        f"{package_dir}mypkg/__init__.py": BUGGY,
        "tests/test_mypkg.py": TEST,
    }
    if layout != "pth":
        files["pyproject.toml"] = _setuptools_project(package_dir)
    make_repo(root, files)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(root / ".venv")],
                   check=True)
    python = root / ".venv" / "bin" / "python"
    if layout == "pth":
        purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                 check=True, capture_output=True, text=True).stdout.strip()
        (Path(purelib) / "_mypkg.pth").write_text(f"{root.resolve()}\n")
    else:
        subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "-e", str(root),
                        "--no-deps", "--no-build-isolation", "--no-index"], check=True, capture_output=True)
    # The install really points into the user's tree.
    seen = subprocess.run([str(python), "-c", "import mypkg; print(mypkg.__file__)"], cwd="/",
                          check=True, capture_output=True, text=True).stdout.strip()
    assert Path(seen).resolve().is_relative_to(root.resolve()), seen
    return root


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layout", ["src", "flat", "pth"])
def test_commands_import_the_working_copy_not_the_users_tree(tmp_path: Path, layout: str, mode: str) -> None:
    project = editable_project(tmp_path / "proj", layout)
    package = project / ("src/mypkg" if layout == "src" else "mypkg")
    workspace = Workspace.create(project)
    try:
        (workspace.root / package.relative_to(project) / "__init__.py").write_text(FIXED)
        runner = Runner.for_workspace(workspace, mode=mode)
        result = runner.run('cd / && python -c "import mypkg; print(mypkg.__file__); print(mypkg.double(5))"')
        assert result.exit_code == 0, result.output
        where, value = result.output.split()
        assert value == "10"  # the working copy's fix, not the tree's bug
        assert Path(where) == runner.workdir / package.relative_to(project) / "__init__.py"
        assert (package / "__init__.py").read_text() == BUGGY  # the user's tree is untouched
    finally:
        workspace.discard()


@pytest.mark.parametrize("mode", MODES)
def test_the_gate_tests_the_fix_in_the_working_copy_of_an_editable_src_layout(tmp_path: Path, mode: str) -> None:
    project = editable_project(tmp_path / "proj", "src")
    script = [
        text("I think it's fine."),
        call("edit_file", {"path": "src/mypkg/__init__.py", "old": "x + 1", "new": "x * 2"}),
        text("Fixed double()."),
    ]
    with FakeOpenAI(script) as server:
        result = run_cli(["make double() double", "--base-url", server.base_url, "--model", "gpt-5.2-codex",
                          "--api", "chat", "--sandbox", mode, "--no-apply"], project)
    assert result.returncode == 0, result.stderr + result.stdout
    assert len(server.model_requests) == 3
    # The gate's report after "I think it's fine." is the unfixed code's
    # assertion, not a ModuleNotFoundError: the package was found.
    gate_report = server.model_requests[1]["messages"][-1]["content"]
    assert "assert 6 == 10" in gate_report and "ModuleNotFoundError" not in gate_report
    assert "tests pass" in result.stdout + result.stderr
    # The gate passed on the working copy while the user's tree, not applied
    # to, still fails: it was not what the tests imported.
    assert (project / "src/mypkg/__init__.py").read_text() == BUGGY
    own = subprocess.run([str(project / ".venv/bin/python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=project, capture_output=True, text=True)
    assert own.returncode == 1 and "assert 6 == 10" in own.stdout


@pytest.mark.skipif(bool(NO_BWRAP), reason=NO_BWRAP)
def test_the_working_copy_shown_at_the_users_path_keeps_git_and_home_apart(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_repo(tmp_path / "proj", {"app.py": "print('hi')\n"})
    monkeypatch.setenv("HOME", str(project))  # a repository kept in the home folder itself
    workspace = Workspace.create(project)
    try:
        runner = Runner.for_workspace(workspace, mode="bwrap")
        assert runner.workdir == project.resolve()
        (workspace.root / "app.py").write_text("print('changed')\n")
        result = runner.run('pwd; echo "home=$HOME"; mkdir -p "$HOME/.cache/tool" && touch "$HOME/.cache/tool/x"; '
                            "git status --short; git rev-parse --abbrev-ref HEAD")
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0] == str(project.resolve()) and lines[1] != f"home={project.resolve()}"
        assert " M app.py" in lines and workspace.branch in lines  # git sees the copy, on its branch
        assert not (workspace.root / ".cache").exists()  # HOME's caches stay out of the copy (and the diff)
        assert (project / "app.py").read_text() == "print('hi')\n"
    finally:
        workspace.discard()
