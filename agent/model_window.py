"""The context window a model really has: asked from the server when it can
tell, else the --context-window flag or config key, else a known model's
window, else a guess that the user is told about.

Local servers run models with a window of their own choosing (Ollama's
default is 4,096 tokens and it truncates silently beyond), which no model
name reveals: vLLM lists `max_model_len` under /v1/models, llama.cpp's
llama-server reports `n_ctx` at /props, Ollama the loaded model's
`context_length` at /api/ps or its `num_ctx` parameter at /api/show.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from agent.model import is_openai
from agent.tokens import UNKNOWN_WINDOW, context_window, known_window

if TYPE_CHECKING:
    from agent.config import Settings

ASK_TIMEOUT = 1.5  # seconds per question; a server that is slower than this to describe itself gets guessed
OLLAMA_DEFAULT_WINDOW = 4_096  # what Ollama runs a model with unless num_ctx says otherwise


def window_for(settings: "Settings", model: str) -> tuple[int, str | None]:
    """(window in tokens, a one-line notice when it is a guess)."""
    if settings.context_window:
        return settings.context_window, None
    if not is_openai(settings.base_url) and settings.base_url:
        asked = server_window(settings.base_url, model, settings.api_key, settings.headers)
        if asked:
            return asked, None
    if known_window(model) is not None:
        return context_window(model), None
    return UNKNOWN_WINDOW, (f"the context window of {model!r} is unknown; assuming {UNKNOWN_WINDOW:,} tokens "
                            "(--context-window N or context_window in the config sets it)")


def server_window(base_url: str, model: str, api_key: str | None, headers: dict[str, str] | None = None) -> int | None:
    """The window the server at `base_url` runs `model` with, when it says; None otherwise."""
    base = base_url.rstrip("/")
    auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    ask = _Asker(re.sub(r"/v1$", "", base), {**(headers or {}), **auth})
    try:
        return _vllm(ask, base, model) or _llama_cpp(ask) or _ollama(ask, model)
    except (OSError, ValueError):  # down, slow, or not speaking HTTP: the caller guesses
        return None


class _Asker:
    """JSON from the server: {} for anything but a 200 with a JSON object."""

    def __init__(self, root: str, headers: dict[str, str]) -> None:
        self.root = root
        self.headers = headers

    def __call__(self, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = url if "://" in url else self.root + url
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, **({"Content-Type": "application/json"} if data else {})}
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data, headers), timeout=ASK_TIMEOUT) as answer:
                value = json.loads(answer.read(8_000_000))
        except urllib.error.HTTPError:
            return {}
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _vllm(ask: _Asker, base: str, model: str) -> int | None:
    for entry in ask(f"{base}/models").get("data") or []:
        if isinstance(entry, dict) and entry.get("id") == model:
            return _positive(entry.get("max_model_len"))
    return None


def _llama_cpp(ask: _Asker) -> int | None:
    props = ask("/props")
    settings = props.get("default_generation_settings")
    return _positive(settings.get("n_ctx") if isinstance(settings, dict) else None) or _positive(props.get("n_ctx"))


def _ollama(ask: _Asker, model: str) -> int | None:
    if not isinstance(ask("/api/version").get("version"), str):
        return None  # not Ollama: no POST to a server we do not know
    for entry in ask("/api/ps").get("models") or []:
        if isinstance(entry, dict) and model in (entry.get("name"), entry.get("model")):
            if window := _positive(entry.get("context_length")):
                return window
    parameters = ask("/api/show", {"model": model}).get("parameters")
    found = re.search(r"^num_ctx\s+(\d+)", parameters if isinstance(parameters, str) else "", re.M)
    return int(found.group(1)) if found else OLLAMA_DEFAULT_WINDOW
