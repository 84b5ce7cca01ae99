"""The OpenAI Responses API as Codex calls it, answered from a script of model turns.

Codex (0.171.0, with a custom model provider whose ``wire_api`` is
``responses``) sends ``POST {base_url}/responses`` with ``"stream": true``
and reads server-sent events until ``response.completed``; each request is
one model turn (the first with the prompt, each next one with the outputs
of the tools it ran appended to ``input``). It calls nothing else at
start-up for such a provider (no models list).

Each ``Turn`` answers one request in script order: assistant text
(``Say``), function calls (``Call``: ``exec_command``, whose ``cmd`` runs
in Codex's shell), free-form tool calls (``Patch``: the ``apply_patch``
tool of models that take it free-form, such as ``gpt-5.5``), and the usage
figures reported in ``response.completed``. ``Refuse`` answers with an HTTP
error instead, ``Disconnect`` with a stream cut short. A step may also be a
function of the request (a model that echoes what it was sent). A request
past the end of the script gets a 500, so a test sees a run that asked for
more than was scripted; a request whose ``--output-schema`` is not strict
gets the 400 OpenAI would give.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs

from .core import Reply, Request, sse


@attrs.frozen
class Say:
    """An assistant message.

    Attributes:
        text: What the model says.
    """

    text: str


@attrs.frozen
class Call:
    """A function call (a tool Codex declares with ``"type": "function"``).

    Attributes:
        name: The tool (``exec_command``...).
        arguments: Its arguments, sent as a JSON string.
    """

    name: str
    arguments: dict[str, Any]


@attrs.frozen
class Patch:
    """A call of the free-form ``apply_patch`` tool (``"type": "custom"``).

    Attributes:
        patch: The patch, in Codex's ``*** Begin Patch`` format.
    """

    patch: str


Output = Say | Call | Patch
"""One item a turn outputs."""


@attrs.frozen
class Usage:
    """The usage reported with a turn (``response.completed``).

    Attributes:
        input_tokens: Input tokens, cached ones included (as OpenAI counts).
        cached_tokens: Of them, those read from the cache.
        output_tokens: Output tokens, reasoning included.
        reasoning_tokens: Of them, reasoning.
    """

    input_tokens: int | float = 0
    cached_tokens: int | float = 0
    output_tokens: int | float = 0
    reasoning_tokens: int | float = 0

    def wire(self) -> dict[str, Any]:
        """The ``usage`` object of a response."""
        return {
            "input_tokens": self.input_tokens,
            "input_tokens_details": {"cached_tokens": self.cached_tokens},
            "output_tokens": self.output_tokens,
            "output_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "total_tokens": self.input_tokens + self.output_tokens,
        }


@attrs.frozen
class Turn:
    """One model turn: what it outputs and what it reports having used.

    Attributes:
        outputs: Its output items, in order.
        usage: Its usage.
    """

    outputs: Sequence[Output]
    usage: Usage = Usage()


@attrs.frozen
class Refuse:
    """An HTTP error instead of a turn (a 401 for a bad key, a 400...).

    Attributes:
        status: The HTTP status.
        message: The error's message.
    """

    status: int
    message: str


@attrs.frozen
class Disconnect:
    """A stream that ends before ``response.completed`` (the client retries it)."""


Step = Turn | Refuse | Disconnect
"""What one request gets."""

Script = Sequence[Step | Callable[[Request], Step]]
"""Answers in order; a callable one is made from the request it answers."""


def exec_command(cmd: str) -> Call:
    """A call of Codex's ``exec_command`` tool running ``cmd`` in its shell."""
    return Call("exec_command", {"cmd": cmd})


class ResponsesApi:
    """``POST /v1/responses`` answered by a script of turns, streamed as SSE.

    Attributes:
        script: What each request gets, in order.
    """

    def __init__(self, script: Script) -> None:
        self.script = list(script)
        self._next = 0
        self._lock = threading.Lock()

    def handle(self, request: Request, reply: Reply) -> None:
        """Answer a model turn; anything else is a 404."""
        if request.method != "POST" or not request.path.rstrip("/").endswith("/responses"):
            _error(reply, 404, f"no such endpoint: {request.method} {request.path}")
            return
        problem = strict_schema_problem(request.body)
        if problem is not None:  # refused before any turn is taken, as OpenAI does
            _error(reply, 400, f"Invalid schema for response_format: {problem}")
            return
        with self._lock:
            index = self._next
            self._next += 1
        if index >= len(self.script):
            told = f"the script has {len(self.script)} answer(s); this is request {index + 1}"
            _error(reply, 500, told)
            return
        scripted = self.script[index]
        turn = scripted if isinstance(scripted, Turn | Refuse | Disconnect) else scripted(request)
        if isinstance(turn, Refuse):
            _error(reply, turn.status, turn.message)
            return
        reply.start_stream(200, {"content-type": "text/event-stream"})
        if isinstance(turn, Disconnect):
            events = list(_events(Turn(()), f"resp_{index + 1}"))[:1]
            reply.chunk(sse(iter(events)))
        else:
            reply.chunk(sse(_events(turn, f"resp_{index + 1}")))
        reply.end_stream()


