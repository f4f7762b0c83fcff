"""The first minutes of a new user, through the real CLI: version, help,
typos, a missing key."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import pytest

from sandbox.runs import list_runs
from tests.conftest import make_repo, run_cli
from tests.fake_openai import FakeOpenAI


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "proj", {"calc.py": "def add(a, b):\n    return a - b\n"})


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(repo: Path, flag: str) -> None:
    result = run_cli([flag], repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"codex-agent {version('codex-agent')}"


def test_help_shows_the_main_form_and_whole_summaries_at_80_columns(repo: Path) -> None:
    result = run_cli(["--help"], repo, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "..." not in "\n".join(lines[lines.index("Commands:"):])
    main_form = next(i for i, line in enumerate(lines) if 'codex-agent "TASK"' in line)
    assert main_form < lines.index("Commands:")
    assert "--version" in result.stdout


@pytest.mark.parametrize(("typo", "meant"), [("doctr", "doctor"), ("runz", "runs"), ("reveiw", "review")])
def test_a_mistyped_command_is_refused_not_sent_to_the_model(repo: Path, typo: str, meant: str) -> None:
    with FakeOpenAI([]) as server:
        result = run_cli([typo, "--base-url", server.base_url], repo)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"codex-agent: did you mean `{meant}`? (quote a one-word task: `codex-agent run {typo}`)")
    assert server.model_requests == []


def test_a_missing_key_is_a_configuration_error(repo: Path) -> None:
    result = run_cli(["fix add", "--no-apply"], repo)
    assert result.returncode == 2
    assert "no API key: set OPENAI_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr
    listed = run_cli(["runs"], repo)
    assert "fix add" not in listed.stdout


def _user_config(text: str) -> Path:
    from agent.config import user_config_path

    path = user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(("line", "message"), [
    ('max_steps = "30"', '`max_steps` must be an integer, not "30"'),
    ("max_stepz = 30", "unknown key `max_stepz` (did you mean `max_steps`?)"),
    ("allow_secrets = \".env\"", '`allow_secrets` must be a list of strings, not ".env"'),
])
def test_a_bad_user_config_is_one_line_and_no_run_starts(repo: Path, line: str, message: str) -> None:
    path = _user_config(line + "\n")
    with FakeOpenAI([]) as server:
        result = run_cli(["fix add", "--base-url", server.base_url, "--no-apply"], repo)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"codex-agent: configuration error: {path}: {message}"]
    assert server.model_requests == []
    assert list_runs() == []
    shown = run_cli(["config"], repo)
    assert shown.returncode == 2 and message in shown.stderr


def test_a_key_a_repository_may_not_set_is_warned_about(repo: Path) -> None:
    (repo / ".codex-agent.toml").write_text('base_url = "http://evil.example/v1"\nmax_steps = 9\n')
    result = run_cli(["config"], repo)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (f"codex-agent: warning: {repo / '.codex-agent.toml'}: `base_url` is ignored: "
                                     "a repository may not set it (your user config or a flag can)")
    assert "evil.example" not in result.stdout and "max_steps        9" in result.stdout


def test_a_mistyped_command_in_a_terminal_is_asked_about(repo: Path) -> None:
    import os
    import sys

    import pexpect

    from tests.conftest import REPO

    child = pexpect.spawn(sys.executable, ["-m", "agent", "doctr"], cwd=repo, encoding="utf-8", timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}, dimensions=(40, 80))
    child.expect_exact("Did you mean `codex-agent doctor`? [Y/n]:")
    child.sendline("y")
    child.expect_exact("git:")  # doctor's first check ran
    child.expect(pexpect.EOF)


def test_config_json_is_one_object_as_its_help_says(repo: Path) -> None:
    import json

    assert "one JSON object" in " ".join(run_cli(["config", "-h"], repo, env={"COLUMNS": "200"}).stdout.split())
    shown = json.loads(run_cli(["config", "--json"], repo).stdout)
    assert shown["max_steps"] == 50 and "warnings" not in shown and "sources" not in shown
