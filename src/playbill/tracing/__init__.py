"""Traces of runs: spans built from the journal, for OpenTelemetry or for files.

A run's trace is built from its journal entries by one pure builder
(``SpanBuilder``, ``build_spans``): a span per run, step, attempt, review,
verification and merge, timed by the entries, with ids derived from the run
id, so a run resumed in another process still gives one trace. Live, a
``RunTracer`` (``open_run(trace=...)``) hands the spans to an OpenTelemetry
span processor as the entries are journaled; afterwards ``playbill trace``
builds them from any journal and writes a file or sends them to an OTLP/HTTP
collector. OpenTelemetry is needed only to send spans (the ``otel`` extra);
files need nothing more. See docs/tracing.md.

May import :mod:`playbill.runtime` and playbill's top-level helper modules.
"""

from __future__ import annotations

from ._builder import SpanBuilder, build_spans
from ._files import TraceFormat, spans_jsonl, spans_otlp_json
from ._otel import (
    DEFAULT_OTLP_PATH,
    SERVICE_NAME,
    RunTracer,
    TracingExportError,
    export_spans,
    otlp_endpoint,
    to_sdk_span,
)
from ._records import (
    AttributeValue,
    SpanEvent,
    SpanName,
    SpanRecord,
    SpanStatus,
    span_id_of,
    trace_id_of,
)

__all__ = [
    "DEFAULT_OTLP_PATH",
    "SERVICE_NAME",
    "AttributeValue",
    "RunTracer",
    "SpanBuilder",
    "SpanEvent",
    "SpanName",
    "SpanRecord",
    "SpanStatus",
    "TraceFormat",
    "TracingExportError",
    "build_spans",
    "export_spans",
    "otlp_endpoint",
    "span_id_of",
    "spans_jsonl",
    "spans_otlp_json",
    "to_sdk_span",
    "trace_id_of",
]
