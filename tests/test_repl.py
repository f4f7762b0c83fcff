"""The REPL driver and its slash commands, for real: a real Session on a real
git repository against the fake OpenAI server, typed at through
prompt-toolkit's pipe input; assertions on the working copy, the user's
repository and what the model was sent."""

from __future__ import annotations

import io
import json
import os
import signal
from pathlib import Path

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from agent.config import Settings
from agent.repl.app import APPLIED_NOTE, Repl
from agent.repl.terminal import PromptInput
from tests.conftest import git, make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, text

APP = "def greet():\n    return 'hi'\n"
EOF = "\x04"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "proj", {"app.py": APP, "README.md": "# demo\n"})


def settings_for(server: FakeOpenAI, **overrides) -> Settings:
    return Settings(base_url=server.base_url, api="chat", model="gpt-5.2-codex", map_tokens=0, **overrides)


class Driven:
    """A REPL whose keyboard is a pipe and whose screen is a string."""

    def __init__(self, repo: Path, server: FakeOpenAI, keys: str, resume: dict | None = None, **overrides) -> None:
        self.screen = io.StringIO()
        console = Console(file=self.screen, width=80, no_color=True, highlight=False)
        self._pipe = create_pipe_input()
        self.pipe = self._pipe.__enter__()
        self.pipe.send_text(keys)
        self.repl = Repl(
            settings_for(server, **overrides), repo, resume=resume, console=console,
            make_io=lambda completer, toolbar: PromptInput(completer, toolbar, input=self.pipe, output=DummyOutput()),
        )

    def run(self) -> int:
        try:
            return self.repl.run()
        finally:
            self.close()

    def close(self) -> None:
        self._pipe.__exit__(None, None, None)

    @property
    def out(self) -> str:
        return self.screen.getvalue()


def drive(repo: Path, server: FakeOpenAI, *lines: str, exit_keys: str = EOF, **overrides) -> Driven:
    """Type `lines` (each sent with Enter), then `exit_keys`; run to the end."""
    driven = Driven(repo, server, "".join(line + "\r" for line in lines) + exit_keys, **overrides)
    assert driven.run() == 0
    return driven


def messages(request: dict) -> list[dict]:
    return request["messages"]


def last_user_text(request: dict) -> str:
    return next(m["content"] for m in reversed(messages(request)) if m["role"] == "user")


def worktrees(repo: Path) -> int:
    return len(git(repo, "worktree", "list").splitlines()) - 1


# --------------------------------------------------------------------------- turns and leaving


def test_turns_share_one_conversation_and_toolbar_shows_the_session(repo: Path) -> None:
    with FakeOpenAI([text("First answer."), text("Second answer.")]) as server:
        driven = Driven(repo, server, "hello\rand again\r" + EOF)
        toolbar_before = driven.repl._toolbar
        driven.run()
    assert "First answer." in driven.out and "Second answer." in driven.out
    second = messages(server.model_requests[1])
    assert [m["content"] for m in second if m["role"] != "system"] == ["hello", "First answer.", "and again"]
    assert toolbar_before == ""  # drawn per prompt, from the session
    assert "gpt-5.2-codex · step 2 · context" in driven.repl._toolbar
    assert driven.repl._toolbar.endswith("· auto")
    assert len(driven.repl._toolbar) < 80


@pytest.mark.parametrize(("answer", "applied", "branch"), [("apply", True, False), ("keep", False, True),
                                                          ("discard", False, False)])
def test_leaving_with_unapplied_changes_asks(repo: Path, answer: str, applied: bool, branch: bool) -> None:
    script = [call("write_file", {"path": "new.py", "content": "x = 1\n"}), text("Wrote new.py.")]
    with FakeOpenAI(script) as server:
        driven = drive(repo, server, "add new.py", exit_keys=EOF + answer + "\r")
    assert "Changes not applied yet:\nA new.py (+1 -0)" in driven.out
    assert (repo / "new.py").exists() is applied
    assert bool(git(repo, "branch", "--list", "codex-agent/*").strip()) is branch
    assert worktrees(repo) == 0


def test_leaving_without_changes_cleans_up(repo: Path) -> None:
    with FakeOpenAI([text("Nothing to do.")]) as server:
        driven = drive(repo, server, "anything to do?")
    assert "No changes were made." in driven.out
    assert worktrees(repo) == 0 and not git(repo, "branch", "--list", "codex-agent/*").strip()


def test_ctrl_c_at_the_prompt_warns_and_a_second_one_leaves(repo: Path) -> None:
    with FakeOpenAI([]) as server:
        driven = drive(repo, server, exit_keys="\x03\x03")
    assert driven.out.count("Press Ctrl-C again or Ctrl-D to exit.") == 1


