"""Spans built from a run's entries (``playbill.tracing``), without OpenTelemetry.

The scripted demo run is the subject: its journal is known entry by entry
(``tests/golden/demo-0001.jsonl``), so each span's parent, times, attributes
and status can be checked against the entries that opened and closed it.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from playbill.cli._demo import demo_run
from playbill.runtime import Entry, UsageReported
from playbill.tracing import (
    SpanBuilder,
    SpanRecord,
    build_spans,
    span_id_of,
    spans_jsonl,
    spans_otlp_json,
    trace_id_of,
)

RUN = "demo-0001"


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return demo_run().entries(RUN)


@pytest.fixture(scope="module")
def spans(entries: list[Entry]) -> list[SpanRecord]:
    return build_spans(entries)


def only(spans: list[SpanRecord], name: str, **attributes: object) -> SpanRecord:
    found = [
        span
        for span in spans
        if span.name == name
        and all(span.attributes.get(f"playbill.{k}") == v for k, v in attributes.items())
    ]
    assert len(found) == 1, (name, attributes, found)
    return found[0]


def test_a_span_per_run_step_attempt_review_verification_and_merge(
    spans: list[SpanRecord],
) -> None:
    assert Counter(span.name for span in spans) == {
        "run": 1,
        "step": 4,
        "attempt": 6,
        "review": 4,
        "verification": 3,
        "merge": 2,
    }
    assert {span.trace_id for span in spans} == {trace_id_of(RUN)}
    assert len({span.span_id for span in spans}) == len(spans)
    assert all(span.span_id == span_id_of(RUN, span.seq, span.name) for span in spans)
    assert all(span.attributes["playbill.run_id"] == RUN for span in spans)
    assert not any(span.attributes.get("playbill.unfinished") for span in spans)


def test_each_span_hangs_under_its_run_step_or_attempt(spans: list[SpanRecord]) -> None:
    by_id = {span.span_id: span for span in spans}
    for span in spans:
        parent = by_id.get(span.parent_id) if span.parent_id is not None else None
        mine = span.attributes
        match span.name:
            case "run":
                assert span.parent_id is None
            case "step":
                assert parent is not None and parent.name == "run"
            case "attempt" | "merge":
                assert parent is not None and parent.name == "step"
                assert parent.attributes["playbill.step"] == mine["playbill.step"]
            case "review" | "verification":
                assert parent is not None and parent.name == "attempt"
                for key in ("playbill.step", "playbill.attempt"):
                    assert parent.attributes[key] == mine[key]
        if parent is not None:
            assert parent.start_us <= span.start_us <= span.end_us <= parent.end_us


def test_spans_are_timed_by_the_entries_that_open_and_close_them(
    entries: list[Entry], spans: list[SpanRecord]
) -> None:
    at = {entry.seq: entry.at_us for entry in entries}
    for span in spans:
        assert span.start_us == at[span.seq]
    run = only(spans, "run")
    assert (run.start_us, run.end_us) == (entries[0].at_us, entries[-1].at_us)
    first = only(spans, "attempt", step="csv-writer", attempt=1)
    failed = next(
        entry
        for entry in entries
        if entry.msg.__struct_config__.tag == "step_failed"
        and getattr(entry.msg, "step", None) == "csv-writer"
    )
    assert first.end_us == failed.at_us


def test_attempts_carry_agent_role_usage_and_outcome(
    entries: list[Entry], spans: list[SpanRecord]
) -> None:
    failed = only(spans, "attempt", step="csv-writer", attempt=1)
    assert failed.attributes["playbill.agent"] == "executor-a"
    assert failed.attributes["playbill.role"] == "executor"
    assert failed.attributes["playbill.tokens_in"] == 41380
    assert failed.attributes["playbill.tokens_out"] == 6912
    assert failed.attributes["playbill.cost_usd"] == pytest.approx(0.412)
    assert failed.attributes["playbill.outcome"] == "failed"
    assert (failed.status, failed.status_message) == ("error", "validation: changes_requested")

    done = only(spans, "attempt", step="csv-writer", attempt=2)
    assert (done.status, done.attributes["playbill.outcome"]) == ("ok", "completed")
    lost = only(spans, "attempt", step="cli-flag", attempt=1)
    assert (lost.status, lost.attributes["playbill.outcome"]) == ("unset", "lost")

    review = only(spans, "review", step="csv-writer", attempt=1)
    assert review.attributes["playbill.agent"] == "reviewer"
    assert review.attributes["playbill.verdict"] == "request_changes"
    assert review.attributes["playbill.outcome"] == "changes_requested"
    assert review.attributes["playbill.tokens"] == 9870 + 1204

    usages = [entry.msg.usage for entry in entries if isinstance(entry.msg, UsageReported)]
    run = only(spans, "run")
    assert run.attributes["playbill.tokens"] == sum(usage.tokens for usage in usages)
    assert run.attributes["playbill.cost_usd"] == pytest.approx(
        sum(usage.cost_usd for usage in usages)
    )
    assert (run.status, run.attributes["playbill.outcome"]) == ("ok", "completed")


def test_a_verification_ends_with_its_checks_and_holds_them_as_events(
    spans: list[SpanRecord],
) -> None:
    verification = only(spans, "verification", step="csv-writer", attempt=2)
    assert verification.attributes["playbill.outcome"] == "passed"
    assert [event.name for event in verification.events] == ["validation"]
    check = verification.events[0]
    assert check.attributes == {"validator": "tests_pass", "passed": True}
    assert verification.end_us == check.at_us
    merge = only(spans, "merge", step="csv-writer", attempt=2)
    assert (merge.status, merge.attributes["playbill.outcome"]) == ("ok", "applied")


def test_any_split_into_batches_gives_the_same_spans(
    entries: list[Entry], spans: list[SpanRecord]
) -> None:
    for size in (1, 7, 50):
        builder = SpanBuilder()
        fed: list[SpanRecord] = []
        for start in range(0, len(entries), size):
            for entry in entries[start : start + size]:
                fed.extend(builder.feed(entry))
        fed.extend(builder.finish())
        assert fed == spans


def test_a_journal_that_stops_mid_run_ends_its_open_spans_as_unfinished(
    entries: list[Entry],
) -> None:
    cut = entries[:50]
    spans = build_spans(cut)
    unfinished = [span for span in spans if span.attributes.get("playbill.unfinished")]
    assert {span.name for span in unfinished} >= {"run", "step", "attempt"}
    assert all(span.end_us == cut[-1].at_us for span in unfinished)
    # The spans that ended before the cut are the same as in the whole journal.
    whole = {span.span_id: span for span in build_spans(entries)}
    for span in spans:
        if span not in unfinished:
            assert whole[span.span_id] == span


def test_jsonl_holds_one_span_per_line(spans: list[SpanRecord]) -> None:
    lines = spans_jsonl(spans).splitlines()
    assert len(lines) == len(spans)
    first = json.loads(lines[0])
    assert first["span_id"] == spans[0].span_id
    assert first["attributes"] == dict(spans[0].attributes)
    assert set(first) == {
        "name",
        "trace_id",
        "span_id",
        "parent_id",
        "start_us",
        "end_us",
        "status",
        "status_message",
        "attributes",
        "events",
    }


def test_otlp_json_is_one_export_request_with_hex_ids_and_typed_values(
    spans: list[SpanRecord],
) -> None:
    request = json.loads(spans_otlp_json(spans))
    (resource,) = request["resourceSpans"]
    (scope,) = resource["scopeSpans"]
    assert scope["scope"]["name"] == "playbill"
    exported = scope["spans"]
    assert len(exported) == len(spans)
    for span, out in zip(spans, exported, strict=True):
        assert out["traceId"] == span.trace_id and len(out["traceId"]) == 32
        assert out["spanId"] == span.span_id and len(out["spanId"]) == 16
        assert out.get("parentSpanId") == span.parent_id
        assert out["startTimeUnixNano"] == str(span.start_us * 1000)
        assert out["status"]["code"] == {"unset": 0, "ok": 1, "error": 2}[span.status]
    attempt = next(out for out in exported if out["name"] == "attempt")
    values = {item["key"]: item["value"] for item in attempt["attributes"]}
    assert values["playbill.attempt"] == {"intValue": "1"}
    assert "stringValue" in values["playbill.agent"]
    assert "doubleValue" in values["playbill.cost_usd"]


def test_an_otlp_url_without_a_path_gets_the_traces_path() -> None:
    from playbill.tracing import otlp_endpoint

    assert otlp_endpoint("http://collector:4318") == "http://collector:4318/v1/traces"
    assert otlp_endpoint("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert otlp_endpoint("https://x.example/otlp/v1/traces") == "https://x.example/otlp/v1/traces"


def test_a_journal_cut_anywhere_gives_a_well_formed_trace(entries: list[Entry]) -> None:
    whole = {span.span_id: span for span in build_spans(entries)}
    for cut in range(1, len(entries) + 1):
        spans = build_spans(entries[:cut])
        for span in spans:
            # Ended before the cut: as in the whole journal; open at the cut: unfinished.
            # (A verification whose result is in ends with the checks it has so far.)
            assert (
                span == whole[span.span_id]
                or span.attributes.get("playbill.unfinished")
                or span.name == "verification"
            ), (cut, span)
        by_id = {span.span_id: span for span in spans}
        assert len(by_id) == len(spans), cut
        assert [span.name for span in spans].count("run") == 1, cut
        for span in spans:
            assert span.parent_id is None or span.parent_id in by_id, (cut, span)
            if span.attributes.get("playbill.unfinished"):
                assert span.end_us == entries[cut - 1].at_us
                assert span.status == "unset"


def test_spans_and_their_files_need_no_opentelemetry() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from playbill.cli._demo import demo_run\n"
        "from playbill.tracing import build_spans, spans_jsonl, spans_otlp_json\n"
        "spans = build_spans(demo_run().entries('demo-0001'))\n"
        "assert spans_jsonl(spans) and spans_otlp_json(spans)\n"
        "print(sorted(name for name in sys.modules if name.startswith('opentelemetry')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
