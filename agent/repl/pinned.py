"""/add and /drop: files pinned into the context. Their current content is
attached to each next message, as @-mentions are: Session.run expands them
(agent.mentions), which caps each file and refuses secrets."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.mentions import MAX_FILE_TOKENS, mentionable
from agent.tokens import count_tokens
from sandbox.secrets import is_sensitive_path
from tools.paths import PathError, relative, resolve_in

PINNED_TOKENS = 32_000  # all pinned files together, at the time they are added


class PinnedFiles:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def add(self, root: Path, path: str, allow: Sequence[str] = ()) -> str:
        """Pin `path` (relative to the working copy); says what happened."""
        try:
            found = resolve_in(root, path)
        except PathError as exc:
            return f"Cannot pin {path}: {exc}"
        if not found.is_file():
            return f"Cannot pin {path}: no such file in the working copy." + (
                f" For a folder's listing, mention @{path.rstrip('/')}/ in a message." if found.is_dir() else "")
        rel = relative(root, found)
        if rel in self.paths:
            return f"{rel} is already pinned."
        if not mentionable(rel):
            return f"Cannot pin {rel}: only paths without spaces or special characters can be attached."
        if is_sensitive_path(rel, allow):
            return f"Not pinned: {rel} may hold secrets (allow it with --allow-secret)."
        total = sum(self.tokens(root).values()) + _file_tokens(found)
        if total > PINNED_TOKENS:
            return f"Not pinned: pinned files would take {total:,} tokens, over the {PINNED_TOKENS:,} allowed."
        self.paths.append(rel)
        return f"Pinned {rel}: its current content goes with each message."

    def drop(self, path: str) -> str:
        wanted = path.strip().removeprefix("./")
        if wanted in ("", "all"):
            self.paths.clear()
            return "No files are pinned now."
        if wanted not in self.paths:
            return f"{wanted} is not pinned." + (f" Pinned: {', '.join(self.paths)}." if self.paths else "")
        self.paths.remove(wanted)
        return f"Dropped {wanted}."

    def attach(self, message: str) -> str:
        """The message with the pinned files mentioned, for Session.run to expand."""
        if not self.paths:
            return message
        return message + "\n\nPinned files (current content attached): " + " ".join("@" + p for p in self.paths)

    def tokens(self, root: Path) -> dict[str, int]:
        """What each pinned file adds to a message now."""
        return {rel: _file_tokens(root / rel) for rel in self.paths}


def _file_tokens(path: Path) -> int:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0  # deleted since: nothing is attached
    return min(count_tokens(text), MAX_FILE_TOKENS)
