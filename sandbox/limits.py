"""Resource limits for a command, applied in the child between fork and exec.

They back up the timeout: a memory hog fails with MemoryError instead of
dragging the machine into swap, a fork bomb runs out of process slots, a
runaway writer can't fill the disk with one file, and a busy loop orphaned
by a crashed agent still dies of its CPU limit. (The kernel never applies
RLIMIT_NPROC to root; there a fork bomb is stopped by the timeout, and under
bubblewrap by the PID namespace dying with it.) The child also gets
SIGKILL when the agent dies (PR_SET_PDEATHSIG), so nothing outlives it.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import os
import resource
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

GiB = 1 << 30
_PR_SET_DUMPABLE = 4
_PR_SET_PDEATHSIG = 1


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 8 * GiB


def libc_prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


def protect_own_environment() -> None:
    """Keep this process's environment (holding API keys) from commands that
    share its PID namespace. Non-dumpable: /proc/<pid>/environ is closed to
    other unprivileged processes of the user (exec resets the flag for
    children). That does not stop root, so the block that file shows is
    wiped as well."""
    prctl = libc_prctl()
    if prctl is not None:
        prctl(_PR_SET_DUMPABLE, 0)
    _wipe_initial_environment()


def _wipe_initial_environment() -> None:
    """/proc/<pid>/environ shows the memory the kernel put the environment
    in at exec, whatever the process changed since. Every variable is copied
    to the heap first (setenv copies), so the process and its children keep
    them all; then that memory is zeroed."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (fields 50, 51 of proc(5))
        libc = ctypes.CDLL(None)
        environ = ctypes.POINTER(ctypes.c_void_p).in_dll(libc, "environ")
    except (OSError, ValueError, IndexError):  # not Linux, or a kernel older than 3.5
        return

    def pointers() -> list[int]:
        return list(itertools.takewhile(bool, (environ[i] for i in itertools.count())))

    for address in pointers():
        if start <= address < end:
            name, _, value = ctypes.string_at(address).partition(b"=")
            if name:
                os.putenv(name, value)
    if all(not start <= address < end for address in pointers()):  # nothing points into the block any more
        ctypes.memset(start, 0, end - start)


@dataclass(frozen=True)
class Limits:
    # Virtual memory; counts reservations, so never below a few GiB (JVMs and
    # V8 reserve large ranges they don't use).
    address_space: int | None = field(default_factory=lambda: max(4 * GiB, _physical_memory()))
    file_size: int | None = 4 * GiB
    # Processes beyond those the user already runs (the kernel counts them all).
    processes: int | None = 1024
    # CPU seconds beyond timeout × cores: never reached while the timeout
    # works, it only stops a process that outlived a crashed agent.
    cpu_grace: int = 60

    def preexec(self, timeout: float) -> Callable[[], None]:
        """A function for Popen(preexec_fn=...). Everything is computed here,
        in the parent: the child only makes system calls."""
        wanted = [(resource.RLIMIT_CPU, math.ceil(timeout * (os.cpu_count() or 1)) + self.cpu_grace)]
        if self.address_space:
            wanted.append((resource.RLIMIT_AS, self.address_space))
        if self.file_size:
            wanted.append((resource.RLIMIT_FSIZE, self.file_size))
        if self.processes:
            wanted.append((resource.RLIMIT_NPROC, _user_tasks() + self.processes))
        settings = [(res, _clamp(res, value)) for res, value in wanted]
        prctl = libc_prctl()

        def apply() -> None:
            for res, value in settings:
                resource.setrlimit(res, (value, value))
            if prctl is not None:
                prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

        return apply


def _clamp(res: int, value: int) -> int:
    """Not above the current hard limit, which an unprivileged process can't raise."""
    hard = resource.getrlimit(res)[1]
    return value if hard == resource.RLIM_INFINITY else min(value, hard)


def _user_tasks() -> int:
    """Processes and threads of this user, as RLIMIT_NPROC counts them."""
    uid, count = os.getuid(), 0
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return 0
    for pid in pids:
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue  # exited meanwhile
    return count
