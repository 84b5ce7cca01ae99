"""``playbill trace``: a run's spans, built from its journal, to a file or an OTLP collector."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from playbill.tracing import (
    SpanBuilder,
    SpanRecord,
    TraceFormat,
    TracingExportError,
    export_spans,
    otlp_endpoint,
    spans_jsonl,
    spans_otlp_json,
)

from ._app import CommandFailed, Settings, make_console, pass_settings, run_async, say
from ._load import opened_journal, read_chunks, require_run

OTLP_TIMEOUT_S = 10.0
"""How long ``--otlp`` waits for the collector to answer."""


async def _spans(settings: Settings, run_id: str) -> list[SpanRecord]:
    builder = SpanBuilder()
    spans: list[SpanRecord] = []
    async with opened_journal(settings.journal, create=False, read_only=True) as journal:
        await require_run(journal, run_id, settings.journal)
        async for chunk in read_chunks(journal, run_id):
            for entry in chunk:
                spans.extend(builder.feed(entry))
    spans.extend(builder.finish())
    return spans


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option(
    "--otlp",
    "otlp_url",
    metavar="URL",
    help="Send the spans to this OTLP/HTTP collector (http://localhost:4318; "
    "/v1/traces is added to a URL without a path). Needs playbill[otel].",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the spans to this file instead of stdout.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "otlp"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one span per line; otlp: one OTLP/JSON request.",
)
@pass_settings
def trace(
    settings: Settings, run_id: str, otlp_url: str | None, output: Path | None, fmt: TraceFormat
) -> None:
    """Write a run's trace, built from its journal, to a file or an OTLP collector.

    A span per run, step, attempt, review, verification and merge, timed by
    the journal's entries. Span ids derive from the run id, so a run resumed
    across processes gives one trace (the same one a live tracer sends).
    Spans still open at the journal's end (a run in flight, or waiting for a
    person) end at its last entry, marked playbill.unfinished. Without --otlp
    or -o, the spans go to stdout. docs/tracing.md has the span model and the
    file formats.
    """
    if otlp_url is not None and output is not None:
        raise click.UsageError("give --otlp or -o, not both")
    spans = run_async(_spans, settings, run_id)
    if otlp_url is not None:
        from playbill._extras import require

        exporter_module = require(
            "opentelemetry.exporter.otlp.proto.http.trace_exporter", "otel", "--otlp"
        )
        endpoint = otlp_endpoint(otlp_url)
        exporter = exporter_module.OTLPSpanExporter(endpoint, timeout=OTLP_TIMEOUT_S)
        # The exporter logs each retry: shown with -v, else not (the error says it all).
        quiet = logging.NullHandler()
        logging.getLogger("opentelemetry").addHandler(quiet)
        try:
            export_spans(spans, exporter)
        except TracingExportError as error:
            raise CommandFailed(f"{endpoint}: {error} (-v shows why)") from error
        finally:
            logging.getLogger("opentelemetry").removeHandler(quiet)
        say(make_console(), f"sent {len(spans)} spans of run {run_id} to {endpoint}")
        return
    text = spans_otlp_json(spans) if fmt == "otlp" else spans_jsonl(spans)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandFailed(f"{output}: cannot write: {exc.strerror or exc}") from exc
    say(make_console(stderr=True), f"wrote {len(spans)} spans of run {run_id} to {output}")
