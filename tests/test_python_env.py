"""Which interpreter runs the project's tests: discovery order with real
virtualenvs, the validation of what a repository's pyvenv.cfg may mount, the
commands the sandbox resolves to it, the pytest preflight and doctor — the
last ones through the real CLI against the fake OpenAI server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import uuid
from pathlib import Path

import pytest

from sandbox.python_env import PythonNotFound, discover, find_venv, python_env
from sandbox.runner import Runner
from tests.conftest import make_repo, run_cli, skip_unless
from tests.fake_openai import FakeOpenAI, call, text
from tools.registry import ToolContext
from tools.testing import run_test_command

BWRAP = shutil.which("bwrap")
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason="bubblewrap is not installed")
SITE_PACKAGES = sysconfig.get_paths()["purelib"]  # where this interpreter's pytest lives


def make_venv(path: Path, *, with_pytest: bool = False, modules: dict[str, str] | None = None) -> Path:
    """A real virtualenv (no pip: fast). `with_pytest`: a .pth file lends it
    this interpreter's site-packages; `modules`: files put in its own."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    site = next(path.glob("lib/python3*/site-packages"))
    if with_pytest:
        (site / "lend.pth").write_text(SITE_PACKAGES + "\n")
    for name, content in (modules or {}).items():
        (site / name).write_text(content)
    return path.resolve()


def clean_environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX")}
    return {**env, **extra}


# -- discovery ---------------------------------------------------------------


def test_project_venv_is_found_from_a_subfolder_up_to_the_repository_root(tmp_path):
    outside = make_venv(tmp_path / ".venv")  # above the repository: not the project's
    repo = make_repo(tmp_path / "repo", {"pkg/sub/x.py": ""})
    assert find_venv(repo / "pkg" / "sub", repo) is None
    venv = make_venv(repo / "venv")
    env = discover(repo / "pkg" / "sub", repo, environ=clean_environ())
    assert env.prefix == venv and env.is_venv and env.reason == "the project's venv"
    assert env.describe() == f"{venv}/bin/python3 (the project's venv)"
    assert outside not in env.mounts
    nearer = make_venv(repo / "pkg" / ".venv")  # a sub-project's own venv wins
    assert discover(repo / "pkg" / "sub", repo, environ=clean_environ()).reason == f"the .venv in {nearer.parent}"


def test_virtual_env_then_conda_prefix_then_python3_on_path(tmp_path):
    repo = make_repo(tmp_path / "repo", {"x.py": ""})
    active = make_venv(tmp_path / "active")
    conda = make_venv(tmp_path / "conda")
    on_path = make_venv(tmp_path / "user")
    environ = clean_environ(PATH=f"{on_path}/bin:{os.environ['PATH']}")
    both = {**environ, "VIRTUAL_ENV": str(active), "CONDA_PREFIX": str(conda)}
    assert (discover(repo, repo, environ=both).prefix, discover(repo, repo, environ=both).reason) == (
        active, "VIRTUAL_ENV")
    found = discover(repo, repo, environ={**environ, "CONDA_PREFIX": str(conda)})
    assert (found.prefix, found.reason) == (conda, "CONDA_PREFIX")
    found = discover(repo, repo, environ=environ)
    assert (found.prefix, found.reason) == (on_path, "python3 on your PATH")
    # The project's own venv comes before all of them.
    own = make_venv(repo / ".venv")
    assert discover(repo, repo, environ=both).prefix == own


def test_python_flag_takes_a_prefix_or_an_interpreter(tmp_path):
    repo = make_repo(tmp_path / "repo", {"x.py": ""})
    make_venv(repo / ".venv")
    chosen = make_venv(tmp_path / "elsewhere")
    for given in (chosen, chosen / "bin" / "python"):
        env = discover(repo, repo, explicit=str(given), environ=clean_environ())
        assert (env.prefix, env.reason) == (chosen, "--python")
    on_path = discover(repo, repo, explicit="python3", environ=clean_environ())
    assert on_path.reason == "--python" and (on_path.prefix / "bin" / "python3").exists()
    with pytest.raises(PythonNotFound, match="no Python interpreter"):
        discover(repo, repo, explicit=str(tmp_path / "missing"), environ=clean_environ())


