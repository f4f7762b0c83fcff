"""`codex-agent demo`: a session recorded on the example repository
(agent/examples/), replayed in a temporary copy. No model is called and no
key is needed; the tools, the sandbox, the tests and the gate run for real."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from agent.config import Settings, load_settings

EXAMPLES = Path(__file__).resolve().parent / "examples"
EXAMPLE_REPO = EXAMPLES / "shop"
RECORDING = EXAMPLES / "shop.jsonl"


def prepare_example(target: Path) -> Path:
    """A fresh git repository at `target` holding the example, committed."""
    from sandbox.git import git

    shutil.copytree(EXAMPLE_REPO, target, ignore=shutil.ignore_patterns("__pycache__"))
    git("init", "-q", cwd=target)
    git("add", "-A", cwd=target)
    git("commit", "-qm", "The shop example", cwd=target, identity=True)
    return target


def demo_main(flags: dict, keep: bool = False) -> int:
    from agent.oneshot import replay_trajectory

    folder = Path(tempfile.mkdtemp(prefix="codex-agent-demo-"))
    try:
        repo = prepare_example(folder / "shop")
        # The demo's "your tree" is the temporary copy: the fix lands there.
        settings: Settings = load_settings(repo, {"apply": True, **flags})
        print(f"A recorded session, replayed on a copy of an example repository:\n  {repo}\n"
              "No model is called; the tools, the sandbox and the tests run for real.\n"
              f"The task: {_recorded_task()}\n")
        code = replay_trajectory(settings, RECORDING, cwd=repo)
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\nThe example is kept in {repo}." if keep else
          "\nThe temporary copy is removed (`codex-agent demo --keep` leaves it).")
    print('Your turn, in your own repository:  codex-agent "describe the change you want"')
    return code


def _recorded_task() -> str:
    from agent.trajectory import read_trajectory, recorded_prompts

    return recorded_prompts(read_trajectory(RECORDING))[0]
