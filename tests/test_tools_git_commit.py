"""git_commit on real repositories: commits, refusals, secrets kept out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git, make_repo
from tools import default_registry
from tools.registry import ToolContext, ToolResult

FAKE_AWS_KEY = "AKIA" + "Z7Q3LR5XV2M4PN6T"  # split: not a secret in this file


def call(root: Path, message: str, allow: list[str] | None = None) -> ToolResult:
    ctx = ToolContext(root=root, secret_allow=allow or [])
    return default_registry().call("git_commit", json.dumps({"message": message}), ctx)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "repo", {"app.py": "print('hi')\n"})
    git(root, "checkout", "-q", "-b", "codex-agent/task1")
    return root


def test_commits_all_changes_with_the_repo_identity(repo: Path) -> None:
    (repo / "app.py").write_text("print('hello')\n")
    (repo / "pkg").mkdir()
    (repo / "pkg" / "new.py").write_text("x = 1\n")
    result = call(repo, "Say hello\n\nLonger body.")
    assert result.ok, result.output
    assert result.output.startswith("Committed ")
    assert "on codex-agent/task1: Say hello (2 files changed)" in result.output
    assert result.data["files"] == ["app.py", "pkg/new.py"]
    assert git(repo, "log", "-1", "--format=%an <%ae>|%B").strip() == "Dev <dev@example.com>|Say hello\n\nLonger body."
    assert git(repo, "status", "--porcelain") == ""


def test_without_an_identity_the_agent_signs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = tmp_path / "bare"
    root.mkdir()
    git(root, "init", "-q")
    (root / "a.txt").write_text("a\n")
    result = call(root, "first")
    assert result.ok, result.output
    assert git(root, "log", "-1", "--format=%an <%ae>").strip() == "codex-agent <codex-agent@localhost>"


def test_nothing_to_commit_is_refused(repo: Path) -> None:
    result = call(repo, "nothing")
    assert not result.ok and "nothing to commit" in result.output
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_an_aws_key_is_refused_with_file_and_line_and_unstaged(repo: Path) -> None:
    (repo / "config.py").write_text(f"REGION = 'eu-west-1'\nBUCKET = 'b'\nAWS_ACCESS_KEY_ID = '{FAKE_AWS_KEY}'\n")
    result = call(repo, "add config")
    assert not result.ok and result.data.get("refused")
    assert "config.py:3 (AWS Access Key)" in result.output
    assert FAKE_AWS_KEY not in result.output
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(repo, "diff", "--cached", "--name-only") == ""  # unstaged again
    assert (repo / "config.py").exists()  # the work itself is untouched


def test_a_secret_file_is_refused_unless_allowed(repo: Path) -> None:
    (repo / ".env").write_text("DEBUG=1\n")
    refused = call(repo, "add env")
    assert not refused.ok and ".env (sensitive file)" in refused.output
    assert call(repo, "add env", allow=[".env"]).ok


def test_an_allowed_secret_file_is_committed_with_its_secret_as_apply_would(repo: Path) -> None:
    (repo / ".env.test").write_text(f"AWS_ACCESS_KEY_ID={FAKE_AWS_KEY}\n")
    assert not call(repo, "add test env").ok
    assert call(repo, "add test env", allow=[".env.test"]).ok
    assert git(repo, "show", "--name-only", "--format=", "HEAD").strip() == ".env.test"


def test_secrets_in_old_lines_do_not_block_new_work(repo: Path) -> None:
    (repo / "legacy.py").write_text(f"KEY = '{FAKE_AWS_KEY}'\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "legacy secret, committed by the user")
    (repo / "legacy.py").write_text(f"KEY = '{FAKE_AWS_KEY}'\nOTHER = 1\n")
    assert call(repo, "touch legacy").ok


def test_deleting_a_secret_file_is_not_refused_and_is_listed(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "repo", {".env": "DEBUG=1\n", "app.py": "x = 1\n"})
    (root / ".env").unlink()
    (root / "app.py").write_text("x = 2\n")
    result = call(root, "drop env")
    assert result.ok, result.output
    assert result.data["files"] == [".env", "app.py"]


def test_empty_message_and_plain_folder_are_errors(tmp_path: Path) -> None:
    assert "empty commit message" in call(tmp_path, "   ").output
    assert "not a git repository" in call(tmp_path, "msg").output
