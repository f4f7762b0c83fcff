"""Find where a hunk goes in a file, never guessing between two places.

Lines are compared at falling strictness, like Codex's seek_sequence: exact,
then ignoring trailing whitespace, then ignoring surrounding whitespace, then
also folding Unicode punctuation (dashes, curly quotes, odd spaces) to ASCII.
The first level that matches anywhere decides; a looser level is never
consulted when a stricter one found something.
"""

from __future__ import annotations

import difflib
from typing import Callable

from tools.patch_parse import Hunk

_PUNCTUATION = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u2018\u2019\u201a\u201b", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f", '"'),
        **dict.fromkeys("\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000", " "),
    }
)


def _fold(line: str) -> str:
    return line.strip().translate(_PUNCTUATION)


LEVELS: tuple[Callable[[str], str], ...] = (str, str.rstrip, str.strip, _fold)


class NoMatch(Exception):
    """The hunk (or one of its '@@' headers) is not in the file; str() says which."""


class Ambiguous(Exception):
    def __init__(self, line_numbers: list[int]) -> None:
        super().__init__(line_numbers)
        self.line_numbers = line_numbers  # 1-based


class FileLines:
    """A file's lines with each tolerance level's view built on first use."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self._views: dict[int, list[str]] = {0: lines}

    def __len__(self) -> int:
        return len(self.lines)

    def view(self, level: int) -> list[str]:
        if level not in self._views:
            self._views[level] = [LEVELS[level](line) for line in self.lines]
        return self._views[level]

    def find_all(self, pattern: list[str], start: int, stop: int | None = None) -> list[int]:
        """Indices in [start, stop] where `pattern` begins, at the strictest
        level that matches at all."""
        last = len(self.lines) - len(pattern) if stop is None else stop
        for level, key in enumerate(LEVELS):
            view, wanted = self.view(level), [key(p) for p in pattern]
            hits = [i for i in range(start, last + 1) if view[i : i + len(wanted)] == wanted]
            if hits:
                return hits
        return []


def locate(lines: FileLines, hunk: Hunk, cursor: int) -> int:
    """The index where `hunk`'s old lines start, at or after `cursor`.

    Without '@@' headers the old lines must match exactly one place. A header
    line (each further header: its nearest occurrence below the previous one)
    decides when the old lines match once inside the block it opens; when they
    are not in that block, they must match once below the header. Every
    occurrence of the first header is tried, and all must agree on one place.
    Raises NoMatch or Ambiguous.
    """
    old = hunk.old
    anchors = _anchors(lines, hunk.headers, cursor)
    if hunk.end_of_file:
        at_end = len(lines) - len(old)
        lowest = anchors[0] + 1 if anchors else cursor
        found = {at_end} if at_end >= lowest and lines.find_all(old, at_end, at_end) else set()
    elif not anchors:
        # Without a header a bare addition goes to the end of the file, as in Codex.
        found = set(lines.find_all(old, cursor)) if old else {len(lines)}
    elif not old:
        found = {anchor + 1 for anchor in anchors}
    else:
        found = set()
        blank = not any(line.strip() for line in old)  # blank lines alone identify no place
        for anchor in anchors:
            hits = lines.find_all(old, anchor + 1)
            in_block = [] if blank else [hit for hit in hits if hit < _block_end(lines.lines, anchor)]
            found.update(in_block or hits)

    if not found:
        raise NoMatch("its lines " + ("are not at the end of the file" if hunk.end_of_file else "are not in the file"))
    if len(found) > 1:
        raise Ambiguous([i + 1 for i in sorted(found)])
    return found.pop()


def _anchors(lines: FileLines, headers: tuple[str, ...], cursor: int) -> list[int]:
    """Where the last header line sits, once per occurrence of the first one."""
    anchors: list[int] = []
    for depth, header in enumerate(headers):
        if depth == 0:
            anchors = lines.find_all([header], cursor)
        else:
            anchors = sorted({hits[0] for anchor in anchors if (hits := lines.find_all([header], anchor + 1))})
        if not anchors:
            after = " after the previous hunk" if cursor else ""
            raise NoMatch(f"its '@@ {header}' line is not in the file{after}")
    return anchors


def _block_end(lines: list[str], at: int) -> int:
    """Just past the block opened by line `at`: its last line indented deeper
    than `at`, before the next line that is not (blank lines after a block are
    outside it). This reads Python and brace languages alike."""
    indent, last = _indent(lines[at]), at
    for i in range(at + 1, len(lines)):
        if lines[i].strip():
            if _indent(lines[i]) <= indent:
                break
            last = i
    return last + 1


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def mismatch_hint(lines: FileLines, hunk: Hunk) -> str:
    """Point at the first old line the file lacks, and the file's closest line."""
    folded = lines.view(len(LEVELS) - 1)
    present = set(folded)
    for text in hunk.old:
        if _fold(text) and _fold(text) not in present:
            close = difflib.get_close_matches(_fold(text), folded, n=1, cutoff=0.6)
            nearest = ""
            if close:
                at = folded.index(close[0])
                nearest = f"; the closest is line {at + 1}: {lines.lines[at]!r}"
            return f" The line {text.strip()[:100]!r} is not in the file{nearest}."
    return " Each line exists, but not together in this order (or not after the previous hunk)."