@skip_unless(shutil.which("poetry") is not None, "poetry is not installed (pip install poetry)")
def test_poetry_project_uses_poetrys_environment(tmp_path):
    repo = make_repo(tmp_path / "repo", {"pyproject.toml": (
        '[tool.poetry]\nname = "demo"\nversion = "0.1.0"\ndescription = ""\nauthors = []\n'
        '[tool.poetry.dependencies]\npython = ">=3.8"\n')})
    environ = clean_environ(POETRY_VIRTUALENVS_PATH=str(tmp_path / "poetry-envs"),
                           POETRY_CACHE_DIR=str(tmp_path / "poetry-cache"))
    subprocess.run(["poetry", "env", "use", sys.executable], cwd=repo, env=environ, check=True,
                   capture_output=True)
    env = discover(repo, repo, environ=environ)
    assert env.reason == "Poetry's environment"
    assert env.prefix.is_relative_to(tmp_path / "poetry-envs")


@skip_unless(shutil.which("pipenv") is not None, "pipenv is not installed (pip install pipenv)")
def test_pipenv_project_uses_pipenvs_environment(tmp_path):
    repo = make_repo(tmp_path / "repo", {"Pipfile": "[packages]\n\n[dev-packages]\n"})
    environ = clean_environ(WORKON_HOME=str(tmp_path / "pipenv-envs"), PIPENV_NOSPIN="1", PIPENV_YES="1",
                            PIPENV_SKIP_LOCK="1")
    subprocess.run(["pipenv", "--python", sys.executable], cwd=repo, env=environ, check=True, capture_output=True)
    env = discover(repo, repo, environ=environ)
    assert env.reason == "Pipenv's environment"
    assert env.prefix.is_relative_to(tmp_path / "pipenv-envs")


# -- what a repository's pyvenv.cfg may mount ---------------------------------


def hostile_venv(repo: Path, home: str) -> Path:
    """A committed .venv: a pyvenv.cfg that lies, an interpreter symlink."""
    venv = repo / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {home}\ninclude-system-site-packages = false\n")
    (venv / "bin" / "python3").symlink_to(sys.executable)
    return venv


@pytest.mark.parametrize("home", ["/x", "/", "HOME", "REPO/bin"])
def test_pyvenv_home_that_would_mount_a_parent_is_refused(tmp_path, monkeypatch, home):
    user_home = tmp_path / "home"
    (user_home / "bin").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(user_home))
    repo = make_repo(tmp_path / "repo", {"x.py": ""})
    # A python3 right where the lie points, so only the validation stands between.
    for folder in (user_home / "bin", repo / "bin"):
        folder.mkdir(exist_ok=True)
        (folder / "python3").symlink_to(sys.executable)
    home = home.replace("HOME", str(user_home / "bin")).replace("REPO", str(repo))
    venv = hostile_venv(repo, home)
    env = python_env(venv, "the project's .venv", repo)
    assert env.prefix == venv.resolve()
    for mount in env.mounts:
        assert mount != Path("/")
        assert not user_home.is_relative_to(mount) and not repo.is_relative_to(mount)
    assert any(home in refused for refused in env.refused)


def test_interpreter_symlink_into_a_non_python_folder_is_not_mounted(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    secrets = tmp_path / "home" / ".config" / "cloud" / "creds"
    (secrets / "bin").mkdir(parents=True)
    (secrets / "bin" / "python3").write_text("#!/bin/sh\n")
    (secrets / "bin" / "python3").chmod(0o755)
    (secrets / "token.json").write_text("{}")
    repo = make_repo(tmp_path / "repo", {"x.py": ""})
    venv = repo / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "python3").symlink_to(secrets / "bin" / "python3")
    env = python_env(venv, "the project's .venv", repo)
    assert secrets not in env.mounts
    assert any("no Python installation" in refused for refused in env.refused)


