"""``playbill export`` and ``playbill import``: runs as JSON Lines files.

Both are all or nothing. ``export`` writes a temporary file beside the target
and renames it over the target once complete. ``import`` validates the whole
file before it opens the journal, then writes the run in one transaction, and
never overwrites a run that exists.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path

import click
import trio

from playbill._inputs import MAX_RUN_FILE_BYTES, InputRefused, read_input
from playbill.runtime import Entry, InputError, RunExistsError, is_journal_url

from ._app import Settings, make_console, pass_settings, run_async, say
from ._jsonl import encode_run_file, parse_run_file
from ._load import make_journal_dir, opened_journal, read_chunks, require_run


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    Only a regular file is ever written: the data goes to a temporary file
    in the same directory, renamed over ``path`` once complete. A device, a
    FIFO, a socket or a directory at ``path`` is refused, never replaced;
    a symbolic link to a regular file has its target replaced, the link
    kept. A new file gets the usual permissions (0666 less the umask), a
    replaced one keeps its own.

    Raises:
        InputError: ``path`` is not a regular file, or cannot be written.
    """
    try:
        target = path.resolve() if path.is_symlink() else path
        existing = target.stat() if target.exists() else None
    except OSError as exc:
        raise InputError(str(path), "", f"cannot write: {exc.strerror or exc}") from exc
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise InputError(
            str(path), "", "not a regular file; export writes regular files only (-o - for stdout)"
        )
    if existing is not None:
        mode = stat.S_IMODE(existing.st_mode)
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp: Path | None = None
    try:
        with tempfile.NamedTemporaryFile(
            "wb", dir=target.parent, prefix=f".{target.name}.", suffix=".tmp", delete=False
        ) as handle:
            tmp = Path(handle.name)
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        tmp.replace(target)
    except OSError as exc:
        raise InputError(str(path), "", f"cannot write: {exc.strerror or exc}") from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)  # gone already once renamed


def write_stdout(data: bytes) -> None:
    """Write ``data`` to standard output (``export -o -``).

    Raises:
        InputError: Standard output cannot be written (closed, disk full).
    """
    try:
        stream = sys.stdout.buffer
        stream.write(data)
        stream.flush()
    except OSError as exc:
        detail = f"cannot write to standard output: {exc.strerror or exc}"
        raise InputError("-", "", detail) from exc


def read_run_file(path: Path) -> bytes:
    """The bytes of a file to import (a regular file of at most ``MAX_RUN_FILE_BYTES``).

    Raises:
        InputError: The file cannot be read, is not a regular file, or is too large.
    """
    try:
        return read_input(path, MAX_RUN_FILE_BYTES)
    except InputRefused as refused:
        raise InputError(str(path), "", f"cannot read: {refused.detail}") from None


async def export_run(settings: Settings, run_id: str, output: Path) -> int:
    """Write the run to ``output`` as JSON Lines, atomically; return the entry count."""
    entries: list[Entry] = []
    async with opened_journal(settings.journal, create=False, read_only=True) as journal:
        await require_run(journal, run_id, settings.journal)
        async for chunk in read_chunks(journal, run_id):
            entries.extend(chunk)
    data = encode_run_file(entries)
    if str(output) == "-":
        write_stdout(data)
    else:
        await trio.to_thread.run_sync(write_atomically, output, data)
    return len(entries)


async def import_run(settings: Settings, source: Path) -> tuple[str, int]:
    """Validate the whole file, then store its run; return the run id and entry count.

    Raises:
        InputError: The file is not a valid run file; nothing was written.
        RunExistsError: The run is in the journal already; nothing was written.
    """
    data = await trio.to_thread.run_sync(read_run_file, source)
    entries = parse_run_file(str(source), data)
    run_id = entries[0].run_id
    await make_journal_dir(settings.journal)
    fresh = _journal_file(settings.journal)
    if fresh is not None and _present(fresh):
        fresh = None  # not ours to remove
    try:
        async with opened_journal(settings.journal, create=True) as journal:
            if await journal.run_exists(run_id):
                raise RunExistsError(run_id)
            await journal.import_entries(entries)
    except BaseException:
        if fresh is not None:  # a journal this import created holds nothing else
            for leftover in (fresh, *(fresh.with_name(fresh.name + s) for s in ("-wal", "-shm"))):
                with contextlib.suppress(OSError):
                    leftover.unlink(missing_ok=True)
        raise
    return run_id, len(entries)


def _present(path: Path) -> bool:
    """Whether ``path`` exists, or may (a directory we cannot enter: never remove it then)."""
    try:
        return path.exists()
    except OSError:
        return True


def _journal_file(target: Path | str) -> Path | None:
    """The journal's file, if it is one (not ``:memory:`` or a database URL)."""
    if str(target) == ":memory:" or is_journal_url(target):
        return None
    return Path(target)


@click.command(name="export")
@click.argument("run_id", metavar="RUN")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    metavar="FILE",
    help="The file to write (a regular file, replaced atomically if it exists); - for stdout.",
)
@pass_settings
def export(settings: Settings, run_id: str, output: Path) -> None:
    """Write a run to a file as JSON Lines: one entry per line, in seq order.

    Each line is the entry exactly as the journal encodes it, so an export of
    an import of an export is byte-identical. FILE is written atomically and
    only ever as a regular file (a device, FIFO or directory is refused);
    with -o - the entries go to standard output.
    """
    count = run_async(export_run, settings, run_id, output)
    if str(output) != "-":
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
