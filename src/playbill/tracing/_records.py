"""Span records: what a trace of a run is made of, before any tracing library sees it.

A ``SpanRecord`` is a finished span with everything an exporter needs: its
ids, its parent, its times (from the journal's entries, in microseconds since
the Unix epoch), its attributes, events and status. Ids are derived from the
run: the trace id from the run id, a span id from the run id and the seq of
the entry that opened the span. So the same journal always gives the same
trace, whichever process (or how many, for a resumed run) builds it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Literal, TypeAlias, final

import attrs

AttributeValue: TypeAlias = str | int | float | bool
"""The value of a span or event attribute."""

SpanStatus: TypeAlias = Literal["unset", "ok", "error"]
"""A span's status, as OpenTelemetry has it."""

SpanName: TypeAlias = Literal["run", "step", "attempt", "review", "verification", "merge"]
"""The kinds of span a run's trace holds (each span is named after its kind)."""


@final
@attrs.frozen
class SpanEvent:
    """Something that happened during a span (a pause, a crash, a validator's result).

    Attributes:
        name: What happened (``run_paused``, ``agent_failed``, ``validation``...).
        at_us: When: the time of the journal entry that records it.
        attributes: Its details.
    """

    name: str
    at_us: int
    attributes: Mapping[str, AttributeValue] = attrs.field(factory=dict)


@final
@attrs.frozen
class SpanRecord:
    """One finished span of a run's trace.

    Attributes:
        name: The kind of span (``run``, ``step``, ``attempt``...).
        trace_id: 32 hex digits, derived from the run id (``trace_id_of``).
        span_id: 16 hex digits, derived from the run id, ``seq`` and ``name``.
        parent_id: The parent span's id; ``None`` for the run's span.
        start_us: When it began: the time of the entry that opened it.
        end_us: When it ended: the time of the entry that closed it.
        attributes: What it was (``playbill.step``, ``playbill.agent``...).
        events: What happened during it, in journal order.
        status: ``error`` for work that failed, was interrupted or never
            ended; ``ok`` for work that completed; ``unset`` otherwise.
        status_message: Why, for an ``error``.
        seq: The seq of the entry that opened it.
    """

    name: SpanName
    trace_id: str
    span_id: str
    parent_id: str | None
    start_us: int
    end_us: int
    attributes: Mapping[str, AttributeValue]
    events: tuple[SpanEvent, ...] = ()
    status: SpanStatus = "unset"
    status_message: str = ""
    seq: int = 0


def trace_id_of(run_id: str) -> str:
    """The trace id of a run: 32 hex digits of a hash of its id (never all zero)."""
    return _digest("trace", run_id, size=16)


def span_id_of(run_id: str, seq: int, name: SpanName) -> str:
    """The id of the ``name`` span opened by entry ``seq`` of a run: 16 hex digits.

    One entry may open two spans (a step's first ``step_assigned`` opens the
    step and its attempt), never two of one kind.
    """
    return _digest("span", f"{run_id}\x00{seq}\x00{name}", size=8)


def _digest(kind: str, text: str, *, size: int) -> str:
    digest = hashlib.blake2b(f"{kind}\x00{text}".encode(), digest_size=size).hexdigest()
    # OpenTelemetry treats an all-zero id as invalid; a hash gives one with
    # odds of 2**-64, but the id must be valid whatever the run is called.
    return digest if digest.strip("0") else "1".rjust(size * 2, "0")
