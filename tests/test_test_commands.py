"""The project's own test command, whatever its language: detection from what
the project declares, and the gate running it for real (node, go) through the
real CLI against the fake OpenAI server (issue 15)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sandbox.isolation import probe_bwrap
from sandbox.runner import Runner
from sandbox.workspace import Workspace
from tests.conftest import make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, text
from tools.test_command import detect_test_command, detect_test_commands
from tools.testing import failing_tests

NPM_INIT_TEST = 'echo "Error: no test specified" && exit 1'


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"package.json": '{"scripts": {"test": "node --test"}}'}, "npm test"),
        ({"package.json": '{"scripts": {"test": "vitest run"}}', "pnpm-lock.yaml": ""}, "pnpm test"),
        ({"package.json": '{"scripts": {"test": "jest"}}', "yarn.lock": ""}, "yarn test"),
        ({"package.json": '{"scripts": {"test": "bun test"}}', "bun.lockb": ""}, "bun run test"),
        ({"package.json": '{"scripts": {"test": "%s"}}' % NPM_INIT_TEST.replace('"', '\\"')}, None),
        ({"package.json": '{"scripts": {"build": "tsc"}}'}, None),
        ({"package.json": "not json"}, None),
        ({"go.mod": "module example.com/x\n\ngo 1.19\n"}, "go test ./..."),
        ({"Cargo.toml": '[package]\nname = "x"\n'}, "cargo test"),
        ({"Makefile": "all:\n\tcc x.c\n\ntest: all\n\t./check\n"}, "make test"),
        ({"Makefile": "test := yes\nall:\n\ttrue\n"}, None),
        ({"Makefile": "testing:\n\ttrue\n"}, None),
        ({"Makefile": "test:\n\tgo test ./...\n", "go.mod": "module x\n"}, "go test ./..."),
        # Python tests come first in a project that also has a JS frontend.
        ({"tests/test_api.py": "", "package.json": '{"scripts": {"test": "node --test"}}'}, "python -m pytest"),
    ],
)
def test_the_declared_test_command_is_detected(tmp_path: Path, files: dict[str, str], expected: str | None) -> None:
    for rel, content in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content)
    assert detect_test_command(tmp_path) == expected


def test_every_declared_command_is_listed_with_its_source(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_api.py").write_text("")
    (tmp_path / "package.json").write_text('{"scripts": {"test": "node --test"}}')
    (tmp_path / "go.mod").write_text("module example.com/x\n")
    assert [str(c) for c in detect_test_commands(tmp_path)] == [
        "python -m pytest (from Python tests)", "npm test (from package.json)", "go test ./... (from go.mod)"]


def test_tox_and_nox_only_when_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tox.ini").write_text("[tox]\nenvlist = py311\n")
    (tmp_path / "noxfile.py").write_text("import nox\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    assert detect_test_command(tmp_path) is None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("tox", "nox"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    # One command for Python: tox drives the same tests nox would.
    assert [str(c) for c in detect_test_commands(tmp_path)] == ["tox (from tox.ini)"]
    (tmp_path / "tox.ini").unlink()
    assert [str(c) for c in detect_test_commands(tmp_path)] == ["nox (from noxfile.py)"]


def test_a_makefile_only_when_no_language_declares_tests(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("test:\n\tpython -m pytest\n")
    assert [str(c) for c in detect_test_commands(tmp_path)] == ["make test (from Makefile)"]
    (tmp_path / "test_x.py").write_text("")
    assert [str(c) for c in detect_test_commands(tmp_path)] == ["python -m pytest (from Python tests)"]


def test_failing_test_names_from_each_runners_summary_lines() -> None:
    output = (
        "not ok 1 - adds two numbers\n  ---\n  ...\nok 2 - adds zero\n"  # TAP (node --test)
        "✖ adds two numbers (1.98ms)\n"  # node's spec reporter, the same test again
        "--- FAIL: TestAdd (0.00s)\n    --- FAIL: TestAdd/negative (0.00s)\nFAIL\texample.com/calc\t0.01s\n"  # go
        "test tests::adds ... FAILED\ntest tests::zero ... ok\n"  # cargo
        "  ● Calc › adds\n"  # jest
    )
    assert failing_tests(output) == ["adds two numbers", "TestAdd", "TestAdd/negative", "tests::adds", "Calc › adds"]


def _needs(*tools: str) -> pytest.MarkDecorator:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed (apt-get install "
                                                    f"{' '.join({'go': 'golang-go'}.get(t, t) for t in missing)})")


def _run_gate(project: Path, fix: dict[str, str]) -> tuple[FakeOpenAI, subprocess.CompletedProcess[str]]:
    """The model first claims success without changing anything, then makes `fix`."""
    script = [text("I think it's fine."), call("edit_file", fix), text("Fixed it.")]
    with FakeOpenAI(script) as server:
        result = run_cli(["make the tests pass", "--base-url", server.base_url, "--model", "gpt-5.2-codex",
                          "--api", "chat", "--apply"], project, timeout=240)
    return server, result


NODE_TEST = """\
const test = require("node:test");
const assert = require("node:assert");
const { add } = require("../add.js");

