"""Settings, from the highest precedence down: command-line flags, environment
(`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `CODEX_AGENT_MODEL`), `.codex-agent.toml`
in the repository, `~/.config/codex-agent/config.toml`."""

from __future__ import annotations

import functools
import os
import tomllib
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from agent.config_check import TABLES, ConfigError, check_values

DEFAULT_MODEL = "gpt-5.2-codex"
REPO_CONFIG = ".codex-agent.toml"
# What a repository's own config file may set: choices about the work, never
# where the key goes, how contained commands are, which secrets the model sees,
# whether changes land unreviewed, or which interpreter is mounted. A key not
# named here is refused with a warning, whatever its spelling.
REPO_ALLOWED = frozenset({
    "model", "api", "max_steps", "max_tokens", "max_cost", "test_cmd", "stream", "context_window",
    "command_timeout", "map_tokens", "strict_tests", "test_timeout", "reasoning_effort", "verbosity",
    "temperature", "max_output_tokens", "reasoning", "reasoning_content",
})


@dataclass
class Settings:
    model: str = DEFAULT_MODEL
    base_url: str | None = None
    api_key: str | None = None
    api: str | None = None  # responses | chat; None: chosen from the base URL
    max_steps: int = 50
    max_tokens: int | None = None
    max_cost: float | None = None
    test_cmd: str | None = None  # None: detected (pytest when the repo has Python tests)
    apply: bool | None = None  # None: ask when interactive, else keep the result unapplied
    json: bool = False
    trajectory: Path | None = None
    approval: str = "auto"  # read-only | auto | ask
    sandbox: str = "auto"  # auto | bwrap | process | none
    stream: bool = True
    context_window: int | None = None  # None: the model's known window
    command_timeout: float = 120.0
    # Sensitive files (globs) the user lets the model read, e.g. [".env.test"].
    allow_secrets: list[str] = field(default_factory=list)
    map_tokens: int = 2048
    # The interpreter (or prefix) that runs the project's tests; None: discovered.
    python: str | None = None
    verify: bool = True  # False (--no-verify): no test gate, the run is marked unverified
    strict_tests: bool = False  # the gate demands a fully green suite, failures from before included
    test_timeout: float | None = None  # seconds for one gate run of the whole suite; None: command_timeout
    provider: str | None = None  # a [providers.NAME] table of the user config
    reasoning_effort: str | None = None  # minimal | low | medium | high (Responses API)
    verbosity: str | None = None  # low | medium | high (Responses API text.verbosity)
    temperature: float | None = None
    max_output_tokens: int | None = None  # per request
    reasoning: bool | None = None  # send reasoning parameters (Responses); None: per model, refusals remembered
    reasoning_content: bool = False  # send reasoning back on assistant messages (Chat; DeepSeek needs it)
    headers: dict[str, str] = field(default_factory=dict)  # extra HTTP headers for the model server
    # Where each setting came from, for `codex-agent config`.
    sources: dict[str, str] = field(default_factory=dict, repr=False)
    # What the user should hear about their config files (keys a repository may not set).
    warnings: list[str] = field(default_factory=list, repr=False)

    def public(self) -> dict[str, Any]:
        """Settings as shown to people: the key masked."""
        shown = {k: v for k, v in asdict(self).items() if k not in _BOOKKEEPING}
        shown["api_key"] = mask_key(self.api_key)
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in shown.items()}


_BOOKKEEPING = ("sources", "warnings")


def mask_key(key: str | None) -> str | None:
    if not key:
        return None
    return key[:3] + "…" + key[-4:] if len(key) > 12 else "…"


def user_config_path() -> Path:
    from sandbox.state import config_dir

    return config_dir() / "config.toml"


def load_settings(repo: Path, flags: dict[str, Any] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Merge every source; flags whose value is None count as not given."""
    env = os.environ if env is None else env
    settings = Settings()
    known = {f.name for f in fields(Settings)} - set(_BOOKKEEPING)

    def merge(values: dict[str, Any], source: str) -> None:
        for key, value in values.items():
            if key in known and value is not None:
                if key == "trajectory":
                    value = Path(value)
                setattr(settings, key, value)
                settings.sources[key] = source

    user_file, repo_file = user_config_path(), repo / REPO_CONFIG
    if user_file.is_file():
        merge(_checked(_read_toml(user_file), user_file), str(user_file))
    if repo_file.is_file():
        merge(_checked(_repo_settings(_read_toml(repo_file), repo_file, settings.warnings), repo_file),
              str(repo_file))
    merge(
        {
            "api_key": env.get("OPENAI_API_KEY"),
            "base_url": env.get("OPENAI_BASE_URL"),
            "model": env.get("CODEX_AGENT_MODEL"),
        },
        "environment",
    )
    merge(flags or {}, "flag")
    if settings.provider:
        from agent.providers import ProviderError, apply_provider

        try:  # [providers.NAME] tables come from the user's config only
            apply_provider(settings, user_config_path(), env)
        except ProviderError as exc:
            raise ConfigError(str(exc)) from exc
    return settings


RESUMED = ("model", "api", "base_url", "approval", "sandbox", "max_steps", "max_tokens", "max_cost", "test_cmd",
           "command_timeout", "context_window", "allow_secrets", "map_tokens", "python")


def restore_saved(settings: Settings, saved: dict[str, Any]) -> None:
    """A resumed session goes on with the settings it was started with, except
    where the user now passes a flag."""
    for key in RESUMED:
        if key in saved and settings.sources.get(key) != "flag":
            setattr(settings, key, saved[key])
            settings.sources[key] = "saved session"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


@functools.cache
def _setting_types() -> dict[str, Any]:
    """Each setting a config file may name, with its type."""
    return {k: v for k, v in typing.get_type_hints(Settings).items() if k not in _BOOKKEEPING}


def _checked(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Keys spelled with `_`, each a setting, each value of its setting's type (ConfigError)."""
    return check_values(data, _setting_types(), path)


def _repo_settings(data: dict[str, Any], path: Path, warnings: list[str]) -> dict[str, Any]:
    """The part of a repository's config file it may decide (REPO_ALLOWED),
    checked on the key as `_` spells it, or a dash walks past the check; a
    warning naming every other setting as the file spells it. A key that is
    no setting at all stays, for _checked to name it as a typo."""
    settings = {*_setting_types(), *TABLES}
    kept: dict[str, Any] = {}
    for spelled, value in data.items():
        key = spelled.replace("-", "_")
        if key in REPO_ALLOWED or key not in settings:
            kept[spelled] = value
        else:
            warnings.append(f"{path}: `{spelled}` is ignored: a repository may not set it "
                            "(your user config or a flag can)")
    return kept
