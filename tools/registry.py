"""The tool registry: every tool is a name, a JSON schema and a handler.

Handlers take `(args, ctx)` and return a `ToolResult`. They never raise into
the loop: `Registry.call` turns bad JSON, unknown tools, missing or mistyped
arguments and handler exceptions into error results the model can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from sandbox.approval import ApprovalPolicy
    from sandbox.runner import Runner


@dataclass
class ToolResult:
    """What a tool hands back: text for the model, plus facts for renderers."""

    output: str
    ok: bool = True
    # Structured facts for events and renderers (never sent to the model):
    # e.g. {"changes": [{"path": "a.py", "kind": "update"}]}, {"exit_code": 1},
    # {"tests": {"passed": 3, "failed": 1, ...}}.
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def error(cls, message: str, **data: Any) -> "ToolResult":
        return cls(output=f"Error: {message}", ok=False, data=data)


@dataclass
class ToolContext:
    """Everything a handler may touch: the working copy and how to run in it."""

    root: Path
    runner: "Runner | None" = None
    approval: "ApprovalPolicy | None" = None
    test_cmd: str | None = None
    # More test commands the project declares (a JS frontend's beside a Python
    # backend's): a run of the whole suite runs each after test_cmd.
    more_test_cmds: tuple[str, ...] = ()
    command_timeout: float = 120.0
    # Globs of sensitive files the user allowed the model to read (e.g. ".env").
    secret_allow: list[str] = field(default_factory=list)


Handler = Callable[[dict[str, Any], ToolContext], ToolResult]


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object
    handler: Handler
    # A tool that changes files or runs commands; refused in read-only mode.
    mutates: bool = False
    # Facts the rest of the program reads, instead of each part keeping its
    # own table of tool names (a new command-running tool listed in one table
    # but not another would be shown as a command yet never deny-listed):
    # the argument holding a command line it runs (approval checks it against
    # the deny-list, renderers show a command),
    command_arg: str | None = None
    # whether it runs the project's code whatever that line says (never in read-only mode),
    runs_project_code: bool = False
    # whether it writes files in the working copy (renderers show a file change),
    edits_files: bool = False
    # and the argument that names what a call is about, for one-line displays.
    subject_arg: str = "path"


class Registry:
    def __init__(self, tools: list[Tool] | None = None) -> None:
        self._tools: dict[str, Tool] = {}
        for tool in tools or []:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        self._tools[tool.name] = tool

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def subset(self, names: list[str]) -> "Registry":
        return Registry([self._tools[n] for n in names if n in self._tools])

    def read_only(self) -> "Registry":
        """The tools that only read: they change no file and run no command line."""
        return Registry([t for t in self._tools.values() if not t.mutates and t.command_arg is None])

    def chat_schemas(self) -> list[dict[str, Any]]:
        """Tool definitions in the Chat Completions wire format."""
        return [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
            }
            for t in self._tools.values()
        ]

    def responses_schemas(self) -> list[dict[str, Any]]:
        """Tool definitions in the Responses API wire format (flat, no nesting)."""
        return [
            {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
            for t in self._tools.values()
        ]

    def call(self, name: str, raw_arguments: str, ctx: ToolContext) -> ToolResult:
        """Run one tool call from the model. Never raises."""
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult.error(f"unknown tool {name!r}. Available tools: {', '.join(self._tools)}.")
        try:
            args = json.loads(raw_arguments) if raw_arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return ToolResult.error(
                f"the arguments for {name} are not valid JSON ({exc.msg} at char {exc.pos}). "
                "Send a single JSON object."
            )
        if not isinstance(args, dict):
            return ToolResult.error(f"the arguments for {name} must be a JSON object, got {type(args).__name__}.")
        problem = _check_arguments(tool.parameters, args)
        if problem:
            return ToolResult.error(f"{name}: {problem}")
        if ctx.approval is not None:
            refusal = ctx.approval.check_tool(tool, args)
            if refusal:
                return ToolResult.error(refusal, refused=True)
        try:
            return tool.handler(args, ctx)
        except Exception as exc:  # a tool bug must not end the run
            return ToolResult.error(f"{name} failed: {type(exc).__name__}: {exc}")


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _check_arguments(schema: dict[str, Any], args: dict[str, Any]) -> str | None:
    """A small check of required names and top-level types: enough to give the
    model a precise message instead of a handler's KeyError. Quoted integers
    are converted in place."""
    props = schema.get("properties", {})
    missing = [k for k in schema.get("required", []) if args.get(k) is None]
    if missing:
        return f"missing required argument(s): {', '.join(missing)}."
    for key, value in list(args.items()):
        expected = props.get(key, {}).get("type")
        if expected is None or value is None:
            continue
        # Local models often quote numbers ("start_line": "10"); take them.
        if expected == "integer" and isinstance(value, str) and value.strip().lstrip("-").isdigit():
            args[key] = value = int(value)
        types = _JSON_TYPES.get(expected, (object,))
        # bool is an int in Python; a model sending true for a line number is wrong.
        if isinstance(value, bool) and expected in ("integer", "number"):
            return f"argument {key!r} must be {expected}, got boolean."
        if not isinstance(value, types):
            return f"argument {key!r} must be {expected}, got {type(value).__name__}."
    return None
