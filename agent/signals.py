"""SIGTERM and SIGHUP (a closed terminal, a CI timeout, `kill`) stop a run the
way Ctrl-C does: the loop ends the turn, the working copy is kept and the user
is told where, instead of the process dying with the run half-recorded."""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Termination:
    """While active (main thread only), those signals raise KeyboardInterrupt;
    `received` names the one that did."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "Termination":
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in _SIGNALS}
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = signal.Signals(signum).name
        raise KeyboardInterrupt
