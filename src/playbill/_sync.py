"""A synchronous facade over the journal and runs, for scripts and notebooks.

Each call runs its own ``trio.run``; nothing is left running between calls.
To follow a run and steer it while it runs, ``playbill.start_sync`` keeps
one trio run going for a ``with`` block. Programs that are already async
(trio) use ``Journal`` and ``playbill.start`` (or ``open_run``) directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, final

import trio

from ._run import RunSpec, open_run
from .backends import BackendFactory
from .runtime import (
    ControlRequest,
    Draft,
    Entry,
    Journal,
    RunInfo,
    RunState,
    open_journal,
)
from .simulation import SimulationResult, simulate


@final
class SyncJournal:
    """A journal for synchronous code.

    Args:
        target: A SQLite file (created with its directory if missing) or
            ``":memory:"``.
        create: Create the file if it is missing.

    Use it as a context manager, or call ``close``.
    """

    def __init__(self, target: str | Path = ":memory:", *, create: bool = True) -> None:
        self._journal = open_journal(target, create=create)

    @property
    def journal(self) -> Journal:
        """The underlying async ``Journal``."""
        return self._journal

    def close(self) -> None:
        """Close the journal. Idempotent."""
        self._journal.close()

    def __enter__(self) -> SyncJournal:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def runs(self) -> list[RunInfo]:
        """Every run in the journal, oldest first."""
        return trio.run(self._journal.list_runs)

    def read(self, run_id: str, start: int = 1, stop: int | None = None) -> list[Entry]:
        """The run's entries with ``start <= seq < stop``, in seq order."""
        return trio.run(self._journal.read, run_id, start, stop)

    def state(self, run_id: str, seq: int | None = None) -> RunState:
        """The run's state after entry ``seq`` (its last entry when None)."""
        return trio.run(self._journal.state_at, run_id, seq)

    def append(self, run_id: str, drafts: Sequence[Draft]) -> list[Entry]:
        """Journal drafts into a run that no live process is writing.

        Raises:
            WriterConflictError: A live process holds the run (send it a
                request with ``request`` instead).
        """

        async def append() -> list[Entry]:
            async with self._journal.writer(run_id) as writer:
                return await writer.append(drafts)

        return trio.run(append)

    def request(self, run_id: str, request: ControlRequest) -> int:
        """Queue a control request (pause, resume, cancel, approve, reject) for a run."""
        return trio.run(self._journal.post_request, run_id, request)

    def run(
        self,
        run_id: str,
        backends: BackendFactory,
        *,
        spec: RunSpec | None = None,
        **options: Any,
    ) -> RunState:
        """Start (with ``spec``) or resume a run, on the wall clock, until it is settled.

        Settled: ended, or waiting for a person with nothing in flight. The
        keyword options are those of ``open_run``.
        """

        async def run() -> RunState:
            async with open_run(self._journal, run_id, backends, spec=spec, **options) as live:
                return await live.wait()

        return trio.run(run)

    def simulate(self, seed: int, **options: Any) -> SimulationResult:
        """Simulate a run into this journal (see ``playbill.simulation.simulate``)."""
        return simulate(seed, journal=self._journal, **options)
