"""Spans to OpenTelemetry: live (``open_run(trace=...)``) and afterwards give the same trace.

The SDK's ``InMemorySpanExporter`` collects what a live run sends; the
builder, fed the journal afterwards, must give the same spans: names, ids,
parents, times, attributes and statuses. A run killed and resumed in a
second ``simulate`` (a second process, as far as the run can tell) is still
one trace, and the attempts its death interrupted end as errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import trio

from needs import need
from playbill.cli._demo import demo_run
from playbill.runtime import FaultPlan, MemoryJournal, StepInterrupted
from playbill.simulation import BUILTIN_PROFILES, ProfileSet, simulate
from playbill.tracing import (
    RunTracer,
    SpanRecord,
    TracingExportError,
    build_spans,
    export_spans,
    to_sdk_span,
    trace_id_of,
)

need("opentelemetry.sdk.trace")

from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402 (after the skip)
from opentelemetry.sdk.trace.export import (  # noqa: E402
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode  # noqa: E402

PERFECT = ProfileSet(profiles=BUILTIN_PROFILES, default="perfect")


def shape(span: ReadableSpan) -> tuple[Any, ...]:
    """What a span is, ids and times included, comparable across exporters."""
    assert span.context is not None
    return (
        span.name,
        span.context.trace_id,
        span.context.span_id,
        span.parent.span_id if span.parent is not None else None,
        span.start_time,
        span.end_time,
        tuple(sorted((span.attributes or {}).items())),
        tuple(
            (event.name, event.timestamp, tuple(event.attributes or {})) for event in span.events
        ),
        span.status.status_code,
    )


def shapes(spans: Sequence[ReadableSpan]) -> set[tuple[Any, ...]]:
    return {shape(span) for span in spans}


def sdk_spans(records: Sequence[SpanRecord]) -> Sequence[ReadableSpan]:
    exporter = InMemorySpanExporter()
    export_spans(records, exporter)
    return exporter.get_finished_spans()


def test_the_demo_journal_exports_its_spans_with_their_ids_times_and_statuses() -> None:
    records = build_spans(demo_run().entries("demo-0001"))
    spans = sdk_spans(records)
    assert len(spans) == len(records) == 20
    for record, span in zip(records, spans, strict=True):
        assert span.context is not None
        assert span.name == record.name
        assert span.context.trace_id == int(trace_id_of("demo-0001"), 16)
        assert span.context.span_id == int(record.span_id, 16)
        assert (span.parent.span_id if span.parent else None) == (
            int(record.parent_id, 16) if record.parent_id else None
        )
        assert (span.start_time, span.end_time) == (record.start_us * 1000, record.end_us * 1000)
        assert dict(span.attributes or {}) == dict(record.attributes)
        assert (
            span.status.status_code
            == {
                "unset": StatusCode.UNSET,
                "ok": StatusCode.OK,
                "error": StatusCode.ERROR,
            }[record.status]
        )
        assert span.resource.attributes["service.name"] == "playbill"


def test_a_live_tracer_fed_in_batches_sends_what_the_builder_gives() -> None:
    entries = demo_run().entries("demo-0001")
    exporter = InMemorySpanExporter()
    tracer = RunTracer(SimpleSpanProcessor(exporter))
    for start in range(0, len(entries), 5):
        tracer.observe(entries[start : start + 5])
        tracer.observe(entries[max(start - 2, 0) : start + 5])  # a batch seen twice: once
    assert tracer.sent == 20
    assert shapes(exporter.get_finished_spans()) == shapes(
        [to_sdk_span(record) for record in build_spans(entries)]
    )


def test_a_simulated_run_traced_live_gives_the_trace_its_journal_gives() -> None:
    journal = MemoryJournal()
    exporter = InMemorySpanExporter()
    result = simulate(5, profiles=PERFECT, journal=journal, trace=SimpleSpanProcessor(exporter))
    assert result.outcome == "completed"
    entries = trio.run(journal.read, result.run_id)
    live = exporter.get_finished_spans()
    assert {span.name for span in live} >= {"run", "step", "attempt", "review", "verification"}
    assert shapes(live) == shapes(sdk_spans(build_spans(entries)))


def test_a_run_resumed_after_a_kill_is_one_trace_live_and_afterwards() -> None:
    full = simulate(6)
    journal = MemoryJournal()
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    killed = simulate(6, journal=journal, faults=FaultPlan(kill=full.entries // 2), trace=processor)
    assert killed.outcome == "killed"
    before = len(exporter.get_finished_spans())
    resumed = simulate(6, journal=journal, resume=True, trace=processor)
    assert resumed.outcome == "completed"
    live = exporter.get_finished_spans()
    assert len(live) > before > 0
    assert {span.context.trace_id for span in live if span.context} == {
        int(trace_id_of(resumed.run_id), 16)
    }
    entries = trio.run(journal.read, resumed.run_id)
    assert shapes(live) == shapes(sdk_spans(build_spans(entries)))

    # The run's span began in the first process and ended in the second.
    (run,) = [span for span in live if span.name == "run"]
    assert run.start_time == entries[0].at_us * 1000
    assert run.end_time == entries[-1].at_us * 1000
    assert "run_resumed" in [event.name for event in run.events]
    # Every attempt the kill interrupted ended, after the resume, as an error.
    lost = {
        (entry.msg.step, entry.msg.attempt)
        for entry in entries
        if isinstance(entry.msg, StepInterrupted) and entry.msg.reason == "work_lost"
    }
    assert lost
    for span in live:
        attributes = span.attributes or {}
        if (
            span.name == "attempt"
            and (attributes["playbill.step"], attributes["playbill.attempt"]) in lost
        ):
            assert span.status.status_code == StatusCode.ERROR
            assert "run_resumed" in [event.name for event in span.events]


class Refusing(SpanExporter):
    """An exporter whose collector refuses everything."""

    def __init__(self) -> None:
        self.shut = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self.shut = True


def test_an_export_that_fails_is_an_error_and_the_exporter_is_shut_down() -> None:
    exporter = Refusing()
    with pytest.raises(TracingExportError, match="could not send the 20 spans"):
        export_spans(build_spans(demo_run().entries("demo-0001")), exporter)
    assert exporter.shut


@pytest.mark.parametrize("seed", [1, 2, 7, 11])
def test_faulty_runs_give_well_formed_traces_live_and_afterwards(seed: int) -> None:
    journal = MemoryJournal()
    exporter = InMemorySpanExporter()
    faults = FaultPlan(crash=0.15, hang=0.05, transient=0.1)
    result = simulate(seed, journal=journal, faults=faults, trace=SimpleSpanProcessor(exporter))
    entries = trio.run(journal.read, result.run_id)
    records = build_spans(entries)
    live = exporter.get_finished_spans()
    if result.outcome in ("completed", "failed", "cancelled"):
        assert shapes(live) == shapes(sdk_spans(records))
    else:  # still open at the end: only ``playbill trace`` ends (and sends) those
        assert shapes(live) <= shapes(sdk_spans(records))
    by_id = {record.span_id: record for record in records}
    assert [record.name for record in records].count("run") == 1
    for record in records:
        assert record.start_us <= record.end_us
        if record.name != "run":
            assert record.parent_id in by_id, record
            parent = by_id[record.parent_id]
            assert parent.start_us <= record.start_us and record.end_us <= parent.end_us
        if record.status == "error":
            assert record.status_message


@pytest.mark.parametrize("at", [0.01, 0.2, 0.5, 0.8, 0.99])
def test_a_run_killed_anywhere_is_one_trace_live_and_afterwards(at: float) -> None:
    full = simulate(6, profiles=PERFECT)
    journal = MemoryJournal()
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    kill = max(1, int(full.entries * at))
    simulate(6, profiles=PERFECT, journal=journal, faults=FaultPlan(kill=kill), trace=processor)
    resumed = simulate(6, profiles=PERFECT, journal=journal, resume=True, trace=processor)
    assert resumed.outcome == "completed"
    entries = trio.run(journal.read, resumed.run_id)
    live = exporter.get_finished_spans()
    assert shapes(live) == shapes(sdk_spans(build_spans(entries)))
    assert len(live) == len({shape(span)[2] for span in live})  # no span sent twice
