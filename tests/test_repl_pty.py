"""The REPL through a real pseudo-terminal: the real program (`python -m agent
repl`) in a real git repository, against the fake OpenAI server, driven by
keystrokes as a user types them."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from agent.loop import INTERRUPTED_NOTE
from tests.conftest import REPO, git, make_repo
from tests.fake_openai import FakeOpenAI, call, reply, text

pexpect = pytest.importorskip("pexpect")

TIMEOUT = 60
CPR_REQUEST = "\x1b[6n"
# The toolbar under the prompt: drawn once prompt-toolkit has the terminal
# in raw mode, so keys typed after it reach the prompt.
TOOLBAR = re.compile(r"gpt-5\.2-codex · step \d+ · context \S+ \(\d+%\)")


class Terminal:
    """A child on a pty that answers prompt-toolkit's cursor position
    requests as a terminal would (without them it draws no toolbar)."""

    def __init__(self, child: "pexpect.spawn") -> None:
        self.child = child

    def expect(self, pattern: str | re.Pattern[str], timeout: float = TIMEOUT) -> str:
        """Wait for `pattern`; what came before it."""
        seen = ""
        while True:
            index = self.child.expect([pattern, re.escape(CPR_REQUEST)], timeout=timeout)
            seen += self.child.before
            if index == 0:
                return seen
            self.child.send("\x1b[1;1R")

    def prompt(self) -> str:
        """Wait for the next prompt; what was shown before it."""
        return self.expect(TOOLBAR)

    def type(self, line: str) -> None:
        self.child.send(line + "\r")


def spawn(repo: Path, server: FakeOpenAI, *extra: str, dimensions: tuple[int, int] = (40, 120)) -> Terminal:
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm", "PYTHONPATH": str(REPO)}
    env.pop("PROMPT_TOOLKIT_NO_CPR", None)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agent", "repl", "--base-url", server.base_url, "--api", "chat", "--model", "gpt-5.2-codex", *extra],
        cwd=str(repo), env=env, dimensions=dimensions, encoding="utf-8", timeout=TIMEOUT,
    )
    return Terminal(child)


def request_text(request: dict) -> str:
    return json.dumps(request.get("messages", []))


def test_session_with_diff_cancel_apply_and_exit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"app.py": "print('hi')\n"})
    script = [
        call("write_file", {"path": "hello.txt", "content": "hello from the agent\n"}),
        text("Created hello.txt for you."),
        reply("This answer comes too late.", delay=5),
        text("Understood, stopping there."),
    ]
    with FakeOpenAI(script) as server:
        term = spawn(repo, server)
        try:
            term.prompt()
            term.type("create hello.txt")
            assert "Created hello.txt for you." in term.prompt()
            assert not (repo / "hello.txt").exists()  # the user's tree waits for /apply

            term.type("/diff")
            assert "+hello from the agent" in term.prompt()

            term.type("take your time")
            term.expect("thinking")
            term.child.sendintr()
            assert "cancelled" in term.prompt()

            term.type("ok, stop")
            assert "Understood, stopping there." in term.prompt()

            term.type("/apply")
            term.prompt()
            assert (repo / "hello.txt").read_text() == "hello from the agent\n"

            term.child.sendcontrol("d")
            term.expect("No changes were made")
            term.child.expect(pexpect.EOF)
        finally:
            term.child.close(force=True)
        assert term.child.exitstatus == 0
    requests = server.model_requests
    assert len(requests) == 4
    # The interrupted turn is in the conversation the model gets next.
    assert INTERRUPTED_NOTE in request_text(requests[3])
    assert "take your time" in request_text(requests[3])
    # The first turn's conversation went on in the same session.
    assert "create hello.txt" in request_text(requests[3])
    assert not server.errors
    # Applied, and nothing of the agent's left behind: no branch, no worktree.
    assert git(repo, "status", "--porcelain").strip() == "?? hello.txt"
    assert git(repo, "branch", "--list", "codex-agent/*").strip() == ""
    assert len(git(repo, "worktree", "list").splitlines()) == 1


def running_commands(needle: str) -> dict[int, str]:
    """Processes whose command line contains `needle`, by pid."""
    found = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in text:
            found[int(cmdline.parent.name)] = text
    return found


def test_ask_mode_then_ctrl_c_stops_a_running_command_in_80_columns(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", {"app.py": "print('hi')\n"})
    script = [call("shell", {"command": "sleep 31.5"}), text("You stopped me.")]
    with FakeOpenAI(script) as server:
        term = spawn(repo, server, "--approval", "ask", dimensions=(24, 80))
        try:
            term.prompt()
            term.type("run the slow thing")
            term.expect(re.escape("[y/N/always]"))
            term.type("y")
            deadline = time.monotonic() + TIMEOUT
            while not running_commands("sleep 31.5") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert running_commands("sleep 31.5"), "the approved command never started"
            started = time.monotonic()
            term.child.sendintr()
            assert "cancelled" in term.prompt()
            assert time.monotonic() - started < 15
            assert not running_commands("sleep 31.5"), "the command outlived its cancelled turn"

            term.type("what happened?")
            assert "You stopped me." in term.prompt()

            term.child.sendintr()
            term.expect("Press Ctrl-C again")
            term.child.sendintr()
            term.expect("No changes were made")
            term.child.expect(pexpect.EOF)
        finally:
            term.child.close(force=True)
            for pid in running_commands("sleep 31.5"):  # whatever this test left behind
                os.kill(pid, signal.SIGKILL)
        assert term.child.exitstatus == 0
    last = server.model_requests[-1]["messages"]
    assert {"role": "user", "content": INTERRUPTED_NOTE} in last
    assert any(m["role"] == "tool" and "Cancelled" in m["content"] for m in last)


def test_resume_opens_the_repl_on_a_saved_session(tmp_path: Path) -> None:
    from agent.config import Settings
    from agent.session import Session

    repo = make_repo(tmp_path / "proj", {"app.py": "print('hi')\n"})
    script = [call("write_file", {"path": "notes.md", "content": "# notes\n"}), text("Started the notes."),
              text("Picking up where we left off.")]
    with FakeOpenAI(script) as server:
        settings = Settings(base_url=server.base_url, api="chat", model="gpt-5.2-codex", map_tokens=0)
        session = Session(settings, repo, [])
        session.run("start some notes")
        session.close()  # as if the terminal was closed: the working copy stays

        env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm", "PYTHONPATH": str(REPO)}
        child = pexpect.spawn(
            sys.executable,
            ["-m", "agent", "resume", session.run_id, "--base-url", server.base_url, "--api", "chat",
             "--model", "gpt-5.2-codex"],
            cwd=str(repo), env=env, dimensions=(40, 120), encoding="utf-8", timeout=TIMEOUT,
        )
        term = Terminal(child)
        try:
            term.prompt()
            term.type("/diff")
            assert "A notes.md" in term.prompt()
            term.type("go on")
            assert "Picking up where we left off." in term.prompt()
            child.sendcontrol("d")
            term.expect(re.escape("[apply/KEEP/discard]"))
            term.type("apply")
            child.expect(pexpect.EOF)
        finally:
            child.close(force=True)
        assert child.exitstatus == 0
    assert "start some notes" in request_text(server.model_requests[-1])
    assert (repo / "notes.md").read_text() == "# notes\n"
