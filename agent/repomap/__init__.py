"""The repo map: the files, their classes and functions with signatures, and
what refers to what, ranked by centrality and cut to a token budget.

    build_repo_map(root, tokens=2048, focus_files=[...], focus_idents=[...], task="...")

Pipeline: list the files (honouring .gitignore) -> summaries from the cache,
re-parsing changed files (store) -> project facts: imports, entry points,
configs, tests (project) -> what the task points at (focus) -> PageRank
(rank) -> text within budget (render). The text is cached too, keyed by
every file's content and the focus: an unchanged tree ranks nothing.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.repomap.focus import focus_from_text

if TYPE_CHECKING:
    from agent.repomap.focus import Focus
    from agent.repomap.rank import RankedDef
    from agent.repomap.store import SummaryStore
    from agent.repomap.tags import FileSummary

__all__ = ["build_repo_map", "focus_from_text", "make_map"]

# What project facts read beyond the source files (entry points).
_PACKAGING = ("pyproject.toml", "setup.cfg", "package.json", "Cargo.toml")


@dataclass
class MapBuild:
    """A map and what went into it (for `map --explain`)."""

    text: str
    summaries: "dict[str, FileSummary]"
    file_ranks: dict[str, float]
    ranked: "list[RankedDef]"
    shown: int  # how many of `ranked` the text holds
    focus: "Focus"
    tokens: int


def build_repo_map(
    root: Path,
    *,
    tokens: int = 2048,
    focus_files: Sequence[str] = (),
    focus_idents: Sequence[str] = (),
    task: str = "",
) -> str:
    """The map of the repository at `root`, at most `tokens` tokens long,
    focused on the files and identifiers given and those `task` names."""
    from agent.repomap.store import CACHE_VERSION, SummaryStore
    from tools.search import walk_files

    root = root.resolve()
    files = walk_files(root)
    with SummaryStore(root) as store:
        keys = store.content_keys(files)
        digest = hashlib.sha1(repr((CACHE_VERSION, tokens, list(focus_files), list(focus_idents), task)).encode())
        digest.update(_code_digest())
        digest.update("\0".join(files).encode())
        for path, key in sorted(keys.items()):
            digest.update(f"{path}\0{key}\0".encode())
        for name in _PACKAGING:
            if name in files:
                stat = (root / name).stat()
                digest.update(f"{name}\0{stat.st_mtime_ns}\0{stat.st_size}".encode())
        cached = store.cached_map(digest.hexdigest())
        if cached is not None:
            return cached
        text = make_map(root, files, store, tokens, focus_files, focus_idents, task).text
        store.keep_map(digest.hexdigest(), text)
    return text


@functools.cache
def _code_digest() -> bytes:
    """The map's own code: a new version of it (or a local edit) ranks afresh."""
    digest = hashlib.sha1()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return digest.digest()


def make_map(
    root: Path,
    files: list[str],
    store: "SummaryStore",
    tokens: int,
    focus_files: Sequence[str] = (),
    focus_idents: Sequence[str] = (),
    task: str = "",
) -> MapBuild:
    """Rank and render, from the summaries in `store` (a SummaryStore)."""
    from agent.repomap.focus import Focus, named_files, resolve_focus
    from agent.repomap.project import is_foreign, is_test_file, project_facts
    from agent.repomap.rank import definers_of, rank_files_and_defs
    from agent.repomap.render import render_map

    summaries = store.load()
    foreign = [f for f in summaries if is_foreign(f)]
    if foreign:  # ranked, vendored stubs would outrank the project's own files
        keep = named_files(summaries, focus_files, task)
        summaries = {f: s for f, s in summaries.items() if f in keep or not is_foreign(f)}
    if not summaries:
        return MapBuild("Repository map: no source files found.", {}, {}, [], 0, Focus(), tokens)
    facts = project_facts(root, files, summaries)
    focus = resolve_focus(summaries, definers_of(summaries), focus_files, focus_idents, task)
    file_ranks, ranked = rank_files_and_defs(
        summaries,
        facts.imports,
        focus,
        skip_defs_of={f for f in summaries if is_test_file(f)},
        head_start=store.last_ranks(),
    )
    if not focus.weights:
        store.keep_ranks(file_ranks)
    text, shown = render_map(summaries, file_ranks, ranked, facts, tokens)
    return MapBuild(text, summaries, file_ranks, ranked, shown, focus, tokens)
