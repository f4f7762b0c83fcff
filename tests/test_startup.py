"""Start-up: the first model request goes out while the working copy is still
being made, and no tool runs before the copy exists.

Real parts throughout: the CLI as a subprocess, a git repository, the fake
OpenAI server on loopback. The copy is made slow by the test itself rather
than by a big tree and luck: `git` on the CLI's PATH is the real git behind a
gate that holds `git worktree add` until the test opens it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import REPO, make_repo
from tests.fake_openai import FakeOpenAI, call, reply, text

NOTES = "the copy holds this line\n"
GATE_SECONDS = 60  # the gate opens by itself then, so a broken session fails instead of hanging


def gated_git(folder: Path, gate: Path) -> Path:
    """A `git` that waits for the file `gate` before running `worktree add`
    (the working copy's checkout); every other command runs at once."""
    folder.mkdir()
    script = folder / "git"
    script.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" worktree add "*)\n'
        f"  n=0; while [ ! -e {shlex.quote(str(gate))} ] && [ $n -lt {GATE_SECONDS * 100} ]; do\n"
        "    sleep 0.01; n=$((n+1))\n"
        "  done;;\n"
        "esac\n"
        f'exec {shlex.quote(str(shutil.which("git")))} "$@"\n'
    )
    script.chmod(0o755)
    return folder


def copies(state: Path) -> list[Path]:
    """Working copies that exist in full (their last file is checked out)."""
    return list((state / "codex-agent" / "worktrees").glob("*/notes.txt"))


def test_first_request_goes_out_before_the_copy_exists_and_tools_wait_for_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"calc.py": "def add(a, b):\n    return a + b\n", "notes.txt": NOTES})
    gate = tmp_path / "open-the-gate"
    state = Path(os.environ["XDG_STATE_HOME"])
    seen: dict[str, object] = {}

    def first(request: dict) -> dict:
        seen["copies at the first request"] = copies(state)
        seen["instructions"] = request["messages"][0]["content"]
        return reply("Reading the notes.", calls=[call("read_file", {"path": "notes.txt"})])

    with FakeOpenAI([first, text("Done.")]) as server:
        env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "OPENAI_API_KEY": "sk-test",
               "PATH": f"{gated_git(tmp_path / 'bin', gate)}{os.pathsep}{os.environ['PATH']}"}
        args = [sys.executable, "-m", "agent", "read the notes", "--base-url", server.base_url, "--api", "chat",
                "--model", "gpt-5.2-codex", "--no-apply", "--json"]
        proc = subprocess.Popen(args, cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        timer = threading.Timer(120, proc.kill)  # a hung run fails the test instead of the suite
        timer.start()
        try:
            events = []
            for line in proc.stdout:  # the model's answer is in: only now may the copy be finished
                events.append(json.loads(line))
                if events[-1].get("item", {}).get("text") == "Reading the notes.":
                    seen["copies when the answer came"] = copies(state)
                    gate.touch()
            events += [json.loads(line) for line in proc.stdout]
            stderr = proc.stderr.read()
            proc.wait()
        finally:
            timer.cancel()

    assert proc.returncode == 0, stderr
    assert server.errors == []
    # The request went out, built from the user's tree, with no copy in sight.
    assert seen["copies at the first request"] == []
    assert "calc.py" in str(seen["instructions"])  # the repo map
    # The tool waited for the copy: it read the file, not a missing path.
    assert seen["copies when the answer came"] == []
    tool_result = [m for m in server.model_requests[1]["messages"] if m["role"] == "tool"][0]["content"]
    assert NOTES.strip() in tool_result, tool_result
    read = [e["item"] for e in events if e["type"] == "item.completed" and e["item"].get("type") != "agent_message"]
    assert read and read[0]["status"] == "completed", read


def test_a_warm_start_sends_the_first_request_without_loading_the_tokenizer(tmp_path: Path) -> None:
    """The CLI in a process of its own with the server beside it, so the
    server can look at what that process has loaded when the request comes."""
    repo = make_repo(tmp_path / "proj", {"calc.py": "def add(a, b):\n    return a + b\n"})
    probe = (
        "import sys\n"
        "from tests.fake_openai import FakeOpenAI, text\n"
        "from agent.cli import main\n"
        "loaded = []\n"
        "def first(request):\n"
        "    loaded.append('tiktoken' in sys.modules)\n"
        "    return text('Done.')\n"
        "with FakeOpenAI([first]) as server:\n"
        "    sys.argv = ['codex-agent', 'add numbers', '--base-url', server.base_url, '--api', 'chat',\n"
        "                '--model', 'gpt-5.2-codex', '--no-apply', '--no-verify']\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print('tokenizer loaded at the first request:', loaded)\n"
    )
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(REPO), "OPENAI_API_KEY": "sk-test"}
    for run in ("cold", "warm"):
        out = subprocess.run([sys.executable, "-c", probe], cwd=repo, env=env, capture_output=True, text=True,
                             timeout=120)
        assert "tokenizer loaded at the first request: [False]" in out.stdout, (run, out.stdout, out.stderr)
