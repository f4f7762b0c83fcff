"""Compare our apply_patch with Codex's own applier on random patches.

    python bench/compare_apply_patch.py [--count 500] [--seed 1] [--codex PATH]

Patches are generated over small files of Python's standard library: 1-3
hunks per file, random context (sometimes with an '@@ def/class' header,
drifted whitespace, an End-of-File anchor, or a corrupted line), sometimes two
files. Both appliers run on copies of the same tree; the table says where they
agree, where they differ and why, and which result was the intended edit.

Codex's binary comes with `npm install @openai/codex` (run in /tmp/codexref);
invoked through a link named `apply_patch` it applies the patch argument in
the current folder. Not part of CI.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.patch import PatchError, apply_patch  # noqa: E402

_DEF = re.compile(r"^\s*(?:async\s+def|def|class)\s")
AGREE = ("both applied, same result", "both refused, tree untouched")


@dataclass
class Case:
    files: dict[str, str]  # the tree before
    patch: str
    intended: dict[str, str] | None  # the tree the generator meant; None: must fail
    traits: set[str] = field(default_factory=set)


def find_codex() -> Path | None:
    found = sorted(Path("/tmp/codexref/node_modules/@openai").glob("codex-linux-*/vendor/*/bin/codex"))
    return found[0] if found else None


def corpus(limit: int = 400) -> list[tuple[str, str]]:
    """Small, UTF-8, newline-terminated stdlib modules."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    picked = []
    for path in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")):
        if "test" in path.parts or not 1_500 < path.stat().st_size < 25_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if text.endswith("\n") and "\r" not in text:
            picked.append((path.relative_to(stdlib).as_posix(), text))
    return picked[:limit]


