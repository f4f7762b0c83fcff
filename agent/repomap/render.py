"""The map as text, cut to a token budget.

A short header (entry points, configuration files) comes first, then the
definitions best first, grouped under their files, each with its tests (those
importing it or named after it), then the names of the remaining files. How many ranked entries fit is found by binary
search on the token count of the rendered text. A text of no more bytes than
the budget has tokens to spare (a token is at least a byte): small
repositories never load the tokenizer.
"""

from __future__ import annotations

import posixpath

from agent.repomap.project import ProjectFacts
from agent.repomap.rank import RankedDef
from agent.repomap.tags import FileSummary
from agent.tokens import cap_tokens, count_tokens

HEADER_SHARE = 0.15  # of the budget, at most, for the header
MAX_ENTRY_POINTS = 8
MAX_CONFIGS = 12
MAX_TESTS = 2  # test files named per shown module
# Characters of a signature shown: the name and first parameters say what a
# definition is; the tail of a long parameter list would cost the lines of
# two more definitions. A longer one loses its parameters' annotations first.
MAX_SHOWN_SIGNATURE = 48


def render_map(
    summaries: dict[str, FileSummary],
    file_ranks: dict[str, float],
    ranked: list[RankedDef],
    facts: ProjectFacts,
    tokens: int,
) -> tuple[str, int]:
    """The map, and how many of the `ranked` entries it shows."""
    header = _header(len(summaries), facts, int(tokens * HEADER_SHARE))
    files_by_rank = sorted(file_ranks, key=lambda f: (-file_ranks[f], f))
    tests: dict[str, list[str]] = {}
    for test, targets in facts.tests.items():
        for module in targets:
            tests.setdefault(module, []).append(test)
    for module, found in tests.items():
        found.sort(key=lambda t: _test_order(module, t, len(facts.tests[t])))

    def text(n: int) -> str:
        return header + _body(ranked[:n], summaries, files_by_rank, tests)

    # Every entry costs at least a few tokens: no need to search past that.
    lo, hi = 0, min(len(ranked), max(tokens // 3, 1))
    if fits(text(hi), tokens):
        lo = hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(text(mid), tokens):
            lo = mid
        else:
            hi = mid - 1
    result = text(lo)
    return (result if fits(result, tokens) else cap_tokens(result, tokens)), lo


def _test_order(module: str, test: str, imports: int) -> tuple:
    """The tests of a module that are most surely about it first: test_<its
    name>, then those of its package, then those importing the fewest modules."""
    stem = posixpath.basename(module).rsplit(".", 1)[0]
    package = posixpath.dirname(module)
    return (posixpath.basename(test).rsplit(".", 1)[0] != f"test_{stem}", not test.startswith(package + "/"), imports, test)


def fits(text: str, tokens: int) -> bool:
    return len(text.encode()) <= tokens or count_tokens(text) <= tokens


def _header(n_files: int, facts: ProjectFacts, budget: int) -> str:
    """The header, with as many entry points and config files as fit `budget`."""
    entry_points = list(dict.fromkeys(facts.entry_points))
    # CI workflows as one folder: their names say little.
    workflows = [c for c in facts.configs if c.startswith(".github/workflows/")]
    configs = [c for c in facts.configs if c not in workflows]
    if workflows:
        configs.append(f".github/workflows/ ({len(workflows)} files)")
    configs.sort(key=lambda c: (c.count("/"), c))  # the project's own before its parts
    text = ""
    for share in (1.0, 0.5, 0.25, 0.0):
        lines = [f"Repository map: {n_files} source files, the most used first; signatures only (read a file for its body)."]
        lines += _listed("Entry points: ", "; ", entry_points, int(MAX_ENTRY_POINTS * share))
        lines += _listed("Config files: ", ", ", configs, int(MAX_CONFIGS * share))
        text = "\n".join(lines) + "\n\n"
        if fits(text, budget):
            break
    return text


def _listed(title: str, sep: str, items: list[str], most: int) -> list[str]:
    if not items or not most:
        return []
    more = f"{sep}+{len(items) - most} more" if len(items) > most else ""
    return [title + sep.join(items[:most]) + more]


def _body(
    entries: list[RankedDef], summaries: dict[str, FileSummary], files_by_rank: list[str], tests: dict[str, list[str]]
) -> str:
    chosen: dict[str, set[int]] = {}
    named: set[str] = set()
    for _, path, index in entries:
        if index < 0:
            named.add(path)
        else:
            chosen.setdefault(path, set()).add(index)
    listed = [f for f in files_by_rank if f in named and f not in chosen]  # files shown by name only
    lines = []
    for path in files_by_rank:  # most central file first
        if path not in chosen:
            continue
        lines.append(f"{path}:")
        if path in tests:
            named_tests = tests[path][:MAX_TESTS]
            more = f", +{len(tests[path]) - MAX_TESTS} more" if len(tests[path]) > MAX_TESTS else ""
            lines.append(f"  (tested by {', '.join(named_tests)}{more})")
        lines.extend(_outline(summaries[path], chosen[path]))
    if listed:
        lines.append("Other files: " + ", ".join(listed))
    return "\n".join(lines)


def _outline(summary: FileSummary, chosen: set[int]) -> list[str]:
    """The chosen definitions in file order, each under its enclosing ones."""
    defs = summary.defs
    show = set(chosen)
    for i in chosen:  # add the enclosing class of a chosen method
        depth = defs[i].depth
        for j in range(i - 1, -1, -1):
            if depth == 0:
                break
            if defs[j].depth < depth:
                show.add(j)
                depth = defs[j].depth
    lines = []
    for i in sorted(show):
        signature = _without_self(defs[i].signature) if defs[i].depth else defs[i].signature
        lines.append(f"{'  ' * (defs[i].depth + 1)}{_shortened(signature)}")
    return lines


def _without_self(signature: str) -> str:
    """A method's signature without its `self` (and a `/` that only made it
    positional): shown under its class, it says nothing, and costs a token
    or two on every method's line."""
    head, _, params = signature.partition("(")
    for first in ("self, /, ", "self, /)", "self, ", "self)"):
        if params.startswith(first):
            return f"{head}({params.removeprefix(first.rstrip(')'))}"
    return signature


def _shortened(signature: str) -> str:
    if len(signature) > MAX_SHOWN_SIGNATURE:
        signature = _without_annotations(signature)
    return signature if len(signature) <= MAX_SHOWN_SIGNATURE else signature[: MAX_SHOWN_SIGNATURE - 1] + "…"


def _without_annotations(signature: str) -> str:
    """The signature without its parameters' type annotations (`a: int=1`
    -> `a=1`): the names say more per character than the types."""
    start = signature.find("(")
    if start < 0:
        return signature
    kept = [signature[: start + 1]]
    depth, annotation, quote = 1, False, ""
    for i in range(start + 1, len(signature)):
        char = signature[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:  # the parameter list ends: the rest (a return annotation) stays
                return "".join(kept) + signature[i:]
        elif depth == 1 and char == ":":
            annotation = True
        elif depth == 1 and char in ",=":
            annotation = False
        if not annotation:
            kept.append(char)
    return "".join(kept)
