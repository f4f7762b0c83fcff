"""Which files and definitions matter most: PageRank over who-uses-what.

Each file is a node. A file that uses an identifier defined in another file
gets an edge to it, weighted by how often it uses it and how telling the
name is; an import adds an edge too. PageRank (personalised towards the files
the task points at) scores the files; each definition then gets the rank
that flows to it along the edges that name it, which orders the definitions
within their file, while the file's rank places them in the map. With a
task the map is a guess at where the change falls instead: a file's place
in the ranking and a definition's share of its file's lines score it.
"""

from __future__ import annotations

import math
import re
from operator import mul

from agent.repomap.focus import Focus
from agent.repomap.project import named_subjects
from agent.repomap.tags import FileSummary

DAMPING = 0.85
MAX_DEFINERS = 20  # a name defined in more files than this says nothing about which one is used
IMPORT_WEIGHT = 1.0
FOCUS_BOOST = 10.0
NAME_SHARE = 0.6  # a file's name alone, against its best definition
# A file's k-th definition scores its rank / (k + 1) ** DEF_DECAY: steeper
# than 1, a long file's tail gives way sooner to the best lines of the next files.
DEF_DECAY = 1.3
SIZE_FLOOR = 0.05  # the use a definition nobody names counts as, against the file's most used one
# With a task (see _place_chances and _task_scores; fitted on the recall corpus).
PLACE_DECAY = 0.6
SIZE_EXP = 0.8
WORD_FACTOR = 4.0
TASK_NAME_SHARE = 0.2  # a file's name alone, against a definition as likely as the file
_SIGNIFICANT_DUNDERS = {"__init__", "__call__"}  # they say how a class is built and used
_WORDY = re.compile(r"[a-z0-9]_[a-z0-9]|[a-z0-9][A-Z]")  # snake_case or camelCase


# (score, path, index into the file's summary.defs, or -1 for the file's
# name alone). Plain tuples: there are tens of thousands of them, and they
# sort natively.
RankedDef = tuple[float, str, int]


def definers_of(summaries: dict[str, FileSummary]) -> dict[str, list[str]]:
    """Per defined name (dunders aside), the files defining it, in path order."""
    definers: dict[str, list[str]] = {}
    for f in sorted(summaries):
        for name in dict.fromkeys(d.name for d in summaries[f].defs):
            if not (name.startswith("__") and name.endswith("__")):
                definers.setdefault(name, []).append(f)
    return definers


def is_short(name: str) -> bool:
    """A 1-2 character name (`e`, `r`, `p`): no line of the map goes to one
    unless the task names it."""
    return len(name.lstrip("_")) <= 2


def rank_files_and_defs(
    summaries: dict[str, FileSummary],
    imports: dict[str, set[str]],
    focus: Focus | None = None,
    skip_defs_of: set[str] = frozenset(),
    head_start: dict[str, float] | None = None,
) -> tuple[dict[str, float], list[RankedDef]]:
    """File ranks, and the map's entries best first: each definition (except
    those of `skip_defs_of`) and each file's name.

    `head_start`: file ranks from an earlier run, where PageRank starts from
    (an unchanged repository then converges in a sweep or two)."""
    focus = focus or Focus()
    files = sorted(summaries)
    index = {f: i for i, f in enumerate(files)}
    by_name = definers_of(summaries)
    test_only = {name for name, where in by_name.items() if all(f in skip_defs_of for f in where)}
    definers = {name: [index[f] for f in where] for name, where in by_name.items()}
    # Per name: the files defining it and how telling a link through it is,
    # split among them (17 definers of `_print_Function` share one link).
    links = {
        name: (targets, _name_weight(name, name in test_only, name in focus.idents) / len(targets))
        for name, targets in definers.items()
        if len(targets) <= MAX_DEFINERS or name in focus.idents
    }
    direct = focus.direct()
    boosts = [FOCUS_BOOST if f in direct else 1.0 for f in files]

    # Per file: the defined names it uses (with sqrt of the count), and one row
    # of out-links: the files it links to and with what weight.
    uses: list[list[tuple[str, float]]] = []
    rows: list[dict[int, float]] = []
    for src, f in enumerate(files):
        refs = summaries[f].refs
        used = [(name, math.sqrt(refs[name])) for name in refs.keys() & links.keys() if links[name][1]]
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
    total_focus = sum(focus.weights.values())
    for f, weight in focus.weights.items():
        if f in index:
            personal[index[f]] += FOCUS_BOOST * len(files) * weight / total_focus
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

    # Without a task the map is an overview: each file's definitions by use,
    # the k-th scoring its file's rank / (k + 1) ** DEF_DECAY. With one it is
    # a guess at where the change falls: the chance that a file is touched
    # (by its place in the ranking) times the chance that the change falls
    # inside a definition (by its share of the file's lines and the task's words).
    task = bool(focus.weights)
    standing = _place_chances(ranks) if task else ranks
    name_share = TASK_NAME_SHARE if task else NAME_SHARE
    ranked: list[RankedDef] = []
    named = focus.named()
    subjects = {t: [index[m] for m in named] for t, named in named_subjects(files, skip_defs_of).items()}
    for i, f in enumerate(files):
        ranked.append((standing[i] * name_share, f, -1))
        # A test file the task names shows its tests; any other only those
        # holding a word of the task, placed as high as the module it is named after.
        only_task_words = f in skip_defs_of and f not in named
        if only_task_words and not (focus.words or focus.idents):
            continue
        base = max([standing[i]] + [standing[m] for m in subjects.get(f, ())]) if only_task_words else standing[i]
        scored = []
        summary = summaries[f]
        received_at: dict[int, float] = {}  # depth -> what the latest definition there received
        hidden_at: dict[int, bool] = {}  # depth -> the latest definition there gets no line
        for j, d in enumerate(summaries[f].defs):
            link = links.get(d.name)
            received = 0.0
            if link is not None:
                received = link[1] * (inflow.get(d.name, 0.0) - own.get((i, d.name), 0.0))
            if d.name in _SIGNIFICANT_DUNDERS and d.depth:
                # Nobody names `__init__`: it is used as much as its class is.
                received = max(received, received_at.get(d.depth - 1, 0.0))
            elif d.name.startswith("_"):
                received *= 0.1  # private helpers and __repr__-style methods: last
            received_at[d.depth] = received
            # A method of `class Op` would bring its 2-character class line along.
            hidden_at[d.depth] = (is_short(d.name) and d.name not in focus.idents) or hidden_at.get(d.depth - 1, False)
            if hidden_at[d.depth]:
                continue
            # Named by the task first, then those holding one of its words.
            order = 0 if d.name in focus.idents else 1 if any(w in d.name.lower() for w in focus.words) else 2
            if order < 2 or not only_task_words:
                scored.append((order, received, j))
        layout = _task_scores if task else _overview_scores
        ranked.extend((score, f, j) for score, j in layout(base, scored, summary))
    ranked.sort(key=lambda e: (-e[0], e[1], e[2]))
    return dict(zip(files, ranks)), ranked


