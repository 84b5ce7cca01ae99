"""The spans of a run that have begun and not ended, and how one ends.

``OpenSpans`` is the builder's bookkeeping: it opens a span (its id from the
run id, the opening entry's seq and its kind), adds events to it, and ends it
into a ``SpanRecord`` (ending its open children first, as errors), collecting
the records until the builder hands them out.
"""

from __future__ import annotations

from typing import final

import attrs

from playbill.runtime import Entry, Usage

from ._records import (
    AttributeValue,
    SpanEvent,
    SpanName,
    SpanRecord,
    SpanStatus,
    span_id_of,
    trace_id_of,
)

Key = tuple[str, ...]
"""An open span's key: its kind, then what names it (step, attempt, round)."""


@attrs.define(eq=False)
class OpenSpan:
    """A span that has begun and not ended: what its record will hold, so far."""

    name: SpanName
    key: Key
    seq: int
    span_id: str
    parent: OpenSpan | None
    start_us: int
    attributes: dict[str, AttributeValue]
    agent: str = ""
    usage: Usage = attrs.field(factory=Usage)
    events: list[SpanEvent] = attrs.field(factory=list)
    children: list[OpenSpan] = attrs.field(factory=list)
    closing: bool = False  # a verification whose result is in, its checks still coming
    end_us: int = 0
    status: SpanStatus = "unset"
    message: str = ""


@final
@attrs.define(eq=False)
class OpenSpans:
    """The open spans of one run by key, and the records of those that ended since last asked.

    Attributes:
        open: The spans begun and not ended, by key.
        done: Records of the spans that ended, in the order they ended.
        run_id: The run (from the first span begun).
    """

    open: dict[Key, OpenSpan] = attrs.field(factory=dict)
    done: list[SpanRecord] = attrs.field(factory=list)
    run_id: str = ""

    def take_done(self) -> list[SpanRecord]:
        """The records of the spans that ended since the last call."""
        done, self.done = self.done, []
        return done

    def begin(
        self,
        name: SpanName,
        key: Key,
        entry: Entry,
        parent: OpenSpan | None,
        attributes: dict[str, AttributeValue],
        *,
        agent: str = "",
    ) -> OpenSpan:
        """Open a span at ``entry``; one open under the same key ends first, as superseded."""
        self.run_id = self.run_id or entry.run_id
        if key in self.open:  # asked for again before it ended (after a resume)
            self.end(self.open[key], entry.at_us, "error", "requested again", "superseded")
        attributes = {"playbill.run_id": entry.run_id, **attributes}
        if agent:
            attributes["playbill.agent"] = agent
        span = OpenSpan(
            name,
            key,
            entry.seq,
            span_id_of(entry.run_id, entry.seq, name),
            parent,
            entry.at_us,
            attributes,
        )
        span.agent = agent
        if parent is not None:
            parent.children.append(span)
        self.open[key] = span
        return span

    def event(self, key: Key, name: str, at: int, **details: AttributeValue) -> None:
        """Add an event to the span open under ``key``, if one is."""
        span = self.open.get(key)
        if span is not None:
            span.events.append(SpanEvent(name, at, details))

    def end_key(
        self, key: Key, at: int, status: SpanStatus, message: str, outcome: str = ""
    ) -> None:
        """End the span open under ``key``, if one is."""
        span = self.open.get(key)
        if span is not None:
            self.end(span, at, status, message, outcome)

    def end(
        self, span: OpenSpan, at: int, status: SpanStatus, message: str, outcome: str = ""
    ) -> None:
        """End ``span`` at ``at`` into a record, its open children first (as errors)."""
        for child in list(span.children):
            if self.open.get(child.key) is child:
                if child.closing:
                    self.end(child, child.end_us, "unset", "")
                else:
                    self.end(child, at, "error", f"ended with its {span.name}", "abandoned")
        del self.open[span.key]
        if outcome:
            span.attributes["playbill.outcome"] = outcome
        usage = span.usage
        span.attributes.update(
            {
                "playbill.tokens_in": usage.tokens_in,
                "playbill.tokens_out": usage.tokens_out,
                "playbill.tokens": usage.tokens,
                "playbill.cost_usd": usage.cost_usd,
            }
        )
        self.done.append(
            SpanRecord(
                name=span.name,
                trace_id=trace_id_of(self.run_id),
                span_id=span.span_id,
                parent_id=span.parent.span_id if span.parent is not None else None,
                start_us=span.start_us,
                end_us=max(at, span.start_us),
                attributes=dict(span.attributes),
                events=tuple(span.events),
                status=status,
                status_message=message if status == "error" else "",
                seq=span.seq,
            )
        )
