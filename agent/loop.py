"""The plan -> act -> observe loop.

`Agent.run(prompt)` sends the conversation to the model, executes every tool
call it makes, feeds the results back, and when the model stops calling tools
runs the verification gate (agent.gate: the project's tests). What the gate
has to say goes back to the model as a new observation; the gate may also end
the turn (stuck, tests that cannot run). Limits are exceptions that carry
their own message. The loop emits events and knows nothing about terminals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from agent import pricing
from agent.events import (
    Compacted,
    Event,
    ModelRequested,
    ModelResponded,
    Notice,
    Outcome,
    TextDelta,
    ReasoningDelta,
    ToolFinished,
    ToolStarted,
    TurnFinished,
    TurnStarted,
)
from agent.messages import Message, ModelReply, ToolCall, Usage
from agent.model import ModelClient, ModelError
from agent.verification import NOT_REACHED, Verification
from tools.registry import Registry, ToolContext, ToolResult

if TYPE_CHECKING:
    from agent.gate import Gate

INTERRUPTED_NOTE = "[The user interrupted this turn.]"


@dataclass
class Limits:
    max_steps: int = 50
    max_tokens: int | None = None  # input + output tokens over the whole session
    max_cost: float | None = None  # USD; only enforceable for priced models
    tool_output_tokens: int = 6000  # cap of one tool result as the model sees it
    context_window: int = 256_000
    compact_at: float = 0.8  # fraction of the window that triggers compaction


class LimitReached(Exception):
    """A budget ran out; the message says which and by how much."""


@dataclass
class Agent:
    client: ModelClient
    registry: Registry
    ctx: ToolContext
    instructions: str
    emit: Callable[[Event], None]
    limits: Limits = field(default_factory=Limits)
    # Runs the project's tests; None: no gate, and `unverified` says why.
    gate: "Gate | None" = None
    unverified: str = "no test command"
    # Called after every model reply, before its tool calls run or the gate
    # checks: the session waits there for the working copy, which is still
    # being made while the first request goes out.
    tools_ready: Callable[[], None] = lambda: None
    history: list[Message] = field(default_factory=list)
    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    cost: float | None = 0.0
    verification: Verification = field(default_factory=lambda: Verification.unverified(NOT_REACHED))
    _context_tokens: int = 0
    _pending_chars: int = 0

    def run(self, prompt: str) -> Outcome:
        """One user turn, to completion or until a limit stops it."""
        self.emit(TurnStarted(prompt))
        self.history.append(Message(role="user", content=prompt))
        self.verification = Verification.unverified(NOT_REACHED)
        if self.gate is not None:
            self.gate.new_turn()
        try:
            while True:
                reply = self.step()
                if reply.message.tool_calls:
                    continue
                if self.gate is None:
                    self.verification = Verification.unverified(self.unverified)
                    return self.finish("done", "finished", reply.message.content)
                check = self.gate.check(self.emit)
                self.verification = check.verification
                if check.stop:
                    return self.finish(check.stop, check.message, reply.message.content)
                if not check.feedback:
                    return self.finish("done", "finished", reply.message.content)
                feedback = self.filter_output(check.feedback)
                self.history.append(Message(role="user", content=feedback))
                self._pending_chars += len(feedback)
        except LimitReached as exc:
            return self.finish("budget", str(exc))
        except ModelError as exc:
            return self.finish("error", f"model error: {exc}")
        except KeyboardInterrupt:
            self.record_interruption()
            return self.finish("cancelled", "cancelled by the user")

    def step(self) -> ModelReply:
        """One model request and the execution of every tool call it makes."""
        self.check_limits()
        self.maybe_compact()
        self.steps += 1
        try:
            reply = self.query()
        except ModelError as exc:
            # Our estimate of the context was short of the provider's count.
            if exc.code != "context_length_exceeded":
                raise
            self.compact()
            reply = self.query()
        self.history.append(reply.message)
        self.account(reply)
        for note in reply.notices:
            self.emit(Notice(note))
        self.tools_ready()
        for call in reply.message.tool_calls:
            self.execute(call)
        return reply

    def query(self) -> ModelReply:
        self.emit(ModelRequested(self.steps, self.context_tokens()))
        return self.client.complete(
            self.instructions,
            self.history,
            self.registry,
            on_text=lambda t: self.emit(TextDelta(t)),
            on_reasoning=lambda t: self.emit(ReasoningDelta(t)),
        )

    def filter_output(self, text: str) -> str:
        """What the model may see of a tool's output: secrets masked, then
        capped in tokens with head and tail kept."""
        from agent.tokens import cap_tokens
        from sandbox.secrets import mask_secrets

        return cap_tokens(mask_secrets(text), self.limits.tool_output_tokens, self.client.model)

    def execute(self, call: ToolCall) -> None:
        self.emit(ToolStarted(call.id, call.name, call.arguments))
        result = ToolResult.error(call.refusal) if call.refusal else self.registry.call(call.name, call.arguments, self.ctx)
        output = self.filter_output(result.output)
        self.history.append(Message(role="tool", content=output, tool_call_id=call.id))
        self._pending_chars += len(output)
        self.emit(ToolFinished(call.id, call.name, call.arguments, result.ok, output, result.data))

    def account(self, reply: ModelReply) -> None:
        self.usage = self.usage + reply.usage
        step_cost = pricing.cost(reply.model or self.client.model, reply.usage)
        self.cost = None if step_cost is None or self.cost is None else self.cost + step_cost
        self._context_tokens = reply.usage.input_tokens + reply.usage.output_tokens
        self._pending_chars = 0
        self.emit(ModelResponded(self.steps, reply, step_cost))

    def check_limits(self) -> None:
        lim = self.limits
        if self.steps >= lim.max_steps:
            raise LimitReached(f"step budget reached: {self.steps} of --max-steps {lim.max_steps}")
        spent = self.usage.input_tokens + self.usage.output_tokens
        if lim.max_tokens is not None and spent >= lim.max_tokens:
            raise LimitReached(f"token budget reached: {spent:,} of --max-tokens {lim.max_tokens:,}")
        if lim.max_cost is not None and self.cost is not None and self.cost >= lim.max_cost:
            raise LimitReached(f"cost budget reached: ${self.cost:.4f} of --max-cost ${lim.max_cost:.2f}")

    def maybe_compact(self) -> None:
        if self.context_tokens() >= self.limits.context_window * self.limits.compact_at:
            self.compact()

    def compact(self) -> None:
        """Replace older turns with a model-written summary (also on demand: /compact)."""
        from agent import compaction

        before = self.context_tokens()
        try:
            self.history, summary = compaction.compact(
                self.client, self.instructions, self.history, window=self.limits.context_window)
        except ModelError as exc:
            self.emit(Notice(f"compaction failed, continuing with the full history: {exc}"))
            return
        if not summary:  # nothing old enough to fold away
            return
        self._context_tokens = compaction.history_tokens(self.instructions, self.history, self.client.model)
        self._pending_chars = 0
        self.emit(Compacted(before, self._context_tokens, summary))

    def context_tokens(self) -> int:
        """What the next request will hold: the provider's count for the last
        request plus an estimate for what was added since. Estimates (4
        characters a token) keep the tokenizer off the hot path; a provider
        that finds the context too long anyway triggers compaction in step()."""
        if not self._context_tokens:
            chars = len(self.instructions) + sum(
                len(m.content) + sum(len(c.arguments) for c in m.tool_calls) for m in self.history
            )
            return chars // 4
        return self._context_tokens + self._pending_chars // 4

    def clear_history(self) -> None:
        self.history.clear()
        self._context_tokens = self._pending_chars = 0

    def record_interruption(self) -> None:
        self.repair_history()
        self.history.append(Message(role="user", content=INTERRUPTED_NOTE))

    def repair_history(self) -> None:
        """Answer tool calls left without a result (an interrupted or killed
        step), so the history stays valid for every provider."""
        answered = {m.tool_call_id for m in self.history if m.role == "tool"}
        for message in reversed(self.history):
            if message.role == "assistant":
                for call in message.tool_calls:
                    if call.id not in answered:
                        self.history.append(Message(role="tool", content="Cancelled by the user.", tool_call_id=call.id))
                break

    def finish(self, reason: str, message: str, final_text: str = "") -> Outcome:
        outcome = Outcome(reason, message, self.steps, self.usage, self.cost, final_text, self.verification)
        self.emit(TurnFinished(outcome))
        return outcome
