"""A review finding, its severity scale and categories, and how findings merge."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from typing import Any, Iterable

SEVERITIES = ("critical", "high", "medium", "low", "info")  # worst first
_RANK = {name: len(SEVERITIES) - i for i, name in enumerate(SEVERITIES)}  # critical=5 ... info=1
SOURCE_ORDER = ("bandit", "secrets", "model")  # an analyser's precise rule wins a merge

CATEGORIES = (
    "injection",
    "command-injection",
    "authn/authz",
    "secrets",
    "crypto",
    "deserialization",
    "path-traversal",
    "ssrf",
    "xss",
    "xxe",
    "misconfiguration",
    "prompt-injection",
    "other",
)
# Words a model (or a person) uses for a category, tried in order: the
# specific ones first, so "command injection" is not plain "injection".
_CATEGORY_WORDS = (
    ("prompt-injection", ("prompt",)),
    ("command-injection", ("command", "shell", "os-injection", "subprocess", "rce")),
    ("path-traversal", ("path", "traversal", "directory", "file inclusion", "lfi", "zip slip")),
    ("deserialization", ("deserial", "pickle", "yaml", "marshal", "unsafe load")),
    ("ssrf", ("ssrf", "server-side request", "server side request")),
    ("xss", ("xss", "cross-site scripting", "cross site scripting", "template", "html")),
    ("xxe", ("xxe", "xml")),
    ("secrets", ("secret", "credential", "hard-coded", "hardcoded", "password", "token", "key leak")),
    ("crypto", ("crypt", "hash", "random", "tls", "ssl", "certificate", "cipher")),
    ("authn/authz", ("auth", "access control", "permission", "privilege", "session", "csrf", "idor")),
    ("injection", ("inject", "sql", "eval", "exec", "code execution", "ldap", "nosql")),
    ("misconfiguration", ("config", "debug", "bind", "cors", "header", "timeout", "exposure", "logging")),
)


def normalize_severity(value: Any) -> str | None:
    text = str(value or "").strip().lower()
    aliases = {"crit": "critical", "moderate": "medium", "med": "medium", "warning": "medium",
               "informational": "info", "note": "info", "error": "high"}
    text = aliases.get(text, text)
    return text if text in _RANK else None


def normalize_category(value: Any) -> str:
    text = str(value or "").strip().lower().replace("_", " ")
    if text.replace(" ", "-") in CATEGORIES:
        return text.replace(" ", "-")
    for category, words in _CATEGORY_WORDS:
        if any(word in text for word in words):
            return category
    return "other"


def severity_rank(severity: str) -> int:
    return _RANK.get(severity, 0)


def at_or_above(severity: str, threshold: str) -> bool:
    return severity_rank(severity) >= severity_rank(threshold)


@dataclass(frozen=True)
class Finding:
    file: str  # relative to the repository root, with "/"
    line: int  # 1-based; 0 when the finding is about the whole file
    severity: str  # one of SEVERITIES
    category: str  # one of CATEGORIES
    title: str
    explanation: str = ""
    recommendation: str = ""
    source: str = "model"  # bandit | secrets | model, or several joined by "+"
    rule_id: str = ""
    patch: str | None = None  # a suggested unified diff
    snippet: str = ""  # the flagged line (secrets masked), for stable fingerprints

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def fingerprint(self) -> str:
        """Stable across unrelated edits that move the line: what, where, and the code itself."""
        key = "\0".join([self.rule_id or self.title, self.file, " ".join(self.snippet.split())])
        return hashlib.sha256(key.encode()).hexdigest()[:32]


def _source_rank(source: str) -> int:
    first = source.split("+", 1)[0]
    return SOURCE_ORDER.index(first) if first in SOURCE_ORDER else len(SOURCE_ORDER)


def _same_issue(a: Finding, b: Finding, window: int) -> bool:
    # One source never reports an issue twice, so two findings of the same
    # source are two issues, however close.
    disjoint = not set(a.source.split("+")) & set(b.source.split("+"))
    return disjoint and a.file == b.file and a.category == b.category and abs(a.line - b.line) <= window


def _combine(kept: Finding, other: Finding) -> Finding:
    """One finding from two reports of the same issue: the analyser's rule, title
    and place, the worse severity, both explanations (the model's usually
    traces the data flow), and whatever patch either brought."""
    sources = list(dict.fromkeys(kept.source.split("+") + other.source.split("+")))
    explanations = dict.fromkeys(e for e in (other.explanation, kept.explanation) if e)
    return replace(
        kept,
        severity=max(kept.severity, other.severity, key=severity_rank),
        explanation="\n\n".join(explanations),
        recommendation=kept.recommendation or other.recommendation,
        patch=kept.patch or other.patch,
        snippet=kept.snippet or other.snippet,
        source="+".join(sorted(sources, key=_source_rank)),
    )


def merge(findings: Iterable[Finding], window: int = 2) -> list[Finding]:
    """De-duplicate across sources: same file, same category, lines at most `window` apart."""
    merged: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (_source_rank(f.source), f.file, f.line)):
        for i, kept in enumerate(merged):
            if _same_issue(kept, finding, window):
                merged[i] = _combine(kept, finding)
                break
        else:
            merged.append(finding)
    return sort_findings(merged)


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.file, f.line, -severity_rank(f.severity), f.title))
