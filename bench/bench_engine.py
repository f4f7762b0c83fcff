"""Harness overhead: everything that is not waiting for the model.

    python3 bench/bench_engine.py

Prints `--help` wall time, time from start to the first model request on a
2,000-file repository, and per-step overhead against the fake OpenAI server
answering with zero latency (the gap between one model request and the next
when the model calls a cheap tool)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_openai import FakeOpenAI, call, text  # noqa: E402

TARGETS = {"--help": 0.3, "first request (cold cache)": 1.0, "first request (warm cache)": 1.0,
           "per-step overhead": 0.05}


def make_repo(root: Path, files: int) -> Path:
    for i in range(files):
        pkg = root / f"pkg{i % 40}"
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / f"mod{i}.py").write_text(
            f"import os\n\n\nclass Thing{i}:\n    def run(self, x: int) -> int:\n        return x + {i}\n\n\n"
            f"def helper{i}(a, b):\n    return Thing{i}().run(a) * b\n"
        )
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=b", "-c", "gc.auto=0", "commit", "-qm", "init"], cwd=root, check=True)
    return root


def cli(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=cwd, env=env, capture_output=True, text=True)


def bench_help(env: dict[str, str]) -> float:
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "agent", "--help"], env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_first_request(repo: Path, env: dict[str, str]) -> float:
    arrivals: list[float] = []

    def first(_request: dict) -> dict:
        arrivals.append(time.perf_counter())
        return text("done")

    with FakeOpenAI([first]) as server:
        start = time.perf_counter()
        result = cli(["bench task", "--base-url", server.base_url, "--api", "chat", "--no-apply",
                      "--test-cmd", "true"], repo, env)
    if result.returncode != 0:
        raise SystemExit(f"first-request run failed: {result.stderr}")
    return arrivals[0] - start


def bench_step_overhead(repo: Path, env: dict[str, str], steps: int = 40) -> float:
    arrivals: list[float] = []

    def timed(turn: dict):
        def answer(_request: dict) -> dict:
            arrivals.append(time.perf_counter())
            return turn
        return answer

    script = [timed(call("read_file", {"path": "pkg0/mod0.py"})) for _ in range(steps)] + [timed(text("done"))]
    with FakeOpenAI(script) as server:
        result = cli(["bench task", "--base-url", server.base_url, "--api", "chat", "--no-apply",
                      "--test-cmd", "true", "--max-steps", str(steps + 5)], repo, env)
    if result.returncode != 0:
        raise SystemExit(f"step run failed: {result.stderr}")
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    return statistics.median(gaps)


def measure(folder: Path) -> list[tuple[str, float]]:
    env = {**os.environ, "XDG_STATE_HOME": str(folder / "state"), "XDG_CACHE_HOME": str(folder / "cache"),
           "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    env.pop("OPENAI_API_KEY", None)
    repo = make_repo(folder / "repo", 2000)
    os.sync()  # a user's repository is not being written back to disk as the agent starts
    return [
        ("first request (cold cache)", bench_first_request(repo, env)),
        ("first request (warm cache)", bench_first_request(repo, env)),
        ("per-step overhead", bench_step_overhead(repo, env)),
    ]


def main() -> None:
    """On the disk, and on tmpfs where there is one: most of the first request
    is checking out 2,000 files, which this machine's disk makes slow."""
    rows = [("", "--help", bench_help({**os.environ, "PYTHONPATH": str(ROOT)}))]
    places = [("disk", None)] + [("tmpfs", "/dev/shm")] * os.path.isdir("/dev/shm")
    for place, parent in places:
        with tempfile.TemporaryDirectory(dir=parent) as tmp:
            rows += [(place, name, seconds) for name, seconds in measure(Path(tmp))]
    print(f"{'engine (2,000-file repo)':28} {'where':>6} {'seconds':>9} {'target':>8}  ok")
    for place, name, seconds in rows:
        target = TARGETS[name]
        print(f"{name:28} {place:>6} {seconds:9.3f} {target:8.2f}  {'yes' if seconds < target else 'NO'}")


if __name__ == "__main__":
    main()
