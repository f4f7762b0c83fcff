"""The repo map: the files, their classes and functions with signatures, and
what refers to what, ranked by centrality and cut to a token budget.

    build_repo_map(root, tokens=2048, focus_files=[...], focus_idents=[...])

Pipeline: list the files (honouring .gitignore) -> summaries from the cache,
re-parsing changed files (store) -> project facts: imports, entry points,
configs, tests (project) -> PageRank (rank) -> text within budget (render).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

_PATHISH = re.compile(r"[\w.\-/]+\.[A-Za-z0-9]{1,5}\b|[\w.\-]+(?:/[\w.\-]+)+")
_IDENTISH = re.compile(r"`([A-Za-z_][\w.]*)`|\b([A-Za-z_]\w*(?:_\w+|[a-z][A-Z]\w*))\b|\b([A-Z][a-z]+[A-Z]\w*)\b")


def build_repo_map(
    root: Path,
    *,
    tokens: int = 2048,
    focus_files: Sequence[str] = (),
    focus_idents: Sequence[str] = (),
) -> str:
    """The map of the repository at `root`, at most `tokens` tokens long."""
    from agent.repomap.project import is_test_file, project_facts
    from agent.repomap.rank import rank_files_and_defs
    from agent.repomap.render import render_map
    from agent.repomap.store import SummaryStore
    from tools.search import walk_files

    root = root.resolve()
    files = walk_files(root)
    focused = bool(focus_files or focus_idents)
    with SummaryStore(root) as store:
        summaries = store.summaries(files)
        if not summaries:
            return "Repository map: no source files found."
        facts = project_facts(root, files, summaries)
        file_ranks, ranked = rank_files_and_defs(
            summaries,
            facts.imports,
            focus_files={f.strip("/").removeprefix("./") for f in focus_files},
            focus_idents=set(focus_idents),
            skip_defs_of={f for f in summaries if is_test_file(f)},
            head_start=store.last_ranks(),
        )
        if not focused:
            store.keep_ranks(file_ranks)
    return render_map(summaries, file_ranks, ranked, facts, tokens)


def focus_from_text(text: str) -> tuple[list[str], list[str]]:
    """File paths and code identifiers a message mentions, to focus the map.

    Plain words are left out (they would match every `get` and `run`); names
    in backticks, snake_case, camelCase and CamelCase are kept. Paths that are
    not files of the repository are simply ignored by the ranking.
    """
    files = [m.removeprefix("./") for m in _PATHISH.findall(text)]
    idents = []
    for quoted, compound, camel in _IDENTISH.findall(text):
        name = quoted or compound or camel
        idents.extend(part for part in name.split(".") if part)
    return files, idents
