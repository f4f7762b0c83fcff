"""Why a file is, or is not, in the repo map: `codex-agent map --explain FILE`.

The map is ranked and cut again (the cached text says nothing about why),
and the file's place in that is told: its rank among the files, what the
focus said about it, the identifiers that pull rank into it, and where the
budget line fell.
"""

from __future__ import annotations

from pathlib import Path

from agent.repomap import MapBuild, make_map
from agent.repomap.project import is_test_file
from agent.repomap.tags import language_of

MAX_PULLS = 5


def explain_file(root: Path, path: str, tokens: int, task: str = "") -> str:
    """A few lines on `path` (root-relative) in the map of `root`."""
    from agent.repomap.store import SummaryStore
    from tools.search import walk_files

    root = root.resolve()
    files = walk_files(root)
    if path not in files:
        if (root / path).is_file():
            return f"{path}: not in the map: ignored (.gitignore or a hidden/vendored folder)."
        return f"{path}: no such file in {root}."
    if language_of(path) is None:
        return f"{path}: not in the map: not a source file of a language the map reads."
    with SummaryStore(root) as store:
        store.content_keys(files)
        build = make_map(root, files, store, tokens, task=task)
    if path not in build.file_ranks:
        return f"{path}: not in the map: vendored code, stubs or test data (a task naming the file brings it in)."
    return "\n".join(_lines(build, path))


def _lines(build: MapBuild, path: str) -> list[str]:
    ranks = build.file_ranks
    order = sorted(ranks, key=lambda f: (-ranks[f], f))
    place = order.index(path) + 1
    lines = [f"{path}: rank {place} of {len(order)} files (score {ranks[path]:.2e}; the first file scores {ranks[order[0]]:.2e})."]
    reasons = build.focus.reasons.get(path)
    if reasons:
        lines.append("Pulled up by the focus: " + "; ".join(dict.fromkeys(reasons)) + ".")
    elif build.focus.weights:
        lines.append("The focus does not point at it (no file, folder or identifier of the task names it).")
    else:
        lines.append("No focus: the ranking is by use alone.")
    summary = build.summaries[path]
    used = _users(build, path)
    if used:
        lines.append("Identifiers other files use: " + ", ".join(f"{n} ({k} files)" for n, k in used) + ".")
    elif summary.defs:
        lines.append("No other file uses its definitions by name (imports still count).")
    else:
        lines.append("It defines no class or function the map could show.")

    entries = [(i, e) for i, e in enumerate(build.ranked) if e[1] == path]
    shown_defs = [e for i, e in entries if i < build.shown and e[2] >= 0]
    named = any(i < build.shown and e[2] < 0 for i, e in entries)
    budget = f"the budget of {build.tokens} tokens holds the first {build.shown} of {len(build.ranked)} entries"
    if shown_defs:
        lines.append(f"In the map with {len(shown_defs)} of its {len(summary.defs)} definitions: {budget}.")
    elif named:
        lines.append(f"In the map by name only, under 'Other files': {budget}.")
    elif is_test_file(path):
        lines.append(f"Not in the map: a test file (only its tests holding a word of the task are shown, its name only if ranked high enough); {budget}.")
    else:
        first = entries[0][0] + 1 if entries else None
        where = f"its best entry is number {first}" if first else "it has no entry"
        lines.append(f"Not in the map: {where}, and {budget}. A larger --tokens or a focus on it would bring it in.")
    return lines


def _users(build: MapBuild, path: str) -> list[tuple[str, int]]:
    """The names `path` defines that most other files use, with how many files."""
    names = {d.name for d in build.summaries[path].defs}
    counts = {
        name: sum(1 for f, s in build.summaries.items() if f != path and name in s.refs)
        for name in names
    }
    return sorted(((n, k) for n, k in counts.items() if k), key=lambda t: (-t[1], t[0]))[:MAX_PULLS]
