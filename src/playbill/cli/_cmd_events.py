"""``playbill events``: a run's entries, one line each, optionally following new ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

from playbill.runtime import Entry, Journal, encode_entry

from ._app import Settings, pass_settings, run_async
from ._format import event_line
from ._load import opened_journal, read_chunks, require_run


async def stream_events(
    journal: Journal,
    run_id: str,
    emit: Callable[[Sequence[Entry]], None],
    *,
    since: int = 1,
    follow: bool = False,
) -> None:
    """Hand the run's entries from seq ``since`` on to ``emit``, in seq order.

    Args:
        journal: The journal.
        run_id: The run.
        emit: Called with consecutive entries: a chunk at a time from the
            backlog, one at a time while following.
        since: The first seq to emit.
        follow: After the last entry, keep waiting for new ones (written by
            this process or another) until cancelled.

    Raises:
        CorruptEntryError: A stored entry is damaged or missing.
    """
    if follow:
        async for entry in journal.follow(run_id, from_seq=since):
            emit((entry,))
        return
    async for chunk in read_chunks(journal, run_id, since):
        emit(chunk)


async def _events(settings: Settings, run_id: str, since: int, follow: bool, as_json: bool) -> None:
    def emit(entries: Sequence[Entry]) -> None:
        # One write per chunk (click.echo flushes each time). JSON goes out as
        # bytes, so that each line is exactly what encode_entry gives.
        if as_json:
            click.echo(b"".join(encode_entry(entry) + b"\n" for entry in entries), nl=False)
        else:
            click.echo("".join(event_line(entry) + "\n" for entry in entries), nl=False)

    async with opened_journal(settings.journal, create=False, read_only=True) as journal:
        await require_run(journal, run_id, settings.journal)
        await stream_events(journal, run_id, emit, since=since, follow=follow)


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Keep printing new entries as they are committed, until Ctrl-C.",
)
@click.option("--json", "as_json", is_flag=True, help="Print each entry as stored (JSON Lines).")
@click.option(
    "--since",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="SEQ",
    help="Start at this seq (inclusive).",
)
@pass_settings
def events(settings: Settings, run_id: str, follow: bool, as_json: bool, since: int) -> None:
    """Print a run's entries in seq order, one per line.

    Each line shows the seq, the recorded time (UTC), sender → recipient, the
    message type and its fields. With --json each line is the entry exactly
    as the journal encodes it. With --follow, entries committed later (by
    this process or another) are printed as they arrive; Ctrl-C stops with
    exit status 0.
    """
    try:
        run_async(_events, settings, run_id, since, follow, as_json)
    except KeyboardInterrupt:
        if not follow:
            raise
