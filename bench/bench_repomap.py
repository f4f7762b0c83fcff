"""Repo map speed and memory on a repository of about 2,000 Python files.

The repository is real code: the sources of installed packages (pip,
setuptools, rich, pygments, ...) copied side by side until there are
--files .py files, in a fresh git repository. Each measurement runs in a new
interpreter with its own cache folder:

    cold          empty cache: every file parsed
    warm          nothing changed: the rendered map from the cache
    one change    one file edited: one file parsed
    new worktree  a copy of the repository at another path (what every agent
                  run gets): files hashed, the map from the cache (same contents)

Targets: cold < 3 s, warm < 0.5 s, peak memory < 200 MB.
For scale, Aider takes 27 s cold / 11 s warm / 525 MB on 2,087 files.

    python bench/bench_repomap.py [--files 2000] [--tokens 2048] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pip", "setuptools", "rich", "prompt_toolkit", "pygments", "pydantic", "git", "openai", "typer", "httpx")

_MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
def cpu():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
start, start_cpu = time.perf_counter(), cpu()
from agent.repomap import build_repo_map
text = build_repo_map(Path(sys.argv[1]), tokens=int(sys.argv[2]))
seconds, cpu_seconds = time.perf_counter() - start, cpu() - start_cpu
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
from agent.tokens import count_tokens
print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "rss": me, "workers": workers, "tokens": count_tokens(text),
                  "lines": len(text.splitlines())}))
"""


def make_corpus(root: Path, want: int) -> int:
    site = Path(sysconfig.get_paths()["purelib"])
    count = 0
    for package in PACKAGES:
        source = site / package
        if not source.is_dir():
            continue
        for path in sorted(source.rglob("*.py")):
            if count >= want:
                break
            if "__pycache__" in path.parts:
                continue
            target = root / path.relative_to(site)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            count += 1
    (root / "pyproject.toml").write_text('[project]\nname = "corpus"\n[project.scripts]\npip = "pip._internal.cli.main:main"\n')
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return count


def measure(root: Path, cache: Path, tokens: int) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(root), str(tokens)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario; the best is shown")
    parser.add_argument("--keep", type=Path, help="build the corpus here and leave it")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-repomap-"))
    try:
        repo = work / "repo"
        shutil.rmtree(work, ignore_errors=True)
        repo.mkdir(parents=True)
        n = make_corpus(repo, args.files)
        size = sum(p.stat().st_size for p in repo.rglob("*.py")) / 1e6
        load = os.getloadavg()[0]
        rows: dict[str, list[dict]] = {}

        def run(name: str, root: Path, cache: Path) -> None:
            rows.setdefault(name, []).append(measure(root, cache, args.tokens))

        for i in range(args.repeat):  # each cold run gets an empty cache
            run("cold", repo, work / f"cache{i}")
        cache = work / f"cache{args.repeat - 1}"
        for _ in range(args.repeat):
            run("warm", repo, cache)
        edited = next(p for p in sorted(repo.rglob("*.py")) if p.stat().st_size > 2000)
        original = edited.read_text()
        for i in range(args.repeat):
            edited.write_text(original + f"\n\ndef bench_added_{i}(x: int) -> int:\n    return x\n")
            run("one change", repo, cache)
        for i in range(args.repeat):
            copy = work / f"worktree{i}"
            shutil.copytree(repo, copy, ignore=shutil.ignore_patterns(".git"))
            subprocess.run(["git", "init", "-q"], cwd=copy, check=True)
            run("new worktree", copy, cache)

        print(f"repo map on {n} Python files ({size:.1f} MB), budget {args.tokens} tokens, "
              f"{os.cpu_count()} cores, load average {load:.1f} at start; best of {args.repeat} runs")
        print(f"{'scenario':<14}{'seconds':>9}{'cpu s':>8}{'peak MB':>9}{'children MB':>13}{'map tokens':>12}{'target':>10}")
        targets = {"cold": "< 3 s", "warm": "< 0.5 s"}
        for name, results in rows.items():
            best = min(r["seconds"] for r in results)
            cpu = min(r["cpu"] for r in results)
            peak = max(r["rss"] for r in results)
            workers = max(r["workers"] for r in results)
            shown = f"{workers:.0f}" if workers else "-"
            print(f"{name:<14}{best:>9.2f}{cpu:>8.2f}{peak:>9.0f}{shown:>13}{results[0]['tokens']:>12}{targets.get(name, ''):>10}")
        print("seconds: wall time of build_repo_map including its imports, in a fresh interpreter")
        print("cpu s: CPU time of that process and its children (parsing workers, rg) together")
        print("peak MB: maximum resident set of the process, interpreter included (target < 200 MB);")
        print("children MB: of the largest child (a parsing worker when cold, else rg)")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
