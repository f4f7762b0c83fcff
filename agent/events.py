"""Typed events the loop emits. Renderers (terminal, JSON lines, trajectory)
subscribe; the loop itself knows nothing about how they are shown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from agent.messages import ModelReply, Usage
from agent.verification import NOT_REACHED, Verification


@dataclass
class Event:
    pass


@dataclass
class RunStarted(Event):
    run_id: str
    model: str
    workspace: str
    isolation: str
    tests: str = ""  # the test command and where it came from: "npm test (from package.json)"


@dataclass
class TurnStarted(Event):
    prompt: str


@dataclass
class TextDelta(Event):
    text: str


@dataclass
class ReasoningDelta(Event):
    text: str


@dataclass
class ModelRequested(Event):
    step: int
    context_tokens: int


@dataclass
class ModelResponded(Event):
    step: int
    reply: ModelReply
    cost: float | None  # None: the model's price is unknown


@dataclass
class Retrying(Event):
    attempt: int
    delay: float
    reason: str


@dataclass
class ToolStarted(Event):
    call_id: str
    name: str
    arguments: str


@dataclass
class ToolFinished(Event):
    call_id: str
    name: str
    arguments: str
    ok: bool
    output: str  # what the model gets (capped, secrets masked)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class TestsRan(Event):
    """The verification gate ran the test command."""

    ok: bool
    summary: str
    counts: dict[str, Any] = field(default_factory=dict)
    scope: str = ""  # "related tests", "whole suite"


@dataclass
class Compacted(Event):
    tokens_before: int
    tokens_after: int
    summary: str


@dataclass
class Notice(Event):
    message: str


@dataclass
class Outcome:
    """How a turn ended."""

    reason: str  # done | budget | cancelled | error | stuck
    message: str
    steps: int
    usage: Usage
    cost: float | None
    final_text: str = ""
    verification: Verification = field(default_factory=lambda: Verification.unverified(NOT_REACHED))

    @property
    def ok(self) -> bool:
        return self.reason == "done"

    @property
    def tests_ok(self) -> bool | None:
        """None: the tests did not run."""
        return self.verification.ok


@dataclass
class TurnFinished(Event):
    outcome: Outcome


Listener = Callable[[Event], None]


class EventBus:
    """Fan an event out to every listener, in subscription order."""

    def __init__(self, *listeners: Listener) -> None:
        self.listeners: list[Listener] = list(listeners)

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def __call__(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)
