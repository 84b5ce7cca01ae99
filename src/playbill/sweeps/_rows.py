"""A sweep directory's rows: the append-only progress log and the sorted outputs.

Rows are appended to ``progress.jsonl`` as runs finish, in completion order,
each batch flushed and ``fsync``'d: a sweep killed at any moment loses at most
the runs in flight. Reading the log back gives the finished cells, which a
restarted sweep skips. A kill can tear the last line; that line is ignored
(and cut off before anything is appended), and its run is simply done again.
A bad line anywhere else is corruption, and an error.

``rows.jsonl`` and ``rows.csv`` are written at the end, sorted by cell
(seed, strategy, profile) whatever the completion order, each replaced
atomically; so is ``rows.parquet`` where pyarrow is installed (the
``dataframe`` extra); where it is not, a ``rows.parquet`` left by an earlier
sweep is removed, so that it never holds other rows than the others.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import importlib
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, final

import attrs
import msgspec

from playbill._extras import available

from ._cells import ROW_FIELDS, Cell, Row
from ._errors import SweepBusyError, SweepFileError

PROGRESS_FILE = "progress.jsonl"
"""The append-only log of finished runs, in completion order."""

ROWS_JSONL = "rows.jsonl"
"""The rows, sorted by cell, as JSON Lines."""

ROWS_CSV = "rows.csv"
"""The rows, sorted by cell, as CSV (columns ``ROW_FIELDS``)."""

ROWS_PARQUET = "rows.parquet"
"""The rows, sorted by cell, as Parquet: written only where pyarrow is installed."""

_LOCK_FILE = ".lock"
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Row)


def read_progress(path: Path) -> tuple[dict[Cell, Row], int]:
    """The rows of a progress log, and the length of its intact part.

    Args:
        path: The log; a missing log has no rows.

    Returns:
        The rows by cell (the first of any duplicates), and the byte length
        up to the end of the last intact line (a torn last line is not part of it).

    Raises:
        SweepFileError: The log cannot be read, or a line before the last is corrupt.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, 0
    except OSError as error:
        raise SweepFileError(str(path), f"cannot read: {error.strerror or error}") from None
    # A kill can only tear what follows the last newline: every row is
    # written whole with its newline, in one write per batch.
    intact = data.rfind(b"\n") + 1
    rows: dict[Cell, Row] = {}
    for number, line in enumerate(data[:intact].splitlines(), start=1):
        try:
            row = _DECODER.decode(line)
        except msgspec.DecodeError as error:
            raise SweepFileError(str(path), f"line {number} is corrupt: {error}") from None
        rows.setdefault(row.cell, row)
    return rows, intact


@final
@attrs.define(eq=False)
class ProgressLog:
    """The append-only log of a sweep's finished runs. Open it with ``ProgressLog.open``."""

    _file: IO[bytes]

    @classmethod
    @contextlib.contextmanager
    def open(cls, path: Path) -> Iterator[tuple[ProgressLog, dict[Cell, Row]]]:
        """Open a log for appending, after reading back the rows it holds.

        A torn last line is cut off first, so that new rows start on a line of their own.

        Yields:
            The log, and the rows already in it by cell.

        Raises:
            SweepFileError: The log cannot be read or written, or is corrupt.
        """
        rows, intact = read_progress(path)
        try:
            file = path.open("ab", buffering=0)
        except OSError as error:
            raise SweepFileError(str(path), f"cannot write: {error.strerror or error}") from None
        with file:
            file.truncate(intact)
            yield cls(file), rows

    def append(self, rows: Sequence[Row]) -> None:
        """Append rows, one line each, and make them durable before returning.

        Interrupted (Ctrl-C), the rows may or may not be in the log; written
        again, they are duplicates, which reading back ignores.
        """
        data = memoryview(b"".join(_ENCODER.encode(row) + b"\n" for row in rows))
        while data:  # unbuffered: nothing is left in a buffer to be written twice
            written = self._file.write(data)
            data = data[written or 0 :]
        os.fsync(self._file.fileno())


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """Hold the output directory's lock: one sweep writes a directory at a time.

    Raises:
        SweepBusyError: Another process holds it.
    """
    with (out / _LOCK_FILE).open("a") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepBusyError(str(out)) from None
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def write_rows(out: Path, rows: Iterable[Row]) -> list[Row]:
    """Write ``rows.jsonl`` and ``rows.csv``, sorted by cell; return the sorted rows."""
    ordered = sorted(rows, key=lambda row: row.cell)
    replace_file(out / ROWS_JSONL, b"".join(_ENCODER.encode(row) + b"\n" for row in ordered))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(ROW_FIELDS)
    for row in ordered:
        writer.writerow(_cell_text(getattr(row, name)) for name in ROW_FIELDS)
    replace_file(out / ROWS_CSV, text.getvalue().encode())
    if available("pyarrow"):
        replace_file(out / ROWS_PARQUET, parquet(ordered))
    else:
        (out / ROWS_PARQUET).unlink(missing_ok=True)
    return ordered


def parquet(rows: Sequence[Row]) -> bytes:
    """The rows as a Parquet file (columns ``ROW_FIELDS``, typed; needs pyarrow).

    The same rows give the same bytes (with the same version of pyarrow).
    """
    pa: Any = importlib.import_module("pyarrow")
    pq: Any = importlib.import_module("pyarrow.parquet")
    schema = pa.schema([(name, _ARROW_TYPES[name](pa)) for name in ROW_FIELDS])
    table = pa.table({name: [getattr(row, name) for row in rows] for name in ROW_FIELDS}, schema)
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer, compression="zstd")
    return bytes(buffer.getvalue().to_pybytes())


_ARROW_TYPES: dict[str, Any] = {
    "seed": lambda pa: pa.int64(),
    "strategy": lambda pa: pa.string(),
    "profile": lambda pa: pa.string(),
    "outcome": lambda pa: pa.string(),
    "makespan_s": lambda pa: pa.float64(),
    "tokens": lambda pa: pa.int64(),
    "cost_usd": lambda pa: pa.float64(),
    "attempts": lambda pa: pa.int64(),
    "retries": lambda pa: pa.int64(),
    "reassignments": lambda pa: pa.int64(),
    "budget_stops": lambda pa: pa.int64(),
    "arbitration_margin": lambda pa: pa.float64(),
    "error": lambda pa: pa.string(),
}


def read_rows(out: Path) -> list[Row]:
    """The sorted rows of a finished sweep (its ``rows.jsonl``).

    Raises:
        SweepFileError: The file is missing, unreadable or corrupt.
    """
    path = out / ROWS_JSONL
    try:
        data = path.read_bytes()
    except OSError as error:
        raise SweepFileError(
            str(path), f"cannot read ({error.strerror or error}): is it a finished sweep?"
        ) from None
    rows = []
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            rows.append(_DECODER.decode(line))
        except msgspec.DecodeError as error:
            raise SweepFileError(str(path), f"line {number} is corrupt: {error}") from None
    return rows


def replace_file(path: Path, data: bytes) -> None:
    """Write a file atomically: a temporary file, fsync'd, renamed over it."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    return str(value)
