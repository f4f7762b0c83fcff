"""Completion at the prompt: slash commands, and `@path` mentions (or the
argument of /add and /drop) from the working copy's files.

The file list is read once (git-aware, through tools.search.walk_files) and
kept until the REPL says the files may have changed (after a turn), so a
keystroke costs a scan of an in-memory list, not of the disk: fine for
repositories of 50,000 files.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from agent.mentions import MENTION_START, PATH_CHARS, mentionable

MAX_COMPLETIONS = 50
_MENTION_BEFORE_CURSOR = re.compile(MENTION_START + rf"({PATH_CHARS}*)$")
_COMMAND_BEFORE_CURSOR = re.compile(r"^/([\w-]*)$")
_PATH_ARGUMENT = re.compile(r"^/(add|drop)\s+(\S*)$")


class FileIndex:
    """The files and folders of a working copy, listed on first use."""

    def __init__(self, root: Callable[[], Path]) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._listed_root: Path | None = None
        self._paths: list[str] = []

    def invalidate(self) -> None:
        with self._lock:
            self._listed_root = None

    def paths(self) -> list[str]:
        """Files, and folders with a trailing slash, sorted."""
        root = self._root()
        with self._lock:
            if self._listed_root != root:
                self._paths = _with_folders(_list_files(root))
                self._listed_root = root
            return self._paths


def _list_files(root: Path) -> list[str]:
    from tools.search import walk_files

    return walk_files(root)


def _with_folders(files: list[str]) -> list[str]:
    """The files a mention can name (no spaces or odd characters), and their folders."""
    files = [f for f in files if mentionable(f)]
    folders: set[str] = set()
    for path in files:
        folder = path.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return sorted([*files, *(f + "/" for f in folders)])


def matching_paths(paths: list[str], typed: str, limit: int = MAX_COMPLETIONS) -> list[str]:
    """Paths starting with `typed` first, then paths whose file or folder name
    starts with it, then paths containing it anywhere (case-insensitive)."""
    if not typed:
        return [p for p in paths if "/" not in p.rstrip("/")][:limit]  # the top level
    low = typed.lower()
    prefix, name, inside = [], [], []
    for path in paths:
        lower = path.lower()
        if lower == low:
            continue  # already complete
        if lower.startswith(low):
            prefix.append(path)
        elif ("/" + low) in lower:
            name.append(path)
        elif low in lower:
            inside.append(path)
        if len(prefix) >= limit:
            break
    return (prefix + name + inside)[:limit]


class ReplCompleter(Completer):
    def __init__(self, commands: Callable[[], dict[str, str]], files: FileIndex) -> None:
        self.commands = commands  # name -> one-line help
        self.files = files

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        before = document.text_before_cursor
        if found := _COMMAND_BEFORE_CURSOR.match(before):
            yield from self._commands(found.group(1))
        elif found := _PATH_ARGUMENT.match(before):
            yield from self._paths(found.group(2), files_only=True)
        elif found := _MENTION_BEFORE_CURSOR.search(before):
            yield from self._paths(found.group(1), files_only=False)

    def _commands(self, typed: str) -> Iterable[Completion]:
        for name, help_text in self.commands().items():
            if name.startswith(typed):
                yield Completion("/" + name, start_position=-len(typed) - 1, display_meta=help_text)

    def _paths(self, typed: str, files_only: bool) -> Iterable[Completion]:
        paths = self.files.paths()
        if files_only:
            paths = [p for p in paths if not p.endswith("/")]
        for path in matching_paths(paths, typed):
            yield Completion(path, start_position=-len(typed))
