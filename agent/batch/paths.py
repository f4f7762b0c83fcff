"""Where batch keeps things: results under the state folder, repository
caches and per-task scratch checkouts under the cache folder."""

from __future__ import annotations

from pathlib import Path

from sandbox import state


def batches_dir() -> Path:
    return state.state_dir() / "batches"


def cache_dir() -> Path:
    return state.cache_dir() / "batch"
