"""Settings, from the highest precedence down: command-line flags, environment
(`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `CODEX_AGENT_MODEL`), `.codex-agent.toml`
in the repository, `~/.config/codex-agent/config.toml`."""

from __future__ import annotations

import os
import tomllib
import typing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from agent.config_check import ConfigError, check_values

DEFAULT_MODEL = "gpt-5.2-codex"
REPO_CONFIG = ".codex-agent.toml"
REPO_FORBIDDEN = ("api_key", "base_url", "allow_secrets", "sandbox", "approval", "apply", "trajectory")


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
            key = key.replace("-", "_")
            if key in known and value is not None:
                if key == "trajectory":
                    value = Path(value)
                setattr(settings, key, value)
                settings.sources[key] = source

    for path in (user_config_path(), repo / REPO_CONFIG):
        if path.is_file():
            merge(_read_toml(path, settings.warnings), str(path))
    merge(
        {
            "api_key": env.get("OPENAI_API_KEY"),
            "base_url": env.get("OPENAI_BASE_URL"),
            "model": env.get("CODEX_AGENT_MODEL"),
        },
        "environment",
    )
    merge(flags or {}, "flag")
    return settings


RESUMED = ("model", "api", "base_url", "approval", "sandbox", "max_steps", "max_tokens", "max_cost", "test_cmd",
           "command_timeout", "context_window", "allow_secrets", "map_tokens")


def restore_saved(settings: Settings, saved: dict[str, Any]) -> None:
    """A resumed session goes on with the settings it was started with, except
    where the user now passes a flag."""
    for key in RESUMED:
        if key in saved and settings.sources.get(key) != "flag":
            setattr(settings, key, saved[key])
            settings.sources[key] = "saved session"


def _read_toml(path: Path, warnings: list[str]) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    hints = {k: v for k, v in typing.get_type_hints(Settings).items() if k not in _BOOKKEEPING}
    data = check_values(data, hints, path)
    # A cloned repository must not choose where the user's key is sent, how
    # contained its commands are, where the trajectory is written, or that
    # its changes land unreviewed.
    if path.name == REPO_CONFIG:
        for key in REPO_FORBIDDEN:
            if data.pop(key, None) is not None:
                warnings.append(f"{path}: `{key}` is ignored: a repository may not set it "
                                "(your user config or a flag can)")
    return data
