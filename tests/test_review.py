"""`codex-agent review` / `audit` with the analysers only (--no-model), on real git repositories."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.review.commands import audit_main, review_main
from agent.review.findings import Finding, merge, normalize_category
from tests.conftest import git, make_repo, run_cli

Capture = pytest.CaptureFixture[str]
VULNAPP = Path(__file__).parent / "data" / "vulnapp"

# (rule id, category, file, text on the flagged line): every flaw in the sample project.
EXPECTED = [
    ("B608", "injection", "app.py", "query = "),
    ("B602", "command-injection", "app.py", "shell=True"),
    ("B301", "deserialization", "app.py", "pickle.loads"),
    ("B506", "deserialization", "app.py", "yaml.load("),
    ("secrets/aws-access-key", "secrets", "config.py", "AKIA"),
]


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def expected_findings(root: Path, prefix: str = "") -> set[tuple[str, str, str, int]]:
    return {(rule, cat, prefix + name, line_of(root / name, needle)) for rule, cat, name, needle in EXPECTED}


def found(findings: list[dict[str, Any]]) -> set[tuple[str, str, str, int]]:
    return {(f["rule_id"], f["category"], f["file"], f["line"]) for f in findings}


def review_json(cwd: Path, capsys: Capture, **options: Any) -> tuple[int, dict[str, Any]]:
    args = dict(uncommitted=False, base=None, commit=None, patch=None, all_lines=False, no_model=True,
                fmt="json", output=None, fail_on="none", client=None, cwd=cwd)
    code = review_main(**(args | options))
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A project whose uncommitted work adds the vulnerable app: app.py staged
    over a committed stub, config.py untracked, one more line left unstaged."""
    root = make_repo(tmp_path / "shop", {"README.md": "# shop\n", "app.py": '"""Orders."""\n'})
    shutil.copy(VULNAPP / "app.py", root / "app.py")
    git(root, "add", "app.py")
    shutil.copy(VULNAPP / "config.py", root / "config.py")
    with (root / "app.py").open("a") as fh:
        fh.write("\n\ndef total(expression):\n    return eval(expression)\n")
    return root


def test_uncommitted_changes_report_every_flaw_on_its_line(repo: Path, capsys: Capture) -> None:
    code, report = review_json(repo, capsys)
    assert code == 0  # --fail-on none
    assert expected_findings(repo) <= found(report["findings"])
    # the unstaged eval() is part of the uncommitted work too
    assert ("B307", "injection", "app.py", line_of(repo / "app.py", "eval(")) in found(report["findings"])
    assert report["target"] == "uncommitted changes"
    assert report["summary"]["total"] == len(report["findings"])


def test_only_changed_lines_unless_all(tmp_path: Path, capsys: Capture) -> None:
    root = make_repo(tmp_path / "shop", {n: (VULNAPP / n).read_text() for n in ("app.py", "config.py")})
    (root / "app.py").write_text((root / "app.py").read_text() + "\n\nVERSION = 2\n")

    _, report = review_json(root, capsys)
    assert report["findings"] == []

    _, report = review_json(root, capsys, all_lines=True)  # every line of the changed files, no other file
    assert found(report["findings"]) >= {f for f in expected_findings(root) if f[2] == "app.py"}
    assert {f["file"] for f in report["findings"]} == {"app.py"}


def test_patch_file_and_stdin(repo: Path, capsys: Capture, monkeypatch: pytest.MonkeyPatch) -> None:
    git(repo, "add", "-A")
    diff = git(repo, "diff", "--cached")
    (repo.parent / "change.diff").write_text(diff)

    _, from_file = review_json(repo, capsys, patch="../change.diff")
    assert expected_findings(repo) <= found(from_file["findings"])

    monkeypatch.setattr(sys, "stdin", io.StringIO(diff))
    _, from_stdin = review_json(repo, capsys, patch="-")
    assert found(from_stdin["findings"]) == found(from_file["findings"])


def test_base_branch_and_commit(repo: Path, capsys: Capture) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "add the order service")
    (repo / "app.py").write_text("# later work in the tree must not count\n")

    _, on_branch = review_json(repo, capsys, base="main")
    assert on_branch["target"] == "main...HEAD"
    assert expected_findings(VULNAPP) <= found(on_branch["findings"])  # the committed lines, not the tree's

    _, one_commit = review_json(repo, capsys, commit="HEAD")
    assert found(one_commit["findings"]) == found(on_branch["findings"])


def test_audit_finds_every_flaw_in_a_folder_and_a_file(tmp_path: Path, capsys: Capture) -> None:
    folder = tmp_path / "vulnapp"
    shutil.copytree(VULNAPP, folder)
    code = audit_main(folder, no_model=True, fmt="json", output=None, fail_on="none", client=None, cwd=tmp_path)
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert expected_findings(folder) <= found(report["findings"])

    audit_main(Path("vulnapp/config.py"), no_model=True, fmt="json", output=None, fail_on="none", client=None,
               cwd=tmp_path)
    report = json.loads(capsys.readouterr().out)
    assert found(report["findings"]) == {("secrets/aws-access-key", "secrets", "config.py", 4)}


