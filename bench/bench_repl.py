"""REPL completion on a large repository: @path and /add completion must stay
interactive on 50,000 files.

    python3 bench/bench_repl.py [FILES]

Prints the time to list the files once (the first @ after a turn), and the
time per keystroke afterwards (the cached list filtered), for typical
prefixes; and the /undo snapshot taken at the start and end of each turn."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prompt_toolkit.completion import CompleteEvent  # noqa: E402
from prompt_toolkit.document import Document  # noqa: E402

from agent.repl.commands import command_help  # noqa: E402
from agent.repl.completion import FileIndex, ReplCompleter  # noqa: E402
from sandbox.git import snapshot_tree  # noqa: E402

TYPED = ["@", "@s", "@src/pkg12/", "@mod4", "@zzz-no-match", "/add src/pkg3/mod3"]
TARGETS = {"first listing": 1.0, "per keystroke": 0.05, "undo snapshot": 1.0}


def make_repo(root: Path, files: int) -> Path:
    for i in range(files):
        folder = root / "src" / f"pkg{i % 200}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{i}.py").write_text(f"X = {i}\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=b", "-c", "gc.auto=0", "commit", "-qm", "init"], cwd=root, check=True)
    return root


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(files: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo", files)
        index = FileIndex(lambda: repo)
        completer = ReplCompleter(command_help, index)

        def complete(text: str) -> list:
            return list(completer.get_completions(Document(text), CompleteEvent()))

        first = timed(lambda: complete("@"))
        keystrokes = {text: statistics.median(timed(lambda: complete(text)) for _ in range(20)) for text in TYPED}
        snapshot_tree(repo)  # warm the index's stat cache, as the first turn does
        snapshot = statistics.median(timed(lambda: snapshot_tree(repo)) for _ in range(3))

    rows = [("first listing", first)] + [(f"per keystroke {t!r}", s) for t, s in keystrokes.items()]
    rows.append(("undo snapshot", snapshot))
    print(f"{files:,} files")
    print(f"{'measure':<40} {'seconds':>9} {'target':>8}")
    for name, seconds in rows:
        target = next(v for k, v in TARGETS.items() if name.startswith(k))
        flag = "" if seconds <= target else "  SLOW"
        print(f"{name:<40} {seconds:>9.4f} {target:>8.2f}{flag}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
