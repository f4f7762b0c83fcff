"""The secret guard: which files are secret, and where secrets hide in text.

Used on every tool output (so it must be fast) and by `codex-agent review`.
Detection reuses detect-secrets' plugin patterns (AWS, private keys, GitHub,
Slack, Stripe, OpenAI, JWT, basic-auth URLs, ...), compiled once and run over
the whole text rather than line by line, plus two rules of our own: a
random-looking value assigned to a secret-looking name (`API_KEY = "..."`),
and `Authorization: Bearer <random token>`.
detect-secrets' stand-alone high-entropy plugins are left out on purpose: on
tool output they flag every git hash and lock-file checksum.

A SecretHit never carries the secret itself, so hits can be logged and shown.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Callable, Iterable, Iterator, Sequence


@dataclass(frozen=True)
class SecretHit:
    path: str
    line: int  # 1-based
    kind: str  # e.g. "AWS Access Key"; never the value


# --------------------------------------------------------------------------- paths

# Matched against the lower-cased file name.
_SENSITIVE_NAMES = (
    ".env", ".env.*", "*.env",
    "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.keystore", "*.kdbx", "*.ppk",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*",
    ".npmrc", ".pypirc", ".netrc", "_netrc", ".pgpass", ".htpasswd", ".git-credentials",
    "credentials", "credentials.json", "service-account*.json", "*.tfstate", "*.tfstate.backup",
)
# Matched against the end of the lower-cased path.
_SENSITIVE_SUFFIXES = (".aws/credentials", ".docker/config.json", ".kube/config", ".ssh/config")
# Templates that document which variables exist, with no values: safe to read.
_TEMPLATE_NAMES = ("*.example", "*.sample", "*.template", "*.dist", "*.pub")


def is_sensitive_path(rel_path: str, allow: Sequence[str] = ()) -> bool:
    """True for files that usually hold credentials (.env, private keys, ...).

    `allow` is the user's allow-list of globs (matched against the path and
    the file name), e.g. [".env.example", "config/*.pem"].
    """
    if is_allowed(rel_path, allow):
        return False
    path = PurePosixPath(rel_path.replace("\\", "/"))  # also drops a leading "./"
    as_text = path.as_posix()
    name = path.name.lower()
    if any(fnmatchcase(name, g) for g in _TEMPLATE_NAMES):
        return False
    lowered = "/" + as_text.lower()
    return any(fnmatchcase(name, g) for g in _SENSITIVE_NAMES) or any(
        lowered.endswith("/" + s) for s in _SENSITIVE_SUFFIXES
    )


def is_allowed(rel_path: str, allow: Sequence[str]) -> bool:
    """Whether the user's allow-list (globs against the path or the file name) names this file."""
    path = PurePosixPath(rel_path.replace("\\", "/"))
    return any(fnmatchcase(path.as_posix(), g) or fnmatchcase(path.name, g) for g in allow)


# --------------------------------------------------------------------------- text


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    accept: Callable[[str], bool]  # a last check on the secret value
    # A catch-all rule: reported only where no specific rule already found a secret.
    generic: bool = False
    # The secret must not be glued to more letters or digits (an AWS key id
    # pattern otherwise matches inside any long upper-case run, e.g. DNA).
    bounded: bool = False
    # Case-sensitive literals, one of which a matching line must contain: a fast
    # pre-filter for the patterns that cannot start with a literal.
    hint: re.Pattern[str] | None = None
    # Characters a token may go on with past what the pattern matched: masking
    # must hide a 99-character Stripe key whole, and detect-secrets' JWT
    # pattern ends lazily, before the signature.
    tail: re.Pattern[str] | None = None


_TOKEN_TAIL = re.compile(r"[\w-]*")
_JWT_TAIL = re.compile(r"[\w\-.+/=]*")

_SKIPPED_PLUGINS = {
    "IPPublicDetector",  # a public IP address is not a secret
    "ArtifactoryDetector",  # its AP[0-9A-F]... "password" matches identifiers like APDefaultSettings
    # Keyword-assignment patterns (ibm_api_key = "..."): slow (an empty-prefix
    # alternation tried at every offset) and covered by our assignment rule.
    "CloudantDetector",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "SoftlayerDetector",
}
_BOUNDED_PLUGINS = {"AWSKeyDetector", "TwilioKeyDetector", "MailchimpDetector", "TelegramBotTokenDetector"}

