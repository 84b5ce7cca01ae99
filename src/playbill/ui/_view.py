"""What the pages read: a journal, the runs' indexes, and states kept between requests."""

from __future__ import annotations

import contextlib
import secrets
from collections import OrderedDict
from pathlib import Path
from typing import final

import attrs
import msgspec

from playbill.runtime import (
    CorruptSnapshotError,
    Entry,
    Journal,
    PlaybillError,
    RunInfo,
    RunState,
    UnknownRunError,
)

from ._index import Indexes, RunIndex
from ._links import Links, ServerLinks

STATE_CACHE = 64
"""States kept between requests (each keyed by run and seq)."""


@final
@attrs.frozen
class RunRow:
    """What the runs page shows of a run (kept per run, until it has new entries).

    Attributes:
        run_id: The run.
        last_seq: The last entry it was read at.
        status: The run's status.
        goal: Its goal.
        labels: Its labels.
        steps_done: Steps completed or skipped.
        steps_total: Steps planned.
        cost_usd: Money spent.
        tokens: Tokens used.
        duration_s: Seconds from its first entry to its last.
        created_us: When it was created.
    """

    run_id: str
    last_seq: int
    status: str
    goal: str
    labels: dict[str, str]
    steps_done: int
    steps_total: int
    cost_usd: float
    tokens: int
    duration_s: float
    created_us: int


@final
@attrs.define(eq=False)
class View:
    """The web view's access to one journal.

    Attributes:
        journal: The journal, open for the server's lifetime.
        where: The journal as shown to people.
        allow_control: Whether pages offer pause, resume, cancel, approve, reject.
        sweep: A sweep directory to show, if any.
        links: Where pages link to.
        token: A secret of this server, sent with every control form.
        hosts: The ``Host`` names requests may carry (``*``: any). A view on
            loopback answers only its loopback names, so that a web page
            cannot reach it through a name of its own that resolves to
            127.0.0.1 (DNS rebinding).
    """

    journal: Journal
    where: str
    allow_control: bool = False
    sweep: Path | None = None
    links: Links = attrs.Factory(ServerLinks)
    token: str = attrs.Factory(lambda: secrets.token_urlsafe(24))
    hosts: tuple[str, ...] = ("*",)
    _indexes: Indexes = attrs.Factory(Indexes)
    _states: OrderedDict[tuple[str, int], RunState] = attrs.Factory(OrderedDict)
    _rows: dict[str, RunRow] = attrs.Factory(dict)

    async def runs(self) -> list[RunInfo]:
        """Every run of the journal, oldest first."""
        return await self.journal.list_runs()

    async def row(self, info: RunInfo) -> RunRow:
        """The runs page's row of a run, read again only when the run has new entries."""
        found = self._rows.get(info.run_id)
        if found is not None and found.last_seq == info.last_seq:
            return found
        state = await self.state(info.run_id, info.last_seq)
        row = self._rows[info.run_id] = RunRow(
            run_id=info.run_id,
            last_seq=info.last_seq,
            status=state.status,
            goal=state.goal,
            labels=state.labels,
            steps_done=state.steps_done(),
            steps_total=len(state.steps),
            cost_usd=state.usage.cost_usd,
            tokens=state.usage.tokens,
            duration_s=max(state.updated_us - state.created_us, 0) / 1e6,
            created_us=state.created_us,
        )
        return row

    async def last_seq(self, run_id: str) -> int:
        """The run's last seq.

        Raises:
            UnknownRunError: The journal has no entry of the run.
        """
        last = await self.journal.last_seq(run_id)
        if last == 0:
            raise UnknownRunError(run_id, self.where)
        return last

    async def state(self, run_id: str, seq: int | None = None) -> RunState:
        """The run's state after ``seq`` (its last entry if None): snapshot plus tail, cached."""
        if seq is None:
            seq = await self.last_seq(run_id)
        key = (run_id, seq)
        found = self._states.get(key)
        if found is not None:
            self._states.move_to_end(key)
            return found
        try:
            state = await self.journal.state_at(run_id, seq)
        except CorruptSnapshotError:
            state = await self.journal.state_at(run_id, seq, snapshots=False)
        if state.run_id != run_id:  # a run with no run_created entry (yet)
            state = msgspec.structs.replace(state, run_id=run_id)
        self._states[key] = state
        while len(self._states) > STATE_CACHE:
            self._states.popitem(last=False)
        return state

    async def warm(self) -> None:
        """Index every run, newest first, so that first visits find them indexed.

        A run that cannot be read is left for its pages to report.
        """
        for info in reversed(await self.runs()):
            with contextlib.suppress(PlaybillError):
                await self.index(info.run_id)

    async def index(self, run_id: str) -> RunIndex:
        """The run's index, up to date."""
        return await self._indexes.of(self.journal, run_id)

    async def entries(self, run_id: str, seqs: list[int]) -> list[Entry]:
        """The entries with these seqs (ascending), read in as few ranges as they make."""
        found: list[Entry] = []
        i = 0
        while i < len(seqs):
            j = i
            while j + 1 < len(seqs) and seqs[j + 1] == seqs[j] + 1:
                j += 1
            found.extend(await self.journal.read(run_id, seqs[i], seqs[j] + 1))
            i = j + 1
        return found