def test_audit_inside_a_repository_uses_repository_paths(capsys: Capture) -> None:
    repo_root = VULNAPP.parents[2]
    audit_main(VULNAPP, no_model=True, fmt="json", output=None, fail_on="none", client=None, cwd=repo_root)
    report = json.loads(capsys.readouterr().out)
    assert expected_findings(VULNAPP, "tests/data/vulnapp/") <= found(report["findings"])


def test_sensitive_files_and_secrets_never_show_their_values(tmp_path: Path, capsys: Capture) -> None:
    root = make_repo(tmp_path / "svc", {"README.md": "x\n"})
    token = "ghp_" + "x7Kp2Lm9Qr4Tv8Wz1Bn5Cd3Fg6Hj0Ks2PqAb"
    (root / ".env.production").write_text(f"GITHUB_TOKEN={token}\n")
    (root / ".env.example").write_text("GITHUB_TOKEN=\n")
    (root / "deploy.py").write_text(f'PASSWORD = "{token}"\n')
    (root / "keystore.p12").write_bytes(b"\x30\x82\x00\x01 binary")
    for fmt in ("json", "sarif", "markdown", "text"):
        review_main(uncommitted=True, base=None, commit=None, patch=None, all_lines=False, no_model=True, fmt=fmt,
                    output=None, fail_on="none", client=None, cwd=root)
        out = capsys.readouterr().out
        assert token not in out and "Sensitive file" in out
    review_main(uncommitted=True, base=None, commit=None, patch=None, all_lines=False, no_model=True, fmt="json",
                output=None, fail_on="none", client=None, cwd=root)
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert {(f["file"], f["rule_id"], f["source"]) for f in findings} == {
        (".env.production", "secrets/sensitive-file", "secrets"),
        (".env.production", "secrets/github-token", "secrets"),
        ("keystore.p12", "secrets/sensitive-file", "secrets"),
        # bandit's hard-coded password and the scanner's token on one line: one finding
        ("deploy.py", "B105", "bandit+secrets"),
    }


# --------------------------------------------------------------------------- formats and exit codes


def test_fail_on_sets_the_exit_code_both_ways(repo: Path, capsys: Capture) -> None:
    assert review_json(repo, capsys, fail_on="high")[0] == 1  # shell=True, the AWS key
    assert review_json(repo, capsys, fail_on="critical")[0] == 0
    assert review_json(repo, capsys, fail_on="none")[0] == 0
    clean = make_repo(repo.parent / "clean", {"a.py": "x = 1\n"})
    assert review_json(clean, capsys, fail_on="info")[0] == 0


def test_usage_errors_exit_2_with_a_message(tmp_path: Path, capsys: Capture) -> None:
    args = dict(uncommitted=False, base=None, commit=None, patch=None, all_lines=False, no_model=True,
                fmt="json", output=None, fail_on="none", client=None, cwd=tmp_path)
    cases = [
        ({}, "not inside a git repository"),
        ({"patch": "missing.diff"}, "cannot read the patch"),
        ({"base": "main", "commit": "HEAD"}, "choose one of --base, --commit"),
        ({"fmt": "xml"}, "unknown --format"),
        ({"fail_on": "severe"}, "unknown --fail-on"),
    ]
    for options, message in cases:
        assert review_main(**(args | options)) == 2
        assert message in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("just words\n")
    assert review_main(**(args | {"patch": "notes.txt"})) == 2
    assert "not a unified diff" in capsys.readouterr().err
    make_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    assert review_main(**(args | {"commit": "nope", "cwd": tmp_path / "r"})) == 2
    assert "unknown commit" in capsys.readouterr().err
    assert audit_main(Path("nowhere"), no_model=True, fmt="json", output=None, fail_on="none", client=None,
                      cwd=tmp_path) == 2


