"""What a task points at: the files, folders and identifiers its words name.

The map is focused by text (usually the task). Names in backticks,
snake_case, camelCase and CamelCase are identifiers; path-like words are
files or folders when the repository has them, else their parts count as
words (`pretty/LaTeX`, `S/C` are not paths). A plain word pulls a file up
only when it is that file's or folder's base name (`sparsetools`, `signals`,
`logic`) or a name defined in exactly one file: matched against every
`get` and `run`, plain words would focus everything.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

_PATHISH = re.compile(r"[\w.\-/]+\.[A-Za-z0-9]{1,5}\b|[\w.\-]+(?:/[\w.\-]+)+")
_IDENTISH = re.compile(r"`([A-Za-z_][\w.]*)`|\b([A-Za-z_]\w*(?:_\w+|[a-z][A-Z]\w*))\b|\b([A-Z][a-z]+[A-Z]\w*)\b")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
MAX_WORD_FILES = 5  # a word naming more files than this (utils, base) says nothing
MAX_FOLDER_FILES = 400
WORD_SHARE = 0.5  # a plain word's pull, against a named file or identifier
MIN_PART = 4  # letters of a word to look for inside definitions' names
DIRECT = 0.1  # a file pulled this hard is what the task is about, not one of a crowd


@dataclass
class Focus:
    """Per file, how strongly the task points at it, and why (for --explain)."""

    weights: dict[str, float] = field(default_factory=dict)
    reasons: dict[str, list[str]] = field(default_factory=dict)
    idents: set[str] = field(default_factory=set)  # names whose links the ranking strengthens
    words: set[str] = field(default_factory=set)  # the task's telling words, lowercase: a definition naming one goes first

    def direct(self) -> set[str]:
        """The files the task points at by name, not as one of a folder or a crowd."""
        return {f for f, weight in self.weights.items() if weight >= DIRECT}

    def named(self) -> set[str]:
        """The files the task names (their path, base name or a name only they
        define), not merely holding one of its words inside a definition's name."""
        return {f for f, weight in self.weights.items() if weight >= WORD_SHARE}

    def add(self, files: Sequence[str], share: float, reason: str) -> None:
        # An item's pull is split among the files it names: a name defined in
        # 17 files pulls each of them a seventeenth as hard.
        for f in files:
            self.weights[f] = self.weights.get(f, 0.0) + share / len(files)
            self.reasons.setdefault(f, []).append(reason)


def focus_from_text(text: str) -> tuple[list[str], list[str]]:
    """File paths and code identifiers a message mentions, to focus the map."""
    files = [m.removeprefix("./") for m in _PATHISH.findall(text)]
    idents = []
    for quoted, compound, camel in _IDENTISH.findall(text):
        name = quoted or compound or camel
        idents.extend(part for part in name.split(".") if part)
    return files, idents


