"""walk_files, search_text and the grep / list_files tools on real trees.

The three backends (ripgrep, git's file list, pure Python) run on one hostile
tree and must agree exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git, skip_unless
from tools import default_registry
from tools.registry import ToolContext, ToolResult
from tools.search import BadPattern, close_paths, search_text, walk_files

needs_rg = skip_unless(shutil.which("rg") is not None, "ripgrep (rg) is not installed")
BACKENDS = [pytest.param("rg", marks=needs_rg), "git", "python"]

GITIGNORE = "build/\n*.log\n!keep.log\n/root_only.txt\nnode_modules\nsrc/generated/\n"
FILES = {
    ".gitignore": GITIGNORE,
    "src/app.py": "import os\n\ndef main():\n    return os.getcwd()\n",
    "src/util.py": "def helper(x):\n    return x  # TODO\n",
    "src/generated/gen.py": "import generated\n",
    "src/nested/.gitignore": "*.tmp\n!important.tmp\n",
    "src/nested/x.tmp": "import tmp\n",
    "src/nested/important.tmp": "import important\n",
    "src/nested/deep/y.py": "def deep():\n    pass\n",
    "build/out.py": "import build\n",
    "logs/a.log": "import log\n",
    "logs/keep.log": "import keep\n",
    "root_only.txt": "import root\n",
    "docs/root_only.txt": "import docs\n",
    "node_modules/pkg/index.js": "import nm\n",
    ".hidden/config.py": "def hidden():\n    pass\n",
    "a-b.py": "def ab():\n    pass\n",
    "a/b.py": "def a_b():\n    pass\n",
    "a.py": "def a():\n    pass\n",
    "name with space.py": "def spaced():\n    pass\n",
    "ünï.py": "def unicode_name():\n    pass\n",
    "crlf.py": "def crlf():\r\n    return 1\r\n",
    ".env": "SECRET_TOKEN=import\n",
    "info_excluded.txt": "import excluded\n",
}


def build_tree(root: Path, *, repo: bool) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode())
    (root / "data.bin").write_bytes(b"\0\x01import binary\n")
    os.symlink("/etc/passwd", root / "passwd_link")
    os.symlink("src", root / "src_link")
    if repo:
        git(root, "init", "-q", "-b", "main")
        (root / ".git" / "info" / "exclude").write_text("info_excluded.txt\n")
        (root / "tracked_then_ignored.log").write_text("import tracked\n")
        (root / "deleted.py").write_text("import deleted\n")
        git(root, "add", "-A")
        git(root, "add", "-f", "tracked_then_ignored.log")
        git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
        (root / "deleted.py").unlink()
    else:
        # Without a repository there is no info/exclude: drop the file it would hide.
        (root / "info_excluded.txt").unlink()
    return root


EXPECTED = sorted(
    [
        ".env", ".gitignore", ".hidden/config.py", "a-b.py", "a.py", "a/b.py", "crlf.py", "data.bin",
        "docs/root_only.txt", "logs/keep.log", "name with space.py", "src/app.py", "src/nested/.gitignore",
        "src/nested/deep/y.py", "src/nested/important.tmp", "src/util.py", "ünï.py",
    ]
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return build_tree(tmp_path / "repo", repo=True)


def call(root: Path, name: str, **args) -> ToolResult:
    return default_registry().call(name, json.dumps(args), ToolContext(root=root))


# --------------------------------------------------------------------------- walk_files


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_lists_the_same_files(repo: Path, backend: str) -> None:
    assert walk_files(repo, backend=backend) == EXPECTED


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_applies_outer_rules_inside_a_subfolder(repo: Path, backend: str) -> None:
    assert walk_files(repo, "src", backend=backend) == [
        "src/app.py", "src/nested/.gitignore", "src/nested/deep/y.py", "src/nested/important.tmp", "src/util.py",
    ]
    assert walk_files(repo, "logs", backend=backend) == ["logs/keep.log"]
    assert walk_files(repo, "build", backend=backend) == []


@pytest.mark.parametrize("backend", [pytest.param("rg", marks=needs_rg), "python"])
def test_a_plain_folder_gets_the_same_rules(tmp_path: Path, backend: str) -> None:
    root = build_tree(tmp_path / "plain", repo=False)
    expected = [f for f in EXPECTED if f != "info_excluded.txt"]
    assert walk_files(root, backend=backend) == expected
    assert walk_files(root, "logs", backend=backend) == ["logs/keep.log"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worktree_uses_the_shared_info_exclude(repo: Path, tmp_path: Path, backend: str) -> None:
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(worktree))
    (worktree / "info_excluded.txt").write_text("hidden by the main repo's info/exclude\n")
    (worktree / "fresh.py").write_text("x = 1\n")
    files = walk_files(worktree, backend=backend)
    assert "fresh.py" in files and "info_excluded.txt" not in files and ".git" not in files


def test_close_paths_suggests_the_same_name_elsewhere_first(repo: Path) -> None:
    assert close_paths(repo, "app.py")[0] == "src/app.py"
    assert "src/util.py" in close_paths(repo, "src/utils.py")


# --------------------------------------------------------------------------- search_text


@pytest.mark.parametrize(
    "pattern",
    [r"import", r"\bdef\s+\w+\(\)", r"(?i)RETURN", r"^\s+pass$", r"return 1$", r"(?<=def )a\w*"],
)
def test_every_backend_finds_the_same_matches(repo: Path, pattern: str) -> None:
    results = {b: search_text(repo, pattern, backend=b) for b in ("git", "python")}
    if shutil.which("rg"):
        results["rg"] = search_text(repo, pattern, backend="rg")
    reference = results["python"]
    assert reference.total > 0
    for backend, result in results.items():
        assert (result.matches, result.total, result.secret_files) == (
            reference.matches, reference.total, reference.secret_files,
        ), backend


@needs_rg
@pytest.mark.parametrize("sub", ["", "src"])
def test_ripgrep_searches_the_folder_even_when_stdin_is_a_pipe(tmp_path: Path, sub: str) -> None:
    # Given no path and a readable stdin, ripgrep would search stdin: the agent's own input.
    root = build_tree(tmp_path / "plain", repo=False)
    code = (
        "import sys; from pathlib import Path; from tools.search import search_text; "
        f"r = search_text(Path(sys.argv[1]), 'import|def', {sub!r}, backend='rg'); print(r.total, r.backend)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(root)], input="import from stdin\n", capture_output=True, text=True,
        cwd=Path(__file__).resolve().parents[1], check=True,
    )
    expected = search_text(root, "import|def", sub, backend="python").total
    assert proc.stdout.split() == [str(expected), "rg"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("glob", "expected"), [("*.log", ["logs/keep.log"]), ("src/**/*.tmp", ["src/nested/important.tmp"])]
)
def test_a_glob_narrows_but_never_unhides(repo: Path, backend: str, glob: str, expected: list[str]) -> None:
    result = search_text(repo, "import", glob=glob, backend=backend)
    assert [m.path for m in result.matches] == expected


def test_search_skips_ignored_binary_and_secret_content(repo: Path) -> None:
    result = search_text(repo, "import")
    paths = {m.path for m in result.matches}
    assert "src/app.py" in paths and "logs/keep.log" in paths
    for hidden in ("build/out.py", "logs/a.log", "node_modules/pkg/index.js", "data.bin", ".env",
                   "tracked_then_ignored.log", "src/nested/x.tmp", "root_only.txt"):
        assert hidden not in paths
    assert result.secret_files == [".env"]
    allowed = search_text(repo, "import", allow=[".env"])
    assert ".env" in {m.path for m in allowed.matches}


@needs_rg
def test_a_pattern_ripgrep_refuses_runs_in_python(repo: Path) -> None:
    result = search_text(repo, r"(\w)\1", backend="rg")  # a backreference: Rust regex has none
    assert result.backend == "python"
    assert result.total > 0


def test_bad_regex_is_refused_before_any_backend_runs(repo: Path) -> None:
    with pytest.raises(BadPattern, match="invalid regex"):
        search_text(repo, "foo(")


def test_matches_are_sorted_capped_and_counted(tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / f"f{i:02}.txt").write_text("hit\n" * 5)
    result = search_text(tmp_path, "hit", limit=100)
    assert result.total == 150
    assert len(result.matches) == 100
    assert result.matches == sorted(result.matches)
    assert result.matches[0].path == "f00.txt" and result.matches[-1].path == "f19.txt"


# --------------------------------------------------------------------------- grep tool


def test_grep_output_is_path_line_text(repo: Path) -> None:
    result = call(repo, "grep", pattern=r"def main")
    assert result.ok
    assert result.output == "src/app.py:3: def main():"


def test_grep_in_a_folder_with_a_glob(repo: Path) -> None:
    result = call(repo, "grep", pattern="def", path="src", glob="*.py")
    lines = result.output.splitlines()
    assert lines == [
        "src/app.py:3: def main():", "src/nested/deep/y.py:1: def deep():", "src/util.py:1: def helper(x):",
    ]


def test_grep_on_one_file_and_no_match(repo: Path) -> None:
    assert call(repo, "grep", pattern="TODO", path="src/util.py").output == "src/util.py:2:     return x  # TODO"
    none = call(repo, "grep", pattern="nothing_like_this")
    assert none.ok and none.output.startswith("No matches")


def test_grep_bad_regex_is_an_error_result(repo: Path) -> None:
    result = call(repo, "grep", pattern="([a-z")
    assert not result.ok
    assert "invalid regex" in result.output


def test_grep_reports_what_the_cap_left_out(tmp_path: Path) -> None:
    (tmp_path / "many.txt").write_text("needle\n" * 250)
    result = call(tmp_path, "grep", pattern="needle")
    assert result.output.count("many.txt:") == 100
    assert "100 of 250 matches shown; 150 more" in result.output


def test_grep_trims_long_lines_around_the_match(tmp_path: Path) -> None:
    (tmp_path / "min.js").write_text("x" * 5000 + "NEEDLE" + "y" * 5000 + "\n")
    line = call(tmp_path, "grep", pattern="NEEDLE").output
    assert "NEEDLE" in line and len(line) < 300
    assert line.startswith("min.js:1: …") and line.endswith("…")


def test_grep_hides_secret_files_but_says_so(repo: Path) -> None:
    result = call(repo, "grep", pattern="SECRET_TOKEN")
    assert "SECRET_TOKEN=" not in result.output
    assert ".env hidden" in result.output


def test_grep_refuses_paths_outside(repo: Path) -> None:
    assert "outside" in call(repo, "grep", pattern="root", path="../").output
    assert not call(repo, "grep", pattern="root", path="/etc").ok
    assert not call(repo, "grep", pattern="root", path="passwd_link").ok


# --------------------------------------------------------------------------- list_files tool


def test_list_files_honours_gitignore(repo: Path) -> None:
    result = call(repo, "list_files")
    assert result.output.splitlines() == EXPECTED
    assert result.data["files"] == len(EXPECTED)


def test_list_files_in_a_folder_with_a_pattern(repo: Path) -> None:
    assert call(repo, "list_files", path="src", pattern="*.py").output.splitlines() == [
        "src/app.py", "src/nested/deep/y.py", "src/util.py",
    ]
    assert call(repo, "list_files", pattern="src/*.py").output.splitlines() == ["src/app.py", "src/util.py"]
    assert call(repo, "list_files", pattern="**/deep/*.py").output == "src/nested/deep/y.py"


def test_list_files_caps_and_counts(tmp_path: Path) -> None:
    for i in range(250):
        (tmp_path / f"f{i:03}.py").write_text("")
    output = call(tmp_path, "list_files").output.splitlines()
    assert output[:2] == ["f000.py", "f001.py"] and len(output) == 201
    assert output[-1] == "[200 of 250 files shown; narrow with path or pattern]"


def test_list_files_missing_folder_suggests_and_outside_is_refused(repo: Path) -> None:
    missing = call(repo, "list_files", path="scr")
    assert not missing.ok and "src" in missing.output
    assert "outside" in call(repo, "list_files", path="..").output
    assert not call(repo, "list_files", path="src_link/../../").ok