@needs_bwrap
@pytest.mark.parametrize("home", ["/x", "/"])
def test_attack_lying_pyvenv_cfg_does_not_expose_home_to_the_model(tmp_path, home):
    """Issue 13, item 2: a committed .venv/pyvenv.cfg with `home = /x` used to
    mount `/` after the masks; the model read ~/.ssh/id_rsa and the user config."""
    marker = uuid.uuid4().hex
    user_home = tmp_path / "home"
    (user_home / ".ssh").mkdir(parents=True)
    (user_home / ".ssh" / "id_rsa").write_text(f"private key ssh-{marker}\n")
    config = user_home / ".config" / "codex-agent" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'# config-{marker}\nmap_tokens = 0\n')
    repo = make_repo(tmp_path / "repo", {"README.md": "hi\n"}, commit=False)
    hostile_venv(repo, home)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "a venv"], cwd=repo, check=True)
    shell = f"cat {user_home}/.ssh/id_rsa {config} ~/.ssh/id_rsa; ls {user_home}"
    with FakeOpenAI([call("shell", {"command": shell}), text("done")]) as server:
        result = run_cli(["look around", "--base-url", server.base_url, "--api", "chat", "--sandbox", "bwrap",
                          "--no-apply", "--no-verify"], repo,
                         env={"HOME": str(user_home), "XDG_CONFIG_HOME": str(user_home / ".config")})
    assert result.returncode == 0, result.stderr
    sent = json.dumps([{k: v for k, v in r.items() if k != "_headers"} for r in server.model_requests])
    assert "No such file" in sent  # the command ran, and found nothing
    assert f"ssh-{marker}" not in sent and f"config-{marker}" not in sent
    assert f"pyvenv.cfg home = {home}" in result.stdout + result.stderr  # and the user is told


# -- inside the sandbox -----------------------------------------------------------


def test_python_python3_and_pytest_resolve_to_the_chosen_interpreter(tmp_path):
    """/usr/bin-like prefixes lack `python` or `pytest`: shims fill the gap."""
    chosen = make_venv(tmp_path / "env", with_pytest=True)
    (chosen / "bin" / "python").unlink()  # like Debian's /usr/bin
    root = tmp_path / "wc"
    root.mkdir()
    runner = Runner(root, python=python_env(chosen, "test"))
    assert set(runner.python.missing_commands()) == {"python", "pytest"}
    out = runner.run('for c in python python3; do $c -c "import sys; print(sys.prefix)"; done; '
                     "pytest --version").output
    assert out.splitlines()[:2] == [str(chosen), str(chosen)]
    assert "pytest" in out.splitlines()[2]


def test_run_tests_says_when_the_environment_cannot_run_them(tmp_path):
    """The run_tests tool (and the gate) name what is missing and where."""
    root = make_repo(tmp_path / "proj", {"pkg/__init__.py": "", "tests/test_a.py": "import yaml_nowhere\n",
                                         "tests/test_b.py": "import pkg.gone\n"})
    bare = python_env(make_venv(tmp_path / "bare"), "test env")
    result = run_test_command(ToolContext(root=root, runner=Runner(root, python=bare), test_cmd="python -m pytest"))
    assert not result.ok
    assert result.data["cannot_run"] == f"pytest is not installed for this interpreter ({bare.describe()})"
    full = python_env(make_venv(tmp_path / "full", with_pytest=True), "test env")
    ctx = ToolContext(root=root, runner=Runner(root, python=full), test_cmd="python -m pytest")
    result = run_test_command(ctx, "tests/test_a.py")
    assert "module 'yaml_nowhere' is not installed" in result.data["cannot_run"]
    assert "The tests cannot run" in result.output
    # A module the repository itself should provide is the code's problem.
    assert "cannot_run" not in run_test_command(ctx, "tests/test_b.py").data


