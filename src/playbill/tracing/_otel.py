"""Span records to OpenTelemetry: the SDK's spans, a live tracer, and an OTLP export.

Needs the ``otel`` extra (``pip install 'playbill[otel]'``): the API, the
SDK and the OTLP/HTTP exporter. Spans are handed to the SDK finished, with the
ids and times the builder gave them (``to_sdk_span``), so a span processor or
exporter sees exactly what ``playbill trace`` writes to a file.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, final

import attrs

from playbill._extras import require
from playbill._version import __version__
from playbill.runtime import Entry, PlaybillError

from ._builder import SpanBuilder
from ._records import SpanRecord

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger(__name__)

SERVICE_NAME = "playbill"
"""The ``service.name`` of every span's resource."""

DEFAULT_OTLP_PATH = "/v1/traces"
"""Where an OTLP/HTTP collector takes traces, added to a URL that names no path."""


class TracingExportError(PlaybillError):
    """An exporter could not send a run's spans (the collector is down, or refused them)."""


def _sdk() -> Any:
    return require("opentelemetry.sdk.trace", "otel", "tracing")


def to_sdk_span(record: SpanRecord) -> ReadableSpan:
    """The OpenTelemetry SDK's finished span for a record (times in nanoseconds)."""
    sdk = _sdk()
    api = require("opentelemetry.trace", "otel", "tracing")
    resources = require("opentelemetry.sdk.resources", "otel", "tracing")
    instrumentation = require("opentelemetry.sdk.util.instrumentation", "otel", "tracing")
    sampled = api.TraceFlags(api.TraceFlags.SAMPLED)

    def context(span_id: str) -> Any:
        return api.SpanContext(
            int(record.trace_id, 16), int(span_id, 16), is_remote=False, trace_flags=sampled
        )

    status_code = {
        "unset": api.StatusCode.UNSET,
        "ok": api.StatusCode.OK,
        "error": api.StatusCode.ERROR,
    }[record.status]
    span: ReadableSpan = sdk.ReadableSpan(
        name=record.name,
        context=context(record.span_id),
        parent=context(record.parent_id) if record.parent_id is not None else None,
        resource=resources.Resource({"service.name": SERVICE_NAME}),
        attributes=dict(record.attributes),
        events=[
            sdk.Event(event.name, dict(event.attributes), event.at_us * 1000)
            for event in record.events
        ],
        kind=api.SpanKind.INTERNAL,
        status=api.Status(status_code, record.status_message or None),
        start_time=record.start_us * 1000,
        end_time=record.end_us * 1000,
        instrumentation_scope=instrumentation.InstrumentationScope("playbill", __version__),
    )
    return span


def export_spans(records: Sequence[SpanRecord], exporter: SpanExporter) -> None:
    """Export finished span records with an SDK exporter, all in one call, then shut it down.

    Raises:
        TracingExportError: The exporter reports a failure.
    """
    export = require("opentelemetry.sdk.trace.export", "otel", "tracing")
    try:
        result = exporter.export([to_sdk_span(record) for record in records])
    finally:
        exporter.shutdown()
    if result != export.SpanExportResult.SUCCESS:
        raise TracingExportError(f"the exporter could not send the {len(records)} spans")


def otlp_endpoint(url: str) -> str:
    """The OTLP/HTTP traces endpoint of ``url``: ``/v1/traces`` added when it names no path."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.path in ("", "/"):
        return url.rstrip("/") + DEFAULT_OTLP_PATH
    return url


@final
@attrs.define(eq=False)
class RunTracer:
    """Hands a run's spans to an OpenTelemetry span processor as its entries are journaled.

    Feed it every committed batch (``observe``; ``open_run(trace=...)`` does).
    For a run resumed from its journal, ``catch_up`` with the entries written
    before: the spans they opened and that end here get their true parents and
    start times, and the spans that ended before are not sent again (the
    process that ended them sent them). The caller owns the processor: flush
    or shut it down when the run is over.

    Args:
        processor: An OpenTelemetry SDK span processor (``BatchSpanProcessor``
            of an OTLP exporter, ``SimpleSpanProcessor``...).
    """

    processor: SpanProcessor
    _builder: SpanBuilder = attrs.field(factory=SpanBuilder, init=False)
    _last_seq: int = attrs.field(default=0, init=False)
    _sent: int = attrs.field(default=0, init=False)

    def catch_up(self, entries: Sequence[Entry]) -> None:
        """Take entries that were journaled before, sending nothing."""
        for entry in entries:
            if entry.seq > self._last_seq:
                self._builder.feed(entry)
                self._last_seq = entry.seq

    def observe(self, entries: Sequence[Entry]) -> None:
        """Take a committed batch of entries; send the spans they end."""
        for entry in entries:
            if entry.seq <= self._last_seq:
                continue
            self._last_seq = entry.seq
            for record in self._builder.feed(entry):
                self._send(record)

    @property
    def sent(self) -> int:
        """How many spans were handed to the processor."""
        return self._sent

    def _send(self, record: SpanRecord) -> None:
        self.processor.on_end(to_sdk_span(record))
        self._sent += 1
        if record.name == "run":
            logger.debug(
                "trace of run %s: %d spans sent",
                record.attributes.get("playbill.run_id", ""),
                self._sent,
            )