def test_sarif_has_what_github_code_scanning_needs(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "review.sarif"
    review_main(uncommitted=True, base=None, commit=None, patch=None, all_lines=False, no_model=True, fmt="sarif",
                output=out, fail_on="none", client=None, cwd=repo)
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0" and "sarif" in sarif["$schema"]
    (run,) = sarif["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "codex-agent" and driver["informationUri"].startswith("https://")
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert {"B608", "B602", "B301", "B506", "secrets/aws-access-key"} <= set(rules)
    for rule in rules.values():
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert 0.0 < float(rule["properties"]["security-severity"]) <= 10.0
    assert float(rules["B602"]["properties"]["security-severity"]) >= 7.0  # high
    results = run["results"]
    assert len(results) == len({r["partialFingerprints"]["codexAgentFindingHash/v1"] for r in results})
    for result in results:
        assert result["ruleId"] in rules and driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note") and result["message"]["text"]
        (location,) = result["locations"]
        uri = location["physicalLocation"]["artifactLocation"]["uri"]
        assert not uri.startswith("/") and (repo / uri).is_file()
        assert location["physicalLocation"]["region"]["startLine"] >= 1
    shell = next(r for r in results if r["ruleId"] == "B602")
    assert shell["level"] == "error"
    assert shell["locations"][0]["physicalLocation"]["region"]["startLine"] == line_of(repo / "app.py", "shell=True")


def test_markdown_and_text_reports(repo: Path, capsys: Capture) -> None:
    args = dict(uncommitted=True, base=None, commit=None, patch=None, all_lines=False, no_model=True,
                output=None, fail_on="none", client=None, cwd=repo)
    review_main(fmt="markdown", **args)
    markdown = capsys.readouterr().out
    assert markdown.startswith("## Security review: uncommitted changes")
    assert "### `app.py`" in markdown and "### `config.py`" in markdown
    sql_line = line_of(repo / "app.py", "query = ")
    assert f"Line {sql_line}: SQL query built by string concatenation — use parameterized queries" in markdown

    review_main(fmt="text", **args)
    text = capsys.readouterr().out
    assert "\x1b[" not in text  # no colour codes when stdout is not a terminal
    assert "SQL query built by string concatenation — use parameterized queries" in text
    assert text.index("app.py") < text.index("config.py")
    assert f"Line {sql_line}:" in text and "findings:" in text


def test_cli_review_no_model(repo: Path) -> None:
    """The installed program, wired by the CLI, as CI would run it."""
    proc = run_cli(["review", "--no-model", "--format", "json", "--fail-on", "high"], cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert expected_findings(repo) <= found(json.loads(proc.stdout)["findings"])


# --------------------------------------------------------------------------- merging


def test_merge_keeps_the_analyser_rule_and_the_worse_severity() -> None:
    bandit = Finding("a.py", 10, "medium", "injection", "SQL built from strings", "bandit says", "use params",
                     source="bandit", rule_id="B608")
    model = Finding("a.py", 11, "high", "injection", "user input reaches SQL", "data flows from request",
                    "use ? placeholders", source="model", patch="--- a/a.py\n+++ b/a.py\n")
    other_category = Finding("a.py", 10, "low", "crypto", "weak hash", source="model")
    far_away = Finding("a.py", 30, "high", "injection", "another query", source="model")
    (merged, *rest) = merge([model, bandit, other_category, far_away])
    assert merged.rule_id == "B608" and merged.severity == "high" and merged.source == "bandit+model"
    assert merged.patch and "data flows from request" in merged.explanation and merged.recommendation == "use params"
    assert [(f.line, f.category) for f in rest] == [(10, "crypto"), (30, "injection")]


def test_merge_never_folds_two_findings_of_one_source() -> None:
    a = Finding("a.py", 3, "high", "secrets", "key one", source="secrets")
    b = Finding("a.py", 4, "high", "secrets", "key two", source="secrets")
    assert len(merge([a, b])) == 2


@pytest.mark.parametrize(
    "said, category",
    [
        ("SQL Injection", "injection"),
        ("OS command injection", "command-injection"),
        ("Insecure Deserialization", "deserialization"),
        ("Path Traversal", "path-traversal"),
        ("Server-Side Request Forgery", "ssrf"),
        ("Cross-Site Scripting", "xss"),
        ("Broken Access Control", "authn/authz"),
        ("hardcoded credentials", "secrets"),
        ("Weak cryptography", "crypto"),
        ("Security Misconfiguration", "misconfiguration"),
        ("prompt injection", "prompt-injection"),
        ("authn/authz", "authn/authz"),
        ("something new", "other"),
    ],
)
def test_normalize_category(said: str, category: str) -> None:
    assert normalize_category(said) == category


def test_symlinks_out_of_the_repository_are_not_followed(tmp_path: Path, capsys: Capture) -> None:
    # A pull request can add `notes.py -> ~/.aws/credentials` or a link to a
    # folder outside: the review must not read the target into the diff the
    # model gets, the analysers or the report.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "creds.py").write_text("OUTSIDE_MARKER = eval(input())\n")
    root = make_repo(tmp_path / "proj", {"README.md": "# proj\n"})
    (root / "notes.py").symlink_to(outside / "creds.py")
    (root / "ext").symlink_to(outside)
    git(root, "add", "ext")
    git(root, "commit", "-qm", "link a folder")
    patch = tmp_path / "pr.diff"
    patch.write_text("--- a/ext/creds.py\n+++ b/ext/creds.py\n@@ -1 +1 @@\n-x\n+OUTSIDE_MARKER = eval(input())\n")

    for options in ({}, {"patch": str(patch)}, {"all_lines": True}):
        _, report = review_json(root, capsys, **options)
        assert not [f for f in report["findings"] if f["rule_id"] == "B307"], options
        assert "OUTSIDE_MARKER" not in json.dumps([f["snippet"] for f in report["findings"]])

    from agent.review import targets

    target = targets.uncommitted(root)
    assert "OUTSIDE_MARKER" not in target.diff
    assert all(f.content is None for f in target.files if f.path == "notes.py")