# Words that make a name secret-looking: detect-secrets' keyword list plus a few
# names it lacks that .env files use all the time.
_EXTRA_KEYWORDS = ("token", "access_?key", "credentials?", "auth")
_HINT_WORDS = ("key", "pass", "pwd", "secret", "token", "auth", "credential", "contrase")

# Characters that end a value: a call, an index, a template or an ARN-like
# a:b:c path is code, not a secret.
_VALUE = r"""[^\s"'`,;:()\[\]{}<>]"""

_PLACEHOLDER = re.compile(r"x{4}|\*{4}|example|changeme|your[_-]|placeholder|dummy|redacted|mock|fake", re.I)
_DOTTED_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_PLACEHOLDER_WORDS = {"password", "passwd", "pass", "pwd", "pw", "secret", "token"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz" * 2, "0123456789" * 3, "qwertyuiop")


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _not_placeholder(value: str) -> bool:
    """Not a documentation stand-in like AKIAIOSFODNN7EXAMPLE, user:password@ or {token}."""
    return not (
        value[:1] in "${<%"
        or _PLACEHOLDER.search(value)
        or value.lower() in _PLACEHOLDER_WORDS
        or len(set(value)) < 3
    )


def _looks_random(value: str) -> bool:
    """A value a person would not type: long, letters and digits, high entropy.

    This is what keeps `password_field = "confirm_password"`, URLs and ids
    (UUIDs) assigned to secret-sounding names out of the report.
    """
    if len(value) < 16 or "://" in value or value[0] in "/.~" or not _not_placeholder(value):
        return False
    if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
        return False
    lowered = value.lower()
    if _UUID.fullmatch(value) or _DOTTED_NAME.fullmatch(value) or any(lowered in s for s in _SEQUENCES):
        return False
    # `"max_tokens": max_tokens_per_minute`, `private_key: PKCS7PrivateKeyTypes`:
    # a value naming the same thing as the key is code; random text has no such words.
    if any(word in lowered for word in _HINT_WORDS):
        return False
    if all(c in "0123456789abcdefABCDEF" for c in value):
        # Short hex strings next to key-ish names are mostly checksums and ids.
        return len(value) >= 32 and _entropy(value) >= 3.0
    return _entropy(value) >= 3.5


def _assignment_rule(keywords: Sequence[str]) -> _Rule:
    # Not after ":" or "/": the "secret" in arn:aws:secretsmanager:... or a/b/secret is no name.
    name = rf"(?<![\w.:/-])[\w.-]*?(?:{'|'.join(keywords)})[\w.-]*"
    # `api_key: str = "..."`, `token: str | None = ...`. Every run of blanks
    # below belongs to one part only: blanks two parts could share make a
    # failing match cost the square of their length.
    annotation = r"(?:[ \t]*:[ \t]*[A-Za-z_][\w.\[\]]*(?:[ \t]*\|[ \t]*[A-Za-z_][\w.\[\]]*)*)?"
    assign = r"""["'\]]{0,2}""" + annotation + r"(?:[ \t]*(?::=|=>|==?|:)[ \t]*|[ \t]+)"
    value = rf"""(?P<q>["'`]?)(?P<value>{_VALUE}{{16,}})(?P=q)(?=$|[\s"'`,;)\]}}])"""
    pattern = re.compile(name + assign + value, re.IGNORECASE | re.MULTILINE)
    variants = [v for w in _HINT_WORDS for v in (w, w.upper(), w.capitalize())]
    hint = re.compile("|".join(variants))
    return _Rule("Secret Keyword", pattern, _looks_random, generic=True, hint=hint)


@lru_cache(maxsize=1)
def _rules() -> tuple[_Rule, ...]:
    # detect-secrets pulls in requests and every plugin: ~100 ms, paid once, on first use.
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.jwt import JwtTokenDetector
    from detect_secrets.plugins.keyword import DENYLIST

    def is_jwt(value: str) -> bool:
        return JwtTokenDetector.is_formally_valid(value) and _not_placeholder(value)

    rules = []
    for plugin in get_mapping_from_secret_type_to_class().values():
        name = plugin.__name__
        if not issubclass(plugin, RegexBasedDetector) or name in _SKIPPED_PLUGINS:
            continue
        jwt = plugin is JwtTokenDetector
        accept, tail = (is_jwt, _JWT_TAIL) if jwt else (_not_placeholder, _TOKEN_TAIL)
        for pattern in plugin.denylist:
            rules.append(_Rule(plugin.secret_type, pattern, accept, bounded=name in _BOUNDED_PLUGINS, tail=tail))
    bearer = re.compile(r"Bearer[ \t]+(?P<value>[A-Za-z0-9\-._~+/]{16,}=*)")
    rules.append(_Rule("Bearer Token", bearer, _looks_random, generic=True))
    rules.append(_assignment_rule(DENYLIST + _EXTRA_KEYWORDS))
    return tuple(rules)


# A whole PEM block, so masking hides the key body and not just its header.
_PEM_BLOCK = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
    r"(?P<body>(?:[A-Za-z0-9+/=\s]|[A-Za-z-]+:[^\n]*)*)"
    r"(?:-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----)?"
)


