"""Start-up: from process start to the first model request, and peak memory.

    python3 bench/bench_startup.py [REPO ...] [--warm-runs N] [--checkout DIR ...] [--codex PATH] [--api chat]

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

We speak the Responses API, as to api.openai.com and as Codex CLI does;
`--api chat` measures the Chat Completions path (other servers) instead.

`--checkout DIR` (repeatable) runs another checkout of codex-agent too, e.g.
the commit before a change; `--codex PATH` runs Codex CLI (`codex exec`) the
same way. The programs take turns run by run, so a machine whose load
changes meanwhile weighs on each alike. The floor row is what every run of
ours pays first: Python starting and importing the openai package. Our
modules run from compiled bytecode, as from an installed package.

"warm CPU s" is the CPU time (user + system, all threads) our process had
used when the request arrived, read from /proc: unlike the wall time it
hardly moves with the machine's load, so it compares two checkouts on a busy
machine. (Codex CLI's launcher does its work in a child: not shown.)

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
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fake_openai import FakeOpenAI, call, text  # noqa: E402

TARGET_SECONDS = 1.0  # issue 14: the first request on a 2,000-file repository
TARGET_RSS_MB = 200
TASK = "bench: where is the entry point?"
XDG = ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")


@dataclass
class Run:
    first_request: float  # seconds from spawn to the server seeing the request
    peak_rss_mb: float
    cpu: float  # CPU seconds of the process (not its children) by then


@dataclass
class Program:
    label: str
    argv: Callable[[str], list[str]]  # the command line, given the server's base URL
    env: Callable[[Path], dict[str, str]]  # its environment, given a private home folder
    answer: dict  # what the model answers to the first request
    cpu_shown: bool = True  # False: the program's work is done by a child process


PACKAGES = ("agent", "sandbox", "tools")  # what `pip install` puts in site-packages


def ours(checkout: Path, pycache: Path, api: str) -> Program:
    """Our CLI from `checkout`, its modules compiled into `pycache` first, as
    `pip install` compiles an installed package's (this machine's
    PYTHONDONTWRITEBYTECODE would have every run compile them again)."""
    env_pyc = {**os.environ, "PYTHONPYCACHEPREFIX": str(pycache)}
    env_pyc.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([sys.executable, "-m", "compileall", "-q", *(str(checkout / p) for p in PACKAGES)],
                   env=env_pyc, check=True, stdout=subprocess.DEVNULL)

    def argv(base_url: str) -> list[str]:
        return [sys.executable, "-m", "agent", TASK, "--base-url", base_url, "--api", api,
                "--model", "gpt-5.2-codex", "--no-apply", "--max-steps", "1"]

    def env(home: Path) -> dict[str, str]:
        return {**env_pyc, "PYTHONPATH": str(checkout), "NO_COLOR": "1", "OPENAI_API_KEY": "sk-bench",
                **{name: str(home / name.lower()) for name in XDG}}

    label = "codex-agent" if checkout == ROOT else f"codex-agent at {checkout}"
    return Program(label, argv, env, call("list_files", {"path": "."}))


def codex_cli(binary: Path) -> Program:
    def argv(base_url: str) -> list[str]:
        provider = ["-c", "model_provider=fake", "-c", "model_providers.fake.name='fake'",
                    "-c", f"model_providers.fake.base_url='{base_url}'",
                    "-c", "model_providers.fake.wire_api='responses'",
                    "-c", "model_providers.fake.env_key='OPENAI_API_KEY'"]
        return [str(binary), "exec", "--skip-git-repo-check", "-m", "gpt-5.2-codex", *provider, TASK]

    def env(home: Path) -> dict[str, str]:
        (home / "codex").mkdir(exist_ok=True)
        return {**os.environ, "CODEX_HOME": str(home / "codex"), "OPENAI_API_KEY": "sk-bench", "NO_COLOR": "1"}

    return Program("Codex CLI", argv, env, text("done"), cpu_shown=False)


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


def cpu_seconds(pid: int) -> float:
    """User + system time of process `pid` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(program: Program, repo: Path, home: Path, log: Path) -> Run:
    arrivals: list[float] = []
    cpu: list[float] = []
    started: list[subprocess.Popen] = []

    def first(_request: dict) -> dict:
        arrivals.append(time.perf_counter())
        cpu.append(cpu_seconds(started[0].pid))
        return program.answer

    with FakeOpenAI([first, text("done"), text("done")]) as server, log.open("w") as out:
        argv, env = program.argv(server.base_url), program.env(home)
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        started.append(proc)
        # wait4, not wait: its rusage holds the peak RSS of the run's processes.
        _, _, usage = os.wait4(proc.pid, 0)
    if not arrivals:
        raise SystemExit(f"{program.label}: no model request in {repo}; its output:\n{log.read_text()}")
    return Run(arrivals[0] - start, usage.ru_maxrss / 1024, cpu[0])


