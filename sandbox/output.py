"""Collect a command's output in bounded memory: the head, a rolling tail, and
a count of what was dropped in between."""

from __future__ import annotations

import math


class CappedOutput:
    def __init__(self, limit: int) -> None:
        self._head_limit = limit // 2
        self._tail_limit = limit - self._head_limit
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self._tail += chunk
        # Trim in batches: amortised O(1) per byte even for a flood of output.
        if len(self._tail) > 2 * self._tail_limit:
            del self._tail[: len(self._tail) - self._tail_limit]

    def _parts(self) -> tuple[bytes, bytes, int]:
        head = bytes(self._head)
        tail = bytes(self._tail[-self._tail_limit :]) if self._tail_limit else b""
        if self.total == len(head) + len(tail):
            return head, tail, 0
        # Cut at line boundaries when one is near, so neither side ends mid-line.
        cut = head.rfind(b"\n", len(head) // 2)
        head = head[: cut + 1] if cut >= 0 else head
        start = tail.find(b"\n", 0, len(tail) // 2)
        tail = tail[start + 1 :] if start >= 0 else tail
        return head, tail, self.total - len(head) - len(tail)

    @property
    def elided(self) -> int:
        return self._parts()[2]

    def text(self) -> str:
        head, tail, dropped = self._parts()
        if not dropped:
            return (head + tail).decode(errors="replace")
        marker = f"[... {human_size(dropped)} elided ...]"
        return f"{head.decode(errors='replace').rstrip(chr(10))}\n{marker}\n{tail.decode(errors='replace')}"


def human_size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    exponent = min(int(math.log(count, 1024)), 3)
    return f"{count / 1024**exponent:.1f} {('KB', 'MB', 'GB')[exponent - 1]}"
