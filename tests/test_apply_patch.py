"""apply_patch scenarios beyond the shared conformance cases."""

from __future__ import annotations

import io
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from tools.patch import TOOL, FileChange, PatchError, apply_patch, parse_patch, run_cli
from tools.patch_parse import UpdateFile
from tools.registry import Registry, ToolContext


def _patch(*body: str) -> str:
    return "\n".join(("*** Begin Patch", *body, "*** End Patch")) + "\n"


def _write_tree(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@dataclass
class Scenario:
    name: str
    before: dict[str, bytes]
    patch: str
    after: dict[str, bytes] | None = None  # the whole tree afterwards
    error: str | None = None  # regex the PatchError must match; the tree is unchanged


TWO_FUNCS = b"def f():\n    return 1\n\n\ndef g():\n    return 1\n"
TWO_CLASSES = b"class A:\n    def f(self):\n        return 1\n\n\nclass B:\n    def f(self):\n        return 1\n"

SCENARIOS = [
    Scenario("add", {}, _patch("*** Add File: pkg/new.py", "+x = 1", "+"), {"pkg/new.py": b"x = 1\n\n"}),
    Scenario("add empty file", {}, _patch("*** Add File: empty.txt"), {"empty.txt": b""}),
    Scenario("delete", {"a.txt": b"a\n", "b.txt": b"b\n"}, _patch("*** Delete File: a.txt"), {"b.txt": b"b\n"}),
    Scenario(
        "update without header",
        {"m.py": b"a = 1\nb = 2\nc = 3\n"},
        _patch("*** Update File: m.py", "@@", " a = 1", "-b = 2", "+b = 20"),
        {"m.py": b"a = 1\nb = 20\nc = 3\n"},
    ),
    Scenario(
        "first hunk may omit @@",
        {"m.py": b"a\nb\n"},
        _patch("*** Update File: m.py", " a", "-b", "+B"),
        {"m.py": b"a\nB\n"},
    ),
    Scenario(
        "header picks the function",
        {"m.py": TWO_FUNCS},
        _patch("*** Update File: m.py", "@@ def g():", "-    return 1", "+    return 2"),
        {"m.py": TWO_FUNCS.replace(b"g():\n    return 1", b"g():\n    return 2")},
    ),
    Scenario(
        "same lines twice without header: refused",
        {"m.py": TWO_FUNCS},
        _patch("*** Update File: m.py", "@@", "-    return 1", "+    return 2"),
        error=r"m\.py: hunk 1 of 1 matches 2 places \(lines 2, 6\).*'@@ <line>' header",
    ),
    Scenario(
        "nested headers narrow step by step",
        {"m.py": TWO_CLASSES},
        _patch("*** Update File: m.py", "@@ class B:", "@@     def f(self):", "-        return 1", "+        return 2"),
        {"m.py": TWO_CLASSES[:-2] + b"2\n"},
    ),
    Scenario(
        "a header found twice, leading to two places: refused",
        {"m.py": TWO_CLASSES},
        _patch("*** Update File: m.py", "@@ def f(self):", "-        return 1", "+        return 2"),
        error=r"matches 2 places \(lines 3, 8\)",
    ),
    Scenario(
        "a header found twice, leading to one place: applied",
        {"m.py": b"def f():\n    pass\n\n\ndef f():\n    x = 1\n"},
        _patch("*** Update File: m.py", "@@ def f():", "-    x = 1", "+    x = 2"),
        {"m.py": b"def f():\n    pass\n\n\ndef f():\n    x = 2\n"},
    ),
    Scenario(
        "lines twice inside the header's block: refused",
        {"m.py": b"def f(x):\n    if x:\n        return -1\n    if not x:\n        return -1\n"},
        _patch("*** Update File: m.py", "@@ def f(x):", "-        return -1", "+        return 0"),
        error=r"matches 2 places \(lines 3, 5\)",
    ),
    Scenario(
        "lines below the header's block, once: applied",
        {"m.py": b"def f():\n    pass\n\nx = 1\n"},
        _patch("*** Update File: m.py", "@@ def f():", "-x = 1", "+x = 2"),
        {"m.py": b"def f():\n    pass\n\nx = 2\n"},
    ),
    Scenario(
        "lines below the header's block, twice: refused",
        {"m.py": b"def f():\n    pass\n\nx = 1\nx = 1\n"},
        _patch("*** Update File: m.py", "@@ def f():", "-x = 1", "+x = 2"),
        error=r"matches 2 places \(lines 4, 5\)",
    ),
    Scenario(
        "blank lines alone are not placed by a header",
        {"m.py": b'class A:\n    """Doc.\n\n    More."""\n\n\nB = 1\n'},
        _patch("*** Update File: m.py", "@@ class A:", "-", "+# gone"),
        error=r"matches 3 places \(lines 3, 5, 6\)",
    ),
    Scenario(
        "an exact match beats a whitespace-tolerant one",
        {"m.py": b"  v = 1\nv = 1\n"},
        _patch("*** Update File: m.py", "@@", "-v = 1", "+v = 2"),
        {"m.py": b"  v = 1\nv = 2\n"},
    ),
    Scenario(
        "header not found",
        {"m.py": TWO_FUNCS},
        _patch("*** Update File: m.py", "@@ def h():", "-    return 1", "+    return 2"),
        error=r"m\.py: hunk 1 of 1 did not match: its '@@ def h\(\):' line is not in the file",
    ),
    Scenario(
        "two hunks in order",
        {"m.py": b"".join(b"line%d\n" % i for i in range(1, 11))},
        _patch("*** Update File: m.py", "@@", "-line2", "+two", "@@", " line8", "-line9", "+nine"),
        {"m.py": b"line1\ntwo\n" + b"".join(b"line%d\n" % i for i in range(3, 9)) + b"nine\nline10\n"},
    ),
    Scenario(
        "hunks out of order: refused with the reason",
        {"m.py": b"a\nb\nc\nd\n"},
        _patch("*** Update File: m.py", "@@", "-d", "+D", "@@", "-a", "+A"),
        error=r"hunk 2 of 2 did not match.*above the previous hunk: hunks must follow the order",
    ),
    Scenario(
        "end-of-file hunk takes the last of two equal places",
        {"m.py": b"x\nend\nx\nend\n"},
        _patch("*** Update File: m.py", "@@", " x", "-end", "+END", "*** End of File"),
        {"m.py": b"x\nend\nx\nEND\n"},
    ),
    Scenario(
        "end-of-file hunk whose lines are not at the end",
        {"m.py": b"x\nend\ntail\n"},
        _patch("*** Update File: m.py", "@@", " x", "-end", "+END", "*** End of File"),
        error=r"its lines are not at the end of the file",
    ),
    Scenario(
        "pure addition at the end of the file",
        {"m.py": b"a\n"},
        _patch("*** Update File: m.py", "@@", "+b", "*** End of File"),
        {"m.py": b"a\nb\n"},
    ),
    Scenario(
        "pure addition below its header (Codex would append at the end)",
        {"m.py": b"def f():\n    a = 1\n\ndef g():\n    b = 2\n"},
        _patch("*** Update File: m.py", "@@ def f():", "+    first = 0"),
        {"m.py": b"def f():\n    first = 0\n    a = 1\n\ndef g():\n    b = 2\n"},
    ),
    Scenario(
        "whitespace drift: the file keeps its own context text",
        {"m.py": b"if x:\n\tif y:   \n\t\tz = 1\n"},
        _patch("*** Update File: m.py", "@@", " if x:", "     if y:", "-        z = 1", "+\t\tz = 2"),
        {"m.py": b"if x:\n\tif y:   \n\t\tz = 2\n"},
    ),
    Scenario(
        "unicode punctuation and non-breaking space",
        {"m.py": "msg = \u201cdon\u2019t \u2014 stop\u201d\u00a0# note\nn = 1\n".encode()},
        _patch("*** Update File: m.py", "@@", ' msg = "don\'t - stop" # note', "-n = 1", "+n = 2"),
        {"m.py": "msg = \u201cdon\u2019t \u2014 stop\u201d\u00a0# note\nn = 2\n".encode()},
    ),
    Scenario(
        "an empty line inside a hunk is an empty context line",
        {"m.py": b"a = 1\n\nb = 2\n"},
        _patch("*** Update File: m.py", "@@", " a = 1", "", "-b = 2", "+b = 3"),
        {"m.py": b"a = 1\n\nb = 3\n"},
    ),
    Scenario(
        "a trailing blank line in the last hunk is ignored when it does not match",
        {"m.py": b"a\nb\n"},
        _patch("*** Update File: m.py", "@@", " a", "-b", "+c", ""),
        {"m.py": b"a\nc\n"},
    ),
    Scenario(
        "unified-diff ranges in the @@ line are ignored",
        {"m.py": TWO_FUNCS},
        _patch("*** Update File: m.py", "@@ -5,2 +5,2 @@ def g():", "-    return 1", "+    return 2"),
        {"m.py": TWO_FUNCS.replace(b"g():\n    return 1", b"g():\n    return 2")},
    ),
    Scenario(
        "file without trailing newline gets one",
        {"m.txt": b"a\nb"},
        _patch("*** Update File: m.txt", "@@", "-a", "+A"),
        {"m.txt": b"A\nb\n"},
    ),
    Scenario(
        "CRLF file stays CRLF",
        {"w.txt": b"one\r\ntwo\r\nthree\r\n"},
        _patch("*** Update File: w.txt", "@@", " one", "-two", "+TWO", "+2.5"),
        {"w.txt": b"one\r\nTWO\r\n2.5\r\nthree\r\n"},
    ),
    Scenario(
        "non-UTF-8 bytes pass through untouched",
        {"latin.txt": b"caf\xe9\nprice = 1\n\xff\xfe end\n"},
        _patch("*** Update File: latin.txt", "@@", "-price = 1", "+price = 2"),
        {"latin.txt": b"caf\xe9\nprice = 2\n\xff\xfe end\n"},
    ),
    Scenario(
        "move with a change",
        {"old/a.py": b"x = 1\n", "keep.txt": b"k\n"},
        _patch("*** Update File: old/a.py", "*** Move to: new/b.py", "@@", "-x = 1", "+x = 2"),
        {"keep.txt": b"k\n", "new/b.py": b"x = 2\n"},
    ),
    Scenario(
        "pure rename keeps the bytes",
        {"a.txt": b"no newline at end"},
        _patch("*** Update File: a.txt", "*** Move to: b.txt"),
        {"b.txt": b"no newline at end"},
    ),
    Scenario(
        "move over an existing file replaces it (as Codex does)",
        {"a.txt": b"a\n", "b.txt": b"b\n"},
        _patch("*** Update File: a.txt", "*** Move to: b.txt", "@@", "-a", "+A"),
        {"b.txt": b"A\n"},
    ),
    Scenario(
        "later operations see earlier ones",
        {},
        _patch("*** Add File: n.txt", "+one", "*** Update File: n.txt", "@@", "-one", "+two"),
        {"n.txt": b"two\n"},
    ),
    Scenario(
        "a failing second file leaves the first untouched",
        {"a.txt": b"a\n", "b.txt": b"b\n", "gone.txt": b"g\n"},
        _patch(
            "*** Add File: new.txt", "+n",
            "*** Delete File: gone.txt",
            "*** Update File: a.txt", "@@", "-a", "+A",
            "*** Update File: b.txt", "@@", "-nope", "+B",
        ),
        error=r"b\.txt: hunk 1 of 1 did not match.*No file was changed",
    ),
    Scenario(
        "the mismatch hint points at the closest line",
        {"m.py": b"def compute(x):\n    return x * 2\n"},
        _patch("*** Update File: m.py", "@@", " def compute(y):", "-    return x * 2", "+    return x * 3"),
        error=r"The line 'def compute\(y\):' is not in the file; the closest is line 1: 'def compute\(x\):'",
    ),
    Scenario(
        "update of a missing file", {}, _patch("*** Update File: no.py", "@@", "-a", "+b"), error=r"cannot update no\.py: no such"
    ),
    Scenario("delete of a missing file", {}, _patch("*** Delete File: no.py"), error=r"cannot delete no\.py"),
    Scenario("path escaping with ..", {}, _patch("*** Add File: ../evil.txt", "+x"), error=r"outside the workspace"),
    Scenario("absolute path outside", {}, _patch("*** Delete File: /etc/hostname"), error=r"outside the workspace"),
    Scenario(
        "move out of the workspace", {"a": b"a\n"}, _patch("*** Update File: a", "*** Move to: ../a"), error=r"outside the workspace"
    ),
    Scenario("the .git folder", {}, _patch("*** Add File: .git/config", "+x"), error=r"\.git folder"),
    Scenario("add over a directory", {"d/x": b"x\n"}, _patch("*** Add File: d", "+x"), error=r"d is a directory"),
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(scenario: Scenario, tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _write_tree(root, scenario.before)
    if scenario.error is None:
        apply_patch(scenario.patch, root)
        assert _tree(root) == scenario.after
    else:
        with pytest.raises(PatchError, match=f"(?s){scenario.error}"):
            apply_patch(scenario.patch, root)
        assert _tree(root) == scenario.before


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda p: "\n\n  " + p + "\n\n", id="surrounding blank lines"),
        pytest.param(lambda p: "<<'EOF'\n" + p + "EOF\n", id="heredoc"),
        pytest.param(lambda p: 'apply_patch <<"PATCH"\n' + p + "PATCH", id="heredoc with command"),
        pytest.param(lambda p: "```diff\n" + p + "```", id="code fence"),
        pytest.param(lambda p: p.replace("\n", "\r\n"), id="CRLF patch"),
        pytest.param(lambda p: p.replace("*** ", "  *** ", 1).replace("*** End Patch", "*** End Patch  "), id="padded markers"),
    ],
)
def test_lenient_wrappers(wrap, tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("a\nb\n")
    apply_patch(wrap(_patch("*** Update File: m.txt", "@@", " a", "-b", "+c")), tmp_path)
    assert (tmp_path / "m.txt").read_text() == "a\nc\n"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("*** Update File: a\n@@\n-a\n+b\n*** End Patch", r"first line of the patch must be '\*\*\* Begin Patch'"),
        ("*** Begin Patch\n*** Add File: a\n+x\n", r"last line of the patch must be '\*\*\* End Patch'"),
        (_patch("*** Update File: a", "@@", "oops", "-a"), r"patch line 4 \(in a\): 'oops' does not start with ' '"),
        (_patch("*** Update File: a"), r"a: '\*\*\* Update File:' has no hunks"),
        (_patch("*** Update File: a", "@@ def f():"), r"the hunk '@@ def f\(\):' has no lines"),
        (_patch("*** Update File: a", "@@", "*** End of File"), r"patch line 4: '\*\*\* End of File' must follow"),
        (_patch("*** Add File:", "+x"), r"patch line 2: '\*\*\* Add File:' needs a path"),
        (_patch("*** Add File: a", "+x", "stray"), r"patch line 4: 'stray' is not a file operation"),
    ],
)
def test_parse_errors_name_the_line(text: str, error: str) -> None:
    with pytest.raises(PatchError, match=error):
        parse_patch(text)


