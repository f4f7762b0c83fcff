"""edit_file: exact edits, the mistakes models make, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import default_registry
from tools.edit import EditError, apply_edit
from tools.registry import ToolContext, ToolResult

SOURCE = """\
class Greeter:
    def __init__(self, name):
        self.name = name

    def greet(self):
        if self.name:
            return "Hello, " + self.name
        return "Hello"
"""


def call(root: Path, **args) -> ToolResult:
    return default_registry().call("edit_file", json.dumps(args), ToolContext(root=root))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "greet.py").write_text(SOURCE)
    return tmp_path


def test_exact_single_match_with_a_diff(root: Path) -> None:
    result = call(root, path="greet.py", old='return "Hello"\n', new='return "Hi"\n')
    assert result.ok
    assert (root / "greet.py").read_text() == SOURCE.replace('return "Hello"\n', 'return "Hi"\n')
    assert "exact match" in result.output
    assert '-        return "Hello"' in result.output and '+        return "Hi"' in result.output
    assert result.data == {"changes": [{"path": "greet.py", "kind": "update"}]}


def test_several_exact_matches_are_refused_with_line_numbers(root: Path) -> None:
    result = call(root, path="greet.py", old="self.name", new="self.who")
    assert not result.ok
    assert "3 times" in result.output and "lines 3, 6, 7" in result.output and "more surrounding lines" in result.output
    assert (root / "greet.py").read_text() == SOURCE


def test_spaces_for_tabs_are_matched_and_new_is_written_with_tabs(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text("def f():\n\tif x:\n\t\treturn 1\n\treturn 2\n")
    old = "    if x:\n        return 1\n"
    new = "    if x:\n        log(x)\n        return 10\n"
    result = call(tmp_path, path="t.py", old=old, new=new)
    assert result.ok, result.output
    assert (tmp_path / "t.py").read_text() == "def f():\n\tif x:\n\t\tlog(x)\n\t\treturn 10\n\treturn 2\n"


def test_off_by_indent_old_is_matched_and_new_shifted(root: Path) -> None:
    # The model dropped the class-level indentation of the method body.
    old = 'if self.name:\n    return "Hello, " + self.name\nreturn "Hello"'
    new = 'if self.name:\n    return f"Hello, {self.name}"\nreturn "Hello"'
    result = call(root, path="greet.py", old=old, new=new)
    assert result.ok, result.output
    assert '            return f"Hello, {self.name}"\n        return "Hello"\n' in (root / "greet.py").read_text()
    assert "ignoring whitespace" in result.output


def test_over_indented_old_is_shifted_back(root: Path) -> None:
    old = "            def __init__(self, name):\n                self.name = name"
    new = (
        "            def __init__(self, name, loud=False):\n"
        "                self.name = name\n"
        "                self.loud = loud"
    )
    result = call(root, path="greet.py", old=old, new=new)
    assert result.ok, result.output
    text = (root / "greet.py").read_text()
    assert "    def __init__(self, name, loud=False):\n        self.name = name\n        self.loud = loud\n" in text


def test_trailing_spaces_in_the_file_are_forgiven(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1   \ny = 2\t\nz = 3\n")
    result = call(tmp_path, path="a.py", old="x = 1\ny = 2\n", new="x = 10\ny = 20\n")
    assert result.ok, result.output
    assert (tmp_path / "a.py").read_text() == "x = 10\ny = 20\nz = 3\n"


def test_uneven_indentation_is_refused_with_the_exact_text(root: Path) -> None:
    old = "def greet(self):\n  if self.name:\n            return \"Hello, \" + self.name"
    result = call(root, path="greet.py", old=old, new="pass")
    assert not result.ok
    assert "unevenly" in result.output and "     5\t    def greet(self):" in result.output
    assert (root / "greet.py").read_text() == SOURCE


def test_ambiguous_whitespace_match_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("if a:\n    go()\nif b:\n    go()\n")
    result = call(tmp_path, path="a.py", old="\tgo()", new="\tstop()")
    assert not result.ok
    assert "2 places" in result.output and "lines 2, 4" in result.output


def test_no_match_shows_the_closest_lines(root: Path) -> None:
    old = "def greet(self):\n    if self.nam:\n        return 'Hello, ' + self.name"
    result = call(root, path="greet.py", old=old, new="x")
    assert not result.ok
    assert "closest text" in result.output and "lines 5-7" in result.output
    assert "     6\t        if self.name:" in result.output


def test_nothing_close_says_to_reread(root: Path) -> None:
    result = call(root, path="greet.py", old="completely unrelated text here", new="x")
    assert not result.ok and "read_file" in result.output


def test_crlf_file_keeps_crlf(tmp_path: Path) -> None:
    (tmp_path / "w.py").write_bytes(b"a = 1\r\nb = 2\r\nc = 3\r\n")
    assert call(tmp_path, path="w.py", old="b = 2\n", new="b = 20\nbb = 21\n").ok
    assert (tmp_path / "w.py").read_bytes() == b"a = 1\r\nb = 20\r\nbb = 21\r\nc = 3\r\n"
    assert call(tmp_path, path="w.py", old="  a = 1", new="a = 0").ok  # the tolerant path
    assert (tmp_path / "w.py").read_bytes() == b"a = 0\r\nb = 20\r\nbb = 21\r\nc = 3\r\n"


def test_non_utf8_bytes_elsewhere_survive_an_edit(tmp_path: Path) -> None:
    (tmp_path / "l.txt").write_bytes(b"caf\xe9\nvalue = 1\n")
    result = call(tmp_path, path="l.txt", old="value = 1", new="value = 2")
    assert result.ok
    assert (tmp_path / "l.txt").read_bytes() == b"caf\xe9\nvalue = 2\n"
    result.output.encode("utf-8")  # no lone surrogates reach the model


def test_deleting_lines_with_an_empty_new(root: Path) -> None:
    result = call(root, path="greet.py", old="    def __init__(self, name):\n      self.name = name\n\n", new="")
    assert result.ok, result.output
    assert "__init__" not in (root / "greet.py").read_text()
    assert (root / "greet.py").read_text().startswith("class Greeter:\n\n    def greet")


def test_empty_old_creates_a_missing_file(tmp_path: Path) -> None:
    result = call(tmp_path, path="new/mod.py", old="", new="x = 1\n")
    assert result.ok and result.data["changes"] == [{"path": "new/mod.py", "kind": "add"}]
    assert (tmp_path / "new" / "mod.py").read_text() == "x = 1\n"
    refused = call(tmp_path, path="new/mod.py", old="", new="y = 2\n")
    assert not refused.ok and "write_file" in refused.output


def test_identical_old_and_new_is_an_error() -> None:
    with pytest.raises(EditError, match="identical"):
        apply_edit("a\n", "a", "a")


def test_refusals_for_missing_binary_outside_and_secrets(root: Path, tmp_path: Path) -> None:
    missing = call(root, path="greeter.py", old="a", new="b")
    assert not missing.ok and "greet.py" in missing.output
    (root / "b.bin").write_bytes(b"\0abc")
    assert "binary" in call(root, path="b.bin", old="abc", new="x").output
    assert "outside" in call(root, path="../x.py", old="a", new="b").output
    (root / ".env").write_text("TOKEN=abc\n")
    secret = call(root, path=".env", old="abc", new="def")
    assert not secret.ok and (root / ".env").read_text() == "TOKEN=abc\n"
