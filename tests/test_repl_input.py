"""What the user types at the REPL prompt: keys through prompt-toolkit's pipe
input (the real key bindings and history), and completion of slash commands
and @paths from a real git repository."""

from __future__ import annotations

import asyncio.runners
import functools
import os
import signal
import types
from pathlib import Path

import pytest
from prompt_toolkit.completion import CompleteEvent, DummyCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from agent.repl.commands import command_help, is_command
from agent.repl.completion import FileIndex, ReplCompleter, matching_paths
from agent.repl.terminal import PromptInput, pick
from tests.conftest import make_repo


def read(keys: str, history: History | None = None) -> str:
    with create_pipe_input() as pipe:
        prompt = PromptInput(DummyCompleter(), lambda: "toolbar", history, input=pipe, output=DummyOutput())
        pipe.send_text(keys)
        return prompt.read()


def ask(keys: str, choices: list[str], default: str) -> str:
    with create_pipe_input() as pipe:
        prompt = PromptInput(DummyCompleter(), lambda: "", input=pipe, output=DummyOutput())
        pipe.send_text(keys)
        return prompt.ask("Proceed?", choices, default)


# --------------------------------------------------------------------------- keys


def test_enter_sends_the_line() -> None:
    assert read("fix the bug\r") == "fix the bug"


@pytest.mark.parametrize("newline", ["\x1b\r", "\x1b\n"])
def test_alt_enter_adds_a_line_instead_of_sending(newline: str) -> None:
    assert read(f"first line{newline}second line\r") == "first line\nsecond line"


def test_a_bracketed_paste_stays_one_message() -> None:
    pasted = "def f():\n    return 1\n\nprint(f())"
    assert read(f"\x1b[200~{pasted}\x1b[201~ explain\r") == pasted + " explain"


def test_ctrl_c_clears_a_line_being_typed() -> None:
    assert read("half a thought\x03the real message\r") == "the real message"


def test_ctrl_c_at_an_empty_prompt_interrupts() -> None:
    with pytest.raises(KeyboardInterrupt):
        read("\x03")


def test_ctrl_d_at_an_empty_prompt_is_end_of_input() -> None:
    with pytest.raises(EOFError):
        read("\x04")


def test_history_persists_and_ctrl_r_searches_it(tmp_path: Path) -> None:
    path = tmp_path / "repl_history"
    read("add a login page\r", FileHistory(str(path)))
    read("write the tests\r", FileHistory(str(path)))
    # A new session: Up recalls the last message, Ctrl-R finds an older one.
    assert read("\x1b[A\r", FileHistory(str(path))) == "write the tests"
    assert read("\x12login\r\r", FileHistory(str(path))) == "add a login page"


def test_questions_take_a_choice_a_unique_prefix_or_the_default() -> None:
    choices = ["y", "n", "always"]
    assert ask("always\r", choices, "n") == "always"
    assert ask("a\r", choices, "n") == "always"
    assert ask("maybe\rY\r", choices, "n") == "y"  # asked again until the answer is a choice
    assert ask("\r", choices, "n") == "n"
    assert ask("\x04", ["apply", "keep", "discard"], "keep") == "keep"


def test_a_ctrl_c_while_asking_interrupts() -> None:
    with pytest.raises(KeyboardInterrupt):
        ask("\x03", ["y", "n"], "n")


