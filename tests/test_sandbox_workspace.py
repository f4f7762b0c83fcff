"""Working copies on real git repositories and real folders."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sandbox import merge
from sandbox.git import git_dirs
from sandbox.runs import list_runs
from sandbox.workspace import FileStat, Workspace




def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def fingerprint(folder: Path) -> dict[str, bytes]:
    """Every byte of the user's tree, including the index and HEAD."""
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        inside_git = rel.startswith(".git/")
        if path.is_file() and (not inside_git or rel in (".git/index", ".git/HEAD")):
            files[rel] = path.read_bytes()
    return files


LINES = "".join(f"line {i}\n" for i in range(1, 11))


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository with a dirty tree: staged, unstaged, untracked and ignored files."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "staged.txt").write_text("committed\n")
    (repo / "unstaged.txt").write_text("committed\n")
    (repo / "lines.txt").write_text(LINES)
    (repo / "doomed.txt").write_text("to be deleted by the agent\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    (repo / "staged.txt").write_text("staged edit\n")
    git(repo, "add", "staged.txt")
    (repo / "unstaged.txt").write_text("unstaged edit\n")
    (repo / "untracked.txt").write_text("untracked\n")
    (repo / "debug.log").write_text("ignored\n")
    return repo


def test_git_working_copy_holds_the_current_state_and_leaves_the_user_alone(repo, private_dirs):
    before = fingerprint(repo)
    ws = Workspace.create(repo)
    assert ws.kind == "git"
    assert ws.branch == f"codex-agent/{ws.run_id}"
    assert ws.root.is_relative_to(private_dirs / "xdg_state_home")
    assert (ws.root / "staged.txt").read_text() == "staged edit\n"
    assert (ws.root / "unstaged.txt").read_text() == "unstaged edit\n"
    assert (ws.root / "untracked.txt").read_text() == "untracked\n"
    assert not (ws.root / "debug.log").exists()
    assert fingerprint(repo) == before
    assert ws.diff() == "" and ws.changed_files() == []

    ws.discard()
    assert not ws.root.exists()
    assert git(repo, "branch", "--list", "codex-agent/*") == ""
    assert len(git(repo, "worktree", "list").splitlines()) == 1
    assert fingerprint(repo) == before
    assert list_runs() == []


def test_diff_counts_commits_and_untracked_files_since_the_start(repo):
    ws = Workspace.create(repo)
    (ws.root / "lines.txt").write_text(LINES.replace("line 2\n", "line two\n"))
    git(ws.root, "commit", "-q", "-am", "agent commit")  # what the git_commit tool does
    (ws.root / "doomed.txt").unlink()
    (ws.root / "brand_new.py").write_text("print('hi')\n")

    diff = ws.diff()
    assert "+line two" in diff and "-line 2" in diff
    assert "diff --git a/brand_new.py b/brand_new.py" in diff
    assert "deleted file mode" in diff
    # The user's own uncommitted edits are the starting point, not a change.
    assert "staged edit" not in diff and "unstaged edit" not in diff
    assert sorted(ws.changed_files(), key=lambda s: s.path) == [
        FileStat("brand_new.py", "add", 1, 0),
        FileStat("doomed.txt", "delete", 0, 1),
        FileStat("lines.txt", "update", 1, 1),
    ]


def test_apply_brings_exactly_the_changes_and_keeps_the_users_edits(repo):
    ws = Workspace.create(repo)
    index_before = (repo / ".git" / "index").read_bytes()
    staged_before = git(repo, "diff", "--cached")
    (ws.root / "lines.txt").write_text(LINES + "line 11\n")
    (ws.root / "doomed.txt").unlink()
    (ws.root / "pkg").mkdir()
    (ws.root / "pkg" / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    (ws.root / "pkg" / "tool.sh").chmod(0o755)
    (ws.root / "blob.bin").write_bytes(bytes(range(256)) * 4)

    result = ws.apply()
    assert result.ok, result.message
    assert (repo / "lines.txt").read_text() == LINES + "line 11\n"
    assert not (repo / "doomed.txt").exists()
    assert os.access(repo / "pkg" / "tool.sh", os.X_OK)
    assert (repo / "blob.bin").read_bytes() == bytes(range(256)) * 4
    # The user's own state is exactly as it was.
    assert (repo / "staged.txt").read_text() == "staged edit\n"
    assert (repo / "unstaged.txt").read_text() == "unstaged edit\n"
    assert (repo / "untracked.txt").read_text() == "untracked\n"
    assert (repo / "debug.log").read_text() == "ignored\n"
    assert (repo / ".git" / "index").read_bytes() == index_before
    assert git(repo, "diff", "--cached") == staged_before
    # The working copy and its branch are gone.
    assert not ws.root.exists()
    assert git(repo, "branch", "--list", "codex-agent/*") == ""
    assert list_runs() == []
    ws.discard()  # harmless after apply


def test_a_ctrl_c_while_the_tree_is_written_leaves_it_as_it_was(repo, monkeypatch):
    ws = Workspace.create(repo)
    (ws.root / "lines.txt").write_text(LINES + "line 11\n")
    (ws.root / "doomed.txt").unlink()
    before = fingerprint(repo)
    write = merge._Target.git

    def interrupted(target, *args, **kwargs):
        if args[0] == "checkout-index":  # doomed.txt is deleted already: the tree is half-written
            os.kill(os.getpid(), signal.SIGINT)
        return write(target, *args, **kwargs)

    monkeypatch.setattr(merge._Target, "git", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ws.apply()
    assert fingerprint(repo) == before
    assert ws.root.exists() and ws.changed_files()  # the work is still there, to apply again


def test_a_same_size_edit_right_after_checkout_is_seen_later(repo):
    # Git trusts cached stat data unless an entry is "racily clean": an edit in
    # the same second as the checkout, keeping size and inode, must still show
    # when the diff is taken seconds later.
    ws = Workspace.create(repo)
    (ws.root / "staged.txt").write_text("STAGED EDIT\n")
    time.sleep(1.1)
    assert [s.path for s in ws.changed_files()] == ["staged.txt"]
    assert "+STAGED EDIT" in Workspace.load(ws.run_id).diff()


def test_apply_merges_when_the_user_edited_elsewhere_in_the_same_file(repo):
    ws = Workspace.create(repo)
    (ws.root / "lines.txt").write_text(LINES.replace("line 2\n", "agent 2\n"))
    (repo / "lines.txt").write_text(LINES.replace("line 9\n", "user 9\n"))

    result = ws.apply()
    assert result.ok, result.message
    assert (repo / "lines.txt").read_text() == LINES.replace("line 2\n", "agent 2\n").replace("line 9\n", "user 9\n")


def test_apply_refuses_overlapping_edits_and_writes_nothing(repo):
    ws = Workspace.create(repo)
    (ws.root / "lines.txt").write_text(LINES.replace("line 2\n", "agent 2\n"))
    (ws.root / "other.txt").write_text("agent's other change\n")
    (repo / "lines.txt").write_text(LINES.replace("line 2\n", "user 2\n"))
    before = fingerprint(repo)

    result = ws.apply()
    assert not result.ok
    assert result.conflicts == ["lines.txt"]
    assert "lines.txt" in result.message and str(ws.root) in result.message
    assert fingerprint(repo) == before  # not even the non-conflicting file
    assert ws.root.exists() and ws.run_id in [r.id for r in list_runs()]


@pytest.mark.parametrize(
    "user_action",
    [
        pytest.param(lambda repo: (repo / "doomed.txt").unlink(), id="user-deleted-agent-edited"),
        pytest.param(lambda repo: (repo / "new.txt").write_text("user's\n"), id="both-created"),
        pytest.param(lambda repo: (repo / "new.txt").mkdir(), id="user-made-a-folder"),
    ],
)
def test_apply_never_overwrites_a_file_the_user_touched(repo, user_action):
    ws = Workspace.create(repo)
    (ws.root / "doomed.txt").write_text("agent edit\n")
    (ws.root / "new.txt").write_text("agent's\n")
    user_action(repo)
    before = fingerprint(repo)

    result = ws.apply()
    assert not result.ok and result.conflicts
    assert fingerprint(repo) == before


def test_apply_does_not_overwrite_an_ignored_file_of_the_user(repo):
    ws = Workspace.create(repo)
    (ws.root / ".gitignore").write_text("")  # the agent un-ignores *.log
    (ws.root / "debug.log").write_text("agent's log\n")
    result = ws.apply()
    assert not result.ok and "debug.log" in result.conflicts
    assert (repo / "debug.log").read_text() == "ignored\n"


def test_keep_leaves_a_branch_that_can_be_applied_later(repo):
    ws = Workspace.create(repo)
    (ws.root / "lines.txt").write_text("kept\n")
    sentence = ws.keep()
    assert ws.branch in sentence
    assert not ws.root.exists()
    assert git(repo, "show", f"{ws.branch}:lines.txt") == "kept\n"
    [run] = list_runs()
    assert (run.id, run.state, run.kind) == (ws.run_id, "kept", "git")

    again = Workspace.load(ws.run_id)
    assert "-kept" not in again.diff() and "+kept" in again.diff()
    result = again.apply()
    assert result.ok, result.message
    assert (repo / "lines.txt").read_text() == "kept\n"
    assert git(repo, "branch", "--list", "codex-agent/*") == ""


def test_repository_without_commits(tmp_path):
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a.txt").write_text("a\n")
    ws = Workspace.create(repo)
    assert (ws.root / "a.txt").read_text() == "a\n"
    (ws.root / "a.txt").write_text("b\n")
    assert ws.apply().ok
    assert (repo / "a.txt").read_text() == "b\n"
    assert git(repo, "status", "--porcelain") == "?? a.txt\n"


def test_subfolder_of_a_repository_uses_the_whole_repository(repo):
    (repo / "sub").mkdir()
    (repo / "sub" / "x.txt").write_text("x\n")
    ws = Workspace.create(repo / "sub")
    assert ws.kind == "git" and ws.source == repo.resolve()
    assert (ws.root / "sub" / "x.txt").exists()
    ws.discard()


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "plain"
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text(LINES)
    (folder / "notes.txt").write_text("notes\n")
    for skipped in (".venv/lib", "node_modules/x", "src/__pycache__"):
        (folder / skipped).mkdir(parents=True)
        (folder / skipped / "junk").write_text("junk\n")
    os.mkfifo(folder / "a.fifo")
    return folder


def test_plain_folder_is_copied_and_never_made_a_repository(folder):
    before = fingerprint(folder)
    ws = Workspace.create(folder)
    assert ws.kind == "copy" and ws.branch is None
    assert (ws.root / "src" / "app.py").read_text() == LINES
    for skipped in (".venv", "node_modules", "src/__pycache__", "a.fifo"):
        assert not (ws.root / skipped).exists()

    (ws.root / "src" / "app.py").write_text(LINES.replace("line 5\n", "agent 5\n"))
    (ws.root / "notes.txt").unlink()
    (ws.root / "node_modules").mkdir()  # recreated by a tool: not a change
    (ws.root / "node_modules" / "dep.js").write_text("x\n")
    (folder / "src" / "app.py").write_text(LINES.replace("line 9\n", "user 9\n"))
    assert {s.path for s in ws.changed_files()} == {"src/app.py", "notes.txt"}

    result = ws.apply()
    assert result.ok, result.message
    assert (folder / "src" / "app.py").read_text() == LINES.replace("line 5\n", "agent 5\n").replace(
        "line 9\n", "user 9\n"
    )
    assert not (folder / "notes.txt").exists()
    assert not (folder / ".git").exists()
    assert (folder / "node_modules" / "x" / "junk").exists() and not (folder / "node_modules" / "dep.js").exists()
    assert not ws.root.exists() and list_runs() == []
    assert before.keys() - fingerprint(folder).keys() == {"notes.txt"}


def test_plain_folder_keep_writes_a_patch_and_applies_later(folder):
    ws = Workspace.create(folder)
    (ws.root / "notes.txt").write_text("agent notes\n")
    sentence = ws.keep()
    patch = Path(ws.kept_at)
    assert str(patch) in sentence and patch.parent == ws.root.parent
    assert "+agent notes" in patch.read_text()
    assert not ws.root.exists()
    assert not (folder / ".git").exists()
    [run] = list_runs()
    assert (run.state, run.path) == ("kept", patch)

    result = Workspace.load(ws.run_id).apply()
    assert result.ok, result.message
    assert (folder / "notes.txt").read_text() == "agent notes\n"
    assert not patch.exists() and list_runs() == []


def test_an_interrupted_run_is_found_and_applied_later(repo):
    script = textwrap.dedent(
        f"""
        import os
        from sandbox.workspace import Workspace
        ws = Workspace.create({str(repo)!r}, run_id="crashed")
        ws.meta["task"] = "add a line"
        ws.save_meta()
        (ws.root / "lines.txt").write_text("from the crashed run\\n")
        os._exit(1)  # no cleanup, as after a kill
        """
    )
    subprocess.run([sys.executable, "-c", script], check=False, cwd=Path(__file__).parents[1])
    [run] = list_runs()
    assert (run.id, run.state, run.task) == ("crashed", "interrupted", "add a line")
    assert run.path.is_dir()

    result = Workspace.load("crashed").apply()
    assert result.ok, result.message
    assert (repo / "lines.txt").read_text() == "from the crashed run\n"


def test_meta_is_saved_with_the_run(repo):
    ws = Workspace.create(repo, run_id="task-1")
    ws.meta.update(task="fix the bug", trajectory="/tmp/t.jsonl")
    ws.save_meta()
    [run] = list_runs()
    assert (run.id, run.state, run.task) == ("task-1", "active", "fix the bug")
    assert Workspace.load("task-1").meta["trajectory"] == "/tmp/t.jsonl"
    with pytest.raises(FileExistsError):
        Workspace.create(repo, run_id="task-1")
    with pytest.raises(ValueError):
        Workspace.create(repo, run_id="../escape")


FAKE_TOKEN = "ghp_" + "Q8vR2xL7mN4pK9sT3wY6zB1cD5fG0hJ2kL4n"  # shaped like a GitHub token, not a real one


def test_apply_refuses_a_change_that_adds_a_secret_unless_its_file_is_allowed(repo):
    ws = Workspace.create(repo)
    (ws.root / "lines.txt").write_text(LINES + "more\n")
    (ws.root / "config").mkdir()
    (ws.root / "config" / ".env.test").write_text(f"GITHUB_TOKEN={FAKE_TOKEN}\n")
    before = fingerprint(repo)

    refused = ws.apply()
    assert not refused.ok and "config/.env.test (sensitive file)" in refused.message
    assert "config/.env.test:1" in refused.message and FAKE_TOKEN not in refused.message
    assert fingerprint(repo) == before and ws.root.is_dir()

    # The allow-list names files the way --allow-secret does: by path or by file name.
    result = ws.apply(allow_secrets=[".env.test"])
    assert result.ok, result.message
    assert (repo / "config" / ".env.test").read_text() == f"GITHUB_TOKEN={FAKE_TOKEN}\n"


def test_secret_findings_are_what_apply_refuses_and_skip_deleted_files(repo):
    (repo / ".env").write_text("DEBUG=1\n")  # untracked: part of the starting state
    ws = Workspace.create(repo)
    (ws.root / ".env").unlink()
    (ws.root / "config").mkdir()
    (ws.root / "config" / ".env.test").write_text(f"GITHUB_TOKEN={FAKE_TOKEN}\n")
    findings = ws.secret_findings()
    assert findings and all(f.startswith("config/.env.test") for f in findings)
    assert ws.apply().conflicts == findings
    assert ws.secret_findings(allow=[".env.test"]) == []


def test_git_dirs_agree_with_git_for_a_worktree_and_a_plain_repository(repo):
    ws = Workspace.create(repo)
    asked = git(ws.root, "rev-parse", "--absolute-git-dir", "--git-common-dir").split()
    own, common = git_dirs(ws.root)
    assert (own, common) == (Path(asked[0]), (ws.root / asked[1]).resolve())
    assert own != common and common == (repo / ".git").resolve()
    assert git_dirs(repo) == (repo / ".git", repo / ".git")


def test_a_nested_repository_made_in_the_working_copy_runs_nothing_outside(repo, tmp_path):
    # A model-run command (sandboxed) can fill the working copy's empty
    # submodule folder with a clone at the recorded commit (the objects are
    # in the user's .git, readable in the sandbox) and give it a config that
    # runs a command (core.fsmonitor). The agent's own git, which runs
    # outside the sandbox, must never start a git inside it.
    head = git(repo, "rev-parse", "HEAD").strip()
    (repo / "vendor" / "lib").mkdir(parents=True)  # a submodule that was never initialised
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{head},vendor/lib")
    git(repo, "commit", "-qm", "a submodule")
    ws = Workspace.create(repo)
    nested = ws.root / "vendor" / "lib"
    marker = tmp_path / "escaped"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(repo), str(nested)], check=True)
    subprocess.run(["git", "-C", str(nested), "checkout", "-q", head], check=True)
    subprocess.run(["git", "-C", str(nested), "config", "core.fsmonitor", f"touch {marker}; false"], check=True)
    (nested / "lines.txt").write_text("dirty, so a status inside would look\n")
    (ws.root / "lines.txt").write_text(LINES + "agent\n")

    assert "lines.txt" in [s.path for s in ws.changed_files()]
    ws.diff()
    assert ws.apply().ok
    assert not marker.exists()