def resolve_focus(
    paths: Iterable[str],
    definers: dict[str, list[str]],
    focus_files: Sequence[str] = (),
    focus_idents: Sequence[str] = (),
    task: str = "",
) -> Focus:
    """The files `focus_files`, `focus_idents` and the words of `task` point at."""
    paths = sorted(paths)
    known = set(paths)
    by_stem: dict[str, list[str]] = {}
    by_folder: dict[str, list[str]] = {}
    for p in paths:
        stem = posixpath.basename(p).rsplit(".", 1)[0].lower()
        by_stem.setdefault(stem, []).append(p)
        if stem.strip("_") != stem:  # `_client.py`, `__version__.py`: private modules named by their word
            by_stem.setdefault(stem.strip("_"), []).append(p)
        folder = posixpath.dirname(p)
        while folder:
            by_folder.setdefault(folder, []).append(p)
            folder = posixpath.dirname(folder)
    folder_names: dict[str, list[str]] = {}
    for folder in by_folder:
        folder_names.setdefault(posixpath.basename(folder).lower(), []).append(folder)

    text_files, text_idents = focus_from_text(task) if task else ([], [])
    focus = Focus()
    words: list[str] = []
    for item in dict.fromkeys([*focus_files, *text_files]):
        item = item.strip("/").removeprefix("./")
        found = _path_matches(item, known, by_folder)
        if found:
            focus.add(found, 1.0, f"the task names {item}")
        else:
            words.extend(_WORD.findall(item))
    for name in dict.fromkeys([*focus_idents, *text_idents]):
        if definers.get(name):
            focus.add(definers[name], 1.0, f"defines `{name}`, which the task names")
            focus.idents.add(name)
        else:
            words.append(name)
    if task:
        plain = _WORD.findall(_PATHISH.sub(" ", task))
        # Two words in a row may name a module: "character table" -> character_table.py.
        words.extend(plain + [f"{a}_{b}" for a, b in zip(plain, plain[1:])])
    for word in dict.fromkeys(w for w in words if w.lower() not in _STOP_WORDS):
        lower = word.lower()
        # "clients" names _client.py, "filters" filters.py: the plural is tried second.
        stems = by_stem.get(lower) or (by_stem.get(lower[:-1], []) if lower.endswith("s") and len(lower) > 4 else [])
        if 0 < len(stems) <= MAX_WORD_FILES:
            focus.add(stems, WORD_SHARE, f"its name matches the task's word '{word}'")
            tested = by_stem.get(lower.removeprefix("test_"), []) if lower.startswith("test_") else []
            if 0 < len(tested) <= MAX_WORD_FILES:  # test_error_functions -> error_functions.py
                focus.add(tested, WORD_SHARE, f"the task names its test file {word}")
        # "domain" names sphinx/domains/ too.
        for folder in folder_names.get(lower) or folder_names.get(lower + "s", []):
            if len(by_folder[folder]) <= MAX_FOLDER_FILES:
                focus.add(by_folder[folder], WORD_SHARE, f"its folder {folder}/ matches the task's word '{word}'")
        if len(definers.get(word, ())) == 1 and word not in focus.idents:
            focus.add(definers[word], WORD_SHARE, f"the only file defining `{word}`, a word of the task")
            focus.idents.add(word)
        focus.words.update(_parts(word))
    # A word that is part of the names of a few files' definitions
    # ("netrc" in get_netrc_auth) points at those files, more weakly.
    for word in sorted(focus.words):
        containing = {f for name, where in definers.items() if word in name.lower() for f in where}
        if 0 < len(containing) <= MAX_WORD_FILES:
            focus.add(sorted(containing), WORD_SHARE / 2, f"defines a name containing the task's word '{word}'")
    return focus


def _parts(word: str) -> list[str]:
    """The pieces of a word to look for inside definitions' names: the word,
    or the parts of a compound one the repository does not define
    (`junit_family` -> junit, family), each by its stem (`configuration` ->
    configur, found in `pytest_configure`; `namespaces` -> namespac)."""
    pieces = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", word) if "_" in word or not word.islower() else [word]
    found = []
    for piece in pieces:
        piece = piece.lower()
        if piece in _STOP_WORDS:
            continue
        piece = _english().stemWord(piece) if len(piece) > MIN_PART else piece
        if len(piece) >= MIN_PART and piece not in _STOP_WORDS:
            found.append(piece)
    return found


@functools.cache
def _english() -> Any:
    # Imported here: a warm start takes the map from its cache and never needs it.
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def named_files(paths: Iterable[str], focus_files: Sequence[str] = (), task: str = "") -> set[str]:
    """The files that `focus_files` and the paths in `task` name."""
    items = [*focus_files, *(focus_from_text(task)[0] if task else [])]
    if not items:
        return set()
    known = set(paths)
    by_folder: dict[str, list[str]] = {}
    for p in known:
        folder = posixpath.dirname(p)
        while folder:
            by_folder.setdefault(folder, []).append(p)
            folder = posixpath.dirname(folder)
    return {f for item in items for f in _path_matches(item.strip("/").removeprefix("./"), known, by_folder)}


def _path_matches(item: str, known: set[str], by_folder: dict[str, list[str]]) -> list[str]:
    """The files a path-like word names: the file itself, a file or folder
    whose path ends with it (`printing/pretty`), or nothing."""
    if item in known:
        return [item]
    if item in by_folder:
        return by_folder[item]
    tail = "/" + item
    files = [p for p in known if p.endswith(tail) or p.rsplit(".", 1)[0].endswith(tail)]
    if files:
        return sorted(files)
    folders = [f for f in by_folder if f.endswith(tail)]
    return sorted({p for f in folders for p in by_folder[f]})


# Words of commit messages and tasks that name no module. (Not "docs":
# it names the folder of the documentation's conf.py.)
_STOP_WORDS = frozenset(
    """
    the and for with from into onto that this these those when then than not but are was were has have had
    can could should would will shall may might must does did done doing use used uses using add added adds
    adding fix fixed fixes fixing remove removed removes removing update updated updates updating make makes
    made change changed changes allow allows allowed support supports supported handle handles new old more
    less also only all any some each every other its their there here which what why how now just like
    test tests testing documentation typo typos issue issues bug bugs error errors code file files
    function functions method methods class classes value values case cases type types name names set get
    run call return returns instead about after before without within where while need needs needed work
    works working correct correctly properly always never same different default via see per one two first
    """.split()
)
