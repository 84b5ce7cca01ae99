"""``playbill trace``: a run's spans to stdout, to a file, or to an OTLP/HTTP collector.

The collector is a real HTTP server on 127.0.0.1, started by the test, that
records what is POSTed to /v1/traces; the body must parse as the protobuf
``ExportTraceServiceRequest`` and hold the run's spans.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import DEMO_RUN, assert_one_line_error, invoke
from click.testing import CliRunner

from needs import need
from playbill.tracing import trace_id_of

DEMO_SPANS = 20
"""Spans of the scripted demo: a run, 4 steps, 6 attempts, 4 reviews, 3 verifications, 2 merges."""


class Collector(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP collector that keeps each request and answers with ``status``."""

    def __init__(self, status: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = status
        self.requests: list[tuple[str, str, bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.requests.append((self.path, self.headers.get("Content-Type", ""), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # the test reads the requests, not a log


def serve(status: int) -> Iterator[Collector]:
    collector = Collector(status)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    try:
        yield collector
    finally:
        collector.shutdown()
        collector.server_close()
        thread.join()


@pytest.fixture
def collector() -> Iterator[Collector]:
    yield from serve(200)


@pytest.fixture
def refusing_collector() -> Iterator[Collector]:
    yield from serve(400)


def test_trace_prints_one_span_per_line(runner: CliRunner, demo_journal: Path) -> None:
    result = invoke(runner, demo_journal, "trace", DEMO_RUN)
    assert result.exit_code == 0, result.output
    spans = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(spans) == DEMO_SPANS
    assert {span["trace_id"] for span in spans} == {trace_id_of(DEMO_RUN)}
    (run,) = [span for span in spans if span["name"] == "run"]
    assert run["parent_id"] is None and run["status"] == "ok"


def test_trace_writes_otlp_json_to_a_file(
    runner: CliRunner, demo_journal: Path, tmp_path: Path
) -> None:
    out = tmp_path / "trace.json"
    result = invoke(runner, demo_journal, "trace", DEMO_RUN, "-o", str(out), "--format", "otlp")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote {DEMO_SPANS} spans of run {DEMO_RUN} to {out}" in result.stderr
    request = json.loads(out.read_text())
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert len(spans) == DEMO_SPANS
    assert {span["traceId"] for span in spans} == {trace_id_of(DEMO_RUN)}


def test_trace_sends_protobuf_to_an_otlp_collector(
    runner: CliRunner, demo_journal: Path, collector: Collector
) -> None:
    need("opentelemetry.exporter.otlp.proto.http")
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    result = invoke(runner, demo_journal, "trace", DEMO_RUN, "--otlp", collector.url)
    assert result.exit_code == 0, result.output
    assert f"sent {DEMO_SPANS} spans of run {DEMO_RUN} to {collector.url}/v1/traces" in (
        result.stdout
    )
    ((path, content_type, body),) = collector.requests
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = [
        span
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert len(spans) == DEMO_SPANS
    assert {span.trace_id for span in spans} == {bytes.fromhex(trace_id_of(DEMO_RUN))}
    names = sorted(span.name for span in spans)
    assert names.count("attempt") == 6 and names.count("merge") == 2
    ids = {span.span_id for span in spans}
    assert all(span.parent_span_id in ids for span in spans if span.name != "run")
    attempt = next(span for span in spans if span.name == "attempt")
    keys = {attribute.key for attribute in attempt.attributes}
    assert {"playbill.agent", "playbill.step", "playbill.attempt", "playbill.tokens"} <= keys


def test_a_collector_that_refuses_the_spans_is_one_line_of_error(
    runner: CliRunner, demo_journal: Path, refusing_collector: Collector
) -> None:
    need("opentelemetry.exporter.otlp.proto.http")
    result = invoke(runner, demo_journal, "trace", DEMO_RUN, "--otlp", refusing_collector.url)
    assert_one_line_error(result, "could not send the 20 spans")
    assert len(refusing_collector.requests) == 1


def test_trace_of_an_unknown_run_is_one_line_of_error(
    runner: CliRunner, demo_journal: Path
) -> None:
    assert_one_line_error(invoke(runner, demo_journal, "trace", "no-such-run"), "no-such-run")


def test_trace_takes_a_collector_or_a_file_not_both(
    runner: CliRunner, demo_journal: Path, tmp_path: Path
) -> None:
    result = invoke(
        runner, demo_journal, "trace", DEMO_RUN, "--otlp", "http://127.0.0.1:9", "-o", "x"
    )
    assert result.exit_code == 2
    assert "give --otlp or -o, not both" in result.stderr


def test_verbose_logs_the_run_on_stderr(runner: CliRunner, journal_path: Path) -> None:
    result = invoke(runner, journal_path, "-v", "sim", "--seed", "3")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert any(" INFO playbill._run: run sim-3 starts" in line for line in lines), lines
    assert any("agent planner takes work of design#1" in line for line in lines)
    assert not any(" DEBUG " in line for line in lines)
    quiet = invoke(runner, journal_path.with_name("quiet.db"), "sim", "--seed", "3")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_log_json_writes_one_json_object_per_line(runner: CliRunner, journal_path: Path) -> None:
    result = invoke(runner, journal_path, "--log-json", "-vv", "sim", "--seed", "3")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stderr.splitlines()]
    assert records
    assert all({"time", "level", "logger", "message"} <= set(record) for record in records)
    assert {record["level"] for record in records} >= {"INFO", "DEBUG"}
    start = next(record for record in records if record["message"].startswith("run sim-3 starts"))
    assert (start["logger"], start["run_id"]) == ("playbill._run", "sim-3")
    assert any(record.get("step") == "design" and record.get("attempt") == 1 for record in records)
