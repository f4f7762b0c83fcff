"""Repo map recall on real histories: does the map show what a change touched?

For each clone given, the last --commits informative commits (not merges,
changing 1-8 Python files that existed before, with a message of 3+ words)
are replayed: the task is the commit message, the map is built at the parent
commit (in a scratch worktree, with its own cache) as a session builds it,
focused by the message, and compared with what the commit changed:

    file in map   changed files named anywhere in the map
    with defs     changed files shown with definitions under them
    def shown     changed definitions (the innermost class/def around each
                  changed line, at the parent) whose signature the map shows
    1-2 char      one- or two-character definitions the map spends lines on
    warm s        a second map of the same tree and task (median), in-process

    python bench/bench_recall.py CLONE [CLONE ...] [--commits 40] [--tokens 2048] [--code DIR]
    python bench/bench_recall.py --corpus bench/recall_corpus.txt --clones DIR

--corpus names repositories (bench/recall_corpus.txt is the benchmark's own:
not the four the targets are measured on); each is looked for as DIR/<name>.

--code runs another checkout of codex-agent (e.g. main, for before figures).
Never needed by the tests: it wants real clones (any git clone of a Python project).
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? ", re.M)
_SKIP_SUBJECT = re.compile(r"^(merge|bump|release|version|revert|prepare|update changelog)\b", re.I)


@dataclass
class Case:
    sha: str
    parent: str
    task: str
    changed: dict[str, set[str]] = field(default_factory=dict)  # file -> changed definitions


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def changed_defs(source: str, lines: set[int]) -> set[str]:
    """Names of the innermost top-level/class-level definitions around `lines`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                if any(start <= n <= (node.end_lineno or start) for n in lines):
                    inner = len(found)
                    if isinstance(node, ast.ClassDef):
                        visit(node.body)
                    if len(found) == inner:
                        found.add(node.name)

    visit(tree.body)
    return found


def pick_cases(clone: Path, want: int) -> list[Case]:
    cases: list[Case] = []
    log = git(clone, "log", "--no-merges", "--format=%H %P", "-n", str(want * 20), "HEAD")
    for line in log.splitlines():
        sha, *parents = line.split()
        if len(parents) != 1:
            continue
        message = git(clone, "log", "-1", "--format=%B", sha).strip()
        subject = message.splitlines()[0] if message else ""
        if len(subject.split()) < 3 or _SKIP_SUBJECT.match(subject):
            continue
        status = git(clone, "diff", "--name-status", "--no-renames", parents[0], sha).splitlines()
        files = [row.split("\t", 1)[1] for row in status if row.startswith("M\t") and row.endswith(".py")]
        if not 1 <= len(files) <= 8:
            continue
        case = Case(sha, parents[0], message)
        for path in files:
            diff = git(clone, "diff", "-U0", parents[0], sha, "--", path)
            lines: set[int] = set()
            for start, count in _HUNK.findall(diff):
                first, n = int(start), int(count or 1)
                lines.update(range(first, first + max(n, 1)))
            source = git(clone, "show", f"{parents[0]}:{path}")
            case.changed[path] = changed_defs(source, lines)
        cases.append(case)
        if len(cases) == want:
            break
    return cases


