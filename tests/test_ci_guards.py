"""Skips that would hide a broken CI setup: under CI=true a missing
requirement fails instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO


def _conformance(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": ci, "CODEX_AGENT_SHARED": str(tmp_path / "nowhere"), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "tests/test_apply_patch_conformance.py::test_the_cases_are_there"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_missing_conformance_cases_fail_under_ci(tmp_path: Path) -> None:
    result = _conformance(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed" in result.stdout and "CI=true: this is required" in result.stdout


def test_missing_conformance_cases_skip_on_a_developer_machine(tmp_path: Path) -> None:
    result = _conformance(tmp_path, "")
    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
