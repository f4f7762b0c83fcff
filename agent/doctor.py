"""`codex-agent doctor`: what can go wrong before a run, checked up front —
the sandbox, the interpreter that will run the tests and why it was chosen,
pytest there, the test command, the API key (never shown) and the server."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

from agent.config import Settings

OK, PROBLEM, WARNING = "ok", "NO", "warn"
SERVER_TIMEOUT = 5.0

Check = tuple[str, str, str]  # (OK | PROBLEM | WARNING, what, detail with the fix)


def doctor_checks(settings: Settings, cwd: Path) -> list[Check]:
    from sandbox.probe import doctor_report

    checks = [(OK if ok else PROBLEM, name, detail) for name, ok, detail in doctor_report()]
    return checks + python_checks(settings, cwd) + model_checks(settings)


def python_checks(settings: Settings, cwd: Path) -> list[Check]:
    from sandbox.git import project_root
    from sandbox.python_env import PythonNotFound, discover
    from tools.test_env import check_pytest_in_sandbox
    from tools.testing import detect_test_command, is_pytest

    root = project_root(cwd)
    try:
        python = discover(cwd, root, settings.python)
    except PythonNotFound as exc:
        return [(PROBLEM, "python", f"{exc}. Fix: pass --python an interpreter or a prefix")]
    checks = [(OK, "python", python.describe())]
    checks += [(WARNING, "python", refused) for refused in python.refused]
    test_cmd = settings.test_cmd or detect_test_command(root)
    if test_cmd is None:
        return checks + [(WARNING, "tests", "no test command detected: runs end not verified. Fix: --test-cmd CMD")]
    checks.append((OK, "tests", f"{test_cmd} ({'--test-cmd' if settings.test_cmd else 'detected'})"))
    if not is_pytest(test_cmd):
        return checks
    ok, detail = check_pytest_in_sandbox(python, settings.sandbox, test_cmd, root)
    if ok:
        return checks + [(OK, "pytest", detail)]
    fix = f"{python.executable} -m pip install pytest, or --python PATH, or --no-verify"
    return checks + [(PROBLEM, "pytest", f"{detail}. Fix: {fix}")]


def model_checks(settings: Settings) -> list[Check]:
    from agent.model import OPENAI_BASE_URL, is_openai

    url = (settings.base_url or OPENAI_BASE_URL).rstrip("/")
    if settings.api_key:
        source = settings.sources.get("api_key", "default")
        key = (OK, "api key", f"set ({source}; not shown)")
    elif is_openai(settings.base_url):
        key = (PROBLEM, "api key", "not set. Fix: export OPENAI_API_KEY=… or api_key in the user config")
    else:
        key = (OK, "api key", "not set (a local server usually needs none)")
    return [key, _server(url, settings.api_key)]


def _server(url: str, api_key: str | None) -> Check:
    """One GET /models: does the server answer, and how fast."""
    request = urllib.request.Request(f"{url}/models")
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=SERVER_TIMEOUT) as response:
            body = response.read(1_000_000)
    except urllib.error.HTTPError as exc:
        hint = " (the key was refused)" if exc.code in (401, 403) else ""
        return (WARNING, "server", f"{url} answered GET /models with HTTP {exc.code}{hint}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return (WARNING, "server", f"{url} did not answer: {reason}. Fix: --base-url, or start the server")
    latency = (time.monotonic() - started) * 1000
    try:
        models = len(json.loads(body).get("data", []))
    except (ValueError, AttributeError):
        return (WARNING, "server", f"{url}/models answered, but not with JSON ({latency:.0f} ms)")
    return (OK, "server", f"{url} answers ({latency:.0f} ms, {models} models)")
