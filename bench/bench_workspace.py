"""How fast are working copies? Generates repositories in a temp folder and
times create / diff / apply.

    python bench/bench_workspace.py [SIZES...] [--dir DIR]   (default: 2000 50000)

Each repository has a dirty tree (a staged and an unstaged edit, an untracked
file); the agent's side edits 20 files and adds one. Plain folders (no git)
are measured too, up to 2,000 files. Creating a working copy means writing
every file once, so the "write" column — the time this file system takes
just to write that many files from Python — is the floor for "create".
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox.workspace import Workspace  # noqa: E402

PER_FOLDER = 100


def make_tree(folder: Path, files: int) -> None:
    for i in range(files):
        sub = folder / "src" / f"pkg{i // PER_FOLDER:04d}"
        if i % PER_FOLDER == 0:
            sub.mkdir(parents=True)
        (sub / f"mod{i % PER_FOLDER:03d}.py").write_text(f"# module {i}\n" + "".join(f"x{n} = {n}\n" for n in range(20)))


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_repo(folder: Path, files: int) -> None:
    make_tree(folder, files)
    git(folder, "init", "-q")
    git(folder, "add", "-A")
    git(folder, "commit", "-qm", "initial")
    first = folder / "src" / "pkg0000"
    (first / "mod000.py").write_text("# staged edit\n")
    git(folder, "add", "src/pkg0000/mod000.py")
    (first / "mod001.py").write_text("# unstaged edit\n")
    (folder / "untracked.txt").write_text("untracked\n")


def agent_edits(ws: Workspace) -> None:
    for i in range(20):
        path = ws.root / "src" / f"pkg{i % 10:04d}" / f"mod{50 + i:03d}.py"
        path.write_text(path.read_text() + "y = 1\n")
    (ws.root / "src" / "new_module.py").write_text("z = 1\n")


def timed(action):
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def measure(kind: str, files: int, scratch: Path) -> tuple[str, int, float, float, float, float, int]:
    floor, _ = timed(lambda: make_tree(scratch / "floor", files))
    shutil.rmtree(scratch / "floor")
    folder = scratch / f"{kind}-{files}"
    folder.mkdir()
    (make_repo if kind == "git" else make_tree)(folder, files)
    create, ws = timed(lambda: Workspace.create(folder))
    agent_edits(ws)
    diff_time, diff = timed(ws.diff)
    apply_time, result = timed(ws.apply)
    if not result.ok:
        raise SystemExit(f"apply failed: {result.message}")
    return kind, files, floor, create, diff_time, apply_time, diff.count("diff --git")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sizes", nargs="*", type=int, default=[2000, 50000])
    parser.add_argument("--dir", help="where to make the scratch folder (default: the system temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-workspace-", dir=args.dir) as tmp:
        scratch = Path(tmp)
        os.environ["XDG_STATE_HOME"] = str(scratch / "state")
        gitconfig = scratch / "gitconfig"
        gitconfig.write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
        os.environ["GIT_CONFIG_GLOBAL"] = str(gitconfig)
        runs = [("git", n) for n in args.sizes] + [("copy", n) for n in args.sizes if n <= 2000]
        print(f"scratch folder: {scratch}")
        print(f"{'kind':<5} {'files':>7} {'write s':>8} {'create s':>9} {'diff s':>7} {'apply s':>8} {'changed':>8}")
        for kind, files in runs:
            row = measure(kind, files, scratch)
            print(
                f"{row[0]:<5} {row[1]:>7} {row[2]:>8.2f} {row[3]:>9.2f} {row[4]:>7.2f} {row[5]:>8.2f} {row[6]:>8}",
                flush=True,
            )


if __name__ == "__main__":
    main()
