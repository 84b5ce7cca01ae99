"""Export and import: JSON Lines round trips, all-or-nothing writes, strict validation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
from cli_helpers import (
    DEMO_LAST_SEQ,
    DEMO_RUN,
    assert_one_line_error,
    invoke,
    list_runs,
    read_entries,
)
from click.testing import CliRunner

from playbill.cli import cli
from playbill.runtime.model._entry import encode_entry
from playbill.runtime.model._errors import InputError


@pytest.fixture
def export_file(runner: CliRunner, demo_journal: Path, tmp_path: Path) -> Path:
    target = tmp_path / "demo.jsonl"
    result = invoke(runner, demo_journal, "export", DEMO_RUN, "-o", str(target))
    assert result.exit_code == 0, result.output
    return target


def test_export_writes_each_stored_entry_as_encoded(export_file: Path, demo_journal: Path) -> None:
    expected = b"".join(encode_entry(e) + b"\n" for e in read_entries(demo_journal))
    assert export_file.read_bytes() == expected


def test_export_import_export_round_trips_byte_identically(
    runner: CliRunner, export_file: Path, tmp_path: Path, demo_journal: Path
) -> None:
    fresh = tmp_path / "fresh" / "journal.db"
    result = invoke(runner, fresh, "import", str(export_file))
    assert result.exit_code == 0, result.output
    assert f"Imported run {DEMO_RUN} ({DEMO_LAST_SEQ} entries)" in result.output
    again = tmp_path / "again.jsonl"
    assert invoke(runner, fresh, "export", DEMO_RUN, "-o", str(again)).exit_code == 0
    assert again.read_bytes() == export_file.read_bytes()
    assert read_entries(fresh) == read_entries(demo_journal)
    replayed = invoke(runner, fresh, "replay", DEMO_RUN).output
    assert replayed == invoke(runner, demo_journal, "replay", DEMO_RUN).output


def test_export_replaces_the_target_atomically(
    runner: CliRunner, demo_journal: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old contents\n")
    assert invoke(runner, demo_journal, "export", DEMO_RUN, "-o", str(target)).exit_code == 0
    assert target.read_bytes().count(b"\n") == DEMO_LAST_SEQ
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_export_of_an_unknown_run_writes_nothing(
    runner: CliRunner, demo_journal: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    result = invoke(runner, demo_journal, "export", "nope", "-o", str(target))
    assert_one_line_error(result, "unknown run 'nope'", str(demo_journal))
    assert not target.exists()


def test_export_into_a_missing_directory(
    runner: CliRunner, demo_journal: Path, tmp_path: Path
) -> None:
    target = tmp_path / "no" / "such" / "dir" / "out.jsonl"
    result = invoke(runner, demo_journal, "export", DEMO_RUN, "-o", str(target))
    assert_one_line_error(result, str(target), "cannot write")
    assert not target.parent.exists()


def test_import_refuses_an_existing_run_and_writes_nothing(
    runner: CliRunner, demo_journal: Path, export_file: Path
) -> None:
    before = read_entries(demo_journal)
    runs_before = list_runs(demo_journal)
    result = invoke(runner, demo_journal, "import", str(export_file))
    assert_one_line_error(result, str(demo_journal), DEMO_RUN, "already exists")
    assert read_entries(demo_journal) == before
    assert list_runs(demo_journal) == runs_before


# ------------------------------------------------------------------ bad input

Lines = list[bytes]


def _set(line: bytes, path: tuple[str, ...], value: object) -> bytes:
    data = msgspec.json.decode(line)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return msgspec.json.encode(data)


def malformed(lines: Lines) -> Lines:
    lines[2] = lines[2][:-7]
    return lines


def unknown_type(lines: Lines) -> Lines:
    lines[2] = _set(lines[2], ("msg", "type"), "step_teleported")
    return lines


def wrong_type(lines: Lines) -> Lines:
    lines[2] = _set(lines[2], ("msg", "attempt"), "one")  # seq 3 is a step_assigned
    return lines


def unknown_field(lines: Lines) -> Lines:
    lines[2] = _set(lines[2], ("msg", "colour"), "blue")
    return lines


def missing_field(lines: Lines) -> Lines:
    data = msgspec.json.decode(lines[2])
    del data["msg"]["step"]
    lines[2] = msgspec.json.encode(data)
    return lines


def gap(lines: Lines) -> Lines:
    del lines[2]
    return lines


def duplicate(lines: Lines) -> Lines:
    lines.insert(3, lines[2])
    return lines


def mixed_runs(lines: Lines) -> Lines:
    lines[2] = _set(lines[2], ("run_id",), "other-run")
    return lines


def future_version(lines: Lines) -> Lines:
    lines[2] = _set(lines[2], ("v",), 99)
    return lines


def version_zero(lines: Lines) -> Lines:
    lines[2] = _set(lines[2], ("v",), 0)
    return lines


def blank_line(lines: Lines) -> Lines:
    lines.insert(2, b"")
    return lines


BAD_FILES: list[tuple[Callable[[Lines], Lines], tuple[str, ...]]] = [
    (malformed, ("line 3", "malformed JSON")),
    (unknown_type, ("line 3", "unknown message type 'step_teleported'", "$.msg.type")),
    (wrong_type, ("line 3", "Expected `int`, got `str`", "$.msg.attempt")),
    (unknown_field, ("line 3", "unknown field `colour`", "$.msg")),
    (missing_field, ("line 3", "missing required field `step`", "$.msg")),
    (gap, ("line 3", "seq 4 leaves a gap; expected seq 3", "$.seq")),
    (duplicate, ("line 4", "seq 3 is a duplicate", "$.seq")),
    (mixed_runs, ("line 3", "'other-run'", "$.run_id")),
    (future_version, ("line 3", "version 99", "$.v")),
    (version_zero, ("line 3", "version 0", "$.v")),
    (blank_line, ("line 3", "empty line")),
]


@pytest.mark.parametrize(("spoil", "fragments"), BAD_FILES, ids=[f.__name__ for f, _ in BAD_FILES])
def test_bad_files_are_refused_with_one_line_and_nothing_written(
    runner: CliRunner,
    export_file: Path,
    tmp_path: Path,
    spoil: Callable[[Lines], Lines],
    fragments: tuple[str, ...],
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join(spoil(export_file.read_bytes().splitlines())) + b"\n")
    fresh = tmp_path / "fresh.db"
    result = invoke(runner, fresh, "import", str(bad))
    assert_one_line_error(result, f"{bad}:", *fragments)
    assert not fresh.exists()


def test_a_bad_file_leaves_an_existing_journal_unchanged(
    runner: CliRunner, demo_journal: Path, export_file: Path, tmp_path: Path
) -> None:
    lines = export_file.read_bytes().replace(DEMO_RUN.encode(), b"demo-0099").splitlines()
    lines[-1] = _set(lines[-1], ("msg", "timer"), 42)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"\n".join(lines) + b"\n")
    before = read_entries(demo_journal)
    result = invoke(runner, demo_journal, "import", str(bad))
    assert_one_line_error(result, f"{bad}:line {DEMO_LAST_SEQ}", "$.msg.timer")
    assert [info.run_id for info in list_runs(demo_journal)] == [DEMO_RUN]
    assert read_entries(demo_journal) == before


def test_an_empty_file_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    fresh = tmp_path / "fresh.db"
    assert_one_line_error(invoke(runner, fresh, "import", str(empty)), str(empty), "empty")
    assert not fresh.exists()


def test_a_missing_file_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    fresh = tmp_path / "fresh.db"
    result = invoke(runner, fresh, "import", str(missing))
    assert_one_line_error(result, str(missing), "cannot read")
    assert not fresh.exists()


def test_debug_lets_the_error_through(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    result = runner.invoke(
        cli, ["--debug", "--journal", str(tmp_path / "j.db"), "import", str(missing)]
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert result.exception.source == str(missing)