# -- the whole program ----------------------------------------------------------

CALC = "def add(a, b):\n    return a + b\n"


def calc_repo(root: Path, expected_prefix: str = "") -> Path:
    """A project whose test fails unless it runs under `expected_prefix`."""
    check = f"    assert sys.prefix.endswith({expected_prefix!r}), sys.prefix\n" if expected_prefix else ""
    test = f"import sys\nfrom calc import add\n\n\ndef test_add():\n{check}    assert add(2, 3) == 5\n"
    return make_repo(root, {"calc.py": CALC, "tests/test_calc.py": test, ".gitignore": ".venv/\n"})


def cli(server: FakeOpenAI, *extra: str) -> list[str]:
    return ["check the tests", "--base-url", server.base_url, "--api", "chat", "--no-apply", *extra]


def test_gate_runs_under_the_projects_venv_with_test_cmd_python3(tmp_path):
    repo = calc_repo(tmp_path / "proj", "proj/.venv")
    make_venv(repo / ".venv", with_pytest=True)
    with FakeOpenAI([text("Done.")]) as server:
        result = run_cli(cli(server, "--test-cmd", "python3 -m pytest"), repo)
    # One request and a pass: a failing gate would have asked the model again.
    assert result.returncode == 0, result.stderr + result.stdout
    assert len(server.model_requests) == 1


