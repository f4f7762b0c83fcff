"""read_file and write_file on real files, hostile cases included."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.loop import Limits
from agent.tokens import count_tokens
from tools import default_registry
from tools.files import MAX_LINE_CHARS
from tools.registry import ToolContext, ToolResult


def call(root: Path, name: str, allow: list[str] | None = None, **args) -> ToolResult:
    ctx = ToolContext(root=root, secret_allow=allow or [])
    return default_registry().call(name, json.dumps(args), ctx)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("def f():\n    return 1\n\nprint(f())\n")
    return root


# --------------------------------------------------------------------------- read_file


def test_read_numbers_lines_like_cat_n(root: Path) -> None:
    result = call(root, "read_file", path="pkg/mod.py")
    assert result.ok
    assert result.output == "     1\tdef f():\n     2\t    return 1\n     3\t\n     4\tprint(f())"
    assert result.data["total_lines"] == 4


def test_read_a_range(root: Path) -> None:
    result = call(root, "read_file", path="pkg/mod.py", start_line=2, end_line=3)
    assert result.output == "     2\t    return 1\n     3\t"
    past = call(root, "read_file", path="pkg/mod.py", start_line=9)
    assert not past.ok and "has 4 lines" in past.output
    backwards = call(root, "read_file", path="pkg/mod.py", start_line=3, end_line=2)
    assert not backwards.ok


def test_absolute_path_inside_the_working_copy_is_accepted(root: Path) -> None:
    assert call(root, "read_file", path=str(root / "pkg" / "mod.py")).ok


def test_a_long_file_is_paged_with_a_note_on_how_to_read_on(root: Path) -> None:
    (root / "big.txt").write_text("".join(f"{i}\n" for i in range(1, 9001)))
    first = call(root, "read_file", path="big.txt")
    lines = first.output.splitlines()
    last = first.data["lines"][1]
    assert lines[0] == "     1\t1" and lines[-2] == f"{last:>6}\t{last}"
    assert lines[-1] == f"… showing lines 1-{last} of 9000; call read_file with start_line={last + 1} to read on."
    second = call(root, "read_file", path="big.txt", start_line=last + 1)
    assert second.output.startswith(f"{last + 1:>6}\t{last + 1}\n")
    end = call(root, "read_file", path="big.txt", start_line=8999)
    assert end.output == "  8999\t8999\n  9000\t9000"


@pytest.mark.parametrize("line", ["x" * 1000, "    result = compute(alpha, beta)  # a typical line of code"],
                         ids=["wide", "code"])
def test_a_page_fits_the_loops_cap_on_a_tool_result(root: Path, line: str) -> None:
    # Were a page bigger, the loop's token cap would elide its middle, and
    # "read on from start_line=N" would skip the lines the model never saw.
    (root / "wide.txt").write_text((line + "\n") * 3000)
    result = call(root, "read_file", path="wide.txt")
    assert count_tokens(result.output) <= Limits().tool_output_tokens
    last = result.data["lines"][1]
    assert result.output.splitlines()[-2].startswith(f"{last:>6}\t")
    assert result.output.endswith(f"of 3000; call read_file with start_line={last + 1} to read on.")


def test_very_long_lines_are_truncated(root: Path) -> None:
    (root / "min.js").write_text("a" * 1_000_000 + "\nsecond\n")
    result = call(root, "read_file", path="min.js")
    first, second = result.output.splitlines()
    assert first.endswith("… [line truncated]") and len(first) < MAX_LINE_CHARS + 50
    assert second == "     2\tsecond"


def test_binary_is_refused_in_one_line(root: Path) -> None:
    (root / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(200))
    result = call(root, "read_file", path="img.png")
    assert not result.ok
    assert "binary" in result.output and "\n" not in result.output


def test_non_utf8_is_decoded_with_replacement(root: Path) -> None:
    (root / "latin1.txt").write_bytes("café\nnaïve\n".encode("latin-1"))
    result = call(root, "read_file", path="latin1.txt")
    assert result.ok
    assert result.output == "     1\tcaf\ufffd\n     2\tna\ufffdve"


def test_empty_file(root: Path) -> None:
    (root / "empty.py").write_text("")
    result = call(root, "read_file", path="empty.py")
    assert result.ok and "empty" in result.output


def test_a_directory_points_to_list_files(root: Path) -> None:
    result = call(root, "read_file", path="pkg")
    assert not result.ok and "list_files" in result.output


def test_a_missing_file_suggests_close_names(root: Path) -> None:
    result = call(root, "read_file", path="mod.py")
    assert not result.ok
    assert "Did you mean: pkg/mod.py" in result.output
    typo = call(root, "read_file", path="pkg/mdo.py")
    assert "pkg/mod.py" in typo.output


@pytest.mark.parametrize("path", ["../outside.txt", "pkg/../../outside.txt", "/etc/passwd", ".git/config"])
def test_paths_outside_the_working_copy_are_refused(root: Path, path: str) -> None:
    (root.parent / "outside.txt").write_text("secret\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    result = call(root, "read_file", path=path)
    assert not result.ok
    assert "secret" not in result.output and "[core]" not in result.output


def test_a_committed_symlink_to_etc_passwd_is_refused(root: Path) -> None:
    os.symlink("/etc/passwd", root / "passwd")
    os.symlink("/etc", root / "etc_dir")
    for path in ("passwd", "etc_dir/passwd"):
        result = call(root, "read_file", path=path)
        assert not result.ok and "outside" in result.output
        assert "root:" not in result.output


@pytest.mark.parametrize("name", [".env", "config/server.pem", "id_rsa", "deploy.key", ".aws/credentials"])
def test_secret_files_are_refused_unless_allowed(root: Path, name: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
    refused = call(root, "read_file", path=name)
    assert not refused.ok and refused.data.get("refused")
    assert "wJalr" not in refused.output and "--allow-secret" in refused.output
    allowed = call(root, "read_file", allow=[name], path=name)
    assert allowed.ok and "wJalr" in allowed.output


def test_templates_of_secret_files_are_readable(root: Path) -> None:
    (root / ".env.example").write_text("API_KEY=\n")
    assert call(root, "read_file", path=".env.example").ok


# --------------------------------------------------------------------------- write_file


def test_write_creates_folders_and_reports_lines(root: Path) -> None:
    result = call(root, "write_file", path="a/b/new.py", content="x = 1\ny = 2\n")
    assert result.ok
    assert result.output == "Wrote 2 lines to a/b/new.py (new file)."
    assert result.data == {"changes": [{"path": "a/b/new.py", "kind": "add"}]}
    assert (root / "a" / "b" / "new.py").read_text() == "x = 1\ny = 2\n"


def test_overwrite_is_an_update(root: Path) -> None:
    result = call(root, "write_file", path="pkg/mod.py", content="pass")
    assert result.output == "Wrote 1 line to pkg/mod.py (replaced 4 lines)."
    assert result.data["changes"] == [{"path": "pkg/mod.py", "kind": "update"}]
    assert (root / "pkg" / "mod.py").read_text() == "pass"


def test_write_keeps_line_endings_exactly(root: Path) -> None:
    call(root, "write_file", path="win.txt", content="a\r\nb\r\n")
    assert (root / "win.txt").read_bytes() == b"a\r\nb\r\n"


@pytest.mark.parametrize("path", ["../escape.txt", "/tmp/escape.txt", "link/escape.txt", ".git/hooks/pre-commit"])
def test_write_outside_the_working_copy_is_refused(root: Path, tmp_path: Path, path: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "link")
    result = call(root, "write_file", path=path, content="pwned\n")
    assert not result.ok
    assert not (tmp_path / "escape.txt").exists() and not (outside / "escape.txt").exists()
    assert not (root / ".git").exists()


def test_write_to_a_directory_is_an_error(root: Path) -> None:
    result = call(root, "write_file", path="pkg", content="x")
    assert not result.ok and "directory" in result.output


def test_missing_arguments_are_reported_by_name(root: Path) -> None:
    result = call(root, "write_file", path="x.py")
    assert not result.ok and "content" in result.output
