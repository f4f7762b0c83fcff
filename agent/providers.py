"""Model providers as data: `--provider NAME` picks a `[providers.NAME]` table
of the user config (or a built-in one), the way Codex CLI users configure them.

A table may set `base_url`, `api` (responses | chat), `model`, `env_key` (the
environment variable holding the key; `api_key_env` is accepted too),
`context_window`, `headers` and `reasoning_content`. Flags still win over the
table. The key is read only from the provider's own `env_key`: a provider
never receives OPENAI_API_KEY unless its `env_key` names it.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.config import Settings

BUILTIN: dict[str, dict[str, Any]] = {
    "openai": {"base_url": "https://api.openai.com/v1", "api": "responses", "env_key": "OPENAI_API_KEY"},
    "ollama": {"base_url": "http://localhost:11434/v1", "api": "chat"},
    "vllm": {"base_url": "http://localhost:8000/v1", "api": "chat", "env_key": "VLLM_API_KEY"},
    "llama.cpp": {"base_url": "http://localhost:8080/v1", "api": "chat", "env_key": "LLAMA_API_KEY"},
    "lmstudio": {"base_url": "http://localhost:1234/v1", "api": "chat"},
    "openrouter": {"base_url": "https://openrouter.ai/api/v1", "api": "chat", "env_key": "OPENROUTER_API_KEY"},
    "deepseek": {"base_url": "https://api.deepseek.com/v1", "api": "chat", "env_key": "DEEPSEEK_API_KEY",
                 "reasoning_content": True},
}
ALIASES = {"llamacpp": "llama.cpp", "llama-server": "llama.cpp", "lm-studio": "lmstudio"}
TABLE_KEYS = ("base_url", "api", "model", "env_key", "api_key_env", "context_window", "headers", "reasoning_content")
# What a table sets, unless a flag says otherwise.
_APPLIED = ("base_url", "api", "model", "context_window", "headers", "reasoning_content")


class ProviderError(ValueError):
    pass


def provider_table(name: str, user_tables: dict[str, Any]) -> dict[str, Any]:
    """The provider's settings: the user's table over the built-in one."""
    name = ALIASES.get(name, name)
    builtin = BUILTIN.get(name, {})
    user = user_tables.get(name)
    if user is None and not builtin:
        known = sorted(set(BUILTIN) | set(user_tables))
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ProviderError(f"unknown provider {name!r}{hint}: known are {', '.join(known)}; "
                            "add a [providers.NAME] table to the user config")
    if user is not None and not isinstance(user, dict):
        raise ProviderError(f"[providers.{name}] must be a table")
    unknown = sorted(set(user or {}) - set(TABLE_KEYS))
    if unknown:
        raise ProviderError(f"[providers.{name}]: unknown key {unknown[0]!r}; known keys: {', '.join(TABLE_KEYS)}")
    return {**builtin, **(user or {})}


def apply_provider(settings: "Settings", user_config: Path, env: Any) -> None:
    """Point `settings` at the provider it names (settings.provider); the
    tables come from `user_config` (already read once by `load_settings`)."""
    assert settings.provider
    try:
        text = user_config.read_text(encoding="utf-8") if user_config.is_file() else ""
        tables = tomllib.loads(text).get("providers") or {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProviderError(f"{user_config}: {exc}") from exc
    if not isinstance(tables, dict):
        raise ProviderError(f"{user_config}: `providers` must be a table of [providers.NAME] tables")
    table = provider_table(settings.provider, tables)
    for key in _APPLIED:
        if key in table and settings.sources.get(key) != "flag":
            setattr(settings, key, table[key])
            settings.sources[key] = f"provider {settings.provider}"
    env_key = table.get("env_key") or table.get("api_key_env")
    settings.api_key = env.get(env_key) if env_key else None
    settings.sources["api_key"] = f"${env_key}" if env_key else f"provider {settings.provider} (no key)"