def floor_run() -> Run:
    """Python starting and importing the openai package: paid before any request."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", "import openai"])
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit("python -c 'import openai' failed")
    return Run(time.perf_counter() - start, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def measure(programs: list[Program], repo: Path, warm_runs: int) -> tuple[list[tuple[Program, Run, list[Run]]], list[Run]]:
    """Per program a cold run, then `warm_runs` warm ones, each program with
    its own fresh home folder; the programs and the floor take turns. Also
    the floor's runs."""
    floors = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        homes = [Path(tmp) / str(i) for i in range(len(programs))]
        for home in homes:
            home.mkdir()
        runs: list[list[Run]] = [[] for _ in programs]
        for n in range(1 + warm_runs):
            floors.append(floor_run())
            for program, home, done in zip(programs, homes, runs):
                done.append(one_run(program, repo, home, home / f"run{n}.log"))
    return [(program, done[0], done[1:]) for program, done in zip(programs, runs)], floors


def median(runs: list[Run], field: str) -> float:
    return statistics.median(getattr(r, field) for r in runs) if runs else float("nan")


def tracked_files(repo: Path) -> int:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True).stdout
    return out.count(b"\0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos", nargs="*", type=Path, help="git repositories (default: a generated one)")
    parser.add_argument("--warm-runs", type=int, default=3, help="warm runs per repository (median shown)")
    parser.add_argument("--checkout", type=Path, action="append", default=[],
                        help="another codex-agent checkout to run too (e.g. before a change)")
    parser.add_argument("--codex", type=Path, help="Codex CLI's `codex` binary, to run too")
    parser.add_argument("--api", choices=["responses", "chat"], default="responses",
                        help="our wire API (responses: what api.openai.com users get, and what Codex speaks)")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-startup-repo-") as tmp:
        checkouts = [ROOT, *(c.resolve() for c in opts.checkout)]
        programs = [*(ours(c, Path(tmp) / f"pycache{i}", opts.api) for i, c in enumerate(checkouts)),
                    *([codex_cli(opts.codex)] * bool(opts.codex))]
        repos = opts.repos or [generated_repo(Path(tmp) / "generated")]
        print(f"{'repository':12} {'files':>6} {'program':40} {'cold s':>7} {'warm s':>7} {'warm CPU s':>10} "
              f"{'cold MB':>8} {'warm MB':>8}  target <{TARGET_SECONDS:g} s warm, <{TARGET_RSS_MB} MB")
        for repo in repos:
            repo = repo.resolve()
            results, floors = measure(programs, repo, opts.warm_runs)
            label = "floor: python -c 'import openai'"
            print(f"{repo.name[:12]:12} {'':6} {label:40} {'':7} {median(floors, 'first_request'):7.2f} "
                  f"{median(floors, 'cpu'):10.2f}  (load average {os.getloadavg()[0]:.1f})")
            for program, cold, warm in results:
                warm_s = median(warm, "first_request")
                cpu = f"{median(warm, 'cpu'):10.2f}" if program.cpu_shown else f"{'':10}"
                warm_mb = max((r.peak_rss_mb for r in warm), default=float("nan"))
                ok = warm_s < TARGET_SECONDS and max(cold.peak_rss_mb, warm_mb) < TARGET_RSS_MB
                print(f"{repo.name[:12]:12} {tracked_files(repo):6} {program.label[:40]:40} "
                      f"{cold.first_request:7.2f} {warm_s:7.2f} {cpu} {cold.peak_rss_mb:8.0f} {warm_mb:8.0f}  "
                      f"{'ok' if ok else 'missed'}", flush=True)


if __name__ == "__main__":
    main()