class InterruptedWhileWarning(io.StringIO):
    """A screen at which the second Ctrl-C arrives as a real SIGINT while the
    REPL is still saying how to leave, between two prompts."""

    pressed = False

    def write(self, text: str) -> int:
        written = super().write(text)
        if "Press Ctrl-C again" in text and not self.pressed:
            self.pressed = True
            os.kill(os.getpid(), signal.SIGINT)
        return written


def test_a_second_ctrl_c_between_prompts_still_leaves_properly(repo: Path) -> None:
    with FakeOpenAI([call("write_file", {"path": "notes.txt", "content": "kept\n"}), text("Wrote it.")]) as server:
        driven = Driven(repo, server, "write notes\r\x03" + "keep\r")
        driven.screen = InterruptedWhileWarning()
        driven.repl.view.console.file = driven.screen
        try:
            assert driven.run() == 0
        except KeyboardInterrupt:
            pytest.fail("the Ctrl-C escaped the REPL: it ended without leaving (no word of the kept change)")
    assert "Press Ctrl-C again" in driven.out
    # The way out was taken as with any exit: the change is kept, and the user told where.
    assert "codex-agent/" in driven.out and "notes.txt" in driven.out
    assert not (repo / "notes.txt").exists()
    branch = git(repo, "branch", "--list", "codex-agent/*").strip().lstrip("* ")
    assert git(repo, "show", f"{branch}:notes.txt") == "kept\n"


def test_a_message_between_two_ctrl_c_resets_the_warning(repo: Path) -> None:
    with FakeOpenAI([text("Yes.")]) as server:
        driven = drive(repo, server, exit_keys="\x03still there?\r\x03" + EOF)
    assert driven.out.count("Press Ctrl-C again") == 2
    assert "Yes." in driven.out


# --------------------------------------------------------------------------- slash commands


def test_unknown_command_suggests_the_closest(repo: Path) -> None:
    with FakeOpenAI([]) as server:
        driven = drive(repo, server, "/dif", "/zzzz")
    assert "Unknown command /dif. Did you mean /diff?" in driven.out
    assert "Unknown command /zzzz. /help lists the commands." in driven.out
    assert not server.model_requests


def test_help_lists_every_command(repo: Path) -> None:
    from agent.repl.commands import COMMANDS

    with FakeOpenAI([]) as server:
        driven = drive(repo, server, "/help")
    for name in COMMANDS:
        assert f"/{name}" in driven.out
    assert max(len(line) for line in driven.out.splitlines()) <= 80


def test_diff_and_apply_then_work_goes_on_in_a_fresh_copy(repo: Path) -> None:
    script = [
        call("edit_file", {"path": "app.py", "old": "'hi'", "new": "'hello'"}),
        text("Changed the greeting."),
        text("Still here."),
    ]
    with FakeOpenAI(script) as server:
        driven = drive(repo, server, "greet with hello", "/diff", "/apply", "/diff", "are you there?")
    out = driven.out
    assert "M app.py (+1 -1)" in out and "+    return 'hello'" in out
    assert (repo / "app.py").read_text() == APP.replace("'hi'", "'hello'")
    assert "No changes." in out.split("Applied", 1)[1]  # the fresh copy starts from the applied tree
    # The conversation went on, told that its work was applied.
    third = messages(server.model_requests[2])
    assert any(m["content"] == "greet with hello" for m in third)
    assert any(m["content"] == APPLIED_NOTE for m in third)
    assert worktrees(repo) == 0


def test_apply_with_nothing_to_apply(repo: Path) -> None:
    with FakeOpenAI([]) as server:
        driven = drive(repo, server, "/apply")
    assert "Nothing to apply" in driven.out


def test_undo_reverts_the_last_turn_that_changed_files(repo: Path) -> None:
    script = [
        call("write_file", {"path": "app.py", "content": "broken\n"}),
        call("write_file", {"path": "extra.py", "content": "x = 1\n"}),
        text("Rewrote app.py."),
        text("Just talking, no changes."),
        text("Noted."),
    ]
    with FakeOpenAI(script) as server:
        driven = Driven(repo, server, "rewrite app\rwhat now?\r/undo\r/undo\rok\r" + EOF)
        root = driven.repl.session.workspace.root
        driven.run()
    out = driven.out
    assert "Reverted the last turn's changes: app.py, extra.py" in out
    assert "Nothing to undo" in out  # the talking turn changed nothing
    # The working copy was back to the start before leaving: nothing to ask about.
    assert "No changes were made." in out and "not applied yet" not in out
    assert not root.exists()
    assert "undid the file changes" in json.dumps(messages(server.model_requests[-1]))
    assert (repo / "app.py").read_text() == APP


