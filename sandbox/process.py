"""Run one command as its own process group, with a deadline and capped output.

Output is read as it comes (stdout and stderr merged, in order) into a
CappedOutput, so a command printing a gigabyte neither blocks on a full pipe
nor fills memory. At the deadline the whole group gets SIGTERM, then SIGKILL
after a grace period; a command's background children never outlive it.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from sandbox.output import CappedOutput

_POLL = 0.05  # how often to look for an exit while a child holds the pipe open
_DRAIN = 1.0  # how long to collect output once the command is gone
_CHUNK = 1 << 16


@dataclass
class CommandResult:
    exit_code: int | None  # None when killed at the timeout
    output: str
    timed_out: bool
    duration: float
    truncated_bytes: int = 0


def execute(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    max_output_bytes: int,
    preexec_fn: Callable[[], None] | None = None,
    grace: float = 2.0,
) -> CommandResult:
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec_fn,
        )
    except OSError as exc:
        return CommandResult(127, f"cannot run {argv[0]}: {exc.strerror}", False, time.monotonic() - start)
    output = CappedOutput(max_output_bytes)
    fd = proc.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        try:
            finished = _pump(proc.pid, selector, output, start + timeout)
        except BaseException:
            # Ctrl-C (or any error) in the agent: the command runs in its own
            # session, so nothing else would stop it.
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if finished:
            _signal_group(proc.pid, signal.SIGKILL)  # leftover background jobs
        else:
            _signal_group(proc.pid, signal.SIGTERM)
            _pump(proc.pid, selector, output, time.monotonic() + grace)
            _signal_group(proc.pid, signal.SIGKILL)
        _pump(None, selector, output, time.monotonic() + _DRAIN)
    proc.stdout.close()
    try:
        code = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # stuck in the kernel (e.g. a dead NFS mount)
        code = None
    text = output.text()
    if not finished:
        text += f"\n[timed out after {timeout:g} s; the command and its child processes were killed]"
        code = None
    elif code is not None and code < 0:
        code = 128 - code  # killed by a signal: report it the way a shell does
    return CommandResult(code, text, not finished, time.monotonic() - start, output.elided)


def _pump(pid: int | None, selector: selectors.BaseSelector, output: CappedOutput, deadline: float) -> bool:
    """Collect output until process `pid` exits (True) or the deadline (False).
    With pid None: until end of output or the deadline."""
    while pid is None or not _exited(pid):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if not selector.get_map():
            if pid is None:
                return True
            time.sleep(min(remaining, _POLL))
            continue
        for key, _ in selector.select(min(remaining, _POLL)):
            chunk = os.read(key.fd, _CHUNK)
            if chunk:
                output.feed(chunk)
            else:
                selector.unregister(key.fd)
    return True


def _exited(pid: int) -> bool:
    # WNOWAIT leaves the child unreaped, so its pid (= the group id) can't be
    # reused before we signal the group.
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
