"""``playbill export`` and ``playbill import``: runs as JSON Lines files.

Both are all or nothing. ``export`` writes a temporary file beside the target
and renames it over the target once complete. ``import`` validates the whole
file before it opens the journal, then writes the run in one transaction, and
never overwrites a run that exists.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import click
import trio

from playbill.runtime._entry import Entry
from playbill.runtime._errors import InputError, RunExistsError

from ._app import Settings, make_console, pass_settings, run_async, say
from ._jsonl import encode_run_file, parse_run_file
from ._load import make_journal_dir, opened_journal, read_chunks, require_run


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    Raises:
        InputError: The file cannot be written (missing directory, no permission...).
    """
    tmp: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(
            "wb", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
        ) as handle:
            tmp = Path(handle.name)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except OSError as exc:
        raise InputError(str(path), "", f"cannot write: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)  # gone already once renamed


def read_input(path: Path) -> bytes:
    """The bytes of a file to import.

    Raises:
        InputError: The file cannot be read.
    """
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), "", f"cannot read: {exc.strerror or exc}") from exc


async def export_run(settings: Settings, run_id: str, output: Path) -> int:
    """Write the run to ``output`` as JSON Lines, atomically; return the entry count."""
    entries: list[Entry] = []
    async with opened_journal(settings.journal, create=False, read_only=True) as journal:
        await require_run(journal, run_id, settings.journal)
        async for chunk in read_chunks(journal, run_id):
            entries.extend(chunk)
    await trio.to_thread.run_sync(write_atomically, output, encode_run_file(entries))
    return len(entries)


async def import_run(settings: Settings, source: Path) -> tuple[str, int]:
    """Validate the whole file, then store its run; return the run id and entry count.

    Raises:
        InputError: The file is not a valid run file; nothing was written.
        RunExistsError: The run is in the journal already; nothing was written.
    """
    data = await trio.to_thread.run_sync(read_input, source)
    entries = parse_run_file(str(source), data)
    run_id = entries[0].run_id
    await make_journal_dir(settings.journal)
    async with opened_journal(settings.journal, create=True) as journal:
        if await journal.run_exists(run_id):
            raise RunExistsError(run_id)
        await journal.import_entries(entries)
    return run_id, len(entries)


@click.command(name="export")
@click.argument("run_id", metavar="RUN")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="FILE",
    help="The file to write (replaced atomically if it exists).",
)
@pass_settings
def export(settings: Settings, run_id: str, output: Path) -> None:
    """Write a run to a file as JSON Lines: one entry per line, in seq order.

    Each line is the entry exactly as the journal encodes it, so an export of
    an import of an export is byte-identical.
    """
    count = run_async(export_run, settings, run_id, output)
    say(make_console(), f"Exported run {run_id} ({count} entries) to {output}")


@click.command(name="import")
@click.argument("source", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@pass_settings
def import_(settings: Settings, source: Path) -> None:
    """Store a run from a JSON Lines file (as written by `playbill export`).

    The whole file is checked first: every line must decode into an entry,
    all of one run, with seqs 1, 2, 3... and no gap or duplicate. Nothing is
    written unless all of it is valid, and a run already in the journal is
    never overwritten.
    """
    run_id, count = run_async(import_run, settings, source)
    say(make_console(), f"Imported run {run_id} ({count} entries) into {settings.journal}")