def test_add_pins_a_file_into_each_message_until_dropped(repo: Path) -> None:
    with FakeOpenAI([text("Seen it."), text("Again."), text("Without it.")]) as server:
        driven = drive(repo, server, "/add app.py", "/add nope.py", "/add", "what does it do?", "and now?",
                       "/drop app.py", "bye")
    requests = server.model_requests
    assert "Pinned app.py" in driven.out and "Cannot pin nope.py" in driven.out
    assert "Pinned: app.py" in driven.out
    for request in requests[:2]:
        assert '<file path="app.py">' in last_user_text(request) and "return 'hi'" in last_user_text(request)
    assert last_user_text(requests[2]) == "bye"


def test_add_refuses_secrets(repo: Path) -> None:
    (repo / ".env").write_text("API_KEY=abc\n")
    git(repo, "add", "-f", ".env")
    git(repo, "commit", "-qm", "env")
    with FakeOpenAI([]) as server:
        driven = drive(repo, server, "/add .env")
    assert "Not pinned: .env may hold secrets" in driven.out


def test_run_shows_the_output_and_adds_it_to_the_conversation(repo: Path) -> None:
    with FakeOpenAI([text("I see the listing.")]) as server:
        driven = drive(repo, server, "/run ls && echo done-$((40 + 2))", "what did I run?")
    assert "done-42" in driven.out and "exit code 0" in driven.out
    sent = json.dumps(messages(server.model_requests[0]))
    assert "I ran `ls && echo done-$((40 + 2))`" in sent and "done-42" in sent and "app.py" in sent


def test_test_runs_the_project_tests_now(repo: Path) -> None:
    with FakeOpenAI([]) as server:
        driven = drive(repo, server, "/test", test_cmd="echo ran-the-tests && exit 3")
    assert "ran-the-tests" in driven.out and "exit 3" in driven.out


def test_tokens_and_cost_report_the_context(repo: Path) -> None:
    with FakeOpenAI([text("Hello there.")]) as server:
        driven = drive(repo, server, "/add README.md", "hi", "/tokens", "/cost")
    report = driven.out.split("/tokens", 1)[-1] if "/tokens" in driven.out else driven.out
    for part in ("instructions", "history: user messages", "history: assistant messages", "pinned: README.md",
                 "total", "% of 256,000"):
        assert part in report
    assert "1 model requests" in driven.out and "$" in driven.out


def test_model_switches_the_client(repo: Path) -> None:
    with FakeOpenAI([text("From the first."), text("From the second.")]) as server:
        driven = drive(repo, server, "one", "/model gpt-4.1-mini", "/model", "two")
    assert [r["model"] for r in server.model_requests] == ["gpt-5.2-codex", "gpt-4.1-mini"]
    assert "Model: gpt-4.1-mini" in driven.out
    assert driven.repl.session.limits.context_window != 256_000  # the new model's window


def test_approval_ask_asks_before_each_command(repo: Path) -> None:
    script = [
        call("shell", {"command": "echo approved-run"}),
        call("shell", {"command": "echo refused-run"}),
        text("Done."),
    ]
    with FakeOpenAI(script) as server:
        driven = drive(repo, server, "/approval", "/approval ask", "run things", "y", "n")
    out = driven.out
    assert "Approval mode: auto" in out and "Approval mode: ask" in out
    tool_results = [m["content"] for m in messages(server.model_requests[2]) if m["role"] == "tool"]
    assert "approved-run" in tool_results[0]
    assert "declined" in tool_results[1]
    assert driven.repl._toolbar.endswith("· ask")


def test_always_approves_that_command_for_the_session(repo: Path) -> None:
    script = [
        call("shell", {"command": "echo again"}),
        call("shell", {"command": "echo again"}),
        text("Done."),
    ]
    with FakeOpenAI(script) as server:
        drive(repo, server, "go", "always", approval="ask")  # asked once only
    results = [m["content"] for m in messages(server.model_requests[2]) if m["role"] == "tool"]
    assert len(results) == 2 and all("again" in r and "exit code 0" in r for r in results)


def test_clear_starts_a_new_conversation_on_the_same_copy(repo: Path) -> None:
    script = [call("write_file", {"path": "kept.py", "content": ""}), text("Made kept.py."), text("Fresh.")]
    with FakeOpenAI(script) as server:
        driven = drive(repo, server, "make kept.py", "/clear", "who are you?", exit_keys=EOF + "apply\r")
    assert [m["content"] for m in messages(server.model_requests[2]) if m["role"] != "system"] == ["who are you?"]
    assert (repo / "kept.py").exists()  # the working copy's changes survived /clear
    assert "New conversation" in driven.out


