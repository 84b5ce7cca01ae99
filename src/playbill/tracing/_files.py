"""Span records as files: one span per line (JSON Lines), or OTLP/JSON.

Neither needs OpenTelemetry installed.

* ``jsonl``: one JSON object per span, in the order spans end:
  ``{"name", "trace_id", "span_id", "parent_id", "start_us", "end_us",
  "status", "status_message", "attributes", "events"}``, each event
  ``{"name", "at_us", "attributes"}``; times in microseconds since the Unix
  epoch.
* ``otlp``: one ``ExportTraceServiceRequest`` in OTLP's JSON encoding (hex
  ids, nanosecond times as strings, typed attribute values), which an
  OpenTelemetry collector's ``otlpjsonfile`` receiver and most trace viewers
  read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias

from playbill._version import __version__

from ._records import AttributeValue, SpanRecord

TraceFormat: TypeAlias = Literal["jsonl", "otlp"]
"""How ``playbill trace`` writes spans to a file: one per line, or OTLP/JSON."""

_STATUS_CODES = {"unset": 0, "ok": 1, "error": 2}
"""OTLP's status codes."""

_KIND_INTERNAL = 1
"""OTLP's ``SPAN_KIND_INTERNAL``."""


def spans_jsonl(records: Sequence[SpanRecord]) -> str:
    """The records as JSON Lines: one object per span, each line ending in a newline."""
    lines = []
    for record in records:
        line = {
            "name": record.name,
            "trace_id": record.trace_id,
            "span_id": record.span_id,
            "parent_id": record.parent_id,
            "start_us": record.start_us,
            "end_us": record.end_us,
            "status": record.status,
            "status_message": record.status_message,
            "attributes": dict(record.attributes),
            "events": [
                {"name": event.name, "at_us": event.at_us, "attributes": dict(event.attributes)}
                for event in record.events
            ],
        }
        lines.append(json.dumps(line, sort_keys=True, ensure_ascii=False) + "\n")
    return "".join(lines)


def spans_otlp_json(records: Sequence[SpanRecord]) -> str:
    """The records as one OTLP/JSON ``ExportTraceServiceRequest``."""
    spans = []
    for record in records:
        span: dict[str, Any] = {
            "traceId": record.trace_id,
            "spanId": record.span_id,
            "name": record.name,
            "kind": _KIND_INTERNAL,
            "startTimeUnixNano": str(record.start_us * 1000),
            "endTimeUnixNano": str(record.end_us * 1000),
            "attributes": _attributes(record.attributes),
            "events": [
                {
                    "timeUnixNano": str(event.at_us * 1000),
                    "name": event.name,
                    "attributes": _attributes(event.attributes),
                }
                for event in record.events
            ],
            "status": {"code": _STATUS_CODES[record.status]},
        }
        if record.parent_id is not None:
            span["parentSpanId"] = record.parent_id
        if record.status_message:
            span["status"]["message"] = record.status_message
        spans.append(span)
    request = {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes({"service.name": "playbill"})},
                "scopeSpans": [
                    {"scope": {"name": "playbill", "version": __version__}, "spans": spans}
                ],
            }
        ]
    }
    return json.dumps(request, ensure_ascii=False, indent=1) + "\n"


def _attributes(attributes: Mapping[str, AttributeValue]) -> list[dict[str, Any]]:
    return [{"key": key, "value": _value(value)} for key, value in attributes.items()]


def _value(value: AttributeValue) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}  # int64 is a string in OTLP/JSON
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": value}
