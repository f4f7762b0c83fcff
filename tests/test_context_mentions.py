"""@-mentions attach files and folder listings from a real git repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.mentions import MAX_FILE_TOKENS, expand_mentions
from agent.tokens import count_tokens
from tests.conftest import make_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "repo",
        {
            "src/app.py": "def main():\n    return 42\n",
            "src/util.py": "X = 1\n",
            "src/build/out.py": "generated\n",
            ".gitignore": "src/build/\n",
            ".env": "API_KEY=sk-live-123\n",
            "README.md": "# Demo\n",
        },
    )


def test_a_file_mention_attaches_its_content(repo: Path) -> None:
    text, attached = expand_mentions("fix @src/app.py please", repo)
    assert attached == ["src/app.py"]
    assert text.startswith("fix @src/app.py please\n\n")
    assert '<file path="src/app.py">\ndef main():\n    return 42\n</file>' in text


def test_a_mention_from_a_subfolder_falls_back_to_the_users_folder(repo: Path) -> None:
    (repo / "README.md").write_text("# root readme\n")
    (repo / "src" / "README.md").write_text("# src readme\n")
    text, attached = expand_mentions("see @util.py and @README.md", repo, cwd=repo / "src")
    # Root-relative paths win (they are what completion offers); others are tried from cwd.
    assert attached == ["src/util.py", "README.md"]
    assert "# root readme" in text and "# src readme" not in text
    outside, none = expand_mentions("see @../etc/passwd", repo, cwd=repo / "src")
    assert none == [] and outside == "see @../etc/passwd"


def test_a_folder_mention_attaches_its_listing_without_ignored_files(repo: Path) -> None:
    text, attached = expand_mentions("look at @src/", repo)
    assert attached == ["src"]
    assert '<directory path="src/">\nsrc/app.py\nsrc/util.py\n</directory>' in text
    assert "out.py" not in text


def test_emails_and_missing_paths_are_left_alone(repo: Path) -> None:
    message = "mail me@example.com about @nothing/here.py and @decorator usage"
    assert expand_mentions(message, repo) == (message, [])


def test_sentence_punctuation_after_a_mention(repo: Path) -> None:
    text, attached = expand_mentions("Read @README.md, then @src/util.py.", repo)
    assert attached == ["README.md", "src/util.py"]
    assert "# Demo" in text and "X = 1" in text


def test_a_file_mentioned_twice_is_attached_once(repo: Path) -> None:
    text, attached = expand_mentions("@src/app.py and again @src/app.py and @./src/app.py", repo)
    assert attached == ["src/app.py"]
    assert text.count('<file path="src/app.py">') == 1


def test_sensitive_files_are_refused_unless_allowed(repo: Path) -> None:
    text, attached = expand_mentions("use @.env", repo)
    assert attached == []
    assert "sk-live-123" not in text
    assert "not attached: @.env may hold secrets" in text

    text, attached = expand_mentions("use @.env", repo, allow=[".env"])
    assert attached == [".env"]
    assert "API_KEY=sk-live-123" in text


def test_paths_outside_the_repository_are_left_alone(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("outside")
    message = "see @../secret.txt and @/etc/passwd"
    assert expand_mentions(message, repo) == (message, [])


def test_the_git_folder_is_not_attached(repo: Path) -> None:
    message = "see @.git/config"
    assert expand_mentions(message, repo) == (message, [])


def test_large_files_are_capped(repo: Path) -> None:
    (repo / "big.log").write_text("".join(f"event {i} happened\n" for i in range(20_000)))
    text, attached = expand_mentions("@big.log", repo)
    assert attached == ["big.log"]
    assert count_tokens(text) <= MAX_FILE_TOKENS + 50
    assert "event 0 happened" in text and "event 19999 happened" in text
    assert "tokens elided" in text


def test_a_huge_file_is_attached_by_its_start_and_end_with_its_size(repo: Path) -> None:
    # Only its ends are read: a 30 MB log must not be loaded and tokenised whole.
    with (repo / "huge.log").open("w") as fh:
        fh.write("first line\n")
        fh.write(("filler " * 15 + "\n") * 280_000)
        fh.write("last line\n")
    text, attached = expand_mentions("@huge.log", repo)
    assert attached == ["huge.log"]
    assert "first line" in text and text.endswith("last line\n</file>")
    assert '<file path="huge.log">\n[28.3 MB: only its start and end are shown]\n' in text
    assert count_tokens(text) <= MAX_FILE_TOKENS + 50


def test_binary_files_are_not_attached(repo: Path) -> None:
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    text, attached = expand_mentions("@logo.png", repo)
    assert attached == []
    assert "not attached: @logo.png is a binary file" in text


def test_secret_values_in_an_attached_file_are_masked(tmp_path: Path) -> None:
    key = "AKIA" + "Z7QW3XK9PLM2VN4B"
    (tmp_path / "deploy.py").write_text(f"AWS_KEY = '{key}'\nregion = 'eu-west-1'\n")
    text, attached = expand_mentions("check @deploy.py", tmp_path)
    assert attached == ["deploy.py"]
    assert "eu-west-1" in text and key not in text
