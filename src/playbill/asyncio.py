"""The run handle for asyncio programs: ``playbill.asyncio.start`` and ``resume``.

playbill runs on trio; ``open_run`` and ``playbill.start`` need a trio
program. Here the run's trio program is a *guest* of the running asyncio
event loop (``trio.lowlevel.start_guest_run``): both run on the loop's
thread, trio's I/O waits in a helper thread, and each call of the handle
(an ``AsyncioRun``) is handed to a task of the trio program, its answer
coming back through an asyncio future. So an asyncio program (a web
application, a notebook under asyncio, anyio on asyncio) holds a run as a
trio program does::

    async with playbill.asyncio.start(plan, [coder]) as run:
        async for entry in run.events():
            ...
        await run.approve("build")
        state = await run.result()

Leaving the block stops the run's trio program and waits for it to end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar, Unpack, final

import outcome
import trio

from ._function_agent import Agents
from ._handle import JournalTarget, RunHandle, RunOptions
from ._handle import resume as resume_trio
from ._handle import start as start_trio
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

__all__ = ["AsyncioRun", "resume", "start"]

T = TypeVar("T")


@final
class AsyncioRun:
    """A run in progress, for asyncio programs: what ``playbill.asyncio.start`` yields.

    The same handle as ``playbill.RunHandle`` (see it for what *settled*
    means and what each method raises), awaited from asyncio. Cancelling an
    awaiting asyncio task cancels what it waited for in the run (not the
    run).
    """

    def __init__(self, guest: _Guest, handle: RunHandle) -> None:
        self._guest = guest
        self._handle = handle

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._handle.run_id

    @property
    def state(self) -> RunState:
        """The run's state after its last committed entry."""
        return self._handle.state

    async def events(self, since: int = 0) -> AsyncGenerator[Entry, None]:
        """The run's entries with ``seq > since`` as they are journaled, until it settles."""
        entries = self._handle.events(since)
        try:
            while True:
                more, entry = await self._guest.call(_next, entries)
                if not more:
                    return
                assert entry is not None
                yield entry
        finally:
            if not self._handle.closed:
                await self._guest.call(entries.aclose)

    async def settled(self) -> RunState:
        """Wait until the run is settled; its state then. Never raises."""
        return await self._guest.call(self._handle.settled)

    async def result(self) -> RunState:
        """Wait until the run completed; its final state (raises as ``RunHandle.result``)."""
        return await self._guest.call(self._handle.result)

    async def wait_for(
        self,
        predicate: Callable[[RunState], bool],
        *,
        timeout: float | None = None,  # noqa: ASYNC109  # the handle's, on trio's clock
    ) -> RunState:
        """Wait until ``predicate(state)`` holds (raises as ``RunHandle.wait_for``)."""

        async def wait() -> RunState:
            return await self._handle.wait_for(predicate, timeout=timeout)

        return await self._guest.call(wait)

    async def request(self, request: ControlRequest) -> RunState:
        """Ask the run something; its state once it took it (see ``RunHandle.request``)."""
        return await self._guest.call(self._handle.request, request)

    async def pause(self, reason: str = "") -> RunState:
        """Pause the run: no new work starts; work in flight finishes."""
        return await self._guest.call(self._handle.pause, reason)

    async def resume(self, reason: str = "") -> RunState:
        """Resume a paused run."""
        return await self._guest.call(self._handle.resume, reason)

    async def cancel(self, reason: str = "") -> RunState:
        """Cancel the run."""
        return await self._guest.call(self._handle.cancel, reason)

    async def approve(self, step: str | None = None, reason: str = "") -> RunState:
        """Approve what the run waits for about ``step`` (see ``RunHandle.approve``)."""
        return await self._guest.call(self._handle.approve, step, reason)

    async def reject(self, step: str | None = None, reason: str = "") -> RunState:
        """Reject what the run waits for about ``step`` (see ``RunHandle.reject``)."""
        return await self._guest.call(self._handle.reject, step, reason)


async def _next(entries: AsyncGenerator[Entry, None]) -> tuple[bool, Entry | None]:
    """The next entry, as ``(True, entry)``, or ``(False, None)`` at the end."""
    try:
        return True, await entries.__anext__()
    except StopAsyncIteration:
        return False, None


