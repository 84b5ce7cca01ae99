"""A scripted Anthropic Messages API, for the real ``claude`` CLI in tests.

Claude Code talks to ``ANTHROPIC_BASE_URL`` (``tests`` point it here) with:

- ``HEAD /api/hello``: a reachability check at start-up; answered 200;
- ``POST /v1/messages?beta=true`` with ``"stream": true``: every model
  call. The main loop's calls carry the session's tools (``Write``,
  ``Edit``...) and the main model; they get the script's turns, in order,
  as server-sent events (``message_start``, ``content_block_start`` /
  ``content_block_delta`` / ``content_block_stop`` per block, with
  ``text_delta`` or ``input_json_delta``, ``message_delta`` with the stop
  reason and the output tokens, ``message_stop``). Every other call (a side
  request on a small model: a title, a summary...) gets ``side`` and is
  counted in ``side_calls``;
- ``POST /v1/messages`` without ``stream``: the same, as one JSON message;
- ``POST /v1/messages/count_tokens``: a fixed count.

Anything else is a 404 with an Anthropic error body, recorded in
``unknown``. A main-loop call past the end of the script gets a final text
saying so and is counted in ``overrun`` (unless ``after`` answers it): tests
assert both stay empty.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import attrs

from .core import Reply, Request, sse


@attrs.frozen
class Tokens:
    """The usage figures of one model call, as the API reports them.

    Attributes:
        input_tokens: Uncached prompt tokens.
        output_tokens: Generated tokens.
        cache_creation_input_tokens: Prompt tokens written to the cache.
        cache_read_input_tokens: Prompt tokens read from the cache.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def start(self) -> dict[str, int]:
        """The usage of ``message_start``: the prompt's tokens, one output token so far."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": 1,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }

    def whole(self) -> dict[str, int]:
        """The usage of a whole (non-streamed) message."""
        return attrs.asdict(self)


@attrs.frozen
class Text:
    """A text block of a model turn."""

    text: str


@attrs.frozen
class ToolUse:
    """A ``tool_use`` block: the model calls one of Claude Code's tools.

    Attributes:
        name: The tool (``Read``, ``Write``, ``Edit``, ``Bash``...).
        input: Its arguments, as the tool's input schema has them.
    """

    name: str
    input: dict[str, Any]


Block = Text | ToolUse


@attrs.frozen
class Turn:
    """One answer of the model: its blocks and its usage.

    Its stop reason is ``tool_use`` when it calls a tool, else ``end_turn``.
    """

    blocks: tuple[Block, ...]
    tokens: Tokens = Tokens()

    @property
    def stop_reason(self) -> str:
        """``tool_use`` or ``end_turn``."""
        return "tool_use" if any(isinstance(b, ToolUse) for b in self.blocks) else "end_turn"


@attrs.frozen
class ApiError:
    """Instead of a turn: the API refuses the call (``{"type": "error", "error": {...}}``).

    Attributes:
        status: The HTTP status (400 is not retried by Claude Code; 401,
            429 and 5xx are, with backoff).
        error_type: The error's ``type`` (``invalid_request_error``...).
        message: Its ``message``.
    """

    status: int
    error_type: str
    message: str


def say(text: str, tokens: Tokens = Tokens()) -> Turn:
    """A turn that answers ``text`` and ends."""
    return Turn((Text(text),), tokens)


def call(name: str, tokens: Tokens = Tokens(), /, **tool_input: Any) -> Turn:
    """A turn that calls tool ``name`` with ``tool_input``."""
    return Turn((ToolUse(name, tool_input),), tokens)


_CHUNK = 24
"""Characters per delta: text and tool arguments arrive in pieces, as from the real API."""


@attrs.define(eq=False)
class AnthropicApi:
    """The Messages API with a script of main-loop turns (see the module documentation).

    Attributes:
        turns: The main loop's answers (or refusals), in order.
        side: The answer to every side request.
        main_model: The main loop's model; calls on any other model are
            side requests. ``None``: any call that offers the file tools
            is the main loop's.
        count_tokens: What ``count_tokens`` answers.
        after: The answer to every main-loop call past the script (an
            ``ApiError`` the tool retries, say); ``None``: such a call is
            an overrun.
    """

    turns: list[Turn | ApiError]
    main_model: str | None = None
    side: Turn = attrs.field(factory=lambda: say("Scripted side answer", Tokens(50, 5)))
    count_tokens: int = 100
    after: Turn | ApiError | None = None
    served: int = 0
    side_calls: list[dict[str, Any]] = attrs.field(factory=list)
    unknown: list[str] = attrs.field(factory=list)
    overrun: int = 0
    _ids: Iterator[int] = attrs.field(factory=lambda: itertools.count(1))
    _lock: threading.Lock = attrs.field(factory=threading.Lock)

    def handle(self, request: Request, reply: Reply) -> None:
        """Answer one request of Claude Code."""
        path = request.path.split("?", 1)[0]
        if path == "/api/hello":
            reply.send(200, {"content-type": "application/json"}, b"")
        elif request.method == "POST" and path == "/v1/messages/count_tokens":
            self._json(reply, 200, {"input_tokens": self.count_tokens})
        elif request.method == "POST" and path == "/v1/messages":
            body = request.body if isinstance(request.body, dict) else {}
            turn, model = self._next(body)
            if isinstance(turn, ApiError):
                error = {"type": turn.error_type, "message": turn.message}
                self._json(reply, turn.status, {"type": "error", "error": error})
            elif body.get("stream"):
                self._stream(reply, turn, model)
            else:
                self._json(reply, 200, self._message(turn, model))
        else:
            with self._lock:
                self.unknown.append(f"{request.method} {request.path}")
            error = {"type": "not_found_error", "message": f"no {request.path} here"}
            self._json(reply, 404, {"type": "error", "error": error})

    def _next(self, body: dict[str, Any]) -> tuple[Turn | ApiError, str]:
        model = str(body.get("model", "claude-scripted"))
        names = {tool.get("name") for tool in body.get("tools") or () if isinstance(tool, dict)}
        with self._lock:
            main = bool({"Write", "Edit"} & names)
            if not main or self.main_model not in (None, model):
                self.side_calls.append(body)
                return self.side, model
            if self.served >= len(self.turns):
                if self.after is not None:
                    return self.after, model
                self.overrun += 1
                return say("(the scripted model has no more turns)"), model
            self.served += 1
            return self.turns[self.served - 1], model

    def _id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}_scripted{next(self._ids):04d}"

    def _content(self, turn: Turn) -> list[dict[str, Any]]:
        return [
            {"type": "text", "text": b.text}
            if isinstance(b, Text)
            else {"type": "tool_use", "id": self._id("toolu"), "name": b.name, "input": b.input}
            for b in turn.blocks
        ]

    def _message(self, turn: Turn, model: str) -> dict[str, Any]:
        return {
            "id": self._id("msg"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": self._content(turn),
            "stop_reason": turn.stop_reason,
            "stop_sequence": None,
            "usage": turn.tokens.whole(),
        }

    def _stream(self, reply: Reply, turn: Turn, model: str) -> None:
        reply.start_stream(200, {"content-type": "text/event-stream", "cache-control": "no-cache"})
        start = {**self._message(turn, model), "content": [], "stop_reason": None}
        start["usage"] = turn.tokens.start()
        reply.chunk(sse(iter([("message_start", {"type": "message_start", "message": start})])))
        for index, block in enumerate(self._content(turn)):
            reply.chunk(sse(self._block_events(index, block)))
        done = {
            "type": "message_delta",
            "delta": {"stop_reason": turn.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": turn.tokens.output_tokens},
        }
        reply.chunk(
            sse(iter([("message_delta", done), ("message_stop", {"type": "message_stop"})]))
        )
        reply.end_stream()

    @staticmethod
    def _block_events(index: int, block: dict[str, Any]) -> Iterator[tuple[str, Any]]:
        if block["type"] == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            whole, delta = block["text"], "text_delta"
        else:
            opening = {**block, "input": {}}
            whole, delta = json.dumps(block["input"]), "input_json_delta"
        yield (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": opening,
            },
        )
        key = "text" if delta == "text_delta" else "partial_json"
        for at in range(0, len(whole), _CHUNK):
            piece = {"type": delta, key: whole[at : at + _CHUNK]}
            yield (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": piece,
                },
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}

    @staticmethod
    def _json(reply: Reply, status: int, value: Any) -> None:
        reply.send(status, {"content-type": "application/json"}, json.dumps(value).encode())


def tool_results(requests: list[Request]) -> list[dict[str, Any]]:
    """Every ``tool_result`` block Claude Code sent back, in order, once each.

    Each main-loop request repeats the conversation so far; the last
    request holds them all.
    """
    last: list[dict[str, Any]] = []
    for request in requests:
        body = request.body if isinstance(request.body, dict) else {}
        if not body.get("tools"):
            continue
        found = [
            block
            for message in body.get("messages") or ()
            if isinstance(message, dict) and isinstance(message.get("content"), list)
            for block in message["content"]
            if isinstance(block, dict) and block.get("type") == "tool_result"
        ]
        if len(found) >= len(last):
            last = found
    return last
