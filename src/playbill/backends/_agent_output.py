"""Reading what real agents print: JSON objects in text, typed payloads, envelopes.

Shared by the command, preset and OpenAI backends. Everything that ends in
a ``Failure`` passes captured text through a ``Redactor`` and ``tail`` first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import msgspec

from playbill._redact import Redactor, tail
from playbill.runtime import (
    Blocker,
    Evidence,
    Failure,
    FailureClass,
    Gap,
    ResultEnvelope,
    RolePayload,
    Usage,
)

from ._backend import BackendError, WorkOrder
from ._prompt import PayloadType, payload_tag, payload_type

TAIL_LIMIT = 2000
"""Characters of captured output kept in a failure's detail."""

SCAN_LIMIT = 256 * 1024
"""Only this many trailing characters of a text are searched for JSON."""

_DECODER = json.JSONDecoder()


class CommandResult(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a command prints (or writes) as its result: one JSON object.

    ``{"payload": {"kind": ..., ...}, "usage"?: {...}, "evidence"?: [...],
    "gaps"?: [...], "blockers"?: [...]}``: ``payload`` is the role's payload
    with its ``kind`` tag; ``usage`` takes ``tokens_in``, ``tokens_out`` and
    ``cost_usd`` (its ``wall_s`` is replaced by the measured time).

    Attributes:
        payload: The role's result.
        usage: Tokens and cost of the work.
        evidence: Proof of what was done.
        gaps: What the agent knows it did not do.
        blockers: What stops progress.
    """

    payload: RolePayload
    usage: Usage = msgspec.field(default_factory=Usage)
    evidence: tuple[Evidence, ...] = ()
    gaps: tuple[Gap, ...] = ()
    blockers: tuple[Blocker, ...] = ()


def fail(
    failure_class: FailureClass,
    kind: str,
    detail: str,
    *,
    usage: Usage | None = None,
    output: str = "",
    redactor: Redactor | None = None,
) -> BackendError:
    """A ``BackendError`` whose detail (and output tail) is redacted.

    Args:
        failure_class: The failure's class.
        kind: The failure's kind.
        detail: What happened, for humans.
        usage: What the failed work consumed.
        output: Captured output; its redacted tail is appended to the detail.
        redactor: The redactor (``Redactor.from_environ()`` when ``None``).

    Returns:
        The error, to be raised.
    """
    redactor = redactor if redactor is not None else Redactor.from_environ()
    text = detail
    if output.strip():
        text = f"{detail}\n--- output tail ---\n{tail(output.strip(), TAIL_LIMIT)}"
    return BackendError(
        Failure(failure_class=failure_class, kind=kind, detail=redactor.redact(text)), usage
    )


def last_json_line(
    text: str, where: Callable[[dict[str, Any]], bool] | None = None
) -> dict[str, Any] | None:
    """The last line of ``text`` that parses as a JSON object ``where`` accepts, if any."""
    for line in reversed(text[-SCAN_LIMIT:].splitlines()):
        value = _json_object(line)
        if value is not None and (where is None or where(value)):
            return value
    return None


def missing_json_line(text: str) -> str:
    """Why ``text`` has no line holding a JSON object: what ``last_json_line`` missed.

    A line longer than the ``SCAN_LIMIT`` characters searched (or one cut by
    the output's own limit) is named as too long, with its length, rather
    than as absent.
    """
    tail_text = text.rstrip("\n")
    last = tail_text[tail_text.rfind("\n") + 1 :]
    if len(last) > SCAN_LIMIT or (len(text) >= SCAN_LIMIT and "\n" not in text[-SCAN_LIMIT:]):
        return (
            f"printed a last line of {len(last):,} characters, longer than the "
            f"{SCAN_LIMIT:,} characters a result line may have"
        )
    return "printed no line holding a JSON object"


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of ``text`` that parses as a JSON object, in order."""
    return [value for line in text.splitlines() if (value := _json_object(line)) is not None]


def _json_object(line: str) -> dict[str, Any] | None:
    """The JSON object a line holds, if it holds one (nesting too deep to parse: none)."""
    candidate = line.strip()
    if not candidate.startswith("{"):
        return None
    try:
        value = json.loads(candidate)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


_OPENING = re.compile(r"\{")


def last_json_object(text: str) -> dict[str, Any] | None:
    """The last top-level JSON object found anywhere in ``text``.

    Finds objects in prose, on their own lines and inside fenced
    ```` ```json ```` blocks alike: scans left to right, decoding an object at
    each ``{`` and skipping past every object found, so nested objects are
    never mistaken for the outer one.
    """
    window = text[-SCAN_LIMIT:]
    found: dict[str, Any] | None = None
    pos = 0
    while (match := _OPENING.search(window, pos)) is not None:
        start = match.start()
        try:
            value, end = _DECODER.raw_decode(window, start)
        except ValueError:
            pos = start + 1
            continue
        except RecursionError:  # nested past any honest answer: nothing more to find
            return found
        if isinstance(value, dict):
            found = value
        pos = end
    return found


def decode_payload(value: Any, cls: PayloadType, *, where: str = "$") -> RolePayload:
    """``value`` (decoded JSON) converted to a payload of class ``cls``.

    A missing ``kind`` is taken to be ``cls``'s tag; a different one is an
    error.

    Raises:
        BackendError: ``agent``/``malformed_output``, naming the path of the
            first mismatch.
    """
    if not isinstance(value, dict):
        raise fail("agent", "malformed_output", f"expected a JSON object at {where}")
    tag = payload_tag(cls)
    if value.get("kind", tag) != tag:
        raise fail(
            "agent",
            "malformed_output",
            f"expected a {tag!r} payload at {where}, got kind {value.get('kind')!r}",
        )
    try:
        return msgspec.convert({**value, "kind": tag}, type=cls)
    except msgspec.ValidationError as exc:
        raise fail("agent", "malformed_output", _at(str(exc), where)) from None


def decode_command_result(value: dict[str, Any], order: WorkOrder) -> CommandResult:
    """A command's result object, its payload of the class ``order`` expects.

    Raises:
        BackendError: ``agent``/``malformed_output`` with the msgspec error
            path (``... - at `$.payload.verdict` ``).
    """
    try:
        result = msgspec.convert(value, type=CommandResult)
    except msgspec.ValidationError as exc:
        raise fail("agent", "malformed_output", f"invalid result: {exc}") from None
    expected = payload_type(order.role, order.kind)
    if not isinstance(result.payload, expected):
        raise fail(
            "agent",
            "malformed_output",
            f"expected a {payload_tag(expected)!r} payload for {order.role} {order.kind},"
            f" got {payload_tag(type(result.payload))!r} - at `$.payload.kind`",
        )
    return result


def _at(message: str, where: str) -> str:
    # msgspec paths start at ``$``; rebase them on where the payload was found
    if where == "$":
        return message
    return message.replace("`$", f"`{where}", 1)


def envelope(
    order: WorkOrder,
    payload: RolePayload,
    usage: Usage,
    *,
    exit_code: int | None = None,
    evidence: tuple[Evidence, ...] = (),
    gaps: tuple[Gap, ...] = (),
    blockers: tuple[Blocker, ...] = (),
) -> ResultEnvelope:
    """A successful result for ``order`` (agent, role, step and attempt from it)."""
    return ResultEnvelope(
        agent=order.agent,
        role=order.role,
        step=order.step.id,
        attempt=order.attempt,
        exit_status="ok",
        exit_code=exit_code,
        payload=payload,
        usage=usage,
        evidence=evidence,
        gaps=gaps,
        blockers=blockers,
    )


def unsupported_role(backend: str, order: WorkOrder) -> BackendError:
    """The error for an order whose role the backend cannot play (class ``policy``)."""
    return BackendError(
        Failure(
            failure_class="policy",
            kind="unsupported_role",
            detail=f"the {backend} backend of {order.agent} cannot play {order.role}",
        )
    )
