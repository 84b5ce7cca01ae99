"""The run handle: ``playbill.start`` and ``playbill.resume``.

``start`` makes a new run of a plan with the agents given (function agents,
a mapping of backends, or a factory), on a journal it opens when given none
or a path, and yields a ``RunHandle`` for the duration of an ``async with``
block: its events as they are journaled, its result, and the controls of a
person (pause, resume, cancel, approve, reject), taken by the run at once.
It is ``open_run`` underneath, which stays the low level.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TypedDict, Unpack, final

import trio

from ._function_agent import Agents, resolve_agents
from ._run import Run, RunSpec, holds, open_run
from ._run_errors import RunSettledError, settled_error
from .actors import Workbench
from .runtime import (
    DEFAULT_POLICY,
    UNLIMITED,
    Budget,
    Clock,
    ControlRequest,
    Entry,
    Journal,
    Plan,
    PolicySettings,
    RestartStrategy,
    RunState,
    SqliteJournal,
    UnknownRunError,
    is_settled,
    open_journal,
)


class RunOptions(TypedDict, total=False):
    """The options of ``open_run`` that ``start`` and ``resume`` pass on (see ``open_run``)."""

    clock: Clock
    holder: str
    snapshot_every: int | None
    lease_ttl_s: float
    control_poll_s: float
    restart: RestartStrategy
    max_restarts: int
    restart_period_s: float
    observe: Callable[[Sequence[Entry]], None]
    resumed_by: str


JournalTarget = Journal | str | Path | None
"""Where a run is journaled: a journal, the path of a SQLite file (or a
``postgresql://`` URL), or ``None`` for an in-memory SQLite journal that lives
as long as the run's block."""


@final
class RunHandle:
    """A run in progress, as ``playbill.start`` and ``playbill.resume`` yield it.

    Its ``state`` is the fold of every committed entry. A run is *settled*
    when it has ended (completed, failed, cancelled), or when it waits for a
    person (a pending approval, a blocked step to decide about, a pause)
    with nothing in flight, and no control request waits in the journal's
    queue: ``events`` ends, ``result`` returns or raises, and ``wait_for``
    gives up there. The controls (``pause``, ``approve``...) are journaled
    as ``control_requested`` by the run's own control loop, as those of
    ``playbill approve`` are, and return once the run took them.

    Leaving the block stops the run where it is: its state stays in the
    journal, and ``playbill.resume`` goes on with it.
    ``state`` keeps the last state; ``events`` still reads the journal while
    it is open.
    """

    def __init__(self, run: Run) -> None:
        self._run = run
        self._last: RunState | None = None

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._run.run_id

    @property
    def journal(self) -> Journal:
        """The journal the run is written to."""
        return self._run.journal

    @property
    def run(self) -> Run:
        """The low-level run (``open_run``'s): ``append``, ``interrupt``."""
        return self._run

    @property
    def state(self) -> RunState:
        """The run's state after its last committed entry."""
        return self._last if self._last is not None else self._run.state

    @property
    def closed(self) -> bool:
        """Whether the run's block was left (the run no longer moves here)."""
        return self._last is not None

    def close(self) -> None:
        """Mark the run's block left: keep its last state. Called by ``start``."""
        if self._last is None:
            self._last = self._run.state

    async def events(self, since: int = 0) -> AsyncGenerator[Entry, None]:
        """The run's entries with ``seq > since``, in order, as they are journaled.

        From the first entry by default. It ends once every entry of a
        settled run was given (see ``RunHandle``): when the run ended, and
        when it waits for a person — answer (``approve``...) and iterate
        again, ``since`` the last entry seen, to follow what that did. A
        control request made inside the loop is taken at once, and the
        events it causes follow in the same loop.
        """
        next_seq = since + 1
        while True:
            state = self.state
            if next_seq <= state.last_seq:
                for entry in await self.journal.read(self.run_id, next_seq, state.last_seq + 1):
                    yield entry
                    next_seq = entry.seq + 1
                continue
            if self.closed or await self._run.settled():
                if self.state.last_seq < next_seq:
                    return
                continue
            await self._run.wait(newer_than(state.last_seq))

    async def settled(self) -> RunState:
        """Wait until the run is settled (see ``RunHandle``); its state then. Never raises."""
        if self.closed:
            return self.state
        return await self._run.wait()

    async def result(self) -> RunState:
        """Wait until the run completed, and return its final state.

        Raises:
            RunFailedError: It failed (``reason`` says why).
            RunCancelledError: It was cancelled.
            RunNeedsAttentionError: It settled waiting for a person: the
                approvals it waits for are named (``approvals``,
                ``waiting_for``), or it is paused (``paused``). Answer, and
                await ``result`` again.
            RunSettledError: The run's block was left before it settled.
        """
        state = await self.settled()
        if state.status == "completed":
            return state
        if not is_settled(state):
            raise RunSettledError(state, "stopped running here before it settled")
        raise settled_error(state)

    async def wait_for(
        self,
        predicate: Callable[[RunState], bool],
        *,
        timeout: float | None = None,  # noqa: ASYNC109  # the sync and asyncio handles share it
    ) -> RunState:
        """Wait until ``predicate(state)`` holds, and return that state.

        Args:
            predicate: A test of the state, e.g. ``lambda s:
                s.steps["build"].status == "completed"`` or ``lambda s:
                bool(s.pending_approvals())`` (a method: call it).
            timeout: Seconds to wait at most; for ever by default.

        Raises:
            RunSettledError: The run settled with the predicate false (a
                subclass says how: ``RunFailedError``, ``RunCancelledError``,
                ``RunNeedsAttentionError``; this class itself when it
                completed).
            TimeoutError: ``timeout`` passed first.
            TypeError: The predicate returned a callable (a method not
                called, as ``lambda s: s.pending_approvals``).
        """
        if timeout is None:
            return await self._wait_for(predicate)
        with trio.move_on_after(timeout):
            return await self._wait_for(predicate)
        raise TimeoutError(f"run {self.run_id!r}: the awaited state did not come in {timeout} s")

    async def _wait_for(self, predicate: Callable[[RunState], bool]) -> RunState:
        while True:
            state = self.state
            if holds(predicate, state):
                return state
            if self.closed:
                if is_settled(state):
                    raise settled_error(state)
                raise RunSettledError(state, "stopped running here before it settled")
            if await self._run.settled():
                if self.state.last_seq == state.last_seq:
                    raise settled_error(state)
                continue
            await self._run.wait(newer_than(state.last_seq))

    async def request(self, request: ControlRequest) -> RunState:
        """Ask the run something (any ``ControlRequest``); its state once it took it.

        The request is queued in the journal and taken at once by the run's
        control loop, which journals it (``control_requested``) as it does a
        request of another process; the policy carries it out in the same
        commit, or refuses it with a note that says why.

        Raises:
            RuntimeError: The run's block was left.
        """
        if self.closed:
            raise RuntimeError(f"run {self.run_id!r} no longer runs here: its block was left")
        return await self._run.control(request)

    async def pause(self, reason: str = "") -> RunState:
        """Pause the run: no new work starts; work in flight finishes."""
        return await self.request(ControlRequest(action="pause", reason=reason))

    async def resume(self, reason: str = "") -> RunState:
        """Resume a paused run."""
        return await self.request(ControlRequest(action="resume", reason=reason))

    async def cancel(self, reason: str = "") -> RunState:
        """Cancel the run: its work in flight is cancelled, and it ends ``cancelled``."""
        return await self.request(ControlRequest(action="cancel", reason=reason))

    async def approve(self, step: str | None = None, reason: str = "") -> RunState:
        """Approve what the run waits for about ``step`` (the run's own when ``None``).

        A ``human_approval`` validator passes; a blocked step, or one out of
        attempts, is tried again; a criterion is met. Nothing to approve is
        refused with a note (see ``RunState.notes``).
        """
        return await self.request(ControlRequest(action="approve", step=step, reason=reason))

    async def reject(self, step: str | None = None, reason: str = "") -> RunState:
        """Reject what the run waits for about ``step`` (the run's own when ``None``).

        A ``human_approval`` validator fails the attempt (a ``policy``
        failure); a blocked step, or one out of attempts, is skipped or
        fails the run (its ``on_exhausted``); a criterion fails the run.
        """
        return await self.request(ControlRequest(action="reject", step=step, reason=reason))


def newer_than(seq: int) -> Callable[[RunState], bool]:
    """Whether a state is past entry ``seq`` (a new entry was committed)."""
    return lambda state: state.last_seq > seq


@asynccontextmanager
async def handled(opening: AbstractAsyncContextManager[Run]) -> AsyncIterator[RunHandle]:
    """The handle of the run ``opening`` opens, closed when the block is left.

    An exception the block raises comes out as itself, not wrapped in the
    exception group of the run's nursery.
    """
    raised: BaseException | None = None
    try:
        async with opening as run:
            handle = RunHandle(run)
            try:
                yield handle
            except BaseException as error:
                raised = error
                raise
            finally:
                handle.close()
    except BaseExceptionGroup as group:
        if raised is not None and len(group.exceptions) == 1 and group.exceptions[0] is raised:
            raise raised from None
        raise


@asynccontextmanager
async def opened(target: JournalTarget) -> AsyncIterator[Journal]:
    """The journal ``target`` names, closed at the end when it was opened here."""
    if isinstance(target, Journal):
        yield target
        return
    journal = SqliteJournal(":memory:") if target is None else open_journal(target)
    try:
        yield journal
    finally:
        journal.close()


async def new_run_id(journal: Journal) -> str:
    """A run id not yet in ``journal``: ``run-YYYYMMDD-HHMMSS`` (UTC), numbered if taken."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("run-%Y%m%d-%H%M%S")
    candidate, n = stamp, 1
    while await journal.run_exists(candidate):
        n += 1
        candidate = f"{stamp}-{n}"
    return candidate


def goal_of(plan: Plan) -> str:
    """A run's goal when none is given: its first step's, with how many more follow."""
    if not plan.steps:
        return "a plan of no steps"
    more = len(plan.steps) - 1
    return plan.steps[0].goal + (f" (and {more} more steps)" if more else "")


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
) -> AsyncIterator[RunHandle]:
    """Start a new run of ``plan`` for the duration of an ``async with`` block.

    ``async with playbill.start(plan, [coder, reviewer]) as run:`` then
    ``async for entry in run.events()``, ``await run.approve("build")``,
    ``state = await run.result()``. Needs trio (``playbill.start_sync`` for
    synchronous code, ``playbill.asyncio.start`` under asyncio).

    Args:
        plan: The steps (and agents, and criteria) of the run.
        agents: Who does the work: function agents (``@playbill.agent``),
            matched to the plan's agents by id (when the plan names none,
            its agents are made from them); a mapping of agent id to
            backend (or function agent); or a backend factory, as
            ``open_run`` takes.
        journal: A journal; the path of a SQLite file (created if missing)
            or a ``postgresql://`` URL; ``None`` for an in-memory SQLite
            journal. One opened here is closed when the block is left.
        goal: What the run is for; its first step's goal by default.
        run_id: The run's id; ``run-YYYYMMDD-HHMMSS`` by default.
        budget: The run's budget.
        policy: The supervisor's policy settings.
        strategy: The coordination strategy of steps that name none.
        labels: Free-form labels (``playbill runs`` shows them).
        workbench: For a run on a real repository (see ``open_run``).
        **options: More options of ``open_run`` (``control_poll_s``,
            ``observe``, ``clock``...).

    Raises:
        ValueError: ``agents`` do not match the plan's agents, or the run
            exists already.
        CapabilityError: An agent cannot play the roles the plan gives it.
    """
    async with opened(journal) as the_journal:
        the_plan, backends = resolve_agents(plan, agents)
        spec = RunSpec(
            goal=goal if goal is not None else goal_of(the_plan),
            plan=the_plan,
            budget=budget,
            policy=policy,
            strategy=strategy,
            labels=dict(labels or {}),
        )
        the_id = run_id if run_id is not None else await new_run_id(the_journal)
        opening = open_run(the_journal, the_id, backends, spec=spec, workbench=workbench, **options)
        async with handled(opening) as handle:
            yield handle


@asynccontextmanager
async def resume(
    run_id: str,
    agents: Agents,
    *,
    journal: Journal | str | Path,
    workbench: Workbench | None = None,
    **options: Unpack[RunOptions],
) -> AsyncIterator[RunHandle]:
    """Go on with a run of ``journal`` for the duration of an ``async with`` block.

    As ``start``, for a run that exists: the work its last process left in
    flight is handed out again (``run_resumed``), and the controls queued
    while nothing ran it (``playbill approve``...) are taken at once.
    ``agents`` are matched to the run's plan as ``start`` matches them.

    Raises:
        UnknownRunError: The journal has no run ``run_id``.
        ValueError: ``agents`` do not match the run's agents.
    """
    async with opened(journal) as the_journal:
        if not await the_journal.run_exists(run_id):
            raise UnknownRunError(run_id)
        state = await the_journal.state_at(run_id)
        _, backends = resolve_agents(state.plan if state.plan is not None else Plan(), agents)
        opening = open_run(the_journal, run_id, backends, workbench=workbench, **options)
        async with handled(opening) as handle:
            yield handle