def test_compact_summarises_older_turns(repo: Path) -> None:
    turns = [text(f"Answer {i}.") for i in range(4)]
    with FakeOpenAI([*turns, text("The summary of the work."), text("After compaction.")]) as server:
        driven = drive(repo, server, *(f"question {i}" for i in range(4)), "/compact", "go on")
    summary_request, after = server.model_requests[4], server.model_requests[5]
    assert "<transcript>" in json.dumps(summary_request)
    conversation = [m for m in messages(after) if m["role"] != "system"]
    assert conversation[0]["content"].startswith("[Summary of earlier work]")
    assert "The summary of the work." in conversation[0]["content"]
    assert "Answer 0." not in json.dumps(conversation)  # the oldest turn is summarised away
    assert conversation[-1]["content"] == "go on"
    assert "context compacted" in driven.out


def test_compact_on_a_short_conversation(repo: Path) -> None:
    with FakeOpenAI([]) as server:
        driven = drive(repo, server, "/compact")
    assert "Nothing to compact yet" in driven.out and not server.model_requests


def test_expand_shows_a_tool_call_in_full(repo: Path) -> None:
    content = "".join(f"line {i}\n" for i in range(30))
    script = [call("write_file", {"path": "long.txt", "content": content}), call("read_file", {"path": "long.txt"}),
              text("Read it.")]
    with FakeOpenAI(script) as server:
        driven = drive(repo, server, "/expand", "go", "/expand", "/expand 1", "/expand 7", exit_keys=EOF + "d\r")
    out = driven.out
    assert "No tool calls yet." in out
    assert "• read_file long.txt #2" in out
    expanded = out.split("#2 read_file", 1)[1]
    assert "line 29" in expanded  # the whole output, not the one-line summary
    assert "#1 write_file" in out and "No tool call #7" in out


def test_save_then_resume_lists_and_switches_sessions(repo: Path) -> None:
    script = {
        "first task": [call("write_file", {"path": "first.py", "content": ""}), text("First done."),
                       text("Back in the first.")],
        "second": [text("Second here.")],
    }
    with FakeOpenAI(script) as server:
        first = Driven(repo, server, "")
        first_id = first.repl.session.run_id
        first.repl.handle("first task")
        first.repl.handle("/save")
        first.repl.session.close()  # the process ends without choosing: the copy stays
        first.close()

        driven = drive(repo, server, "second", "/resume", f"/resume {first_id}", "/diff",
                       "are we back in the first task?", exit_keys=EOF + "apply\r")
    out = driven.out
    assert f"Saved session {first_id}" in first.out
    listing = out.split("Second here.", 1)[1]
    assert first_id in listing and "first task" in listing
    assert f"Continuing {first_id}" in out and "A first.py" in out
    back = messages(server.model_requests[-1])
    assert any(m["content"] == "First done." for m in back)
    assert (repo / "first.py").exists()  # applied from the resumed working copy


def test_resume_unknown_session(repo: Path) -> None:
    with FakeOpenAI([]) as server:
        driven = drive(repo, server, "/resume 20990101-000000-nope")
    assert "no saved session '20990101-000000-nope'" in driven.out


# --------------------------------------------------------------------------- plain input


def test_piped_stdin_uses_plain_input(repo: Path) -> None:
    with FakeOpenAI([text("Plain answer.")]) as server:
        result = run_cli(["repl", "--base-url", server.base_url, "--api", "chat"], repo,
                         input="hello there\n/cost\n/exit\n", env={"TERM": "dumb"})
    assert result.returncode == 0, result.stderr
    assert "Plain answer." in result.stdout
    assert "1 model requests" in result.stdout
    assert "No changes were made." in result.stdout


def test_options_without_a_task_open_the_repl(repo: Path) -> None:
    with FakeOpenAI([text("Plain answer.")]) as server:
        result = run_cli(["--base-url", server.base_url, "--api", "chat"], repo, input="hi\n/exit\n",
                         env={"TERM": "dumb"})
    assert result.returncode == 0, result.stderr
    assert "Plain answer." in result.stdout and "/help lists the commands" in result.stdout


def test_resume_without_a_terminal_stays_one_shot(repo: Path) -> None:
    from agent.session import Session

    with FakeOpenAI([call("write_file", {"path": "a.txt", "content": "a\n"}), text("Half way."),
                     text("Finished.")]) as server:
        session = Session(settings_for(server), repo, [])
        session.run("write a.txt")
        session.close()
        result = run_cli(["resume", session.run_id, "--base-url", server.base_url, "--api", "chat", "--no-apply"],
                         repo)
    assert result.returncode == 0, result.stderr
    assert last_user_text(server.model_requests[-1]) == "Continue the task."
    assert "Finished." in result.stdout


def test_a_session_that_cannot_start_is_one_line_and_leaves_nothing(repo: Path) -> None:
    result = run_cli(["repl"], repo, input="/exit\n")  # no API key anywhere
    assert result.returncode == 2  # a configuration error, as for `run` and `review`
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("codex-agent: ") and "API key" in line
    assert worktrees(repo) == 0