def make_file_section(rng: random.Random, name: str, text: str, traits: set[str]) -> tuple[str, str | None]:
    """One '*** Update File' section and the file's intended new text (None if corrupted)."""
    lines = text.split("\n")[:-1]
    spots = sorted(rng.sample(range(4, len(lines) - 4), k=min(rng.randint(1, 3), max(1, len(lines) // 40))))
    if rng.random() < 0.1:
        spots[-1] = len(lines) - rng.randint(1, 3)
        traits.add("end-of-file")
    body: list[str] = []
    result: list[str] = []
    done = used = 0  # done: lines consumed by the edits so far; used: also their trailing context
    for n, spot in enumerate(spots):
        before, removed = rng.randint(0, 3), rng.randint(0, 3)
        at_end = "end-of-file" in traits and n == len(spots) - 1
        if at_end:
            removed = min(removed, len(lines) - spot)
        after = len(lines) - spot - removed if at_end else rng.randint(0, 3)
        start = spot - before
        if start < used or spot + removed + after > len(lines):
            continue
        added = [f"    patched_{rng.randrange(10**6)} = {n}" for _ in range(rng.randint(0, 3))]
        if not removed and not added:
            added = ["# inserted"]
        if not before and not after and not removed:
            traits.add("pure addition")
        # A header must lie below the previous hunk: hunks are matched in file order.
        header = next((lines[i] for i in range(start - 1, used - 1, -1) if _DEF.match(lines[i])), None)
        if header and rng.random() < 0.4:
            body.append(f"@@ {header.strip()}")
            traits.add("@@ header")
        else:
            body.append("@@")
        before_lines = [_disturb(rng, line, traits) for line in lines[start:spot]]
        after_lines = [_disturb(rng, line, traits) for line in lines[spot + removed : spot + removed + after]]
        body += [" " + line for line in before_lines]
        body += ["-" + line for line in lines[spot : spot + removed]]
        body += ["+" + line for line in added]
        body += [" " + line for line in after_lines]
        if at_end:
            body.append("*** End of File")
        result += lines[done:spot] + added
        done, used = spot + removed, spot + removed + after
    result += lines[done:]
    section = "\n".join([f"*** Update File: {name}", *body])
    return section, None if "corrupted context" in traits else "\n".join(result) + "\n"


def _disturb(rng: random.Random, line: str, traits: set[str]) -> str:
    """A context line as a model might copy it: sometimes drifted, rarely wrong."""
    if rng.random() < 0.08:
        line = line.rstrip() + "  " if rng.random() < 0.5 else "  " + line.lstrip()
        traits.add("whitespace drift")
    if rng.random() < 0.02:
        line += " X"
        traits.add("corrupted context")
    return line


def make_case(rng: random.Random, files: list[tuple[str, str]]) -> Case:
    traits: set[str] = set()
    chosen = rng.sample(files, k=2 if rng.random() < 0.2 else 1)
    if len(chosen) == 2:
        traits.add("two files")
    tree, intended, sections = {}, {}, []
    for i, (source, text) in enumerate(chosen):
        name = f"f{i}_{Path(source).name}"
        section, new = make_file_section(rng, name, text, traits)
        tree[name] = text
        sections.append(section)
        intended[name] = new
    patch = "\n".join(["*** Begin Patch", *sections, "*** End Patch"]) + "\n"
    return Case(tree, patch, None if None in intended.values() else intended, traits)


def run_ours(case: Case, folder: Path) -> tuple[bool, str, dict[str, str]]:
    try:
        apply_patch(case.patch, folder)
        return True, "", read_tree(folder)
    except PatchError as exc:
        return False, str(exc), read_tree(folder)


def run_codex(case: Case, folder: Path, binary: Path) -> tuple[bool, str, dict[str, str]]:
    done = subprocess.run([str(binary), case.patch], cwd=folder, capture_output=True, text=True, timeout=30)
    return done.returncode == 0, done.stderr, read_tree(folder)


def read_tree(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.is_file()}


def classify(case: Case, ours: tuple, codex: tuple) -> str:
    (our_ok, our_err, our_tree), (codex_ok, _, codex_tree) = ours, codex
    if our_ok and codex_ok:
        if our_tree != codex_tree:
            why = " (a bare addition under @@: we insert below the header, Codex at the end)"
            return "both applied, different results" + (why if "pure addition" in case.traits else "")
        if our_tree == case.intended:
            return "both applied, same result"
        if "pure addition" in case.traits:  # without context lines its place is a guess for both
            return "both applied, same result; a context-free addition placed elsewhere"
        return "both applied, same result; NOT the intended one"
    if not our_ok and not codex_ok:
        if codex_tree != case.files:
            return "both refused; Codex left a partial change, we changed nothing (all-or-nothing)"
        return "both refused, tree untouched"
    if not our_ok and "places" in our_err:
        right = "its result was the intended one" if codex_tree == case.intended else "it edited the WRONG place"
        return f"we refused an ambiguous hunk; Codex applied it and {right}"
    if our_ok:
        return "we applied, Codex refused" + (" (our result is the intended one)" if our_tree == case.intended else "")
    return "Codex applied, we refused (not ambiguity)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--codex", type=Path, default=None, help="the codex binary (default: found in /tmp/codexref)")
    parser.add_argument("--examples", type=Path, default=None, help="save differing cases in this folder")
    args = parser.parse_args()
    binary = args.codex or find_codex()
    if binary is None or not binary.exists():
        print("Codex binary not found: run `cd /tmp/codexref && npm install @openai/codex` or pass --codex.")
        return 2

    rng = random.Random(args.seed)
    files = corpus()
    outcomes: Counter[str] = Counter()
    by_trait: dict[str, Counter[str]] = {}
    timing = {"ours": 0.0, "codex": 0.0}
    with tempfile.TemporaryDirectory() as scratch:
        link = Path(scratch) / "apply_patch"  # the binary acts as apply_patch when called by that name
        link.symlink_to(binary)
        for n in range(args.count):
            case = make_case(rng, files)
            results = {}
            for who in ("ours", "codex"):
                folder = Path(scratch) / who
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                for name, text in case.files.items():
                    (folder / name).write_text(text, encoding="utf-8")
                began = time.perf_counter()
                results[who] = run_ours(case, folder) if who == "ours" else run_codex(case, folder, link)
                timing[who] += time.perf_counter() - began
            outcome = classify(case, results["ours"], results["codex"])
            outcomes[outcome] += 1
            for trait in case.traits or {"plain"}:
                by_trait.setdefault(trait, Counter())[outcome] += 1
            if args.examples and outcome not in AGREE:
                args.examples.mkdir(parents=True, exist_ok=True)
                (args.examples / f"case{n:04d}.patch").write_text(f"# {outcome}\n{results['ours'][1]}\n{case.patch}")

    width = max(map(len, outcomes)) + 2
    print(f"{args.count} random patches over {len(files)} stdlib files (seed {args.seed})\n")
    print(f"{'outcome':<{width}}{'count':>7}")
    for outcome, count in outcomes.most_common():
        print(f"{outcome:<{width}}{count:>7}")
    print(f"\n{'by trait':<28}{'cases':>7}  outcomes other than 'same result' / 'both refused, untouched'")
    for trait, counter in sorted(by_trait.items()):
        notable = {k: v for k, v in counter.items() if k not in AGREE}
        print(f"{trait:<28}{sum(counter.values()):>7}  {notable or ''}")
    ours_ms, codex_ms = (timing[who] / args.count * 1000 for who in ("ours", "codex"))
    print(f"\nmean time per patch: ours {ours_ms:.1f} ms (in process), codex {codex_ms:.1f} ms (subprocess)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