def sections(text: str) -> dict[str, str]:
    """File heading -> the lines shown under it."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line and not line.startswith(" ") and line.endswith(":") and " " not in line:
            current = line[:-1]
            out[current] = []
        elif current and line.startswith(" "):
            out[current].append(line)
        else:
            current = None
    return {k: "\n".join(v) for k, v in out.items()}


_SHORT_DEF = re.compile(r"^\s+(?:async def|def|class) (\w{1,2})\b", re.M)


def measure(clone: Path, cases: list[Case], tokens: int, misses: list[str] | None = None) -> dict[str, float]:
    import inspect

    from agent.repomap import build_repo_map, focus_from_text

    def build(root: Path, task: str) -> str:
        if "task" in inspect.signature(build_repo_map).parameters:  # as a session asks for it
            return build_repo_map(root, tokens=tokens, task=task)
        files, idents = focus_from_text(task)  # the code before `task=`
        return build_repo_map(root, tokens=tokens, focus_files=files, focus_idents=idents)

    scratch = Path(tempfile.mkdtemp(prefix="bench-recall-")) / "tree"
    git(clone, "worktree", "add", "-q", "--detach", str(scratch), cases[-1].parent)
    files_total = files_in = files_defs = defs_total = defs_shown = shorts = 0
    warm: list[float] = []
    try:
        for case in reversed(cases):  # oldest first: each checkout changes few files
            git(scratch, "checkout", "-q", "--force", case.parent)
            build(scratch, case.task)
            start = time.perf_counter()
            text = build(scratch, case.task)
            warm.append(time.perf_counter() - start)
            shown = sections(text)
            shorts += len(_SHORT_DEF.findall(text))
            for path, names in case.changed.items():
                files_total += 1
                named = bool(re.search(rf"(?<![\w/.]){re.escape(path)}(?![\w/])", text))
                files_in += named
                body = shown.get(path)
                files_defs += body is not None
                missed = []
                for name in names:
                    defs_total += 1
                    hit = body is not None and bool(re.search(rf"(?:def|class) {re.escape(name)}\b", body))
                    defs_shown += hit
                    missed += [] if hit else [name]
                if misses is not None and (not named or missed):
                    state = "defs" if body is not None else "named" if named else "absent"
                    misses.append(f"{clone.name} {case.sha[:10]} {path} [{state}] missing {' '.join(missed)}"
                                  f" | {case.task.splitlines()[0][:90]}")
    finally:
        git(clone, "worktree", "remove", "--force", str(scratch))
        shutil.rmtree(scratch.parent, ignore_errors=True)
    return {
        "cases": len(cases),
        "files": files_total,
        "files in": files_in,
        "defs shown": defs_shown,
        "file in map": 100 * files_in / max(files_total, 1),
        "with defs": 100 * files_defs / max(files_total, 1),
        "defs": defs_total,
        "def shown": 100 * defs_shown / max(defs_total, 1),
        "1-2 char": shorts / max(len(cases), 1),
        "warm s": statistics.median(warm),
    }


def corpus_names(corpus: Path) -> list[str]:
    """The folder names a corpus file lists (first word of each line, # comments aside)."""
    lines = (line.split("#", 1)[0].split() for line in corpus.read_text().splitlines())
    return [words[0] for words in lines if words]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clones", nargs="*", type=Path)
    parser.add_argument("--corpus", type=Path, help="a list of repositories (see bench/recall_corpus.txt)")
    parser.add_argument("--clones-dir", "--clones", type=Path, default=Path("."), help="where --corpus's clones are")
    parser.add_argument("--commits", type=int, default=40)
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--misses", type=Path, help="write each case's missed files and definitions here")
    parser.add_argument("--code", type=Path, default=REPO, help="the codex-agent checkout to measure")
    args = parser.parse_args()
    clones = list(args.clones)
    if args.corpus:
        clones += [args.clones_dir / name for name in corpus_names(args.corpus)]
    if not clones:
        parser.error("no clones: give their paths, or --corpus")
    sys.path.insert(0, str(args.code.resolve()))
    cache = tempfile.mkdtemp(prefix="bench-recall-cache-")
    os.environ["XDG_CACHE_HOME"] = cache

    print(f"repo map recall, code at {args.code}, budget {args.tokens} tokens, last {args.commits} informative commits")
    print(f"{'repo':<18}{'cases':>6}{'files':>6}{'file in map':>12}{'with defs':>10}{'defs':>6}{'def shown':>10}"
          f"{'1-2 char':>9}{'warm s':>8}")
    misses: list[str] = []
    rows: list[dict[str, float]] = []
    for clone in clones:
        if not (clone / ".git").exists():
            print(f"{clone.name[:17]:<18} no clone at {clone}")
            continue
        cases = pick_cases(clone.resolve(), args.commits)
        if not cases:
            print(f"{clone.name:<18} no informative commits")
            continue
        r = measure(clone.resolve(), cases, args.tokens, misses)
        rows.append(r)
        print(f"{clone.name[:17]:<18}{r['cases']:>6}{r['files']:>6}{r['file in map']:>11.0f}%{r['with defs']:>9.0f}%"
              f"{r['defs']:>6}{r['def shown']:>9.0f}%{r['1-2 char']:>9.1f}{r['warm s']:>8.2f}", flush=True)
    if len(rows) > 1:  # pooled over every case of every repository
        files, defs = sum(r["files"] for r in rows), sum(r["defs"] for r in rows)
        print(f"{'all':<18}{sum(r['cases'] for r in rows):>6}{files:>6}"
              f"{100 * sum(r['files in'] for r in rows) / max(files, 1):>11.1f}%{'':>10}{defs:>6}"
              f"{100 * sum(r['defs shown'] for r in rows) / max(defs, 1):>9.1f}%")  # targets are near
    print("1-2 char: one- or two-character definitions per map; warm s: median seconds of a repeated map")
    shutil.rmtree(cache, ignore_errors=True)
    if args.misses:
        args.misses.write_text("".join(line + "\n" for line in misses))


if __name__ == "__main__":
    main()
