"""What the map knows about one source file, independent of where it lives.

A summary depends only on the file's bytes and language, so the cache can key
it by content hash and share it between the user's tree and every working
copy made from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Extension -> language. Python is read with `ast`, the rest with tree-sitter.
LANGUAGES = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
}

MAX_SOURCE_BYTES = 1_000_000  # larger files are generated or minified: listed, not parsed
MAX_SIGNATURE = 160


@dataclass(slots=True)
class Definition:
    name: str
    kind: str  # class | function | method | type | module ...
    line: int  # 1-based
    depth: int  # 0 top level, 1 inside a class / impl / interface
    signature: str  # one line, as the map shows it


@dataclass(slots=True)
class FileSummary:
    lang: str
    defs: list[Definition] = field(default_factory=list)
    refs: dict[str, int] = field(default_factory=dict)  # identifier -> uses
    # Import specs as written, resolved against the file's path later:
    # Python dotted names with leading dots for relative imports, JS/TS module
    # specifiers, Go import paths, Java qualified names.
    imports: list[str] = field(default_factory=list)
    is_main: bool = False  # runs as a program (`__main__` guard, `func main`, ...)
    app: str = ""  # an app factory or app object it defines (create_app, app = Flask(...))
    lines: int = 0  # where its last definition ends, at the latest

    def own_lines(self, i: int) -> int:
        """Lines from definition `i` to the next one: a function's body, a
        class's header and attributes (its methods count for themselves)."""
        end = self.defs[i + 1].line if i + 1 < len(self.defs) else self.lines + 1
        return max(end - self.defs[i].line, 1)

    def to_tuple(self) -> tuple:
        """Plain builtins, for `marshal` in the cache."""
        defs = tuple((d.name, d.kind, d.line, d.depth, d.signature) for d in self.defs)
        return (self.lang, defs, self.refs, tuple(self.imports), self.is_main, self.app, self.lines)

    @classmethod
    def from_tuple(cls, t: tuple) -> "FileSummary":
        lang, defs, refs, imports, is_main, app, lines = t
        return cls(lang, [Definition(*d) for d in defs], refs, list(imports), is_main, app, lines)


def language_of(path: str) -> str | None:
    dot = path.rfind(".")
    return LANGUAGES.get(path[dot:].lower()) if dot > path.rfind("/") else None


def one_line(text: str) -> str:
    """A signature squeezed onto one line and capped."""
    line = " ".join(text.split())
    return line if len(line) <= MAX_SIGNATURE else line[: MAX_SIGNATURE - 1] + "…"


def summarize(source: bytes, lang: str) -> FileSummary:
    """Definitions, references and imports of one file. Never raises: a file
    that does not parse gets an empty summary (it is still listed)."""
    if len(source) > MAX_SOURCE_BYTES:
        return FileSummary(lang)
    try:
        if lang == "python":
            from agent.repomap.python_tags import summarize_python

            summary = summarize_python(source)
        else:
            from agent.repomap.ts_tags import summarize_tree_sitter

            summary = summarize_tree_sitter(source, lang)
    except Exception:  # a grammar bug or a broken file must not break the map
        return FileSummary(lang)
    summary.lines = source.count(b"\n") + 1
    return summary
