"""A fake OpenAI server on loopback that plays a scripted conversation.

It speaks both wire formats the official `openai` package uses -- Chat
Completions (`POST /v1/chat/completions`) and Responses (`POST /v1/responses`),
each as plain JSON or as a server-sent-event stream -- plus `GET /v1/models`.
Each model request consumes the next *turn* of the script:

    with FakeOpenAI([call("read_file", {"path": "a.py"}), text("Done.")]) as server:
        run_agent(base_url=server.base_url)
        assert "a.py" in str(server.requests[1])

A turn is a plain dict made by the helpers below (`text`, `call`, `reply`,
`error`, `cut`, `raw`), or a callable that receives the request body and returns one.
When the script runs out the server answers 500 with "fake server: script
exhausted" and `x-should-retry: false`, so a runaway loop fails at once.

Run by hand: `python -m tests.fake_openai script.json --port 8000` where the
file holds a JSON list of turns in the same dict shape.
"""

from __future__ import annotations

import argparse
import itertools
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Turn = dict[str, Any]
ScriptItem = Turn | Callable[[dict[str, Any]], Turn]

EXHAUSTED = "fake server: script exhausted"
INFO_PATHS = ("/props", "/api/version", "/api/ps", "/api/show")


# --------------------------------------------------------------------------- turns


def reply(
    text: str = "",
    calls: Sequence[Turn] = (),
    usage: dict[str, int] | None = None,
    *,
    reasoning: str = "",
    delay: float = 0.0,
) -> Turn:
    """One model response: text and/or several tool calls.

    `calls` are turns made by `call()` (their calls are merged). `usage` uses
    the neutral names `input_tokens`, `cached_input_tokens`, `output_tokens`;
    missing ones are estimated (characters / 4). `reasoning` becomes a
    reasoning summary (Responses: a reasoning item with encrypted content;
    Chat: `reasoning_content`, as Ollama / vLLM send it). `delay` seconds
    pass before the server answers.
    """
    merged = [c for turn in calls for c in turn["calls"]]
    return {"text": text, "calls": merged, "usage": usage, "reasoning": reasoning, "delay": delay}


def text(content: str) -> Turn:
    """A plain text answer with no tool call (ends the model's turn)."""
    return reply(content)


def call(name: str, arguments: dict[str, Any] | str, *, id: str | None = None) -> Turn:
    """A response with one tool call. `arguments` as a str is sent verbatim
    (so malformed JSON can be scripted). Also usable inside `reply(calls=[...])`.
    Without `id` the server assigns `call_1`, `call_2`, ..."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {**reply(), "calls": [{"id": id, "name": name, "arguments": args}]}


def error(status: int, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Turn:
    """An HTTP error answer, e.g. `error(429, headers={"Retry-After": "0.2"})`."""
    if body is None:
        body = {"error": {"message": f"fake server: HTTP {status}", "type": "fake_error", "code": None, "param": None}}
    return {"error": status, "body": body, "headers": headers or {}}


def raw(body: str, content_type: str = "text/html", status: int = 200) -> Turn:
    """An answer that is not the API at all, sent as is: what a web page or
    another service at a wrong base URL sends."""
    return {"raw": body, "content_type": content_type, "status": status}


def cut(text: str = "partial answer ") -> Turn:
    """A response whose connection drops mid-way: a stream sends a few events
    and closes without finishing; a plain response sends half its body."""
    return {**reply(text), "cut": True}


# --------------------------------------------------------------------------- quirks of real servers
#
# What Ollama, vLLM, llama.cpp and friends really send, one helper per quirk.
# Quirk keys on a turn (Chat wire unless noted): "finish" (the finish_reason
# sent, e.g. "length"; Responses: "length" makes the response "incomplete"),
# "index_restart" (every parallel call streamed at index 0, each with its own
# id, as vLLM and lmdeploy do), "empty_choices"
# (`choices: []`), "no_finish" (a stream that ends with [DONE] and no
# finish_reason), "no_usage" (no usage at all), "stream_error" (an error
# object sent inside a 200 stream after the first chunks; both wires).


def quirk(turn: Turn, **quirks: Any) -> Turn:
    """`turn` with quirk keys, e.g. `quirk(call("edit_file", {...}), finish="length")`."""
    return {**turn, **quirks}


def hermes_call(name: str, arguments: dict[str, Any], before: str = "") -> Turn:
    """A tool call written as text in Hermes / Qwen style."""
    body = json.dumps({"name": name, "arguments": arguments})
    return text(f"{before}<tool_call>\n{body}\n</tool_call>")


def fenced_call(name: str, arguments: dict[str, Any], key: str = "arguments") -> Turn:
    """A tool call written as a ```json block (ollama/ollama#11185)."""
    return text("```json\n" + json.dumps({"name": name, key: arguments}, indent=2) + "\n```")


def fenced_arguments(name: str, arguments: dict[str, Any]) -> Turn:
    """A real tool call whose arguments string is wrapped in ```json fences."""
    return call(name, "```json\n" + json.dumps(arguments) + "\n```")


def output(*parts: Turn) -> Turn:
    """A Responses turn whose output items come in exactly this order, each
    part a turn: `reply(reasoning=...)` a reasoning item, `text()` a message,
    `call(..., id=...)` a function call (ids must be given)."""
    calls = [c for part in parts for c in part.get("calls", [])]
    return {**reply(), "calls": calls, "output": list(parts)}


def vllm_overflow(limit: int = 4096) -> Turn:
    """vLLM's answer to a conversation longer than max_model_len (top-level error object)."""
    message = (f"This model's maximum context length is {limit} tokens. However, you requested {limit + 1024} "
               f"tokens ({limit} in the messages, 1024 in the completion). Please reduce the length of the "
               "messages or completion.")
    return error(400, {"object": "error", "message": message, "type": "BadRequestError", "param": None, "code": 400})