def _events(turn: Turn, response_id: str) -> Iterator[tuple[str | None, Any]]:
    def event(kind: str, **fields: Any) -> tuple[str, Any]:
        return kind, {"type": kind, **fields}

    head = {"id": response_id, "object": "response", "status": "in_progress", "output": []}
    yield event("response.created", response=head)
    items = []
    for index, output in enumerate(turn.outputs):
        item_id = f"{response_id}_item_{index}"
        item = _item(output, item_id)
        started = {**item, "status": "in_progress"}
        if isinstance(output, Say):
            started["content"] = []
        yield event("response.output_item.added", output_index=index, item=started)
        if isinstance(output, Say):
            yield event(
                "response.output_text.delta",
                item_id=item_id,
                output_index=index,
                content_index=0,
                delta=output.text,
            )
        yield event("response.output_item.done", output_index=index, item=item)
        items.append(item)
    done = {**head, "status": "completed", "output": items, "usage": turn.usage.wire()}
    yield event("response.completed", response=done)


def _item(output: Output, item_id: str) -> dict[str, Any]:
    call_id = f"call_{item_id}"
    match output:
        case Say(text):
            return {
                "type": "message",
                "id": item_id,
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        case Call(name, arguments):
            return {
                "type": "function_call",
                "id": item_id,
                "call_id": call_id,
                "name": name,
                "arguments": json.dumps(arguments),
                "status": "completed",
            }
        case Patch(patch):
            return {
                "type": "custom_tool_call",
                "id": item_id,
                "call_id": call_id,
                "name": "apply_patch",
                "input": patch,
                "status": "completed",
            }


def _error(reply: Reply, status: int, message: str) -> None:
    body = json.dumps({"error": {"message": message, "type": "scripted_server_error"}})
    reply.send(status, {"content-type": "application/json"}, body.encode())


def strict_schema_problem(body: Any) -> str | None:
    """Why a request's ``text.format`` schema breaks OpenAI's strict mode, if it does.

    Strict structured outputs (``"strict": true``) need an object at the
    root, and every object to list all its properties as required and to
    allow no others; OpenAI answers a 400 otherwise.
    """
    text = body.get("text") if isinstance(body, dict) else None
    form = text.get("format") if isinstance(text, dict) else None
    if not isinstance(form, dict) or form.get("type") != "json_schema":
        return None
    if form.get("strict") is not True:
        return "not strict"
    schema = form.get("schema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return "the root is not an object"
    return _strict_problem(schema, "$")


def _strict_problem(node: Any, where: str) -> str | None:
    if isinstance(node, list):
        for i, item in enumerate(node):
            if (problem := _strict_problem(item, f"{where}[{i}]")) is not None:
                return problem
        return None
    if not isinstance(node, dict):
        return None
    if node.get("type") == "object":
        properties = node.get("properties", {})
        if node.get("additionalProperties") is not False:
            return f"{where}: additionalProperties must be false"
        if sorted(node.get("required", [])) != sorted(properties):
            return f"{where}: every property must be required"
    for key, value in node.items():
        if key in ("properties", "$defs"):
            for name, sub in value.items():
                if (problem := _strict_problem(sub, f"{where}.{key}.{name}")) is not None:
                    return problem
        elif key not in ("required", "enum", "const") and (
            problem := _strict_problem(value, f"{where}.{key}")
        ):
            return problem
    return None


def tool_outputs(request: Request) -> list[str]:
    """The outputs of the tools Codex ran, as it sends them back in ``input``."""
    found = []
    for item in (request.body or {}).get("input", []):
        if item.get("type") in ("function_call_output", "custom_tool_call_output"):
            output = item.get("output")
            found.append(output if isinstance(output, str) else json.dumps(output))
    return found