test("adds two numbers", () => {
  assert.strictEqual(add(2, 3), 5);
});
"""


GO_TEST = """\
package calc

import "testing"

func TestAdd(t *testing.T) {
	if got := Add(2, 3); got != 5 {
		t.Fatalf("Add(2, 3) = %d, want 5", got)
	}
}
"""


needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None or not probe_bwrap(shutil.which("bwrap") or "").config,
                                 reason="bubblewrap is not installed or cannot run here")
MODES = ["process", pytest.param("bwrap", marks=needs_bwrap)]


@_needs("node", "npm")
@pytest.mark.parametrize("mode", MODES)
def test_a_node_projects_installed_packages_are_seen_from_the_working_copy(tmp_path: Path, mode: str) -> None:
    # node_modules is ignored, so the working copy has none: the user's is used, read-only.
    project = make_repo(tmp_path / "web", {
        ".gitignore": "node_modules/\n",
        "package.json": '{"name": "web", "scripts": {"test": "check-setup && node --test"}}\n',
        "test/pad.test.js": 'const test = require("node:test");\nconst assert = require("node:assert");\n'
                            'const pad = require("leftpad");\n\n'
                            'test("pads", () => { assert.strictEqual(pad("a", 3), "  a"); });\n',
    })
    (project / "node_modules" / "leftpad").mkdir(parents=True)
    (project / "node_modules" / "leftpad" / "index.js").write_text("module.exports = (s, n) => s.padStart(n);\n")
    (project / "node_modules" / ".bin").mkdir()
    (project / "node_modules" / ".bin" / "check-setup").write_text("#!/bin/sh\necho setup-checked\n")
    (project / "node_modules" / ".bin" / "check-setup").chmod(0o755)
    workspace = Workspace.create(project)
    try:
        runner = Runner.for_workspace(workspace, mode=mode)
        result = runner.run("npm test; touch node_modules/leftpad/written")
        assert "setup-checked" in result.output and "# pass 1" in result.output, result.output
        if mode == "bwrap":
            assert "Read-only file system" in result.output
            assert not (project / "node_modules" / "leftpad" / "written").exists()
    finally:
        workspace.discard()


def test_each_declared_command_runs_and_all_must_pass(tmp_path: Path) -> None:
    from tools.registry import ToolContext
    from tools.testing import run_test_command

    ctx = ToolContext(root=tmp_path, runner=Runner(tmp_path, mode="process"), test_cmd="echo backend-ok",
                      more_test_cmds=("echo 'not ok 1 - renders'; exit 3",))
    result = run_test_command(ctx)
    assert not result.ok
    assert "echo backend-ok: exit 0" in result.output and "backend-ok" in result.output
    assert "Failing: renders" in result.output
    assert result.data["exit_code"] == 3 and result.data["tests"]["failures"][0]["id"] == "renders"
    # Arguments narrow the run to the first command, as the model asked.
    narrowed = run_test_command(ctx, "--only-this")
    assert narrowed.ok and "renders" not in narrowed.output and "backend-ok --only-this" in narrowed.output


def test_one_declared_command_that_cannot_run_makes_the_whole_run_one(tmp_path: Path) -> None:
    from tools.registry import ToolContext
    from tools.testing import run_test_command

    ctx = ToolContext(root=tmp_path, runner=Runner(tmp_path, mode="process"), test_cmd="echo backend-ok",
                      more_test_cmds=("no-such-test-runner-here",))
    result = run_test_command(ctx)
    assert not result.ok
    assert result.data["cannot_run"].startswith("the test command was not found")


@_needs("node", "npm")
def test_a_python_backend_and_a_js_frontend_are_both_tested(tmp_path: Path) -> None:
    project = make_repo(tmp_path / "app", {
        "api.py": "def status():\n    return 'ok'\n",
        "tests/test_api.py": "from api import status\n\n\ndef test_status():\n    assert status() == 'ok'\n",
        "package.json": '{"name": "web", "version": "1.0.0", "scripts": {"test": "node --test"}}\n',
        "add.js": "exports.add = (a, b) => a - b;\n",
        "test/add.test.js": NODE_TEST,
    })
    server, result = _run_gate(project, {"path": "add.js", "old": "a - b", "new": "a + b"})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "tests: python -m pytest (from Python tests); npm test (from package.json)" in output
    gate_report = server.model_requests[1]["messages"][-1]["content"]
    assert "python -m pytest: 1 passed" in gate_report  # the backend ran and passed…
    assert "npm test: exit 1" in gate_report and "Failing: adds two numbers" in gate_report  # …the frontend failed
    assert len(server.model_requests) == 3 and "tests pass" in output


RUST_LIB = """\
pub fn add(a: i32, b: i32) -> i32 {
    a - b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 3), 5);
    }
}
"""


@needs_bwrap
def test_toolchains_in_the_home_are_shown_but_not_their_credentials(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cargo_home = tmp_path / "cargo"
    (cargo_home / "bin").mkdir(parents=True)
    (cargo_home / "bin" / "cargo-fake").write_text("#!/bin/sh\necho fake-cargo-ran\n")
    (cargo_home / "bin" / "cargo-fake").chmod(0o755)
    (cargo_home / "credentials.toml").write_text('[registry]\ntoken = "cio-secret-token"\n')
    monkeypatch.setenv("CARGO_HOME", str(cargo_home))
    (tmp_path / "proj").mkdir()
    runner = Runner(tmp_path / "proj", mode="bwrap")
    result = runner.run('"$CARGO_HOME/bin/cargo-fake"; cat "$CARGO_HOME/credentials.toml"')
    assert "fake-cargo-ran" in result.output
    assert "cio-secret-token" not in result.output and "No such file" in result.output


# (tools, files, the model's fix, the run's tests line, what the gate's report must say)
LANGUAGES = {
    "node": (("node", "npm"), {
        "package.json": '{"name": "web", "version": "1.0.0", "scripts": {"test": "node --test"}}\n',
        "add.js": "exports.add = (a, b) => a - b;\n",
        "test/add.test.js": NODE_TEST,
    }, {"path": "add.js", "old": "a - b", "new": "a + b"}, "npm test (from package.json)",
        ["npm test: exit 1", "Failing: adds two numbers", "-1 !== 5"]),  # the assertion, from the output's tail
    "go": (("go",), {
        "go.mod": "module example.com/calc\n\ngo 1.18\n",
        "calc.go": "package calc\n\nfunc Add(a, b int) int {\n\treturn a - b\n}\n",
        "calc_test.go": GO_TEST,
    }, {"path": "calc.go", "old": "a - b", "new": "a + b"}, "go test ./... (from go.mod)",
        ["go test ./...: exit 1", "Failing: TestAdd", "Add(2, 3) = -1, want 5"]),
    # rustup installs cargo in the home, which the sandbox hides: its toolchain is shown read-only.
    "rust": (("cargo",), {
        ".gitignore": "target/\n",
        "Cargo.toml": '[package]\nname = "calc"\nversion = "0.1.0"\nedition = "2021"\n',
        "src/lib.rs": RUST_LIB,
    }, {"path": "src/lib.rs", "old": "a - b", "new": "a + b"}, "cargo test (from Cargo.toml)",
        ["cargo test: exit 101", "Failing: tests::adds"]),
}


@pytest.mark.parametrize("language", [pytest.param(name, marks=_needs(*case[0])) for name, case in LANGUAGES.items()])
def test_a_failing_test_of_another_language_goes_back_to_the_model_until_fixed(tmp_path: Path, language: str) -> None:
    _, files, fix, tests_line, reported = LANGUAGES[language]
    project = make_repo(tmp_path / "calc", files)
    server, result = _run_gate(project, fix)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"tests: {tests_line}" in output
    assert len(server.model_requests) == 3  # "it's fine" did not end the run
    gate_report = server.model_requests[1]["messages"][-1]["content"]
    assert all(fragment in gate_report for fragment in reported), gate_report
    assert "tests pass" in output
    assert fix["new"] in (project / fix["path"]).read_text()