def llamacpp_overflow(n_ctx: int = 4096) -> Turn:
    """llama-server's answer to a prompt longer than its context (-c)."""
    return error(400, {"error": {"code": 400, "message": "the request exceeds the available context size, try "
                                 "increasing it", "type": "exceed_context_size_error",
                                 "n_prompt_tokens": n_ctx + 500, "n_ctx": n_ctx}})


def first_user_text(request: dict[str, Any]) -> str:
    """The text of the first user message of a chat or responses request."""
    items = request.get("messages") or request.get("input") or []
    if isinstance(items, str):
        return items
    for item in items:
        if item.get("role") == "user":
            content = item.get("content", "")
            if isinstance(content, list):  # content parts
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return content or ""
    return ""


def _longest_key_in_first_user_message(keys: list[str]) -> Callable[[dict[str, Any]], str]:
    def key(request: dict[str, Any]) -> str:
        first = first_user_text(request)
        found = [k for k in keys if k in first]
        return max(found, key=len) if found else ""

    return key


# --------------------------------------------------------------------------- server


class FakeOpenAI:
    """A scripted OpenAI server on 127.0.0.1 (ephemeral port), in a thread.

    `script` is a list of turns, or a dict of lists keyed by conversation; then
    `key(request) -> str` picks the list (default: the longest script key that
    appears in the request's first user message -- e.g. a batch task id).

    `requests` records every request body received, in order, with the path
    under "_path" and the headers (names lower-cased) under "_headers".
    """

    def __init__(
        self,
        script: list[ScriptItem] | dict[str, list[ScriptItem]] | None = None,
        *,
        key: Callable[[dict[str, Any]], str] | None = None,
        models: list[str | dict[str, Any]] | None = None,
        port: int = 0,
        server_info: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(script, dict):
            self._scripts = {k: list(v) for k, v in script.items()}
            self._key = key or _longest_key_in_first_user_message(list(script))
        else:
            self._scripts = {"": list(script or [])}
            self._key = key or (lambda _request: "")
        self.models = models or ["fake-model"]
        # What the server tells about itself beyond the OpenAI API, by path:
        # llama.cpp's "/props", Ollama's "/api/version", "/api/ps", "/api/show".
        # Unset ones answer 404 without counting as a problem (clients probe them).
        self.server_info = server_info or {}
        self.requests: list[dict[str, Any]] = []
        # Problems the server met (exhausted script, unknown key or path,
        # a callable turn that raised): a test can assert this stays empty.
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._call_ids = itertools.count(1)
        self._port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    @property
    def base_url(self) -> str:
        assert self._port, "FakeOpenAI is not started"
        return f"http://127.0.0.1:{self._port}/v1"

    def start(self) -> "FakeOpenAI":
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", self._port), handler)
        self._port = self._httpd.server_address[1]  # the same URL stays valid after stop()
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- script

    def add(self, *turns: ScriptItem, key: str = "") -> None:
        """Append turns to the script (to the list of `key` for a keyed script)."""
        with self._lock:
            self._scripts.setdefault(key, []).extend(turns)

    def remaining(self, key: str = "") -> int:
        with self._lock:
            return len(self._scripts.get(key, []))

    @property
    def model_requests(self) -> list[dict[str, Any]]:
        """The recorded chat / responses requests (without /models and strays)."""
        return [r for r in self.requests if r["_path"] in ("/v1/chat/completions", "/v1/responses")]

    def _record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        entry = {**body, "_path": path, "_headers": headers}
        with self._lock:
            self.requests.append(entry)
        return entry

    def _next_turn(self, request: dict[str, Any]) -> Turn:
        try:
            name = self._key(request)
        except Exception as exc:  # a broken key function must show, not hang
            return self._problem(f"fake server: key function failed: {exc!r}")
        with self._lock:
            queue = self._scripts.get(name)
            item = queue.pop(0) if queue else None
        if item is None:
            what = EXHAUSTED if queue is not None else f"fake server: no script for key {name!r}"
            return self._problem(what if not name else f"{what} (key {name!r})")
        if callable(item):
            try:
                item = item(request)
            except Exception as exc:
                return self._problem(f"fake server: scripted callable failed: {exc!r}")
        return item

    def _problem(self, message: str) -> Turn:
        with self._lock:
            self.errors.append(message)
        body = {"error": {"message": message, "type": "fake_server_error", "code": None, "param": None}}
        return error(500, body, {"x-should-retry": "false"})

    def _call_id(self) -> str:
        return f"call_{next(self._call_ids)}"

    def _item_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (timeout, Ctrl-C, a test that is done) is normal here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like the real API

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def do_GET(self) -> None:
        self.fake._record(self.path, self._headers(), {})
        if self.path.rstrip("/") == "/v1/models":
            data = [{"object": "model", "created": 0, "owned_by": "fake", **(m if isinstance(m, dict) else {"id": m})}
                    for m in self.fake.models]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._server_info()

    def _server_info(self) -> None:
        path = self.path.split("?")[0]
        if path in self.fake.server_info:
            self._send_json(200, self.fake.server_info[path])
        elif path in INFO_PATHS:
            self._send_json(404, {"error": "not found"})
        else:
            self._not_found()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        request = self.fake._record(self.path, self._headers(), body)
        wire = {"/v1/chat/completions": "chat", "/v1/responses": "responses"}.get(self.path.split("?")[0])
        if wire is None:
            self._server_info()
            return
        self._answer(wire, request, self.fake._next_turn(request))

    # -- answers

    def _answer(self, wire: str, request: dict[str, Any], turn: Turn) -> None:
        time.sleep(turn.get("delay", 0.0))
        if "error" in turn:
            self._send_json(turn["error"], turn["body"], turn["headers"])
            return
        if "raw" in turn:
            self._send_bytes(turn["status"], turn["raw"].encode(), turn["content_type"])
            return
        turn = {**reply(), **turn}  # a hand-written dict may leave keys out
        calls = [{**c, "id": c.get("id") or self.fake._call_id()} for c in turn["calls"]]
        turn = {**turn, "calls": calls, "usage": _usage(request, {**turn, "calls": calls})}
        build = _ChatWire(self.fake, request, turn) if wire == "chat" else _ResponsesWire(self.fake, request, turn)
        if not request.get("stream"):
            self._send_json(200, build.body(), cut=turn.get("cut", False))
        else:
            self._send_events(build.events(), cut=turn.get("cut", False))

    def _send_json(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None, *, cut: bool = False
    ) -> None:
        self._send_bytes(status, json.dumps(body).encode(), "application/json", headers, cut=cut)

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None, *, cut: bool = False
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self._drop()
            return
        self.wfile.write(data)

    def _send_events(self, events: Iterator[tuple[str | None, str]], *, cut: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        for i, (event, data) in enumerate(events):
            if cut and i == 3:
                self._drop()
                return
            frame = (f"event: {event}\n" if event else "") + f"data: {data}\n\n"
            self._chunk(frame.encode())
        self._chunk(b"")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _drop(self) -> None:
        """Close the connection abruptly, as a failing proxy or server would."""
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True

    def _not_found(self) -> None:
        message = f"fake server: no route {self.command} {self.path}"
        self.fake.errors.append(message)
        self._send_json(404, {"error": {"message": message, "type": "invalid_request_error"}})


# --------------------------------------------------------------------------- wire formats


def _usage(request: dict[str, Any], turn: Turn) -> dict[str, int]:
    given = turn.get("usage") or {}
    arguments = [a if isinstance(a, str) else json.dumps(a) for a in (c["arguments"] for c in turn["calls"])]
    produced = len(turn["text"]) + sum(len(c["name"]) for c in turn["calls"]) + sum(map(len, arguments))
    return {
        "input_tokens": given.get("input_tokens", max(1, len(json.dumps(request)) // 4)),
        "cached_input_tokens": given.get("cached_input_tokens", 0),
        "output_tokens": given.get("output_tokens", max(1, produced // 4)),
    }


def _words(s: str) -> list[str]:
    """Text deltas: one per word (with its trailing space), like a real stream."""
    pieces, current = [], ""
    for ch in s:
        current += ch
        if ch.isspace():
            pieces.append(current)
            current = ""
    return pieces + ([current] if current else [])


def _thirds(s: Any) -> list[Any]:
    """Tool-call arguments split over several chunks (at least one, even if empty).
    Arguments scripted as an object (as some servers send them) go in one piece."""
    if not isinstance(s, str):
        return [s]
    step = max(1, -(-len(s) // 3))
    return [s[i : i + step] for i in range(0, len(s), step)] or [""]


class _ChatWire:
    def __init__(self, fake: FakeOpenAI, request: dict[str, Any], turn: Turn) -> None:
        self.turn = turn
        self.model = request.get("model", "fake-model")
        self.id = f"chatcmpl-{next(fake._ids)}"
        self.include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        self.finish = turn.get("finish") or ("tool_calls" if turn["calls"] else "stop")
        if turn.get("no_finish"):
            self.finish = None
        self.with_usage = not turn.get("no_usage")

    def _usage(self) -> dict[str, Any]:
        u = self.turn["usage"]
        return {
            "prompt_tokens": u["input_tokens"],
            "completion_tokens": u["output_tokens"],
            "total_tokens": u["input_tokens"] + u["output_tokens"],
            "prompt_tokens_details": {"cached_tokens": u["cached_input_tokens"]},
        }

    def body(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.turn["text"] or None}
        if self.turn["reasoning"]:
            message["reasoning_content"] = self.turn["reasoning"]
        if self.turn["calls"]:
            message["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in self.turn["calls"]
            ]
        choice = {"index": 0, "message": message, "finish_reason": self.finish, "logprobs": None}
        body = {**self._head("chat.completion"), "choices": [] if self.turn.get("empty_choices") else [choice]}
        return {**body, "usage": self._usage()} if self.with_usage else body

    def _head(self, obj: str) -> dict[str, Any]:
        return {"id": self.id, "object": obj, "created": int(time.time()), "model": self.model}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> tuple[None, str]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return None, json.dumps({**self._head("chat.completion.chunk"), "choices": [choice]})

    def events(self) -> Iterator[tuple[str | None, str]]:
        if self.turn.get("empty_choices"):
            yield None, json.dumps({**self._head("chat.completion.chunk"), "choices": [], "usage": self._usage()})
            yield None, "[DONE]"
            return
        yield self._chunk({"role": "assistant", "content": ""})
        if self.turn.get("stream_error"):
            yield None, json.dumps({"error": {"message": self.turn["stream_error"], "type": "BadRequestError",
                                              "code": 400}})
            return
        for piece in _words(self.turn["reasoning"]):
            yield self._chunk({"reasoning_content": piece})
        for piece in _words(self.turn["text"]):
            yield self._chunk({"content": piece})
        for position, c in enumerate(self.turn["calls"]):
            index = 0 if self.turn.get("index_restart") else position
            head = {"index": index, "id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": ""}}
            yield self._chunk({"tool_calls": [head]})
            for piece in _thirds(c["arguments"]):
                yield self._chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield self._chunk({}, self.finish)
        if self.include_usage and self.with_usage:
            yield None, json.dumps({**self._head("chat.completion.chunk"), "choices": [], "usage": self._usage()})
        yield None, "[DONE]"


class _ResponsesWire:
    def __init__(self, fake: FakeOpenAI, request: dict[str, Any], turn: Turn) -> None:
        self.fake = fake
        self.request = request
        self.turn = turn
        self.id = f"resp_{next(fake._ids)}"
        self.created = int(time.time())
        self.cut_short = turn.get("finish") == "length"  # status "incomplete": max_output_tokens
        self.items = self._items()

    def _items(self) -> list[dict[str, Any]]:
        if self.turn.get("output"):
            return [item for part in self.turn["output"] for item in self._items_of({**reply(), **part})]
        return self._items_of(self.turn)

    def _items_of(self, turn: Turn) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if turn["reasoning"]:
            items.append({
                "id": self.fake._item_id("rs"),
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": turn["reasoning"]}],
                "encrypted_content": f"enc:{turn['reasoning']}",
            })
        if turn["text"]:
            items.append({
                "id": self.fake._item_id("msg"),
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": turn["text"], "annotations": [], "logprobs": []}],
            })
        for c in turn["calls"]:
            items.append({
                "id": self.fake._item_id("fc"),
                "type": "function_call",
                "status": "completed",
                "call_id": c["id"],
                "name": c["name"],
                "arguments": c["arguments"],
            })
        return items

    def _usage(self) -> dict[str, Any]:
        u = self.turn["usage"]
        return {
            "input_tokens": u["input_tokens"],
            "input_tokens_details": {"cached_tokens": u["cached_input_tokens"], "cache_write_tokens": 0},
            "output_tokens": u["output_tokens"],
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": u["input_tokens"] + u["output_tokens"],
        }

    def _response(self, done: bool) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "model": self.request.get("model", "fake-model"),
            "status": ("incomplete" if self.cut_short else "completed") if done else "in_progress",
            "output": self.items if done else [],
            "usage": self._usage() if done else None,
            "instructions": self.request.get("instructions"),
            "tools": self.request.get("tools", []),
            "tool_choice": self.request.get("tool_choice", "auto"),
            "parallel_tool_calls": self.request.get("parallel_tool_calls", True),
            "store": self.request.get("store", True),
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if done and self.cut_short else None,
            "metadata": {},
        }

    def body(self) -> dict[str, Any]:
        return self._response(done=True)

    def events(self) -> Iterator[tuple[str, str]]:
        seq = itertools.count()

        def event(kind: str, **fields: Any) -> tuple[str, str]:
            return kind, json.dumps({"type": kind, "sequence_number": next(seq), **fields})

        yield event("response.created", response=self._response(done=False))
        yield event("response.in_progress", response=self._response(done=False))
        if self.turn.get("stream_error"):
            yield event("error", code=None, message=self.turn["stream_error"], param=None)
            return
        for index, item in enumerate(self.items):
            where = {"item_id": item["id"], "output_index": index}
            yield event("response.output_item.added", output_index=index, item=_in_progress(item))
            if item["type"] == "reasoning":
                summary = item["summary"][0]["text"]
                part = {"type": "summary_text", "text": ""}
                yield event("response.reasoning_summary_part.added", **where, summary_index=0, part=part)
                for piece in _words(summary):
                    yield event("response.reasoning_summary_text.delta", **where, summary_index=0, delta=piece)
                yield event("response.reasoning_summary_text.done", **where, summary_index=0, text=summary)
                part = {"type": "summary_text", "text": summary}
                yield event("response.reasoning_summary_part.done", **where, summary_index=0, part=part)
            elif item["type"] == "message":
                full = item["content"][0]["text"]
                empty = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
                yield event("response.content_part.added", **where, content_index=0, part=empty)
                for piece in _words(full):
                    yield event("response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[])
                yield event("response.output_text.done", **where, content_index=0, text=full, logprobs=[])
                yield event("response.content_part.done", **where, content_index=0, part=item["content"][0])
            else:
                for piece in _thirds(item["arguments"]):
                    yield event("response.function_call_arguments.delta", **where, delta=piece)
                yield event("response.function_call_arguments.done", **where, arguments=item["arguments"])
            yield event("response.output_item.done", output_index=index, item=item)
        final = "response.incomplete" if self.cut_short else "response.completed"
        yield event(final, response=self._response(done=True))


def _in_progress(item: dict[str, Any]) -> dict[str, Any]:
    """An output item as first announced: empty content, status in_progress."""
    if item["type"] == "message":
        return {**item, "status": "in_progress", "content": []}
    if item["type"] == "function_call":
        return {**item, "status": "in_progress", "arguments": ""}
    return {**item, "summary": []}


# --------------------------------------------------------------------------- manual runs


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a scripted fake OpenAI API on 127.0.0.1.")
    parser.add_argument("script", help="JSON file: a list of turns (dicts as made by the helpers)")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with open(args.script, encoding="utf-8") as f:
        script = json.load(f)
    with FakeOpenAI(script, port=args.port) as server:
        print(f"fake OpenAI at {server.base_url} ({len(script)} turns); Ctrl-C to stop", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