def _value_span(match: re.Match[str]) -> tuple[int, int]:
    """Where the secret itself is inside a match.

    Plugin patterns put the secret in their longest group, except when that
    group is only a token-type prefix (GitLab's `glpat`): then the whole match.
    """
    if "value" in match.re.groupindex:
        return match.span("value")
    groups = [match.span(i) for i in range(1, (match.re.groups or 0) + 1) if match.group(i)]
    if groups:
        start, end = max(groups, key=lambda s: s[1] - s[0])
        if start != match.start():
            return start, end
    # Some plugin patterns include the delimiter before and after the token.
    start, end = match.span()
    text = match.string
    while start < end and text[start] in " \t\r\n=:\"'":
        start += 1
    while end > start and text[end - 1] in " \t\r\n\"'":
        end -= 1
    return start, end


# Every rule runs over windows of at most _WINDOW characters, overlapping by
# _OVERLAP (longer than any secret the rules know, PEM bodies aside, which are
# matched separately). A pattern that backtracks badly on some text (detect-
# secrets' own are not ours to fix) then costs O(_WINDOW) per character at
# worst, not O(n): the masker runs on every tool output, and a hostile
# AGENTS.md or command output must not stall a session.
_WINDOW = 4096
_OVERLAP = 512


def _windows(text: str, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, int]]:
    """(start, end) windows covering text[start:stop], ending at a line break where one is near."""
    stop = len(text) if stop is None else stop
    while True:
        end = min(start + _WINDOW, stop)
        if end < stop:
            newline = text.rfind("\n", start + _WINDOW // 2, end)
            end = newline + 1 if newline > 0 else end
        yield start, end
        if end >= stop:
            return
        start = end - _OVERLAP


def _matches(rule: _Rule, text: str) -> Iterator[re.Match[str]]:
    if rule.hint is None:
        for start, end in _windows(text):
            yield from rule.pattern.finditer(text, start, end)
        return
    end = -1
    for hint in rule.hint.finditer(text):
        if hint.start() < end:  # this line was searched already
            continue
        start = text.rfind("\n", 0, hint.start()) + 1
        end = text.find("\n", hint.end())
        end = len(text) if end < 0 else end
        for window in _windows(text, start, end):
            yield from rule.pattern.finditer(text, *window)


def _glued(text: str, start: int, end: int) -> bool:
    return (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum())


def _find(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every secret value in `text`; spans may overlap."""
    found: list[tuple[int, int, str]] = []
    for rule in _rules():
        seen: set[tuple[int, int]] = set()  # windows overlap: a match can come twice
        for match in _matches(rule, text):
            if match.span() in seen:
                continue
            seen.add(match.span())
            start, end = _value_span(match)
            if rule.tail is not None:
                end = rule.tail.match(text, end).end()
            if start == end or not rule.accept(text[start:end]):
                continue
            if rule.bounded and _glued(text, start, end):
                continue
            if rule.generic and any(s < end and start < e for s, e, _ in found):
                continue
            if rule.kind == "Private Key" and match.group().startswith("BEGIN"):  # a PEM header
                # A header alone is code that parses keys; a key has a body.
                block = _PEM_BLOCK.match(text, max(0, match.start() - 5))
                if not block or len(block.group("body").strip()) < 40:
                    continue
                start, end = block.span()
            found.append((start, end, rule.kind))
    return found


def scan_text(text: str, path: str = "") -> list[SecretHit]:
    """Secrets in `text`: one hit per (line, kind), in line order."""
    if not text:
        return []
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    hits = {
        SecretHit(path, bisect.bisect_right(line_starts, start), kind) for start, _end, kind in _find(text)
    }
    return sorted(hits, key=lambda h: (h.line, h.kind))


def mask_secrets(text: str) -> str:
    """`text` with each secret value replaced by "[REDACTED:kind]"."""
    if not text:
        return text
    spans = sorted(_find(text))
    if not spans:
        return text
    pieces, cursor = [], 0
    for start, end, kind in spans:
        if start < cursor:  # overlaps what is already masked: widen it
            if end > cursor:
                cursor = end
            continue
        pieces += [text[cursor:start], f"[REDACTED:{kind}]"]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


# --------------------------------------------------------------------------- diffs

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def added_lines(diff_text: str) -> dict[str, list[tuple[int, str]]]:
    """The added lines of a unified diff: {new path: [(new line number, text)]}."""
    files: dict[str, list[tuple[int, str]]] = {}
    path, number, old_left, new_left = "", 0, 0, 0
    for line in diff_text.splitlines():
        if old_left <= 0 and new_left <= 0:  # between hunks: headers
            if line.startswith("+++ "):
                path = diff_path(line[4:])
            elif hunk := _HUNK.match(line):
                old_count, start, new_count = hunk.groups()
                number = int(start)
                old_left = int(old_count) if old_count is not None else 1
                new_left = int(new_count) if new_count is not None else 1
        elif line.startswith("+"):
            files.setdefault(path, []).append((number, line[1:]))
            number, new_left = number + 1, new_left - 1
        elif line.startswith("-"):
            old_left -= 1
        elif line[:1] in (" ", ""):  # context; some tools strip the space of blank context lines
            number, old_left, new_left = number + 1, old_left - 1, new_left - 1
    return files


def diff_path(header: str, prefix: str = "b/") -> str:
    """The path a `+++ ` (or, with prefix "a/", `--- `) line names; "" for /dev/null."""
    name = header.split("\t", 1)[0].strip()
    if len(name) > 1 and name[0] == name[-1] == '"':  # git quotes unusual names, with C escapes
        try:
            name = name[1:-1].encode("ascii").decode("unicode_escape").encode("latin-1").decode("utf-8")
        except UnicodeError:
            name = name[1:-1]
    return "" if name == "/dev/null" else name.removeprefix(prefix)


def scan_diff(diff_text: str) -> list[SecretHit]:
    """Secrets on the added lines of a unified diff, at their new-file line numbers."""
    hits = []
    for path, lines in added_lines(diff_text).items():
        numbers = [n for n, _ in lines]
        # Scanning the added lines as one text keeps multi-line secrets (PEM blocks) whole.
        for hit in scan_text("\n".join(text for _, text in lines), path):
            hits.append(SecretHit(path, numbers[hit.line - 1], hit.kind))
    return hits


def secrets_introduced(path: str, old: bytes | None, new: bytes) -> list[SecretHit]:
    """Secrets in a file's new content that its old content did not hold.

    Whole contents, not a diff: git shows no lines for a file it takes for
    binary (one NUL byte, or a `-diff` attribute the model wrote), and a
    secret must not pass for that."""
    text = new.decode("utf-8", errors="replace")
    before = old.decode("utf-8", errors="replace") if old else ""
    known = {(kind, before[start:end]) for start, end, kind in _find(before)} if before else set()
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    hits = {
        SecretHit(path, bisect.bisect_right(line_starts, start), kind)
        for start, end, kind in _find(text)
        if (kind, text[start:end]) not in known
    }
    return sorted(hits, key=lambda h: (h.line, h.kind))


# Bigger files are not scanned, so they are reported for the user to look at.
MAX_SCANNED_BYTES = 16 << 20


def secrets_added(files: Iterable[tuple[str, bytes | None, bytes | None]], allow: Sequence[str] = ()) -> list[str]:
    """What a change would carry out of the sandbox that needs the user's say,
    for `files` as (path, old content or None, new content or None: too big
    to read): each sensitive file it adds or changes (`path (sensitive
    file)`), each secret its new contents add (`path:line (kind)`) and each
    file too big to scan, except in files the user allowed. Commit and apply
    both refuse on any of these."""
    found = []
    for path, old, new in files:
        if is_allowed(path, allow):
            continue
        if is_sensitive_path(path):
            found.append(f"{path} (sensitive file)")
        if new is None:
            found.append(f"{path} (over {MAX_SCANNED_BYTES >> 20} MB: not scanned for secrets)")
        else:
            found += [f"{hit.path}:{hit.line} ({hit.kind})" for hit in secrets_introduced(path, old, new)]
    return found
