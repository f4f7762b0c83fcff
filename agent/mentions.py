"""@-mentions: `@path/to/file` attaches the file, `@dir/` its listing.

A mention must start a word (so `me@example.com` is left alone) and name
something that exists inside the root; anything else stays plain text.
Sensitive files (.env, private keys, ...) are refused unless allowed, with a
note saying so, so the model knows why it did not get them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from agent.tokens import cap_tokens
from sandbox.output import human_size
from sandbox.secrets import is_sensitive_path, mask_secrets
from tools.paths import PathError, relative, resolve_in

MAX_FILE_TOKENS = 8_000
MAX_READ_BYTES = 256 * 1024  # of a bigger file only the first and last halves are read
MAX_LISTING_ENTRIES = 200
_REFUSED = "[not attached: "
# What a mention may name: these characters. An @ after a word character is
# part of an e-mail address (MENTION_START); the path may not end in a dot, so
# in "see @a.py." the sentence's full stop is left out.
PATH_CHARS = r"[\w.~+\-/]"
MENTION_START = r"(?<![\w@/.\\])@"
_MENTION = re.compile(MENTION_START + rf"({PATH_CHARS}*[\w~+\-/])")
_MENTIONABLE = re.compile(PATH_CHARS + "+")


def mentionable(path: str) -> bool:
    """Whether an @-mention can name this path."""
    return _MENTIONABLE.fullmatch(path) is not None


def expand_mentions(
    text: str, root: Path, allow: Sequence[str] = (), cwd: Path | None = None
) -> tuple[str, list[str]]:
    """`text` with the mentioned files and folders appended, and their paths.

    Paths are relative to `root`, as the model and the REPL's completion see
    them; one that names nothing there is tried from `cwd` (the folder inside
    `root` the user stands in), as their shell would."""
    attached: list[str] = []
    blocks: list[str] = []
    seen: set[str] = set()
    for match in _MENTION.finditer(text):
        found = _existing(root, match.group(1))
        if found is None and cwd is not None and cwd.resolve() != root.resolve():
            found = _existing(root, relative(root, cwd) + "/" + match.group(1))
        if found is None:
            continue
        rel = relative(root, found)
        if rel in seen:
            continue
        seen.add(rel)
        block = _attachment(root, found, rel, allow)
        blocks.append(block)
        if not block.startswith(_REFUSED):
            attached.append(rel)
    if not blocks:
        return text, []
    return text + "\n\n" + "\n\n".join(blocks), attached


def _existing(root: Path, mention: str) -> Path | None:
    """The file or folder a mention names inside `root`, if there is one."""
    if not mention.strip("./"):
        return None  # "@./" names the whole repository: too easy to write by accident
    try:
        path = resolve_in(root, mention)
    except PathError:
        return None
    return path if path.exists() else None


def _attachment(root: Path, path: Path, rel: str, allow: Sequence[str]) -> str:
    if path.is_dir():
        return _listing(root, rel)
    if is_sensitive_path(rel, allow):
        return f"{_REFUSED}@{rel} may hold secrets; the user has not allowed sending it to the model]"
    size = path.stat().st_size
    with path.open("rb") as fh:
        data = fh.read(MAX_READ_BYTES // 2)
        if b"\x00" in data[:8192]:
            return f"{_REFUSED}@{rel} is a binary file]"
        note = ""
        if size > MAX_READ_BYTES:  # the ends only: the cap keeps no more anyway
            fh.seek(size - MAX_READ_BYTES // 2)
            note = f"[{human_size(size)}: only its start and end are shown]\n"
        data += fh.read()
    content = cap_tokens(mask_secrets(data.decode("utf-8", errors="replace")), MAX_FILE_TOKENS)
    return f'<file path="{rel}">\n{note}{content.rstrip()}\n</file>'


def _listing(root: Path, rel: str) -> str:
    from tools.search import walk_files

    files = walk_files(root, "" if rel == "." else rel)
    shown = files[:MAX_LISTING_ENTRIES]
    more = f"\n(+{len(files) - len(shown)} more files)" if len(files) > len(shown) else ""
    return f'<directory path="{rel}/">\n' + "\n".join(shown) + more + "\n</directory>"
