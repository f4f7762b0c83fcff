"""Record the demo session (agent/examples/shop.jsonl) with the real program
against the fake OpenAI server, so the shipped trajectory is what the agent
really does with these replies.

    python3 -m tests.record_demo          # rewrites agent/examples/shop.jsonl

The script is the model's side of a self-correcting run: a wrong first fix,
the test gate sending the failure back, a second look, the right fix.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from agent.demo import RECORDING, prepare_example
from tests.fake_openai import FakeOpenAI, call, reply

REPO = Path(__file__).resolve().parents[1]
TASK = "total() ignores the discount; make it apply it"
MODEL = "gpt-5.2-codex"

WRONG = "    return sum(prices) * (1 - discount / 100)\n"
RIGHT = "    return sum(prices) * (1 - discount)\n"
SCRIPT = [
    reply("I'll read the function first.", [call("read_file", {"path": "cart.py"})]),
    reply("The discount is subtracted as an amount. Treating it as a percentage:",
          [call("edit_file", {"path": "cart.py", "old": "    return sum(prices) - discount\n", "new": WRONG})]),
    reply("total() now applies the discount as a percentage."),
    reply("The test expects 27.0 for 10 % off 30, so let me see how it passes the discount.",
          [call("read_file", {"path": "test_cart.py"})]),
    reply("It passes discount=0.1: a fraction, not a percentage.",
          [call("edit_file", {"path": "cart.py", "old": WRONG, "new": RIGHT})]),
    reply("total() applies the discount as a fraction (0.1 is 10 % off); both tests pass."),
]


def record(out: Path = RECORDING) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="codex-agent-record-") as tmp:
        home = Path(tmp)
        repo = prepare_example(home / "shop")
        recorded = home / "trajectory.jsonl"
        env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "80",
               **{name: str(home / name.lower()) for name in
                  ("XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")}}
        env.pop("OPENAI_API_KEY", None)
        with FakeOpenAI(SCRIPT) as server:
            result = subprocess.run(
                [sys.executable, "-m", "agent", "run", TASK, "--base-url", server.base_url, "--model", MODEL,
                 "--no-apply", "--trajectory", str(recorded)],
                cwd=repo, env=env, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise SystemExit(f"recording failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        # The recording machine's folders mean nothing elsewhere.
        text = recorded.read_text(encoding="utf-8").replace(str(home), "/tmp/codex-agent-demo")
        out.write_text("".join(json.dumps(_without_time(json.loads(line))) + "\n" for line in text.splitlines()),
                       encoding="utf-8")
        return result


def _without_time(record: dict) -> dict:
    """Wall-clock stamps would make every re-recording a diff."""
    record.pop("time", None)
    return record


if __name__ == "__main__":
    print(record().stdout)
