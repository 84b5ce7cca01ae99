"""A live run: the journal writer, the router, the timers, the agents, the control inbox.

``open_run`` assembles one run in the caller's trio program (see
docs/runtime.md for the picture): the supervisor's pure policy runs as the
writer's reactor, so its commands land right after their cause; the router
delivers committed entries to the agents' mailboxes; the timer service fires
journaled timers on the run's clock; a supervision tree restarts crashed
agents and journals each crash; a control loop takes requests that other
processes queue in the journal (``playbill pause`` and friends).

A new run starts with ``run_created`` and ``plan_attached``; an existing one
resumes with ``run_resumed`` (the policy then interrupts the attempts that
were in flight when its last process died, and re-arms nothing twice).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import final

import attrs
import trio

from playbill.runtime import (
    DEFAULT_POLICY,
    UNLIMITED,
    AgentFailed,
    AgentRestarted,
    AgentSpec,
    Budget,
    ChildFunction,
    ChildSpec,
    Clock,
    ControlRequested,
    Draft,
    Entry,
    Failure,
    Journal,
    JournalWriter,
    Mailbox,
    OnCrash,
    OnRestart,
    Plan,
    PlanAttached,
    PolicySettings,
    Reactor,
    RestartStrategy,
    Router,
    RunCreated,
    RunFailed,
    RunResumed,
    RunState,
    StoreError,
    SupervisionEscalated,
    Supervisor,
    TimerService,
    WallClock,
    decide,
)

from ._backend import AgentBackend
from ._integrator import ADDRESS as INTEGRATOR
from ._integrator import IntegratorActor
from ._role import RoleActor
from ._workbench import Workbench

BackendFactory = Callable[[AgentSpec], AgentBackend]
"""Makes the backend of each agent of the plan."""

MAILBOX_CAPACITY = 1024
"""Entries an actor's mailbox holds before the router waits for it."""


@final
@attrs.frozen
class RunSpec:
    """What a new run is: its goal, plan, budget and policy.

    Attributes:
        goal: What the run is for.
        plan: Its steps, agents and criteria.
        budget: The run's budget (agents have their own in the plan).
        policy: The supervisor's policy settings.
        strategy: The coordination strategy of steps that name none.
        seed: The seed of a simulated run.
        labels: Free-form labels (``runs`` can show them).
    """

    goal: str
    plan: Plan
    budget: Budget = UNLIMITED
    policy: PolicySettings = DEFAULT_POLICY
    strategy: str = "pipeline"
    seed: int | None = None
    labels: dict[str, str] = attrs.field(factory=dict)


@final
@attrs.define(eq=False)
class Run:
    """A run in progress. Made by ``open_run``.

    The state is the fold of every committed entry; ``wait`` returns when the
    run ends or can go no further without a person.
    """

    _run_id: str
    _journal: Journal
    _writer: JournalWriter
    _changed: trio.Event = attrs.field(factory=trio.Event, init=False)

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._run_id

    @property
    def journal(self) -> Journal:
        """The journal the run is written to."""
        return self._journal

    @property
    def state(self) -> RunState:
        """The run's state after its last committed entry."""
        state = self._writer.state
        assert state is not None  # the writer keeps it: it has a reactor
        return state

    async def append(self, drafts: Sequence[Draft]) -> list[Entry]:
        """Journal entries into the run (notes, approvals...); returns once committed."""
        return await self._writer.append(drafts)

    async def wait(self, until: Callable[[RunState], bool] | None = None) -> RunState:
        """Wait until ``until(state)`` holds; by default until the run is settled.

        Settled: ended (completed, failed, cancelled), or waiting for a person
        with nothing else in flight (see ``is_settled``).
        """
        done = until if until is not None else is_settled
        while not done(self.state):
            self._changed = trio.Event()
            await self._changed.wait()
        return self.state

    def _observe(self, entries: Sequence[Entry]) -> None:
        self._changed.set()


def is_settled(state: RunState) -> bool:
    """Whether a run can go no further on its own.

    True when it ended, or when it waits for a person (a pending approval)
    or is paused, with no agent at work and no timer pending.
    """
    if state.is_terminal:
        return True
    if state.timers or any(a.status == "busy" for a in state.agents.values()):
        return False
    return bool(state.pending_approvals()) or state.status == "paused"


