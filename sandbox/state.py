"""Where codex-agent keeps its files: state (working copies, run records,
sessions, trajectories, batches), caches and the user's configuration.

Looked up on every call (not at import) so XDG_STATE_HOME set later — by a
test or a wrapper script — is honoured.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "codex-agent"


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


def worktrees_dir() -> Path:
    """Working copies live in `worktrees/<id>`, their records in `worktrees/<id>.json`."""
    return state_dir() / "worktrees"