@pytest.fixture
def ctrl_c_as_a_prompt_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real SIGINT, landing where CI once caught one: just after asyncio's
    runner installs its SIGINT handler, before it zeroes its interrupt count.
    The handler cancels the prompt's task, the count is lost, and the runner
    raises a bare CancelledError instead of KeyboardInterrupt."""
    def install_then_interrupt(number: int, handler: object) -> object:
        previous = signal.signal(number, handler)  # type: ignore[arg-type]
        if isinstance(handler, functools.partial):  # the runner's own, not its restore
            os.kill(os.getpid(), signal.SIGINT)
        return previous

    shim = types.SimpleNamespace(**{**vars(signal), "signal": install_then_interrupt})
    monkeypatch.setattr(asyncio.runners, "signal", shim)


@pytest.mark.usefixtures("ctrl_c_as_a_prompt_starts")
def test_a_ctrl_c_as_the_prompt_starts_interrupts_like_any_other() -> None:
    with pytest.raises(KeyboardInterrupt):
        read("never read\r")
    with pytest.raises(KeyboardInterrupt):
        ask("y\r", ["y", "n"], "n")


def test_pick() -> None:
    assert pick("DIS", ["apply", "keep", "discard"], "keep") == "discard"
    assert pick("x", ["apply", "keep"], "keep") is None


# --------------------------------------------------------------------------- commands or messages


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("/diff", True),
        ("/run pytest -x tests", True),
        ("/model gpt-5.2-codex", True),
        ("/usr/bin/env python3 fails, why?", False),
        ("fix /tmp handling", False),
        ("/", False),
    ],
)
def test_is_command(line: str, command: bool) -> None:
    assert is_command(line) is command


# --------------------------------------------------------------------------- completion


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "proj", {
        "src/app.py": "",
        "src/models/user.py": "",
        "tests/test_app.py": "",
        "README.md": "",
        ".gitignore": "build/\n*.log\n",
        "my notes.txt": "",
    })
    (root / "build").mkdir()
    (root / "build" / "out.py").write_text("")
    (root / "debug.log").write_text("")
    (root / "src" / "new_module.py").write_text("")  # untracked, not ignored
    return root


def completions(completer: ReplCompleter, text: str) -> list[str]:
    return [c.text for c in completer.get_completions(Document(text), CompleteEvent())]


def test_slash_commands_complete_with_their_help(repo: Path) -> None:
    completer = ReplCompleter(command_help, FileIndex(lambda: repo))
    assert completions(completer, "/he") == ["/help"]
    assert set(completions(completer, "/")) == {"/" + name for name in command_help()}
    first = next(completer.get_completions(Document("/dif"), CompleteEvent()))
    assert first.start_position == -4 and "changed" in first.display_meta_text


def test_mentions_complete_from_the_repository_files(repo: Path) -> None:
    completer = ReplCompleter(command_help, FileIndex(lambda: repo))
    found = completions(completer, "look at @src/")
    assert found[:4] == ["src/app.py", "src/models/", "src/models/user.py", "src/new_module.py"]
    # Ignored files stay out; a name that a mention cannot carry is left out too.
    everything = completions(completer, "@")
    assert "README.md" in everything and "my notes.txt" not in everything
    assert not any(p.startswith("build") or p.endswith(".log") for p in completions(completer, "@b"))
    # Matching by file name anywhere in the tree.
    assert completions(completer, "see @user") == ["src/models/user.py"]
    # An e-mail address is not a mention.
    assert completions(completer, "mail me@src") == []


def test_add_and_drop_complete_files_without_the_at(repo: Path) -> None:
    completer = ReplCompleter(command_help, FileIndex(lambda: repo))
    assert completions(completer, "/add tests/") == ["tests/test_app.py"]
    assert "src/models/" not in completions(completer, "/add src/m")


def test_the_file_list_is_read_once_until_invalidated(repo: Path) -> None:
    index = FileIndex(lambda: repo)
    assert "src/later.py" not in index.paths()
    (repo / "src" / "later.py").write_text("")
    assert "src/later.py" not in index.paths()  # cached: a keystroke does not walk the tree
    index.invalidate()
    assert "src/later.py" in index.paths()


def test_matching_paths_prefers_prefixes_then_names_then_substrings() -> None:
    paths = ["a/bar/x.py", "bar.py", "foo/bar.py", "foobar.py"]
    assert matching_paths(paths, "bar") == ["bar.py", "a/bar/x.py", "foo/bar.py", "foobar.py"]
    assert matching_paths(paths, "BAR", limit=2) == ["bar.py", "a/bar/x.py"]


def test_history_file_lives_in_the_state_folder(private_dirs: Path) -> None:
    from agent.repl.terminal import history_path

    assert history_path() == private_dirs / "xdg_state_home" / "codex-agent" / "repl_history"


def test_in_memory_history_default_reads_nothing_from_disk() -> None:
    # Without a history file the prompt still works (tests, dumb fallbacks).
    assert read("x\r", InMemoryHistory()) == "x"
