"""File summaries, cached and refreshed incrementally.

One SQLite file in the user's cache folder holds every summary keyed by the
file's content hash (so the user's tree and each working copy made from it
share them), plus, per root folder, each file's mtime/size/hash so an
unchanged file is not even read. A changed file is re-parsed; a cold start
parses in a process pool when there is enough work for one.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import marshal
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from agent.repomap.tags import FileSummary, language_of, summarize

# Bump when summaries change (layout or extraction rules); marshal's format
# is tied to the Python version.
CACHE_VERSION = f"5/py{sys.version_info[0]}.{sys.version_info[1]}"
PARALLEL_FROM = 200  # files to parse before a process pool pays for itself
RACY_SECONDS = 2  # a file changed this recently may change again within one mtime tick

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS summaries (key TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    root TEXT NOT NULL, path TEXT NOT NULL, mtime_ns INTEGER, size INTEGER, key TEXT NOT NULL,
    PRIMARY KEY (root, path)
);
CREATE INDEX IF NOT EXISTS files_key ON files (key);
CREATE TABLE IF NOT EXISTS ranks (root TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS maps (key TEXT PRIMARY KEY, text TEXT NOT NULL, made REAL NOT NULL);
"""
MAX_MAPS = 64  # rendered maps kept: a few focuses for each of a few trees


def cache_file() -> Path:
    from sandbox.state import cache_dir

    return cache_dir() / "repomap" / "summaries.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=10)
        db.execute("PRAGMA journal_mode=WAL")
        _prepare(db)
    except (OSError, sqlite3.Error):  # unwritable or damaged: costs speed, not the map
        db = sqlite3.connect(":memory:")
        _prepare(db)
    return db


def _prepare(db: sqlite3.Connection) -> None:
    db.executescript(_SCHEMA)
    row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    if row is None or row[0] != CACHE_VERSION:
        with db:
            for table in ("summaries", "files", "ranks", "maps"):
                db.execute(f"DELETE FROM {table}")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (CACHE_VERSION,))


