"""Where batch keeps things: results under the state folder, repository
caches and per-task scratch checkouts under the cache folder."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "codex-agent"


def batches_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME)) / "batches"


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME)) / "batch"
