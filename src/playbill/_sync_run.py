"""The run handle for synchronous code: ``playbill.start_sync`` and ``resume_sync``.

One trio run, in a thread of its own, holds the run for the handle's
lifetime (the ``with`` block); each call of the handle is carried into it
(``trio.from_thread.run``) and waits for its answer. Nothing is restarted
between calls, so a control is taken at once, as under trio.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager, suppress
from pathlib import Path
from typing import TypeVar, Unpack, final

import trio

from ._function_agent import Agents
from ._handle import JournalTarget, RunHandle, RunOptions, resume, start
from .actors import Workbench
from .runtime import (
    DEFAULT_POLICY,
    UNLIMITED,
    Budget,
    ControlRequest,
    Entry,
    Journal,
    Plan,
    PolicySettings,
    RunState,
)

T = TypeVar("T")


@final
class SyncRun:
    """A run in progress, for synchronous code: what ``playbill.start_sync`` yields.

    The same handle as ``RunHandle`` (see it for what *settled* means), each
    method blocking until its answer: ``for entry in run.events()``,
    ``run.result()``, ``run.approve("build")``. The run itself goes on in a
    thread of its own between calls, until the ``with`` block is left. Its
    journal belongs to that thread: read it with ``events``, or afterwards
    with a ``SyncJournal`` of the same file.
    """

    def __init__(self, handle: RunHandle, token: trio.lowlevel.TrioToken) -> None:
        self._handle = handle
        self._token = token

    def _call(self, function: Callable[..., Awaitable[T]], *args: object) -> T:
        return trio.from_thread.run(function, *args, trio_token=self._token)

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._handle.run_id

    @property
    def state(self) -> RunState:
        """The run's state after its last committed entry."""
        return self._handle.state

    def events(self, since: int = 0) -> Iterator[Entry]:
        """The run's entries with ``seq > since`` as they are journaled, until it settles."""
        entries = self._handle.events(since)
        try:
            while True:
                try:
                    yield self._call(entries.__anext__)
                except StopAsyncIteration:
                    return
        finally:
            if not self._handle.closed:
                self._call(entries.aclose)

    def settled(self) -> RunState:
        """Wait until the run is settled; its state then. Never raises."""
        return self._call(self._handle.settled)

    def result(self) -> RunState:
        """Wait until the run completed; its final state (raises as ``RunHandle.result``)."""
        return self._call(self._handle.result)

    def wait_for(
        self, predicate: Callable[[RunState], bool], *, timeout: float | None = None
    ) -> RunState:
        """Wait until ``predicate(state)`` holds (raises as ``RunHandle.wait_for``)."""

        async def wait() -> RunState:
            return await self._handle.wait_for(predicate, timeout=timeout)

        return self._call(wait)

    def request(self, request: ControlRequest) -> RunState:
        """Ask the run something; its state once it took it (see ``RunHandle.request``)."""
        return self._call(self._handle.request, request)

    def pause(self, reason: str = "") -> RunState:
        """Pause the run: no new work starts; work in flight finishes."""
        return self._call(self._handle.pause, reason)

    def resume(self, reason: str = "") -> RunState:
        """Resume a paused run."""
        return self._call(self._handle.resume, reason)

    def cancel(self, reason: str = "") -> RunState:
        """Cancel the run."""
        return self._call(self._handle.cancel, reason)

    def approve(self, step: str | None = None, reason: str = "") -> RunState:
        """Approve what the run waits for about ``step`` (see ``RunHandle.approve``)."""
        return self._call(self._handle.approve, step, reason)

    def reject(self, step: str | None = None, reason: str = "") -> RunState:
        """Reject what the run waits for about ``step`` (see ``RunHandle.reject``)."""
        return self._call(self._handle.reject, step, reason)


@final
class _Host:
    """The thread that runs the run's trio program while the handle is in use."""

    def __init__(self, opener: Callable[[], AbstractAsyncContextManager[RunHandle]]) -> None:
        self._opener = opener
        self._ready = threading.Event()
        self._run: SyncRun | None = None
        self._stop: trio.Event | None = None
        self._token: trio.lowlevel.TrioToken | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="playbill-run", daemon=True)

    def open(self) -> SyncRun:
        self._thread.start()
        self._ready.wait()
        if self._run is None:
            self._thread.join()
            assert self._error is not None
            raise self._error
        return self._run

    def close(self) -> None:
        if self._token is not None and self._stop is not None:
            with suppress(trio.RunFinishedError):  # it ended on its own (a crash)
                self._token.run_sync_soon(self._stop.set)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _main(self) -> None:
        try:
            trio.run(self._serve)
        except BaseException as error:  # handed to the thread that waits for it
            self._error = error
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        async with self._opener() as handle:
            self._stop = trio.Event()
            self._token = trio.lowlevel.current_trio_token()
            self._run = SyncRun(handle, self._token)
            self._ready.set()
            await self._stop.wait()


@contextmanager
def hosted(opener: Callable[[], AbstractAsyncContextManager[RunHandle]]) -> Iterator[SyncRun]:
    """A ``SyncRun`` over the handle ``opener`` opens in a thread of its own."""
    host = _Host(opener)
    run = host.open()
    try:
        yield run
    finally:
        host.close()


@contextmanager
def start_sync(
    plan: Plan,
    agents: Agents,
    *,
    journal: JournalTarget = None,
    goal: str | None = None,
    run_id: str | None = None,
    budget: Budget = UNLIMITED,
    policy: PolicySettings = DEFAULT_POLICY,
    strategy: str = "pipeline",
    labels: dict[str, str] | None = None,
    workbench: Workbench | None = None,
    **options: Unpack[RunOptions],
) -> Iterator[SyncRun]:
    """``playbill.start`` for synchronous code: ``with playbill.start_sync(...) as run:``.

    Takes what ``start`` takes. The run goes on in a thread of its own
    (one trio run for the whole block); leaving the block stops it there,
    as leaving ``start``'s does. A journal given as an object is used from
    that thread: give a path (or ``None``) rather than a ``SqliteJournal``
    opened in another thread, which SQLite refuses.
    """

    def opener() -> AbstractAsyncContextManager[RunHandle]:
        return start(
            plan,
            agents,
            journal=journal,
            goal=goal,
            run_id=run_id,
            budget=budget,
            policy=policy,
            strategy=strategy,
            labels=labels,
            workbench=workbench,
            **options,
        )

    with hosted(opener) as run:
        yield run


@contextmanager
def resume_sync(
    run_id: str,
    agents: Agents,
    *,
    journal: Journal | str | Path,
    workbench: Workbench | None = None,
    **options: Unpack[RunOptions],
) -> Iterator[SyncRun]:
    """``playbill.resume`` for synchronous code: ``with playbill.resume_sync(...) as run:``."""

    def opener() -> AbstractAsyncContextManager[RunHandle]:
        return resume(run_id, agents, journal=journal, workbench=workbench, **options)

    with hosted(opener) as run:
        yield run
