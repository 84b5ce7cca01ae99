"""Bad journals and bad arguments: one line on stderr, exit status 2, nothing changed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec
import pytest
from cli_helpers import DEMO_RUN, assert_one_line_error, invoke, read_entries
from click.testing import CliRunner

from playbill.cli import cli
from playbill.runtime.logic._reducer import fold
from playbill.runtime.model._entry import reseal
from playbill.runtime.model._errors import CorruptEntryError, NotAJournalError
from playbill.runtime.model._state import state_digest

READ_COMMANDS = [
    ["status", DEMO_RUN],
    ["events", DEMO_RUN],
    ["replay", DEMO_RUN],
]

ENTRY_KEY = "key = ((SELECT id FROM runs WHERE run_id = ?) << 32) + ?"
"""Where a SQLite journal keeps a run's entry (its run's number << 32 | seq)."""


def _store_entry(journal: Path, seq: int, data: bytes, *, fix_checksum: bool) -> None:
    """Overwrite a stored entry's bytes behind the journal's back.

    A SQLite record carries its own CRC-32 (its last four bytes): fixing the
    checksum is sealing the record again.
    """
    with sqlite3.connect(journal) as conn:
        conn.execute(
            f"UPDATE entries SET data = ? WHERE {ENTRY_KEY}",
            (reseal(data) if fix_checksum else data, DEMO_RUN, seq),
        )
    conn.close()


def _stored(journal: Path, seq: int) -> bytes:
    with sqlite3.connect(journal) as conn:
        row = conn.execute(
            f"SELECT data FROM entries WHERE {ENTRY_KEY}", (DEMO_RUN, seq)
        ).fetchone()
    conn.close()
    return bytes(row[0])


def test_a_file_that_is_not_a_journal(runner: CliRunner, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\n")
    for args in (["runs"], *READ_COMMANDS):
        result = invoke(runner, text, *args)
        assert_one_line_error(result, str(text), "not a playbill journal")
    assert text.read_text() == "just some notes\n"


def test_import_into_a_file_that_is_not_a_journal(
    runner: CliRunner, demo_journal: Path, tmp_path: Path
) -> None:
    export = tmp_path / "demo.jsonl"
    assert invoke(runner, demo_journal, "export", DEMO_RUN, "-o", str(export)).exit_code == 0
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\n")
    assert_one_line_error(invoke(runner, text, "import", str(export)), str(text), "not a playbill")
    assert text.read_text() == "just some notes\n"


@pytest.mark.parametrize("args", [*READ_COMMANDS, ["export", DEMO_RUN, "-o", "x.jsonl"]])
def test_an_unknown_run(runner: CliRunner, demo_journal: Path, args: list[str]) -> None:
    args = [arg if arg != DEMO_RUN else "no-such-run" for arg in args]
    result = invoke(runner, demo_journal, *args)
    assert_one_line_error(result, "unknown run 'no-such-run'", str(demo_journal))


def test_a_corrupt_entry_names_the_journal_run_and_seq(
    runner: CliRunner, demo_journal: Path
) -> None:
    original = _stored(demo_journal, 5)
    corrupt = original.replace(b"supervisor", b"SUPERVISOR")
    assert corrupt != original
    _store_entry(demo_journal, 5, corrupt, fix_checksum=False)
    out = str(demo_journal.parent / "out.jsonl")
    for args in (["replay", DEMO_RUN], ["events", DEMO_RUN], ["export", DEMO_RUN, "-o", out]):
        result = invoke(runner, demo_journal, *args)
        assert_one_line_error(result, str(demo_journal), f"run '{DEMO_RUN}' seq 5", "checksum")


def test_an_undecodable_entry_names_the_field_path(runner: CliRunner, demo_journal: Path) -> None:
    # SQLite keeps a MessagePack record [entry, check]; check is a uint32, sealed below
    data, _ = msgspec.msgpack.decode(_stored(demo_journal, 6))
    assert data["msg"]["type"] == "step_started"
    data["msg"]["attempt"] = "first"
    record = msgspec.msgpack.encode([data, 0xFFFFFFFF])
    _store_entry(demo_journal, 6, record, fix_checksum=True)
    result = invoke(runner, demo_journal, "replay", DEMO_RUN)
    assert_one_line_error(
        result, str(demo_journal), f"run '{DEMO_RUN}' seq 6", "$.msg.attempt", "Expected `int`"
    )


def test_debug_shows_the_error_itself(runner: CliRunner, demo_journal: Path) -> None:
    _store_entry(demo_journal, 5, b"{}", fix_checksum=False)
    args = ["--debug", "--journal", str(demo_journal), "replay", DEMO_RUN]
    result = runner.invoke(cli, args)
    assert isinstance(result.exception, CorruptEntryError)
    assert result.exception.seq == 5
    missing = ["--debug", "--journal", str(demo_journal.parent / "nope.db"), "runs"]
    assert isinstance(runner.invoke(cli, missing).exception, NotAJournalError)


def test_a_corrupt_snapshot_is_reported_and_bypassed(runner: CliRunner, demo_journal: Path) -> None:
    with sqlite3.connect(demo_journal) as conn:
        seqs = [row[0] for row in conn.execute("SELECT seq FROM snapshots ORDER BY seq")]
        assert seqs, "the demo's writer stores snapshots"
        conn.execute("UPDATE snapshots SET data = ?", (b"not a state",))
    conn.close()
    result = invoke(runner, demo_journal, "status", DEMO_RUN)
    assert result.exit_code == 0, result.output
    assert "playbill: warning: corrupt snapshot" in result.stderr
    assert "folding the run from seq 1 instead" in result.stderr
    expected = state_digest(fold(read_entries(demo_journal)))
    assert f"state-digest: {expected}" in result.stdout


def test_usage_errors_keep_clicks_exit_status(runner: CliRunner, demo_journal: Path) -> None:
    assert invoke(runner, demo_journal, "status").exit_code == 2
    assert invoke(runner, demo_journal, "export", DEMO_RUN).exit_code == 2
    assert invoke(runner, demo_journal, "events", DEMO_RUN, "--since", "0").exit_code == 2
    assert invoke(runner, demo_journal, "no-such-command").exit_code == 2
