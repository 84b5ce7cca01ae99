"""``playbill events``: a run's entries, one line each, optionally following new ones.

``--type``, ``--step`` and ``--agent`` keep only the entries that match
(``EntryFilter``); ``--since`` starts at a seq. They combine, with or without
``--json`` and ``--follow``.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Sequence
from typing import final

import attrs
import click

from playbill.runtime import Entry, Journal, Message, ResultProposed, encode_entry, message_tag

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


_AGENT_FIELDS = ("agent", "reviewer", "verifier", "from_agent", "to_agent", "new_agent")
"""The fields of a message that name an agent it is about."""


@functools.cache
def message_types() -> tuple[str, ...]:
    """Every message type a journal entry can hold (its ``type`` tag), sorted."""
    return tuple(sorted(message_tag(cls) for cls in typing.get_args(Message)))


@final
@attrs.frozen
class EntryFilter:
    """Which entries ``events`` prints: all of them when nothing is given.

    Attributes:
        types: Message types (``step_failed``...); an entry of any of them matches.
        step: A step: entries whose message is about it (its ``step`` field,
            or the step of a proposed result).
        agent: An agent: entries it sent or was sent, or whose message names
            it (``agent``, ``reviewer``, ``verifier``, a handoff's agents, a
            proposed result's agent).
    """

    types: frozenset[str] = frozenset()
    step: str | None = None
    agent: str | None = None

    def __call__(self, entry: Entry) -> bool:
        """Whether ``entry`` matches every filter given."""
        msg = entry.msg
        if self.types and message_tag(msg) not in self.types:
            return False
        if self.step is not None and _step_of(msg) != self.step:
            return False
        return self.agent is None or self.agent in _agents_of(entry)


def _step_of(msg: object) -> object:
    if isinstance(msg, ResultProposed):
        return msg.result.step
    return getattr(msg, "step", None)


def _agents_of(entry: Entry) -> set[object]:
    msg = entry.msg
    named = {entry.sender, entry.recipient, *(getattr(msg, f, None) for f in _AGENT_FIELDS)}
    if isinstance(msg, ResultProposed):
        named.add(msg.result.agent)
    return named


def _message_type(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> frozenset[str]:
    known = message_types()
    for name in value:
        if name not in known:
            raise click.BadParameter(
                f"{name!r} is not a message type; they are: {', '.join(known)}", ctx, param
            )
    return frozenset(value)


async def _events(
    settings: Settings,
    run_id: str,
    since: int,
    follow: bool,
    as_json: bool,
    keep: EntryFilter,
) -> None:
    def emit(given: Sequence[Entry]) -> None:
        # One write per chunk (click.echo flushes each time). JSON goes out as
        # bytes, so that each line is exactly what encode_entry gives.
        entries = [entry for entry in given if keep(entry)]
        if not entries:
            return
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
@click.option(
    "--type",
    "types",
    multiple=True,
    callback=_message_type,
    shell_complete=lambda ctx, param, incomplete: [
        name for name in message_types() if name.startswith(incomplete)
    ],
    metavar="TYPE",
    help="Only entries of this message type (step_failed...); repeat for more types.",
)
@click.option("--step", metavar="STEP", help="Only entries about this step.")
@click.option("--agent", metavar="AGENT", help="Only entries from, to or about this agent.")
@pass_settings
def events(
    settings: Settings,
    run_id: str,
    follow: bool,
    as_json: bool,
    since: int,
    types: frozenset[str],
    step: str | None,
    agent: str | None,
) -> None:
    """Print a run's entries in seq order, one per line.

    Each line shows the seq, the recorded time (UTC), sender → recipient, the
    message type and its fields. With --json each line is the entry exactly
    as the journal encodes it. With --follow, entries committed later (by
    this process or another) are printed as they arrive; Ctrl-C stops with
    exit status 0.

    --type (repeatable), --step and --agent keep only the entries that match
    all of them: of one of the types, about the step (its step field), from,
    to or about the agent.
    """
    keep = EntryFilter(types=types, step=step, agent=agent)
    try:
        run_async(_events, settings, run_id, since, follow, as_json, keep)
    except KeyboardInterrupt:
        if not follow:
            raise