def test_users_python3_first_on_path_runs_the_tests(tmp_path):
    repo = calc_repo(tmp_path / "proj", "/user-env")
    user = make_venv(tmp_path / "user-env", with_pytest=True)
    with FakeOpenAI([text("Done.")]) as server:
        result = run_cli(cli(server), repo, env={"PATH": f"{user}/bin:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr + result.stdout
    assert len(server.model_requests) == 1


def test_conda_prefix_supplies_the_package_the_tests_import(tmp_path):
    repo = make_repo(tmp_path / "proj", {"tests/test_marker.py": "import condamarker\n\n\ndef test_m():\n"
                                         "    assert condamarker.VALUE == 42\n"})
    conda = make_venv(tmp_path / "conda-env", with_pytest=True, modules={"condamarker.py": "VALUE = 42\n"})
    with FakeOpenAI([text("Done.")]) as server:
        result = run_cli(cli(server), repo, env={"CONDA_PREFIX": str(conda)})
    assert result.returncode == 0, result.stderr + result.stdout
    assert len(server.model_requests) == 1


def test_preflight_stops_before_any_request_when_pytest_is_missing(tmp_path):
    repo = calc_repo(tmp_path / "proj")
    venv = make_venv(repo / ".venv")  # no pytest
    with FakeOpenAI([text("Done.")]) as server:
        result = run_cli(cli(server), repo)
    assert result.returncode == 2, result.stderr
    assert server.model_requests == []
    assert f"{venv}/bin/python3 (the project's .venv)" in result.stderr
    assert "No module named 'pytest'" in result.stderr
    assert "--python" in result.stderr and "--no-verify" in result.stderr
    # --no-verify: the same project runs (unverified) without the check.
    with FakeOpenAI([text("Done.")]) as server:
        result = run_cli(cli(server, "--no-verify"), repo)
    assert result.returncode == 0, result.stderr
    assert len(server.model_requests) == 1


def test_python_flag_naming_nothing_is_a_usage_error(tmp_path):
    repo = calc_repo(tmp_path / "proj")
    with FakeOpenAI([text("Done.")]) as server:
        result = run_cli(cli(server, "--python", str(tmp_path / "nope")), repo)
    assert result.returncode == 2 and server.model_requests == []
    assert "no Python interpreter" in result.stderr and "Traceback" not in result.stderr


def test_missing_module_stops_after_one_more_request_and_is_named(tmp_path):
    repo = make_repo(tmp_path / "proj", {"app.py": "import flask_not_installed_here\n",
                                         "tests/test_app.py": "import app\n\n\ndef test_app():\n    pass\n"})
    make_venv(repo / ".venv", with_pytest=True)
    with FakeOpenAI([text("Done."), text("Done."), text("Done.")]) as server:
        result = run_cli(cli(server), repo)
    assert result.returncode == 1
    assert len(server.model_requests) == 2
    # The model heard once why, not "fix the code".
    told = server.model_requests[1]["messages"][-1]["content"]
    assert "could not run the tests" in told and "flask_not_installed_here" in told
    assert "module 'flask_not_installed_here' is not installed" in result.stderr
    assert f"{repo.resolve()}/.venv/bin/python3 (the project's .venv)" in result.stderr


def test_a_module_of_the_repository_is_the_codes_problem(tmp_path):
    repo = make_repo(tmp_path / "proj", {"pkg/__init__.py": "",
                                         "tests/test_app.py": "import pkg.missing\n\n\ndef test_app():\n    pass\n"})
    make_venv(repo / ".venv", with_pytest=True)
    with FakeOpenAI([text("Done."), text("Done."), text("Done.")]) as server:
        # --strict-tests: the failure is there before the run too, and would otherwise be left alone.
        result = run_cli(cli(server, "--max-steps", "3", "--strict-tests"), repo)
    assert result.returncode == 1
    assert len(server.model_requests) == 3  # fed back as a failure each time, to the budget
    assert "Fix the code" in server.model_requests[1]["messages"][-1]["content"]


# -- doctor ------------------------------------------------------------------------


def doctor_lines(repo: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    result = run_cli(["doctor", *args], repo, env=env)
    assert "Traceback" not in result.stderr + result.stdout
    joined = result.stdout.replace("\n     ", " ")
    lines = {}
    for line in joined.splitlines():
        status, _, rest = line.partition(" ")
        check, _, detail = rest.strip().partition(": ")
        lines.setdefault(check, f"{status} {detail}")
    return result.returncode, lines, joined


def test_doctor_names_the_interpreter_pytest_key_and_server(tmp_path):
    repo = calc_repo(tmp_path / "proj")
    venv = make_venv(repo / ".venv", with_pytest=True)
    with FakeOpenAI([]) as server:
        code, lines, _ = doctor_lines(repo, "--base-url", server.base_url,
                                      env={"OPENAI_API_KEY": "sk-doctor-secret-0123456789"})
    assert lines["python"] == f"ok {venv}/bin/python3 (the project's .venv)"
    assert lines["pytest"].startswith("ok pytest ")
    assert lines["api key"].startswith("ok set (environment")
    assert lines["server"].startswith(f"ok {server.base_url} answers") and "1 models" in lines["server"]
    assert [r["_path"] for r in server.requests] == ["/v1/models"]
    assert "sk-doctor-secret" not in json.dumps(lines)


def test_doctor_reports_each_problem_with_its_fix(tmp_path):
    repo = calc_repo(tmp_path / "proj")
    venv = make_venv(repo / ".venv")  # no pytest
    with FakeOpenAI([]) as server:
        base_url = server.base_url
    code, lines, text_out = doctor_lines(repo, "--base-url", base_url)  # the server is gone
    assert code == 1
    assert lines["pytest"].startswith("NO ") and f"{venv}/bin/python3 -m pip install pytest" in lines["pytest"]
    assert lines["server"].startswith("warn ") and "did not answer" in lines["server"]
    assert lines["api key"].startswith("ok not set")
    code, lines, _ = doctor_lines(repo, "--python", str(tmp_path / "nowhere"))
    assert lines["python"].startswith("NO ") and "--python" in lines["python"]
    assert lines["api key"].startswith("NO not set") and "OPENAI_API_KEY" in lines["api key"]
