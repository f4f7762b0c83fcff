"""Probe this machine for `codex-agent doctor`: can the sandbox do its job here?"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

from sandbox.isolation import fix_hint, probe_bwrap
from sandbox.limits import libc_prctl
from sandbox.state import state_dir

MIN_GIT = (2, 28)  # git init --initial-branch


def doctor_report() -> list[tuple[str, bool, str]]:
    """(check, ok, detail — including how to fix it when not ok)."""
    return [_git(), *_bubblewrap(), _limits(), _state()]


def _git() -> tuple[str, bool, str]:
    path = shutil.which("git")
    if path is None:
        return ("git", False, "not found: install git (needed for working copies and diffs)")
    version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    found = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
    if found < MIN_GIT:
        return ("git", False, f"{version}: version {'.'.join(map(str, MIN_GIT))} or newer is needed")
    return ("git", True, version)


def _bubblewrap() -> list[tuple[str, bool, str]]:
    path = shutil.which("bwrap")
    if path is None:
        return [
            (
                "bubblewrap",
                False,
                "not installed: commands run without filesystem or network isolation. "
                "Install it: apt install bubblewrap / dnf install bubblewrap / pacman -S bubblewrap",
            )
        ]
    probe = probe_bwrap(path)
    installed = ("bubblewrap", True, path)
    if probe.config is None:
        return [installed, ("sandbox", False, f"bubblewrap fails here: {probe.error}. To fix: {fix_hint(probe.error)}")]
    if probe.config.reductions:
        lost = ", ".join(probe.config.reductions)
        return [installed, ("sandbox", False, f"bubblewrap works with {lost} ({probe.error}). To fix: {fix_hint(probe.error)}")]
    return [installed, ("sandbox", True, "bubblewrap with all namespaces: read-only host, no network, own PIDs")]


def _limits() -> tuple[str, bool, str]:
    if libc_prctl() is None:
        return ("resource limits", False, "no prctl (not Linux): commands may outlive a crashed agent")
    return ("resource limits", True, "CPU, memory, file size and process limits; children die with the agent")


def _state() -> tuple[str, bool, str]:
    folder = state_dir()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if os.access(existing, os.W_OK):
        return ("state folder", True, str(folder))
    return ("state folder", False, f"{folder} is not writable: set XDG_STATE_HOME to a writable folder")