def test_parse_patch_structure() -> None:
    ops = parse_patch(
        _patch("*** Update File: a.py", "*** Move to: b.py", "@@ class A:", "@@ def f():", " x", "-y", "+z", "*** End of File")
    )
    assert len(ops) == 1 and isinstance(ops[0], UpdateFile)
    (hunk,) = ops[0].hunks
    assert (ops[0].path, ops[0].move_to) == ("a.py", "b.py")
    assert hunk.headers == ("class A:", "def f():")
    assert (hunk.old, hunk.new, hunk.end_of_file) == (["x", "y"], ["x", "z"], True)


def test_changes_are_reported_in_patch_order(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("d\n")
    (tmp_path / "m.txt").write_text("m\n")
    changes = apply_patch(
        _patch(
            "*** Update File: m.txt", "*** Move to: sub/n.txt", "@@", "-m", "+n",
            "*** Delete File: d.txt",
            "*** Add File: a.txt", "+a",
        ),
        tmp_path,
    )
    assert changes == [
        FileChange("m.txt", "update", "sub/n.txt"),
        FileChange("d.txt", "delete"),
        FileChange("a.txt", "add"),
    ]


def test_file_mode_is_kept_on_update_and_move(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("echo a\n")
    script.chmod(0o751)
    apply_patch(_patch("*** Update File: run.sh", "@@", "-echo a", "+echo b"), tmp_path)
    assert stat.S_IMODE(script.stat().st_mode) == 0o751
    apply_patch(_patch("*** Update File: run.sh", "*** Move to: bin/run.sh", "@@", "-echo b", "+echo c"), tmp_path)
    moved = tmp_path / "bin" / "run.sh"
    assert stat.S_IMODE(moved.stat().st_mode) == 0o751 and moved.read_text() == "echo c\n"


def test_new_files_follow_the_umask_and_no_temp_files_remain(tmp_path: Path) -> None:
    old_umask = os.umask(0o027)
    try:
        apply_patch(_patch("*** Add File: a/new.txt", "+x"), tmp_path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE((tmp_path / "a" / "new.txt").stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "new.txt"]


def test_a_write_failure_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "b.txt").write_text("b\n")
    # a.txt's new content is staged first; then b.txt/c.txt cannot be created
    # (b.txt is a file, not a folder), so the staged a.txt must be discarded.
    with pytest.raises(PatchError, match=r"could not write .*b\.txt.*No file was changed"):
        apply_patch(_patch("*** Update File: a.txt", "@@", "-a", "+A", "*** Add File: b.txt/c.txt", "+c"), tmp_path)
    assert _tree(tmp_path) == {"a.txt": b"a\n", "b.txt": b"b\n"}


def test_symlink_leading_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    root = tmp_path / "repo"
    root.mkdir()
    (root / "link.txt").symlink_to(outside)
    (root / "dirlink").symlink_to(tmp_path)
    for patch in (
        _patch("*** Update File: link.txt", "@@", "-secret", "+leaked"),
        _patch("*** Add File: dirlink/new.txt", "+x"),
    ):
        with pytest.raises(PatchError, match="outside the workspace"):
            apply_patch(patch, root)
    assert outside.read_text() == "secret\n" and not (tmp_path / "new.txt").exists()


def test_symlink_inside_is_written_through(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("a\n")
    (tmp_path / "alias.txt").symlink_to("real.txt")
    changes = apply_patch(_patch("*** Update File: alias.txt", "@@", "-a", "+b"), tmp_path)
    assert (tmp_path / "alias.txt").is_symlink() and (tmp_path / "real.txt").read_text() == "b\n"
    assert changes == [FileChange("real.txt", "update")]


def test_absolute_path_inside_the_workspace_is_accepted(tmp_path: Path) -> None:
    apply_patch(_patch(f"*** Add File: {tmp_path / 'abs.txt'}", "+x"), tmp_path)
    assert (tmp_path / "abs.txt").read_text() == "x\n"


# --- the registry entry -------------------------------------------------------


def _call(root: Path, patch: str):
    return Registry([TOOL]).call("apply_patch", json.dumps({"patch": patch}), ToolContext(root=root))


def test_tool_schema_is_small() -> None:
    assert TOOL.name == "apply_patch" and TOOL.mutates
    assert TOOL.parameters == {"type": "object", "properties": {"patch": {"type": "string"}}, "required": ["patch"]}
    assert "\n" not in TOOL.description and len(TOOL.description) < 300


def test_tool_reports_changes(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    result = _call(tmp_path, _patch("*** Update File: a.py", "@@", "-x = 1", "+x = 2", "*** Add File: b.py", "+y = 1"))
    assert result.ok and result.output == "Applied: M a.py, A b.py"
    assert result.data == {"changes": [{"path": "a.py", "kind": "update"}, {"path": "b.py", "kind": "add"}]}


def test_tool_reports_errors_without_raising(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    result = _call(tmp_path, _patch("*** Update File: a.py", "@@", "-x = 9", "+x = 2"))
    assert not result.ok and result.output.startswith("Error: a.py: hunk 1 of 1 did not match")
    assert (tmp_path / "a.py").read_text() == "x = 1\n"


def test_tool_does_not_open_secret_files_unless_allowed(tmp_path: Path) -> None:
    # A near miss would quote the file's closest line, the secret, in the error.
    (tmp_path / ".env").write_text("DB_PASSWORD=hunter2hunter2\n")
    near_miss = _patch("*** Update File: .env", "@@", "-DB_PASSWORD=hunter2", "+DB_PASSWORD=x")
    refused = _call(tmp_path, near_miss)
    assert not refused.ok and "hunter2hunter2" not in refused.output
    assert ".env may hold secrets" in refused.output
    assert (tmp_path / ".env").read_text() == "DB_PASSWORD=hunter2hunter2\n"
    exact = near_miss.replace("hunter2\n", "hunter2hunter2\n")
    allowed = Registry([TOOL]).call("apply_patch", json.dumps({"patch": exact}),
                                    ToolContext(root=tmp_path, secret_allow=[".env"]))
    assert allowed.ok and (tmp_path / ".env").read_text() == "DB_PASSWORD=x\n"


# --- the CLI entry ------------------------------------------------------------


def test_cli_reads_stdin_and_prints_codex_summary(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "m.txt").write_text("m\n")
    (tmp_path / "d.txt").write_text("d\n")
    patch = _patch("*** Delete File: d.txt", "*** Update File: m.txt", "@@", "-m", "+M", "*** Add File: a.txt", "+a")
    monkeypatch.setattr("sys.stdin", io.StringIO(patch))
    assert run_cli("-", tmp_path) == 0
    out, err = capsys.readouterr()
    assert out == "Success. Updated the following files:\nA a.txt\nM m.txt\nD d.txt\n" and err == ""


def test_cli_accepts_patch_text_and_shows_move_destination(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.txt").write_text("a\n")
    assert run_cli(_patch("*** Update File: a.txt", "*** Move to: b.txt", "@@", "-a", "+b"), tmp_path) == 0
    assert capsys.readouterr().out.endswith("\nM b.txt\n")


def test_cli_failures_exit_1_with_the_reason(tmp_path: Path, capsys) -> None:
    assert run_cli("missing.patch", tmp_path) == 1
    assert "missing.patch" in capsys.readouterr().err
    assert run_cli(_patch("*** Delete File: nope.txt"), tmp_path) == 1
    out, err = capsys.readouterr()
    assert out == "" and "cannot delete nope.txt" in err