@asynccontextmanager
async def open_run(
    journal: Journal,
    run_id: str,
    backends: BackendFactory,
    *,
    spec: RunSpec | None = None,
    clock: Clock | None = None,
    holder: str | None = None,
    policy: Reactor = decide,
    snapshot_every: int | None = 1000,
    lease_ttl_s: float = 30.0,
    control_poll_s: float | None = 0.25,
    restart: RestartStrategy = "one_for_one",
    max_restarts: int = 3,
    restart_period_s: float = 60.0,
    observe: Callable[[Sequence[Entry]], None] | None = None,
    resumed_by: str | None = None,
    workbench: Workbench | None = None,
) -> AsyncIterator[Run]:
    """Run a run for the duration of the block: start it (``spec``) or resume it.

    Args:
        journal: Where the run is journaled.
        run_id: The run's id.
        backends: Makes each agent's backend.
        spec: For a new run: what it is. Refused for a run that exists.
        clock: The run's clock; the wall clock by default (a ``VirtualClock``
            under simulation).
        holder: The name the run's write lease is held under.
        policy: The supervisor's pure policy (``decide``).
        snapshot_every: Store a state snapshot every this many entries.
        lease_ttl_s: How long the write lease lasts without renewal.
        control_poll_s: How often to take control requests queued by other
            processes; ``None`` for none (simulation).
        restart: The agents' restart strategy.
        max_restarts: Restarts of agents allowed within ``restart_period_s``
            before the run gives up (``SupervisionEscalated``).
        restart_period_s: The restart intensity window.
        observe: Called with every committed batch of entries, in seq order
            (for fault injection and progress displays).
        workbench: For a run on a real repository: executors work in
            worktrees of their own, and the integrator applies accepted
            work onto the run's integration branch. Its labels (repository,
            base commit) are journaled with a new run; its worktrees are
            removed when the run ends (their branches stay).
        resumed_by: Who resumes the run, for its ``run_resumed`` entry; the
            writer's lease holder (``host:pid:token``) by default.

    Raises:
        ValueError: ``spec`` for a run that already has entries, or no
            ``spec`` for a run that has none.
        WriterConflictError: Another live writer holds the run.
    """
    the_clock: Clock = clock if clock is not None else WallClock()
    router = Router()
    run_box: Run | None = None

    def on_entries(entries: Sequence[Entry]) -> None:
        router.feed(entries)
        if run_box is not None:
            run_box._observe(entries)
        if observe is not None:
            observe(entries)

    async with (
        journal.writer(
            run_id,
            holder=holder,
            clock=the_clock.now_us,
            snapshot_every=snapshot_every,
            lease_ttl_s=lease_ttl_s,
            reactor=policy,
            on_entries=on_entries,
            wait_for_room=router.wait_for_room,
        ) as writer,
        trio.open_nursery() as nursery,
    ):
        state = writer.state
        assert state is not None
        if spec is None and writer.last_seq == 0:
            raise ValueError(f"run {run_id!r} does not exist; give a RunSpec to start it")
        if spec is not None and writer.last_seq > 0:
            raise ValueError(f"run {run_id!r} already exists; resume it without a RunSpec")
        plan = spec.plan if spec is not None else state.plan
        agents = plan.agents if plan is not None else ()
        append = _durable(writer, the_clock)
        run_box = Run(run_id, journal, writer)
        await nursery.start(router.run)

        timers = TimerService(the_clock, append)
        timers.load(state)
        timer_box: Mailbox[Entry] = Mailbox(MAILBOX_CAPACITY, name="timers")
        router.subscribe_all(timer_box)
        nursery.start_soon(timers.run, timer_box)

        run = run_box

        def current_state() -> RunState:
            return run.state

        actors = [
            RoleActor(agent, backends(agent), run_id, append, current_state, workbench)
            for agent in agents
        ]
        if workbench is not None:
            integrator = IntegratorActor(workbench, append, current_state)
            merge_box: Mailbox[Entry] = Mailbox(MAILBOX_CAPACITY, name=INTEGRATOR)
            router.subscribe(INTEGRATOR, merge_box)
            nursery.start_soon(integrator.run, merge_box)
        children: list[ChildSpec] = []
        for actor in actors:
            # One mailbox per agent for the whole run, subscribed before any
            # work is given: work given while its actor restarts waits there.
            inbox: Mailbox[Entry] = Mailbox(MAILBOX_CAPACITY, name=actor.address)
            router.subscribe(actor.address, inbox)
            children.append(ChildSpec(actor.address, _actor_child(actor, inbox)))
        tree = Supervisor(
            "agents",
            children,
            strategy=restart,
            max_restarts=max_restarts,
            period_s=restart_period_s,
            on_crash=_journal_crash(writer, append),
            on_restart=_journal_restart(append),
        )
        await nursery.start(_supervise, tree, append)
        if control_poll_s is not None:
            nursery.start_soon(
                _take_requests, journal, writer, append, run_id, control_poll_s, the_clock
            )

        if spec is not None:
            await writer.append(
                [
                    Draft(
                        msg=RunCreated(
                            goal=spec.goal,
                            strategy=spec.strategy,
                            budget=spec.budget,
                            policy=spec.policy,
                            seed=spec.seed,
                            labels={
                                **spec.labels,
                                **(workbench.labels if workbench is not None else {}),
                            },
                        ),
                        sender="api",
                    ),
                    Draft(msg=PlanAttached(plan=spec.plan), sender="api"),
                ]
            )
        elif not state.is_terminal:
            # Every agent of this process is new: the policy interrupts the
            # work the dead process's agents held, and gives it out again.
            resumed = RunResumed(
                by=resumed_by or writer.holder,
                reason="resumed from the journal",
                restarting=tuple(agent.id for agent in agents),
            )
            drafts = [Draft(msg=resumed, sender="api")]
            for agent in agents:
                known = state.agents.get(agent.id)
                restarts = (known.restarts if known is not None else 0) + 1
                drafts.append(
                    Draft(msg=AgentRestarted(agent=agent.id, restarts=restarts), sender="agents")
                )
            await writer.append(drafts)
        try:
            yield run
        finally:
            nursery.cancel_scope.cancel()
            if workbench is not None and run.state.is_terminal:
                with trio.CancelScope(shield=True):
                    await workbench.close()


