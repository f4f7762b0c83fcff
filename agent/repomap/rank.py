"""Which files and definitions matter most: PageRank over who-uses-what.

Each file is a node. A file that uses an identifier defined in another file
gets an edge to it, weighted by how often it uses it and how telling the
name is; an import adds an edge too. PageRank (personalised towards the files
and identifiers the task mentions) scores the files; each definition then
gets the rank that flows to it along the edges that name it.
"""

from __future__ import annotations

import math
import re
from operator import mul

from agent.repomap.tags import FileSummary

DAMPING = 0.85
MAX_DEFINERS = 20  # a name defined in more files than this says nothing about which one is used
IMPORT_WEIGHT = 1.0
FOCUS_BOOST = 10.0
_SIGNIFICANT_DUNDERS = {"__init__", "__call__"}  # they say how a class is built and used
_WORDY = re.compile(r"[a-z0-9]_[a-z0-9]|[a-z0-9][A-Z]")  # snake_case or camelCase


# (score, path, index into the file's summary.defs). Plain tuples: there are
# tens of thousands of them, and they sort natively.
RankedDef = tuple[float, str, int]


def rank_files_and_defs(
    summaries: dict[str, FileSummary],
    imports: dict[str, set[str]],
    focus_files: set[str] = frozenset(),
    focus_idents: set[str] = frozenset(),
    skip_defs_of: set[str] = frozenset(),
    head_start: dict[str, float] | None = None,
) -> tuple[dict[str, float], list[RankedDef]]:
    """File ranks, and every definition (except those of `skip_defs_of`) best first.

    `head_start`: file ranks from an earlier run, where PageRank starts from
    (an unchanged repository then converges in a sweep or two)."""
    files = sorted(summaries)
    index = {f: i for i, f in enumerate(files)}
    definers: dict[str, list[int]] = {}
    for i, f in enumerate(files):
        for name in {d.name for d in summaries[f].defs}:
            if not (name.startswith("__") and name.endswith("__")):
                definers.setdefault(name, []).append(i)
    # Per name: the files defining it and how telling a link through it is.
    links = {
        name: (targets, _name_weight(name, len(targets), name in focus_idents))
        for name, targets in definers.items()
        if len(targets) <= MAX_DEFINERS
    }
    boosts = [FOCUS_BOOST if f in focus_files else 1.0 for f in files]

    # Per file: the defined names it uses (with sqrt of the count), and one row
    # of out-links: the files it links to and with what weight.
    uses: list[list[tuple[str, float]]] = []
    rows: list[dict[int, float]] = []
    for src, f in enumerate(files):
        refs = summaries[f].refs
        used = [(name, math.sqrt(refs[name])) for name in refs.keys() & links.keys()]
        row: dict[int, float] = {}
        for name, strength in used:
            targets, name_weight = links[name]
            weight = boosts[src] * name_weight * strength
            for dst in targets:
                row[dst] = row.get(dst, 0.0) + weight
        for target in imports.get(f, ()):
            dst = index.get(target)
            if dst is not None:
                row[dst] = row.get(dst, 0.0) + IMPORT_WEIGHT * boosts[src]
        row.pop(src, None)
        uses.append(used)
        rows.append(row)

    personal = [1.0] * len(files)
    for f in focus_files & index.keys():
        personal[index[f]] += FOCUS_BOOST * len(files) / len(focus_files)
    focus_defs = {i for name in focus_idents for i in definers.get(name, ())}
    for i in focus_defs:
        personal[i] += FOCUS_BOOST * len(files) / len(focus_defs)
    start = [head_start.get(f, 0.0) for f in files] if head_start else None
    ranks = _pagerank(rows, personal, start)

    # The rank a definition receives is what its users pass along the links
    # naming it: for a name, sum over users of rank * share, less the definer's own use.
    out_weight = [sum(row.values()) for row in rows]
    passed = [ranks[i] * boosts[i] / out_weight[i] if out_weight[i] else 0.0 for i in range(len(files))]
    inflow: dict[str, float] = {}
    own: dict[tuple[int, str], float] = {}
    for src, used in enumerate(uses):
        if passed[src]:
            for name, strength in used:
                inflow[name] = inflow.get(name, 0.0) + passed[src] * strength
                if src in links[name][0]:
                    own[src, name] = passed[src] * strength

    ranked: list[RankedDef] = []
    for i, f in enumerate(files):
        if f in skip_defs_of:
            continue
        for j, d in enumerate(summaries[f].defs):
            link = links.get(d.name)
            received = 0.0
            if link is not None:
                received = link[1] * (inflow.get(d.name, 0.0) - own.get((i, d.name), 0.0))
            # Unused definitions follow the used ones, in the order of their files.
            score = received + ranks[i] * 1e-3
            if d.name.startswith("_") and d.name not in _SIGNIFICANT_DUNDERS:
                score *= 0.1  # private helpers and __repr__-style methods: last
            ranked.append((score, f, j))
    ranked.sort(reverse=True)
    return dict(zip(files, ranks)), ranked


def _name_weight(name: str, definers: int, focused: bool) -> float:
    weight = 1.0
    if focused:
        weight *= FOCUS_BOOST
    if len(name) >= 8 and _WORDY.search(name):
        weight *= 10  # a long compound name is specific: a strong link
    if name.startswith("_"):
        weight *= 0.1
    if definers > 5:
        weight *= 0.1
    return weight


def _pagerank(
    rows: list[dict[int, float]],
    personal: list[float],
    start: list[float] | None = None,
    iterations: int = 50,
    tol: float = 1e-4,
) -> list[float]:
    """PageRank over weighted out-links (`rows[src][dst] = weight`).

    Gauss-Seidel sweeps (each node updated in place, so later nodes already
    see the new values) reach a given accuracy in about half the sweeps of
    the textbook power iteration. The ranks sum to 1; once a sweep changes
    them by less than `tol` in all, the order of what the map shows is settled.
    """
    n = len(rows)
    if n == 0:
        return []
    total = sum(personal)
    p = [x / total for x in personal]
    # Pulled rather than pushed: per node, who links to it and with what share,
    # so an update is a sum of products computed by C loops (map), not Python ones.
    incoming: list[tuple[list[int], list[float]]] = [([], []) for _ in range(n)]
    for src, row in enumerate(rows):
        out = sum(row.values())
        for dst, w in row.items():
            incoming[dst][0].append(src)
            incoming[dst][1].append(w / out)
    dangling = [i for i, row in enumerate(rows) if not row]
    begun = sum(start) if start else 0.0
    ranks = [x / begun for x in start] if start and begun > 0 else p[:]
    get = ranks.__getitem__
    for _ in range(iterations):
        # Rank with nowhere to go (and the teleport share) returns by the personalisation.
        spread = (1 - DAMPING) + DAMPING * sum(map(get, dangling))
        delta = 0.0
        for i, (sources, shares) in enumerate(incoming):
            value = spread * p[i] + DAMPING * sum(map(mul, map(get, sources), shares))
            delta += abs(value - ranks[i])
            ranks[i] = value
        if delta < tol:
            break
    return ranks
