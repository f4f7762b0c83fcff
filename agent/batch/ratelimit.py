"""One rate limit for the model API across every worker of a batch.

`TokenBucket` is plain state behind a lock: requests per minute, tokens per
minute, and a pause everyone honours after a 429 with Retry-After. It lives
in one place — a multiprocessing manager's process for local workers, a Ray
actor on a cluster — and workers reach it through a proxy. `ThrottledClient`
wraps a worker's model client: it waits for its turn before each request and
charges the tokens the reply used afterwards.

Both buckets may go into debt: a request takes its slot (or its tokens) at
once and is told how long to wait for it, so waiting workers are served in
order and never spin on the lock.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Protocol

from agent.messages import Message, ModelReply

BURST_SECONDS = 10.0  # how much unused rate may be saved up for a burst


class Limiter(Protocol):
    def reserve(self) -> float: ...

    def spend(self, tokens: int) -> None: ...

    def pause(self, seconds: float) -> None: ...


class TokenBucket:
    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        *,
        burst_seconds: float = BURST_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._rates = {"requests": (rpm or 0) / 60.0, "tokens": (tpm or 0) / 60.0}
        self._capacity = {
            "requests": max(1.0, self._rates["requests"] * burst_seconds),
            "tokens": self._rates["tokens"] * burst_seconds,
        }
        self._levels = dict(self._capacity)
        self._updated = clock()
        self._paused_until = 0.0

    def reserve(self) -> float:
        """Take a request slot; the seconds to wait before sending it."""
        with self._lock:
            now = self._refill()
            wait = max(0.0, self._paused_until - now)
            if self._rates["requests"]:
                self._levels["requests"] -= 1
                wait = max(wait, self._debt("requests"))
            if self._rates["tokens"]:
                wait = max(wait, self._debt("tokens"))
            return wait

    def spend(self, tokens: int) -> None:
        """Charge the tokens a reply used (known only once it came back)."""
        with self._lock:
            self._refill()
            if self._rates["tokens"]:
                self._levels["tokens"] -= tokens

    def pause(self, seconds: float) -> None:
        """The server said to wait (429 Retry-After): nobody sends before then."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _refill(self) -> float:
        now = self._clock()
        elapsed = now - self._updated
        self._updated = now
        for kind, rate in self._rates.items():
            self._levels[kind] = min(self._capacity[kind], self._levels[kind] + rate * elapsed)
        return now

    def _debt(self, kind: str) -> float:
        level = self._levels[kind]
        return -level / self._rates[kind] if level < 0 else 0.0


class ThrottledClient:
    """A model client that asks the shared limiter before every request."""

    def __init__(self, inner: Any, limiter: Limiter, sleep: Callable[[float], None] = time.sleep) -> None:
        self.inner = inner
        self.limiter = limiter
        self.sleep = sleep

    @property
    def model(self) -> str:
        return self.inner.model

    def complete(
        self,
        instructions: str,
        history: list[Message],
        tools: Any,
        on_text: Callable[[str], None] | None = None,
        on_reasoning: Callable[[str], None] | None = None,
    ) -> ModelReply:
        wait = self.limiter.reserve()
        if wait > 0:
            self.sleep(wait)
        reply = self.inner.complete(instructions, history, tools, on_text, on_reasoning)
        self.limiter.spend(reply.usage.input_tokens + reply.usage.output_tokens)
        return reply


def pause_on_rate_limit(limiter: Limiter) -> Callable[[int, float, str], None]:
    """A model client's retry hook that makes every worker wait out a 429,
    not only the one that met it. The client reports a 429 as "rate limited…"
    (agent.model) and its delay is the server's Retry-After when it sent one."""

    def on_retry(_attempt: int, delay: float, reason: str) -> None:
        if reason.startswith("rate limited"):
            limiter.pause(delay)

    return on_retry