@final
class _Guest:
    """A trio program run as a guest of the running asyncio loop, holding one run."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._done: asyncio.Future[outcome.Outcome[None]] = self._loop.create_future()
        self._ready: asyncio.Future[RunHandle] = self._loop.create_future()
        self._token: trio.lowlevel.TrioToken | None = None
        self._nursery: trio.Nursery | None = None
        self._stop: trio.Event | None = None

    async def open(
        self, opener: Callable[[], AbstractAsyncContextManager[RunHandle]]
    ) -> AsyncioRun:
        trio.lowlevel.start_guest_run(
            self._serve,
            opener,
            run_sync_soon_threadsafe=self._loop.call_soon_threadsafe,
            run_sync_soon_not_threadsafe=self._loop.call_soon,
            done_callback=self._finished,
            host_uses_signal_set_wakeup_fd=True,
        )
        either: set[asyncio.Future[Any]] = {self._ready, self._done}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not self._ready.done():
            self._done.result().unwrap()  # what stopped it before it started
            raise RuntimeError("the run's trio program ended before it started")
        return AsyncioRun(self, self._ready.result())

    async def close(self) -> None:
        """Stop the trio program (the run's block is left) and wait for its end."""
        if self._token is not None and self._stop is not None:
            with suppress(trio.RunFinishedError):
                self._token.run_sync_soon(self._stop.set)
        (await asyncio.shield(self._done)).unwrap()

    async def call(self, function: Callable[..., Awaitable[T]], *args: object) -> T:
        """``await function(*args)`` in a task of the trio program; its answer here."""
        future: asyncio.Future[T] = self._loop.create_future()
        token, nursery = self._token, self._nursery
        if token is None or nursery is None or self._done.done():
            raise RuntimeError("the run's trio program has ended: its block was left")

        def spawn() -> None:
            try:
                nursery.start_soon(self._relay, future, function, args)
            except RuntimeError as closed:  # the trio program is ending
                self._settle(future, None, closed)

        try:
            token.run_sync_soon(spawn)
        except trio.RunFinishedError:
            raise RuntimeError("the run's trio program has ended") from None
        return await future

    async def _relay(
        self,
        future: asyncio.Future[T],
        function: Callable[..., Awaitable[T]],
        args: tuple[object, ...],
    ) -> None:
        with trio.CancelScope() as scope:
            token = trio.lowlevel.current_trio_token()

            def abandoned(done: asyncio.Future[T]) -> None:
                if done.cancelled():
                    with suppress(trio.RunFinishedError):
                        token.run_sync_soon(scope.cancel)

            future.add_done_callback(abandoned)
            try:
                result = await function(*args)
            except trio.Cancelled:
                self._settle(future, None, None, cancel=True)
                raise
            except BaseException as error:
                self._settle(future, None, error)
                return
            self._settle(future, result, None)

    def _settle(
        self,
        future: asyncio.Future[T],
        result: T | None,
        error: BaseException | None,
        *,
        cancel: bool = False,
    ) -> None:
        def settle() -> None:
            if future.done():
                return
            if cancel:
                future.cancel()
            elif error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]  # a T when no error

        self._loop.call_soon_threadsafe(settle)

    async def _serve(self, opener: Callable[[], AbstractAsyncContextManager[RunHandle]]) -> None:
        async with opener() as handle, trio.open_nursery() as nursery:
            self._nursery = nursery
            self._stop = trio.Event()
            self._token = trio.lowlevel.current_trio_token()
            self._ready.set_result(handle)
            await self._stop.wait()
            nursery.cancel_scope.cancel()

    def _finished(self, result: outcome.Outcome[None]) -> None:
        if not self._done.done():
            self._done.set_result(result)


@asynccontextmanager
async def hosted(
    opener: Callable[[], AbstractAsyncContextManager[RunHandle]],
) -> AsyncIterator[AsyncioRun]:
    """An ``AsyncioRun`` over the handle ``opener`` opens, in a trio guest run."""
    guest = _Guest()
    run = await guest.open(opener)
    try:
        yield run
    finally:
        await guest.close()


@asynccontextmanager
async def start(
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
) -> AsyncIterator[AsyncioRun]:
    """``playbill.start`` for asyncio: ``async with playbill.asyncio.start(...) as run:``.

    Takes what ``playbill.start`` takes; call it with an asyncio event loop
    running. Its function agents that are coroutine functions run in the
    run's trio program, so they await trio, not asyncio; plain functions
    run in worker threads as under trio.
    """

    def opener() -> AbstractAsyncContextManager[RunHandle]:
        return start_trio(
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

    async with hosted(opener) as run:
        yield run


@asynccontextmanager
async def resume(
    run_id: str,
    agents: Agents,
    *,
    journal: Journal | str | Path,
    workbench: Workbench | None = None,
    **options: Unpack[RunOptions],
) -> AsyncIterator[AsyncioRun]:
    """``playbill.resume`` for asyncio: ``async with playbill.asyncio.resume(...) as run:``."""

    def opener() -> AbstractAsyncContextManager[RunHandle]:
        return resume_trio(run_id, agents, journal=journal, workbench=workbench, **options)

    async with hosted(opener) as run:
        yield run
