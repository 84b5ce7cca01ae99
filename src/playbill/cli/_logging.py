"""``-v``/``--verbose`` and ``--log-json``: the library's log records on stderr.

playbill logs through ``logging`` (module loggers under ``playbill``) and
configures nothing itself; the CLI does, for one command, when asked: ``-v``
shows INFO records, ``-vv`` DEBUG too, and ``--log-json`` writes each record
as one JSON object per line (``time``, ``level``, ``logger``, ``message``,
and the record's extra fields such as ``run_id``, ``step``, ``attempt``).
Every line passes through a ``Redactor`` of the environment's secrets on its
way out, whatever a message quotes.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys
from collections.abc import Callable
from typing import IO, Any

from playbill._redact import Redactor

LOGGER = "playbill"
"""The logger whose records the CLI shows (every module logger of playbill is under it)."""

OTEL_LOGGER = "opentelemetry"
"""OpenTelemetry's logger: its exporter says there why it could not send spans."""

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
"""A log record's own attributes: anything else on a record is an extra field."""


def level_of(verbose: int) -> int:
    """The level ``-v`` given ``verbose`` times asks for: WARNING, INFO, then DEBUG."""
    if verbose <= 0:
        return logging.WARNING
    return logging.INFO if verbose == 1 else logging.DEBUG


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record was logged with (``extra={...}``), by name."""
    return {
        name: value
        for name, value in vars(record).items()
        if name not in _STANDARD and not name.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, extras."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in extra_fields(record).items():
            line.setdefault(
                name, value if isinstance(value, str | int | float | bool) else str(value)
            )
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER: MESSAGE [key=value...]``, one record per line."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as one readable line, its extra fields after the message."""
        text = super().format(record)
        fields = extra_fields(record)
        if fields:
            text += " " + " ".join(f"{name}={value}" for name, value in sorted(fields.items()))
        return text


class _Redacting(logging.Handler):
    """Formats a record, redacts the line, and writes it to a stream."""

    def __init__(self, stream: IO[str], redactor: Redactor, level: int) -> None:
        super().__init__(level)
        self.stream = stream
        self.redactor = redactor

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.redactor.redact(self.format(record)) + "\n")
            self.stream.flush()
        except Exception:
            self.handleError(record)


def start_logging(
    verbose: int, as_json: bool, stream: IO[str] | None = None
) -> Callable[[], None] | None:
    """Show playbill's log records on ``stream`` (stderr), if ``-v`` or ``--log-json`` asks.

    ``--log-json`` alone shows INFO records, as ``-v`` does.

    Returns:
        A function that undoes it (removes the handler, restores the level),
        or ``None`` when nothing was asked.
    """
    if verbose <= 0 and not as_json:
        return None
    level = level_of(max(verbose, 1))
    handler = _Redacting(
        stream if stream is not None else sys.stderr, Redactor.from_environ(), level
    )
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    logger = logging.getLogger(LOGGER)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    logging.getLogger(OTEL_LOGGER).addHandler(handler)

    def stop() -> None:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logging.getLogger(OTEL_LOGGER).removeHandler(handler)

    return stop