class SummaryStore:
    """The cache as seen from one root folder; use as a context manager."""

    def __init__(self, root: Path, cache: Path | None = None) -> None:
        self.root = root.resolve()
        self.db = _connect(cache or cache_file())
        self._keys: dict[str, str] = {}
        self._sources: dict[str, bytes] = {}

    def __enter__(self) -> "SummaryStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()

    def content_keys(self, paths: list[str]) -> dict[str, str]:
        """Each source file's cache key ("lang:sha1") among `paths` (root-relative):
        what its summary, and so the map, depends on."""
        known = {
            path: (mtime, size, key)
            for path, mtime, size, key in self.db.execute(
                "SELECT path, mtime_ns, size, key FROM files WHERE root = ?", (str(self.root),)
            )
        }
        self._keys, self._sources, stat_rows = _content_keys(self.root, paths, known)
        gone = [(str(self.root), p) for p in known if p not in self._keys]
        if stat_rows or gone:  # kept now: a map from the map cache never loads the summaries
            _save(self.db, stat_rows, {}, gone)
        return self._keys

    def summaries(self, paths: list[str]) -> dict[str, FileSummary]:
        """The summary of every source file in `paths` (root-relative)."""
        self.content_keys(paths)
        return self.load()

    def load(self) -> dict[str, FileSummary]:
        """The summaries of the files `content_keys` was last given."""
        root, db = self.root, self.db
        keys, sources = self._keys, self._sources
        found = _fetch(db, set(keys.values()))
        todo = [p for p, k in keys.items() if k not in found]
        for path in todo:  # a summary gone from under a trusted stat (another process reset the cache)
            if path not in sources:
                sources[path] = _read(root / path) or b""
        parsed = _parse_all([(sources[p], keys[p].split(":", 1)[0]) for p in todo])
        new = {keys[p]: summary for p, summary in zip(todo, parsed)}
        found.update(new)
        if new:
            _save(db, [], new, [])
        return {p: found[k] for p, k in keys.items()}

    def last_ranks(self) -> dict[str, float]:
        """File ranks of the last unfocused map of this root, else of the latest
        map made (a new working copy of the same repository): a head start for
        PageRank, which converges from any start."""
        row = self.db.execute(
            "SELECT data FROM ranks ORDER BY root = ? DESC, rowid DESC LIMIT 1", (str(self.root),)
        ).fetchone()
        return marshal.loads(row[0]) if row else {}

    def cached_map(self, key: str) -> str | None:
        row = self.db.execute("SELECT text FROM maps WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def keep_map(self, key: str, text: str) -> None:
        try:
            with self.db:
                self.db.execute("INSERT OR REPLACE INTO maps VALUES (?, ?, ?)", (key, text, time.time()))
                self.db.execute(
                    "DELETE FROM maps WHERE key NOT IN (SELECT key FROM maps ORDER BY made DESC LIMIT ?)", (MAX_MAPS,)
                )
        except sqlite3.Error:
            pass  # the next run ranks again

    def keep_ranks(self, ranks: dict[str, float]) -> None:
        try:
            with self.db:
                self.db.execute("INSERT OR REPLACE INTO ranks VALUES (?, ?)", (str(self.root), marshal.dumps(ranks)))
        except sqlite3.Error:
            pass  # only a head start is lost


def _content_keys(
    root: Path, paths: list[str], known: dict[str, tuple[int, int, str]]
) -> tuple[dict[str, str], dict[str, bytes], list[tuple]]:
    """Each source file's cache key ("lang:sha1"), trusting an unchanged
    mtime and size; the files read to get there; and their new stat rows."""
    keys: dict[str, str] = {}
    sources: dict[str, bytes] = {}
    stat_rows = []
    racy_after = time.time_ns() - RACY_SECONDS * 1_000_000_000
    for path in paths:
        lang = language_of(path)
        if lang is None:
            continue
        try:
            st = os.stat(root / path)
        except OSError:
            continue
        old = known.get(path)
        if old is not None and old[0] == st.st_mtime_ns and old[1] == st.st_size:
            keys[path] = old[2]
            continue
        data = _read(root / path)
        if data is None:
            continue
        keys[path] = f"{lang}:{hashlib.sha1(data).hexdigest()}"
        sources[path] = data
        mtime = st.st_mtime_ns if st.st_mtime_ns < racy_after else -1  # -1: hash it again next time
        stat_rows.append((str(root), path, mtime, st.st_size, keys[path]))
    return keys, sources, stat_rows


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _fetch(db: sqlite3.Connection, keys: set[str]) -> dict[str, FileSummary]:
    found: dict[str, FileSummary] = {}
    wanted = list(keys)
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for key, data in db.execute(f"SELECT key, data FROM summaries WHERE key IN ({marks})", chunk):
            found[key] = FileSummary.from_tuple(marshal.loads(data))
    return found


def _save(db: sqlite3.Connection, stat_rows: list, new: dict[str, FileSummary], gone: list) -> None:
    try:
        with db:
            db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", stat_rows)
            db.executemany("DELETE FROM files WHERE root = ? AND path = ?", gone)
            db.executemany(
                "INSERT OR REPLACE INTO summaries VALUES (?, ?)",
                [(k, marshal.dumps(s.to_tuple())) for k, s in new.items()],
            )
            # Working copies come and go: forget roots that no longer exist,
            # then summaries no file points to.
            for (root,) in db.execute("SELECT DISTINCT root FROM files").fetchall():
                if not os.path.isdir(root):
                    db.execute("DELETE FROM files WHERE root = ?", (root,))
            db.execute("DELETE FROM summaries WHERE key NOT IN (SELECT key FROM files)")
            db.execute("DELETE FROM ranks WHERE root NOT IN (SELECT DISTINCT root FROM files)")
    except sqlite3.Error:
        pass  # another process holds the lock for long: this run's results are just not kept


def _summarize_job(job: tuple[bytes, str]) -> bytes:
    return marshal.dumps(summarize(*job).to_tuple())


def _parse_all(jobs: list[tuple[bytes, str]]) -> list[FileSummary]:
    # Syntax trees are big, short-lived and free of cycles: the cyclic garbage
    # collector would only slow the parsing down (by a third on large repositories).
    with _no_gc():
        workers = min(os.cpu_count() or 1, 4)
        if len(jobs) < PARALLEL_FROM or workers < 2:
            return [summarize(*job) for job in jobs]
        return [FileSummary.from_tuple(marshal.loads(b)) for b in _parse_in_pool(jobs, workers)]


def _parse_in_pool(jobs: list[tuple[bytes, str]], workers: int) -> list[bytes]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import agent.repomap.python_tags  # noqa: F401
    import agent.repomap.ts_tags  # noqa: F401
    import tree_sitter  # noqa: F401

    # fork: the workers start in milliseconds. What they run is imported
    # above, so a forked child never needs the import lock, which another
    # thread of this process (a REPL, a renderer) might hold at fork time.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
            chunk = max(1, len(jobs) // (workers * 8))
            return list(pool.map(_summarize_job, jobs, chunksize=chunk))
    except (OSError, RuntimeError):  # no processes to be had (sandboxes, limits)
        return [_summarize_job(job) for job in jobs]


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
