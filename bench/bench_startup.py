"""Start-up: from process start to the first model request, and peak memory.

    python3 bench/bench_startup.py [REPO ...] [--warm-runs N]

Runs the real CLI (`python -m agent TASK --base-url FAKE --no-apply`) in each
repository (default: a generated 2,000-file one) against the fake OpenAI server
on loopback, with fresh XDG folders: the first run is cold (no repo-map cache),
the next ones warm. The time is taken from just before the process is spawned
to the moment the server receives the first model request; the peak RSS is
the largest of the process and its waited-for children (os.wait4), which is
what the memory target speaks of.

The model answers with one tool call under `--max-steps 1`: the run stops
after that step without running the project's tests, yet everything a user's
run does before its first request (the test command's detection and
preflight included) is measured.

A sympy clone: `git clone /work/.mirror/sympy+sympy/repo /tmp/sympy`, then
`python3 bench/bench_startup.py /tmp/sympy`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_openai import FakeOpenAI, call  # noqa: E402

TARGET_SECONDS = 1.0  # issue 14: the first request on a 2,000-file repository
TARGET_RSS_MB = 200


@dataclass
class Run:
    first_request: float  # seconds from spawn to the server seeing the request
    peak_rss_mb: float
    exit_code: int


def generated_repo(root: Path, files: int = 2000) -> Path:
    """A git repository of `files` small Python modules that use each other."""
    for i in range(files):
        pkg = root / f"pkg{i % 40}"
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / f"mod{i}.py").write_text(
            f"from pkg{(i + 1) % 40}.mod{(i + 1) % files} import helper{(i + 1) % files}\n\n\n"
            f"class Thing{i}:\n    def run(self, x: int) -> int:\n        return x + {i}\n\n\n"
            f"def helper{i}(a, b):\n    return Thing{i}().run(a) * b\n"
        )
    git = ["git", "-c", "user.email=b@b", "-c", "user.name=b", "-c", "gc.auto=0"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    return root


def one_run(repo: Path, env: dict[str, str], log: Path) -> Run:
    arrivals: list[float] = []

    def first(_request: dict) -> dict:
        arrivals.append(time.perf_counter())
        return call("list_files", {"path": "."})

    with FakeOpenAI([first]) as server, log.open("w") as out:
        args = [sys.executable, "-m", "agent", "bench: where is the entry point?", "--base-url", server.base_url,
                "--api", "chat", "--model", "gpt-5.2-codex", "--no-apply", "--max-steps", "1"]
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        # wait4, not wait: its rusage holds the peak RSS of the run's processes.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if not arrivals:
        raise SystemExit(f"no model request from the run in {repo}; its output is in {log}:\n{log.read_text()}")
    return Run(arrivals[0] - start, usage.ru_maxrss / 1024, proc.returncode)


def measure(repo: Path, warm_runs: int) -> tuple[Run, list[Run]]:
    """A cold run, then `warm_runs` warm ones, all with the same fresh XDG folders."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        home = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "OPENAI_API_KEY": "sk-bench",
               **{name: str(home / name.lower()) for name in
                  ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")}}
        env.pop("OPENAI_BASE_URL", None)
        cold = one_run(repo, env, home / "cold.log")
        warm = [one_run(repo, env, home / f"warm{i}.log") for i in range(warm_runs)]
    return cold, warm


def tracked_files(repo: Path) -> int:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    return out.count(b"\0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos", nargs="*", type=Path, help="git repositories (default: a generated one)")
    parser.add_argument("--warm-runs", type=int, default=3, help="warm runs per repository (median shown)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-repo-") as tmp:
        repos = opts.repos or [generated_repo(Path(tmp) / "generated")]
        print(f"{'repository':24} {'files':>6} {'cold s':>7} {'warm s':>7} {'cold MB':>8} {'warm MB':>8}  "
              f"target <{TARGET_SECONDS:g} s warm, <{TARGET_RSS_MB} MB")
        for repo in repos:
            repo = repo.resolve()
            cold, warm = measure(repo, opts.warm_runs)
            warm_s = statistics.median(r.first_request for r in warm)
            warm_mb = max(r.peak_rss_mb for r in warm)
            ok = warm_s < TARGET_SECONDS and max(cold.peak_rss_mb, warm_mb) < TARGET_RSS_MB
            print(f"{repo.name[:24]:24} {tracked_files(repo):6} {cold.first_request:7.2f} {warm_s:7.2f} "
                  f"{cold.peak_rss_mb:8.0f} {warm_mb:8.0f}  {'ok' if ok else 'MISSED'}", flush=True)


if __name__ == "__main__":
    main()