async def _supervise(
    tree: Supervisor,
    append: Appender,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the agents' supervision tree; if it gives up, the run fails, journaled."""
    try:
        await tree.run(task_status=task_status)
    except SupervisionEscalated as gave_up:
        # Agents crashed faster than the restart intensity allows: the run
        # cannot go on, and says why in its journal rather than in a traceback.
        reason = f"agents crashed too often to go on: {gave_up}"
        msg = RunFailed(reason=reason[:2000], failure_class="agent")
        await append([Draft(msg=msg, sender="agents", recipient="*")])


def _actor_child(actor: RoleActor, inbox: Mailbox[Entry]) -> ChildFunction:
    async def child(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await actor.run(inbox)

    return child


Appender = Callable[[Sequence[Draft]], Awaitable[list[Entry]]]

COMMIT_RETRIES = 5
"""Times an append is tried again after a failed commit before the error is raised."""


def _durable(writer: JournalWriter, clock: Clock) -> Appender:
    """``writer.append``, tried again when a commit fails (nothing of it was written).

    A failed commit (a full disk, a locked database, an injected fault) fails
    every append of its batch with nothing written, so trying again cannot
    journal anything twice. A lost lease or a closed writer is final.
    """

    async def append(drafts: Sequence[Draft]) -> list[Entry]:
        for retry in range(COMMIT_RETRIES + 1):
            try:
                return await writer.append(drafts)
            except StoreError:
                if retry == COMMIT_RETRIES:
                    raise
                await clock.sleep_until_us(clock.now_us() + 1000 * 2**retry)
        raise AssertionError("unreachable")

    return append


def _journal_crash(writer: JournalWriter, append: Appender) -> OnCrash:
    async def on_crash(agent: str, error: Exception) -> None:
        state = writer.state
        busy = state.agents.get(agent) if state is not None else None
        failure = Failure(
            failure_class="agent", kind="crash", detail=f"{type(error).__name__}: {error}"
        )
        msg = AgentFailed(
            agent=agent,
            failure=failure,
            step=busy.step if busy is not None else None,
            attempt=busy.attempt if busy is not None else None,
        )
        await append([Draft(msg=msg, sender="agents", recipient="supervisor")])

    return on_crash


def _journal_restart(append: Appender) -> OnRestart:
    async def on_restart(agent: str, restarts: int) -> None:
        msg = AgentRestarted(agent=agent, restarts=restarts)
        await append([Draft(msg=msg, sender="agents", recipient="supervisor")])

    return on_restart


async def _take_requests(
    journal: Journal,
    writer: JournalWriter,
    append: Appender,
    run_id: str,
    every_s: float,
    clock: Clock,
) -> None:
    """Journal the control requests other processes queue for this run, each once."""
    state = writer.state
    last = state.last_request_id if state is not None else 0
    while True:
        for request_id, request in await journal.requests_after(run_id, last):
            msg = ControlRequested(request_id=request_id, request=request)
            await append([Draft(msg=msg, sender="control", recipient="supervisor")])
            last = request_id
        await clock.sleep_until_us(clock.now_us() + math.ceil(every_s * 1_000_000))