def _place_chances(ranks: list[float]) -> list[float]:
    """Per file, 1 / (place + 1) ** PLACE_DECAY, its place counted from the
    top of the ranking. On real histories the share of changes touching the
    file at a place falls about so, far more gently than PageRank scores
    do: taken as they are, the first file's scores would outweigh every
    definition of the next ten files."""
    order = sorted(range(len(ranks)), key=lambda i: (-ranks[i], i))
    chances = [0.0] * len(ranks)
    for place, i in enumerate(order):
        chances[i] = 1 / (place + 1) ** PLACE_DECAY
    return chances


def _overview_scores(base: float, scored: list[tuple[int, float, int]], summary: FileSummary) -> list[tuple[float, int]]:
    """Without a task: the kinds in order, within a kind by use and by size
    (a compiler's visit_* methods, used by nobody by name, differ by that
    only), the k-th scoring base / (k + 1) ** DEF_DECAY so a central file
    shows its best definitions before a lesser file shows any."""
    most = max((r for _, r, _ in scored), default=0.0) or 1.0
    ordered = sorted(scored, key=lambda t: (t[0], -(t[1] / most + SIZE_FLOOR) * math.sqrt(summary.own_lines(t[2])), t[2]))
    return [(base / (k + 1) ** DEF_DECAY, j) for k, (_, _, j) in enumerate(ordered)]


def _task_scores(base: float, scored: list[tuple[int, float, int]], summary: FileSummary) -> list[tuple[float, int]]:
    """With a task: base times the chance that the change falls inside the
    definition. A definition the task names is as likely as its file; any
    other as its share of the file's lines to the power SIZE_EXP (a change
    is a few lines somewhere in the file: on real histories it falls in a
    definition about so), WORD_FACTOR times that when it holds a word of the task.
    Use says little here: the changed definition is rarely the most used one."""
    lines = max(summary.lines, 1)
    scores = []
    for order, _, j in scored:
        chance = 1.0 if order == 0 else (summary.own_lines(j) / lines) ** SIZE_EXP * (WORD_FACTOR if order == 1 else 1.0)
        scores.append((base * min(chance, 1.0), j))
    return scores


def _name_weight(name: str, test_only: bool, focused: bool) -> float:
    """How much a use of `name` says about which definition is meant:
    the longer and more compound the name, the more."""
    if focused:
        return FOCUS_BOOST
    if is_short(name):
        return 0.0
    bare = name.lstrip("_")
    weight = min(1.0, (len(bare) - 2) / 6)  # 3 letters 1/6 .. 8 letters and more 1
    if (len(bare) >= 8 and _WORDY.search(bare)) or (len(bare) >= 4 and bare[0].isupper()):
        weight *= 10  # a long compound name or a class name is specific: a strong link
    if name.startswith("_"):
        weight *= 0.1
    if test_only:
        weight *= 0.1  # fixtures and helpers of the tests say little about the code
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
