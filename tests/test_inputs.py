"""The pieces behind hostile-input handling: bounded reads, depth, run ids, escaping, read-only.

The same cases run end to end through the console script in
tests/cli/test_cli_hostile.py; these pin each piece down on its own.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from playbill._inputs import InputRefused, read_input, too_deep
from playbill.cli._escape import SafeTable, printable
from playbill.cli._load import run_id_problem
from playbill.runtime import SqliteJournal
from playbill.runtime.model._entry import Draft
from playbill.runtime.model._errors import NotAJournalError, StoreError
from playbill.runtime.model._messages import NoteWritten


def test_read_input_reads_a_regular_file_up_to_its_limit(tmp_path: Path) -> None:
    file = tmp_path / "plan.toml"
    file.write_bytes(b"x" * 100)
    assert read_input(file, 100) == b"x" * 100
    with pytest.raises(InputRefused, match="larger than 99 bytes"):
        read_input(file, 99)


def test_read_input_refuses_a_fifo_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    with pytest.raises(InputRefused, match=r"not a regular file \(a FIFO\)"):
        read_input(fifo, 1024)


@pytest.mark.parametrize(("path", "kind"), [("/dev/zero", "a device"), ("/", "a directory")])
def test_read_input_refuses_devices_and_directories(path: str, kind: str) -> None:
    with pytest.raises(InputRefused, match=f"not a regular file \\({kind}\\)"):
        read_input(path, 1024)


def test_read_input_says_when_a_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(InputRefused) as info:
        read_input(tmp_path / "nope", 10)
    assert info.value.missing


def test_too_deep_answers_for_any_depth_without_recursing() -> None:
    nested: object = []
    for _ in range(100_000):
        nested = [nested]
    assert too_deep(nested)
    shallow: object = {"a": [[{"b": 1}]]}
    assert not too_deep(shallow, limit=4)
    assert too_deep(shallow, limit=3)


@pytest.mark.parametrize("run_id", ["", "../x", "a\nb", "x" * 65, "-x", ".x", "a b", "é"])
def test_run_id_problem_refuses_what_run_refuses(run_id: str) -> None:
    problem = run_id_problem(run_id)
    assert problem is not None
    assert "expected 1 to 64 letters" in problem
    assert len(problem) < 300  # a 10,000-character id is not printed whole


@pytest.mark.parametrize("run_id", ["sim-1", "run-20260101-000000", "a", "x" * 64, "A.b_c-9"])
def test_run_id_problem_accepts_valid_ids(run_id: str) -> None:
    assert run_id_problem(run_id) is None


def test_printable_escapes_every_control_but_tab_and_newline() -> None:
    controls = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
    shown = printable("".join(controls))
    assert "\t" in shown
    assert "\n" in shown
    for control in controls:
        if control not in "\t\n":
            assert control not in shown
            assert f"\\x{ord(control):02x}" in shown
    assert printable(shown) == shown


def test_printable_keeps_ordinary_text() -> None:
    text = "fix the → parser: 3 tests, 100% ✓"
    assert printable(text) is text


def test_safe_table_cells_are_escaped_and_never_markup() -> None:
    from io import StringIO

    from rich.console import Console

    table = SafeTable()
    table.add_column("goal")
    table.add_row("[/bad] \x1b]0;title\x07")
    console = Console(file=StringIO(), width=80, color_system=None)
    console.print(table)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[/bad]" in out
    assert "\x1b" not in out
    assert r"\x1b]0;title\x07" in out


async def test_a_read_only_journal_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with SqliteJournal(path) as journal:
        async with journal.writer("run-a") as w:
            await w.append([Draft(msg=NoteWritten(author="p", text="hi"), sender="p")])
    before = path.read_bytes()
    with SqliteJournal(path, create=False, read_only=True) as journal:
        assert [e.seq for e in await journal.read("run-a")] == [1]
        with pytest.raises(StoreError):
            async with journal.writer("run-b") as w:
                await w.append([Draft(msg=NoteWritten(author="p", text="x"), sender="p")])
    assert path.read_bytes() == before


def test_a_read_only_journal_is_never_created(tmp_path: Path) -> None:
    with pytest.raises(NotAJournalError):
        SqliteJournal(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()


def test_a_read_only_open_refuses_what_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(NotAJournalError):
        SqliteJournal(path, read_only=True)
