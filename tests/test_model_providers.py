"""Providers as data (`--provider NAME`, `[providers.NAME]` tables) and where
keys go: asserted on the headers the fake server really received."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.config import ConfigError, load_settings, user_config_path
from tests.conftest import make_repo, run_cli
from tests.fake_openai import FakeOpenAI, call, text

OPENAI_SECRET = "sk-openai-secret-0123456789"


def write_user_config(text: str) -> None:
    path = user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "proj", {"calc.py": "def add(a, b):\n    return a - b\n"})


def script() -> list:
    return [call("edit_file", {"path": "calc.py", "old": "a - b", "new": "a + b"}), text("Fixed.")]


def test_a_provider_table_routes_the_run_and_only_its_own_key(repo: Path) -> None:
    with FakeOpenAI(script()) as server:
        write_user_config(f'[providers.team]\nbase_url = "{server.base_url}"\napi = "chat"\nmodel = "qwen3:8b"\n'
                          'env_key = "TEAM_KEY"\ncontext_window = 8192\n[providers.team.headers]\nX-Team = "blue"\n')
        result = run_cli(["fix add", "--provider", "team", "--no-apply"], repo,
                         env={"OPENAI_API_KEY": OPENAI_SECRET, "TEAM_KEY": "team-key-42"})
    assert result.returncode == 0, result.stderr
    requests = server.model_requests
    assert len(requests) == 2 and all(r["_path"] == "/v1/chat/completions" for r in requests)
    assert {r["model"] for r in requests} == {"qwen3:8b"}
    assert {r["_headers"]["authorization"] for r in requests} == {"Bearer team-key-42"}
    assert {r["_headers"]["x-team"] for r in requests} == {"blue"}
    assert OPENAI_SECRET not in json.dumps(server.requests)


def test_a_provider_without_a_key_never_gets_the_openai_key(repo: Path) -> None:
    with FakeOpenAI(script()) as server:
        write_user_config(f'[providers.ollama]\nbase_url = "{server.base_url}"\n')  # over the built-in entry
        result = run_cli(["fix add", "--provider", "ollama", "--model", "llama3.2", "--no-apply"], repo,
                         env={"OPENAI_API_KEY": OPENAI_SECRET})
    assert result.returncode == 0, result.stderr
    assert OPENAI_SECRET not in json.dumps(server.requests)
    assert {r["model"] for r in server.model_requests} == {"llama3.2"}  # the flag beats the table


def test_a_base_url_the_user_chose_gets_the_openai_key(repo: Path) -> None:
    with FakeOpenAI(script()) as server:
        result = run_cli(["fix add", "--base-url", server.base_url, "--api", "chat", "--no-apply"], repo,
                         env={"OPENAI_API_KEY": OPENAI_SECRET})
    assert result.returncode == 0, result.stderr
    assert {r["_headers"]["authorization"] for r in server.model_requests} == {f"Bearer {OPENAI_SECRET}"}


def test_unknown_provider_is_one_line_with_the_closest_name(repo: Path) -> None:
    result = run_cli(["fix add", "--provider", "olama"], repo)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "unknown provider 'olama'" in result.stderr and "did you mean 'ollama'" in result.stderr


def test_builtin_providers_and_precedence(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": OPENAI_SECRET, "OPENROUTER_API_KEY": "or-key", "OPENAI_BASE_URL": "http://x/v1"}
    routed = load_settings(tmp_path, {"provider": "openrouter"}, env=env)
    assert (routed.base_url, routed.api, routed.api_key) == ("https://openrouter.ai/api/v1", "chat", "or-key")
    local = load_settings(tmp_path, {"provider": "llamacpp", "base_url": "http://gpu:9000/v1"}, env=env)
    assert (local.base_url, local.api_key) == ("http://gpu:9000/v1", None)
    assert load_settings(tmp_path, {"provider": "openai"}, env=env).api_key == OPENAI_SECRET
    assert load_settings(tmp_path, {"provider": "deepseek"}, env=env).reasoning_content is True
    write_user_config('[providers.bad]\nbase_url = "http://x/v1"\nurl = "typo"\n')
    with pytest.raises(ConfigError, match="unknown key 'url'"):
        load_settings(tmp_path, {"provider": "bad"}, env=env)


def test_a_repository_cannot_pick_the_provider_or_its_tables(tmp_path: Path) -> None:
    (tmp_path / ".codex-agent.toml").write_text(
        'provider = "evil"\nheaders = {X = "y"}\n[providers.evil]\nbase_url = "http://evil.example/v1"\n')
    settings = load_settings(tmp_path, {}, env={"OPENAI_API_KEY": OPENAI_SECRET})
    assert settings.provider is None and settings.base_url is None and settings.headers == {}


# --------------------------------------------------------------------------- the window the server runs


@pytest.mark.parametrize("info,models,window", [
    ({}, [{"id": "qwen3:8b", "max_model_len": 6144}], 6144),  # vLLM
    ({"/props": {"default_generation_settings": {"n_ctx": 5120}}}, ["qwen3:8b"], 5120),  # llama.cpp
    ({"/api/version": {"version": "0.9.0"}, "/api/ps": {"models": [{"name": "qwen3:8b", "context_length": 3072}]}},
     ["qwen3:8b"], 3072),  # Ollama, model loaded
    ({"/api/version": {"version": "0.9.0"}, "/api/show": {"parameters": "temperature 0.7\nnum_ctx 12288"}},
     ["qwen3:8b"], 12288),  # Ollama, num_ctx set in the Modelfile
    ({"/api/version": {"version": "0.9.0"}}, ["qwen3:8b"], 4096),  # Ollama's default
], ids=["vllm", "llama.cpp", "ollama-ps", "ollama-show", "ollama-default"])
def test_the_window_is_asked_from_the_server(tmp_path: Path, info, models, window) -> None:
    from agent.model_window import window_for

    with FakeOpenAI([], models=models, server_info=info) as server:
        settings = load_settings(tmp_path, {"base_url": server.base_url, "model": "qwen3:8b"}, env={})
        assert window_for(settings, "qwen3:8b") == (window, None)
    assert server.errors == []


def test_a_guessed_window_is_said_and_the_flag_wins(repo: Path, tmp_path: Path) -> None:
    from agent.model_window import window_for

    with FakeOpenAI(script()) as server:
        result = run_cli(["fix add", "--base-url", server.base_url, "--model", "mystery-7b", "--no-apply"], repo)
        settings = load_settings(tmp_path, {"base_url": server.base_url, "context_window": 2048}, env={})
        assert window_for(settings, "mystery-7b") == (2048, None)
    assert result.returncode == 0, result.stderr
    assert "context window of 'mystery-7b' is unknown; assuming 32,000 tokens" in result.stderr + result.stdout


def test_a_small_window_shrinks_the_repository_map(tmp_path: Path) -> None:
    files = {f"pkg/mod{i}.py": "".join(f"def function_{i}_{j}(value):\n    return value + {j}\n\n\n" for j in range(30))
             for i in range(12)}
    repo = make_repo(tmp_path / "big", {**files, "calc.py": "def add(a, b):\n    return a - b\n"})
    runs = {}
    for window in ("2000", "200000"):
        with FakeOpenAI(script()) as server:
            result = run_cli(["fix add", "--base-url", server.base_url, "--model", "m", "--context-window", window,
                              "--no-apply"], repo)
        assert result.returncode == 0, result.stderr
        runs[window] = (result.stderr + result.stdout, server.model_requests[0]["messages"][0]["content"])
    assert "the repository map is cut to 250 tokens" in runs["2000"][0]
    assert "repository map is cut" not in runs["200000"][0]
    assert len(runs["2000"][1]) < len(runs["200000"][1])
