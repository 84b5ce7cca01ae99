"""Traces of simulated runs, killed and resumed anywhere: one trace, the same live and afterwards.

For any seed, faults, and kills (none, one or two) after any entry, the spans a
live tracer sends across all the processes of a run are exactly the spans
``build_spans`` gives from the run's final journal: same ids, parents, times,
attributes, events and statuses; none is sent twice; the run's trace is one
trace; every span sits inside its parent's time.
"""

from __future__ import annotations

from typing import Any

import attrs
import hypothesis.strategies as st
import trio
from hypothesis import given

from needs import need
from playbill.runtime import FaultPlan, MemoryJournal
from playbill.simulation import simulate
from playbill.tracing import build_spans, to_sdk_span, trace_id_of

need("opentelemetry.sdk.trace")

from opentelemetry.sdk.trace import ReadableSpan  # noqa: E402 (after the skip)
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)


def shape(span: ReadableSpan) -> tuple[Any, ...]:
    assert span.context is not None
    return (
        span.name,
        span.context.trace_id,
        span.context.span_id,
        span.parent.span_id if span.parent is not None else None,
        span.start_time,
        span.end_time,
        tuple(sorted((span.attributes or {}).items())),
        tuple((event.name, event.timestamp) for event in span.events),
        span.status.status_code,
        span.status.description,
    )


faults = st.builds(
    FaultPlan,
    crash=st.sampled_from([0.0, 0.1, 0.3]),
    hang=st.sampled_from([0.0, 0.05]),
    transient=st.sampled_from([0.0, 0.2]),
)


@given(
    seed=st.integers(0, 10_000),
    plan=faults,
    kills=st.lists(st.integers(1, 400), max_size=2),
)
def test_live_spans_across_kills_are_the_spans_of_the_journal(
    seed: int, plan: FaultPlan, kills: list[int]
) -> None:
    journal = MemoryJournal()
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    first = attrs.evolve(plan, kill=kills[0]) if kills else plan
    result = simulate(seed, journal=journal, faults=first, trace=processor)
    for again in [*kills[1:], None]:
        if result.outcome != "killed":
            break
        then = plan if again is None else attrs.evolve(plan, kill=result.entries + again)
        result = simulate(seed, journal=journal, faults=then, trace=processor, resume=True)
    entries = trio.run(journal.read, result.run_id)
    afterwards = [to_sdk_span(record) for record in build_spans(entries)]
    live = exporter.get_finished_spans()
    ended = result.outcome in ("completed", "failed", "cancelled")
    assert len({shape(span)[2] for span in live}) == len(live)  # none sent twice
    if ended:
        assert {shape(span) for span in live} == {shape(span) for span in afterwards}
    else:  # the spans still open are sent by the process that ends them
        assert {shape(span) for span in live} <= {shape(span) for span in afterwards}
    assert {shape(span)[1] for span in afterwards} == {int(trace_id_of(result.run_id), 16)}
    by_id = {shape(span)[2]: span for span in afterwards}
    for span in afterwards:
        parent = by_id.get(shape(span)[3]) if span.parent is not None else None
        assert (parent is None) == (span.name == "run")
        if parent is not None:
            assert parent.start_time is not None and span.start_time is not None
            assert parent.end_time is not None and span.end_time is not None
            assert parent.start_time <= span.start_time <= span.end_time <= parent.end_time
