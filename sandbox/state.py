"""Where codex-agent keeps its files: state (working copies, run records,
sessions, trajectories, batches), caches and the user's configuration.

Looked up on every call (not at import) so XDG_STATE_HOME set later — by a
test or a wrapper script — is honoured.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import platformdirs

APP_NAME = "codex-agent"


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP_NAME))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


def agent_folders() -> list[Path]:
    """The agent's own folders that exist: other sessions' conversations and
    working copies, caches, the user's config (its api_key). Hidden from every
    sandboxed command, wherever XDG puts them."""
    return [path for path in (state_dir(), cache_dir(), config_dir()) if path.is_dir()]


def worktrees_dir() -> Path:
    """Working copies live in `worktrees/<id>`, their records in `worktrees/<id>.json`."""
    return state_dir() / "worktrees"


def user_homes() -> tuple[Path, ...]:
    """The user's home as HOME says and as the password database says
    (they differ under sudo and in some containers)."""
    found: list[Path] = []
    for candidate in (os.environ.get("HOME"), pwd.getpwuid(os.getuid()).pw_dir):
        if candidate and os.path.isdir(candidate):
            path = Path(candidate).resolve()
            if path != Path("/") and path not in found:
                found.append(path)
    return tuple(found)
