"""The provider-neutral conversation: what the loop keeps, whatever the wire format.

Model clients convert these to Responses or Chat Completions items at the edge;
trajectories store them as plain dicts (`to_dict` / `from_dict`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant", "tool"]


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text as the model sent it (repaired only where unambiguous: agent.tool_text)
    # Why the call must not run (e.g. the reply was cut mid-call); the loop
    # answers it with this as an error instead of executing it.
    refusal: str = ""


@dataclass
class Message:
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None  # for role == "tool"
    # Opaque provider items kept so a provider that wants them back (e.g. the
    # Responses API's reasoning items) gets them verbatim on the next request.
    provider_items: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Message":
        calls = [ToolCall(**c) for c in d.get("tool_calls", [])]
        return cls(
            role=d["role"],
            content=d.get("content", ""),
            tool_calls=calls,
            tool_call_id=d.get("tool_call_id"),
            provider_items=list(d.get("provider_items", [])),
        )


@dataclass
class Usage:
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    estimated: bool = False  # the server sent no usage: counted here with the tokenizer

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cached_input_tokens + other.cached_input_tokens,
            self.output_tokens + other.output_tokens,
            self.estimated or other.estimated,
        )


@dataclass
class ModelReply:
    """One model response, already parsed into the neutral form."""

    message: Message  # role == "assistant"
    usage: Usage = field(default_factory=Usage)
    reasoning: str = ""  # reasoning summary text, when the provider gives one
    model: str = ""
    # The response as the provider sent it (assembled from the stream), kept
    # verbatim in the trajectory.
    raw: dict[str, Any] | None = None
    # What the client repaired or worked around in this reply, for the transcript.
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message.to_dict(),
            "usage": asdict(self.usage),
            "reasoning": self.reasoning,
            "model": self.model,
            "raw": self.raw,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelReply":
        return cls(
            message=Message.from_dict(d["message"]),
            usage=Usage(**d.get("usage", {})),
            reasoning=d.get("reasoning", ""),
            model=d.get("model", ""),
            raw=d.get("raw"),
        )
