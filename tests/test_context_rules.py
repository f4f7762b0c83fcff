"""Project rules: AGENTS.md from the root down to the working folder, .cursorrules, the user's file."""

from __future__ import annotations

from pathlib import Path

from agent.rules import MAX_TOTAL_TOKENS, load_rules, user_rules_path
from agent.tokens import count_tokens


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_no_rules_give_an_empty_string(tmp_path: Path) -> None:
    assert load_rules(tmp_path, tmp_path) == ""


def test_general_rules_come_first_and_deeper_ones_later(tmp_path: Path, private_dirs: Path) -> None:
    repo = tmp_path / "repo"
    _write(repo / "AGENTS.md", "ROOT: use tabs")
    _write(repo / "pkg" / "AGENTS.md", "PKG: use spaces")
    _write(repo / "pkg" / "sub" / "AGENTS.md", "SUB: four spaces")
    _write(repo / "other" / "AGENTS.md", "OTHER: not on the path")
    _write(repo / ".cursorrules", "CURSOR: be brief")
    user_file = user_rules_path()
    assert private_dirs in user_file.parents  # the test's own config folder, not the real home
    _write(user_file, "USER: answer in English")

    text = load_rules(repo, repo / "pkg" / "sub")

    order = [text.index(marker) for marker in ("USER:", "CURSOR:", "ROOT:", "PKG:", "SUB:")]
    assert order == sorted(order)
    assert "OTHER:" not in text
    assert "--- rules from pkg/sub/AGENTS.md ---\nSUB: four spaces" in text
    assert "--- rules from AGENTS.md ---\nROOT: use tabs" in text
    assert "--- rules from .cursorrules ---" in text
    assert "take precedence" in text


def test_working_folder_at_the_root_reads_only_the_root_file(tmp_path: Path) -> None:
    _write(tmp_path / "AGENTS.md", "ROOT")
    _write(tmp_path / "pkg" / "AGENTS.md", "PKG")
    text = load_rules(tmp_path, tmp_path)
    assert "ROOT" in text and "PKG" not in text


def test_a_working_folder_outside_the_repository_reads_only_the_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _write(repo / "AGENTS.md", "ROOT")
    _write(tmp_path / "elsewhere" / "AGENTS.md", "ELSEWHERE")
    text = load_rules(repo, tmp_path / "elsewhere")
    assert "ROOT" in text and "ELSEWHERE" not in text


def test_empty_files_are_skipped(tmp_path: Path) -> None:
    _write(tmp_path / "AGENTS.md", "  \n")
    assert load_rules(tmp_path, tmp_path) == ""


def test_huge_rules_are_capped_keeping_the_most_specific(tmp_path: Path) -> None:
    deepest = tmp_path / "a" / "b" / "c"
    _write(tmp_path / "AGENTS.md", "general rule\n" * 10_000)
    _write(tmp_path / "a" / "AGENTS.md", "rule of a\n" * 3_000)
    _write(tmp_path / "a" / "b" / "AGENTS.md", "rule of b\n" * 3_000)
    _write(deepest / "AGENTS.md", "filler\n" * 3_000 + "DEEPEST RULE")
    text = load_rules(tmp_path, deepest)
    assert count_tokens(text) <= MAX_TOTAL_TOKENS
    assert text.startswith("Project rules.")
    assert text.rstrip().endswith("DEEPEST RULE")


def test_a_rules_file_that_links_out_of_the_repository_is_not_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CODEX_AGENT_PROBE_SECRET", "do-not-send-this-value")
    (tmp_path / "AGENTS.md").symlink_to("/proc/self/environ")
    assert "do-not-send-this-value" not in load_rules(tmp_path, tmp_path)


def test_secret_values_in_rules_are_masked(tmp_path: Path) -> None:
    key = "AKIA" + "Z7QW3XK9PLM2VN4B"
    (tmp_path / "AGENTS.md").write_text(f"Deploy with key {key} when asked.\n")
    rules = load_rules(tmp_path, tmp_path)
    assert "Deploy with key" in rules and key not in rules
