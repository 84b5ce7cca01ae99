"""OpenAI chat completions, scripted: ``POST /v1/chat/completions``, whole or streamed.

What aider (through litellm and the ``openai`` SDK) speaks for a model named
``openai/<name>`` with ``OPENAI_API_BASE`` (or ``--openai-api-base``) set to
the server's ``/v1``. Each request to ``.../chat/completions`` takes the next
``Turn`` of the script (a ``Turn``, or a function of the request that makes
one, to answer with what the request holds). A request with
``"stream": true`` gets server-sent events: a first chunk with the role,
the text in a few ``delta.content`` chunks, tool calls in ``delta.tool_calls``
chunks, a last chunk with ``finish_reason``, a usage chunk (``choices: []``,
as OpenAI sends when ``stream_options.include_usage`` is set, and here
always), then ``data: [DONE]``. Without it, one ``chat.completion`` object
with ``usage``.

A request past the end of the script, or to any other path, gets an OpenAI
error object (status 400 and 404, which clients do not retry): the tool sees
a failed call at once, and the test sees it in ``server.requests``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from .core import Reply, Request, sse


@attrs.frozen
class ToolCall:
    """A function call the model makes.

    Attributes:
        name: The function's name.
        arguments: Its arguments (sent as a JSON string).
        id: The call's id.
    """

    name: str
    arguments: dict[str, Any]
    id: str = "call_1"


@attrs.frozen
class Turn:
    """One answer of the model.

    Attributes:
        text: What it says (its ``content``).
        tool_calls: The functions it calls.
        prompt_tokens: ``usage.prompt_tokens``.
        completion_tokens: ``usage.completion_tokens``.
        finish_reason: ``stop``, or ``tool_calls`` when it calls any.
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 1200
    completion_tokens: int = 80
    finish_reason: str | None = None

    def reason(self) -> str:
        """The ``finish_reason`` sent."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    def usage(self) -> dict[str, int]:
        """The ``usage`` object sent."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


Scripted = Turn | Callable[[Request], Turn]
"""A turn, or how to make one from the request it answers."""


def _tool_call(call: ToolCall, index: int) -> dict[str, Any]:
    return {
        "index": index,
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
    }


def _pieces(text: str, size: int = 40) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


class ChatCompletions:
    """The chat completions API answering from a script of turns.

    Attributes:
        model: The model name it answers as.
        turns: The script, in order.
    """

    def __init__(self, turns: Sequence[Scripted], *, model: str = "scripted-model") -> None:
        self.model = model
        self.turns = list(turns)
        self._next = 0
        self._lock = threading.Lock()

    @property
    def answered(self) -> int:
        """How many turns of the script were used."""
        with self._lock:
            return self._next

    def _take(self) -> Scripted | None:
        with self._lock:
            if self._next >= len(self.turns):
                return None
            turn = self.turns[self._next]
            self._next += 1
            return turn

    def handle(self, request: Request, reply: Reply) -> None:
        """Answer a chat completion with the next turn; anything else with an error."""
        if request.method != "POST" or not request.path.split("?")[0].endswith("/chat/completions"):
            _error(reply, 404, f"no route {request.method} {request.path}")
            return
        scripted = self._take()
        if scripted is None:
            _error(reply, 400, "the script has no more turns")
            return
        turn = scripted(request) if callable(scripted) else scripted
        body = request.body if isinstance(request.body, dict) else {}
        if body.get("stream"):
            self._stream(turn, reply)
        else:
            reply.send(
                200, {"content-type": "application/json"}, json.dumps(self._whole(turn)).encode()
            )

    def _whole(self, turn: Turn) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
        if turn.tool_calls:
            message["tool_calls"] = [
                {k: v for k, v in _tool_call(c, i).items() if k != "index"}
                for i, c in enumerate(turn.tool_calls)
            ]
        return {
            "id": "chatcmpl-scripted",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": turn.reason()}],
            "usage": turn.usage(),
        }

    def _stream(self, turn: Turn, reply: Reply) -> None:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "chatcmpl-scripted",
                "object": "chat.completion.chunk",
                "created": 1_700_000_000,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        reply.start_stream(200, {"content-type": "text/event-stream", "cache-control": "no-cache"})
        reply.chunk(sse(iter([(None, chunk({"role": "assistant", "content": ""}))])))
        for piece in _pieces(turn.text):
            reply.chunk(sse(iter([(None, chunk({"content": piece}))])))
        for index, call in enumerate(turn.tool_calls):
            reply.chunk(sse(iter([(None, chunk({"tool_calls": [_tool_call(call, index)]}))])))
        usage = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": self.model,
            "choices": [],
            "usage": turn.usage(),
        }
        reply.chunk(sse(iter([(None, chunk({}, turn.reason())), (None, usage), (None, "[DONE]")])))
        reply.end_stream()


def _error(reply: Reply, status: int, message: str) -> None:
    body = {"error": {"message": message, "type": "invalid_request_error", "code": None}}
    reply.send(status, {"content-type": "application/json"}, json.dumps(body).encode())


def search_replace(path: str, search: str, replace: str, *, prose: str = "") -> str:
    """A reply in aider's ``diff`` edit format: prose, then one SEARCH/REPLACE block.

    Args:
        path: The file edited, relative to the repository.
        search: The lines to find (exactly as in the file).
        replace: The lines to put instead.
        prose: What the model says first.
    """
    block = (
        f"{path}\n```python\n<<<<<<< SEARCH\n{search.rstrip(chr(10))}\n=======\n"
        f"{replace.rstrip(chr(10))}\n>>>>>>> REPLACE\n```\n"
    )
    return f"{prose.strip()}\n\n{block}" if prose.strip() else block
