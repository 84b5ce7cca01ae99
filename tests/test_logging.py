"""playbill logs through ``logging`` and configures nothing; the CLI's handler redacts.

The library's module loggers sit under ``playbill``, which holds one
``NullHandler`` and nothing else: an application decides where records go.
A run logs its start, its resume and its end with the run id as a field.
``start_logging`` (behind ``playbill -v`` and ``--log-json``) writes each
record as one line, redacted of the environment's secrets.
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from playbill.cli._logging import level_of, start_logging
from playbill.runtime import FaultPlan, MemoryJournal
from playbill.simulation import simulate


def test_the_library_configures_no_handler_but_a_null_one() -> None:
    import playbill

    assert playbill.__version__
    handlers = logging.getLogger("playbill").handlers
    assert handlers and all(type(handler) is logging.NullHandler for handler in handlers)
    assert logging.getLogger("playbill").level == logging.NOTSET


def test_a_run_logs_its_start_its_resume_and_its_end_with_its_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    full = simulate(4)
    journal = MemoryJournal()
    with caplog.at_level(logging.DEBUG, logger="playbill"):
        simulate(4, journal=journal, faults=FaultPlan(kill=full.entries // 2))
        simulate(4, journal=journal, resume=True)
    ours = [record for record in caplog.records if record.name == "playbill._run"]
    messages = [record.getMessage() for record in ours]
    assert messages[0].startswith(f"run {full.run_id} starts: ")
    assert any(message.startswith(f"run {full.run_id} resumes at seq ") for message in messages)
    assert messages[-1].startswith(f"run {full.run_id} leaves this process completed")
    assert {getattr(record, "run_id", None) for record in ours} == {full.run_id}
    loggers = {record.name for record in caplog.records}
    assert {"playbill.actors._role", "playbill.runtime.journal._journal"} <= loggers
    assert not any(
        name.startswith(("playbill.runtime.model", "playbill.runtime.logic")) for name in loggers
    )


def test_the_cli_handler_redacts_secrets_from_every_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXAMPLE_API_TOKEN", "s3cr3t-value-42")
    stream = io.StringIO()
    stop = start_logging(1, True, stream)
    assert stop is not None
    try:
        logging.getLogger("playbill.example").warning(
            "agent said %s", "token=s3cr3t-value-42", extra={"run_id": "r1", "step": "s"}
        )
        logging.getLogger("playbill.example").debug("not shown at -v")
    finally:
        stop()
    logging.getLogger("playbill.example").warning("not shown once stopped")
    (line,) = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["message"] == "agent said token=[redacted:EXAMPLE_API_TOKEN]"
    assert (record["level"], record["logger"], record["run_id"], record["step"]) == (
        "WARNING",
        "playbill.example",
        "r1",
        "s",
    )
    assert "s3cr3t" not in stream.getvalue()
    assert logging.getLogger("playbill").level == logging.NOTSET


def test_text_lines_carry_the_extra_fields_after_the_message() -> None:
    stream = io.StringIO()
    stop = start_logging(2, False, stream)
    assert stop is not None
    try:
        logging.getLogger("playbill.example").debug("lease taken", extra={"run_id": "r2"})
    finally:
        stop()
    assert stream.getvalue().rstrip().endswith(" DEBUG playbill.example: lease taken run_id=r2")


def test_verbosity_counts_up_to_debug() -> None:
    assert [level_of(n) for n in range(4)] == [
        logging.WARNING,
        logging.INFO,
        logging.DEBUG,
        logging.DEBUG,
    ]
    assert start_logging(0, False) is None
