"""`codex-agent demo` and the shipped recording: a whole self-correcting run,
offline and without a key, through the real CLI, sandbox and tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from agent.demo import RECORDING
from agent.trajectory import read_trajectory, recorded_replies
from tests.conftest import run_cli
from tests.record_demo import SCRIPT


def test_demo_replays_a_self_correcting_run_offline(tmp_path: Path) -> None:
    env = {"COLUMNS": "80", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}  # nothing listens: no model may be asked
    result = run_cli(["demo"], tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "verification: tests fail" in out and "FAIL: test_ten_percent_off" in out
    assert out.index("verification: tests fail") < out.index("verification: tests pass")
    assert "+    return sum(prices) * (1 - discount)" in out
    assert "done: finished · tests pass" in out
    # Nothing is left behind: the temporary copy is gone and no run waits in `runs`.
    copy = next(line.strip() for line in out.splitlines() if "codex-agent-demo-" in line)
    assert not Path(copy).exists()
    assert "No runs left behind." in run_cli(["runs"], tmp_path).stdout


def test_demo_feeds_the_failing_test_back_to_the_model(tmp_path: Path) -> None:
    """The replay's own trajectory: the gate's failure report is what the
    model's next step was answering."""
    result = run_cli(["demo", "--keep"], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    state = Path(os.environ["XDG_STATE_HOME"]) / "codex-agent"
    [replayed] = sorted((state / "trajectories").glob("*.jsonl"))
    records = read_trajectory(replayed)
    gates = [r for r in records if r["type"] == "tests_ran"]
    assert [g["ok"] for g in gates] == [False, True]
    assert "AssertionError: 29.97 != 27.0" in gates[0]["summary"]
    [session] = sorted((state / "sessions").glob("*.json"))
    history = session.read_text()
    assert "29.97 != 27.0" in history  # the failure went into the conversation
    kept = next(line.strip() for line in result.stdout.splitlines() if "codex-agent-demo-" in line)
    assert "* (1 - discount)" in (Path(kept) / "cart.py").read_text()  # the fix landed in the demo's copy
    shutil.rmtree(Path(kept).parent)


def test_the_shipped_recording_is_what_the_recorder_scripts() -> None:
    """tests/record_demo.py regenerates agent/examples/shop.jsonl; they must not drift apart."""
    replies = recorded_replies(read_trajectory(RECORDING))
    assert [r.message.content for r in replies] == [turn["text"] for turn in SCRIPT]
    assert [[(c.name, c.arguments) for c in r.message.tool_calls] for r in replies] == \
        [[(c["name"], c["arguments"]) for c in turn["calls"]] for turn in SCRIPT]


def test_the_wheel_carries_the_example(tmp_path: Path) -> None:
    """`demo` must work from `pipx install .`: the example ships as package data."""
    import subprocess
    import sys
    import zipfile

    from tests.conftest import REPO

    source = tmp_path / "src"  # built from a copy: no build/ or egg-info in the checkout
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".venv"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("codex_agent-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {f"agent/examples/{p.relative_to(RECORDING.parent).as_posix()}"
               for p in RECORDING.parent.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert shipped <= names, shipped - names
    assert "agent/examples/shop/.codex-agent.toml" in names
