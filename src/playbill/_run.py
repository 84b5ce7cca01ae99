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
Before that, a resumed run ends what its dead runner's work left running:
every journaled process that is still the same process (pid and start
time) has its group killed (``process_ended``).

``Run.interrupt`` stops a run whose process is asked to stop (SIGINT,
SIGTERM): its agents' work is cancelled and their processes stopped, and
the run is journaled paused, its work lost, for a later resume.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, final

import attrs
import trio

from playbill.runtime import (
    DEFAULT_POLICY,
    UNLIMITED,
    AgentRestarted,
    Budget,
    ChildSpec,
    Clock,
    ControlRequest,
    Draft,
    Entry,
    Journal,
    JournalWriter,
    Mailbox,
    Plan,
    PlanAttached,
    PolicySettings,
    Reactor,
    RestartStrategy,
    Router,
    RunCreated,
    RunPaused,
    RunResumed,
    RunState,
    Supervisor,
    TimerService,
    WallClock,
    decide,
    is_settled,
)

from ._run_wiring import (
    Doorbell,
    actor_child,
    durable,
    end_leftovers,
    journal_crash,
    journal_restart,
    supervise,
    take_requests,
)
from .actors import INTEGRATOR_ADDRESS as INTEGRATOR
from .actors import IntegratorActor, RoleActor, Workbench
from .backends import BackendFactory, check_capabilities, require_startable
from .tracing import RunTracer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

logger = logging.getLogger(__name__)

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
    _doorbell: Doorbell | None = None
    _changed: trio.lowlevel.ParkingLot = attrs.field(factory=trio.lowlevel.ParkingLot, init=False)
    _stop_agents: Callable[[], Awaitable[None]] | None = attrs.field(default=None, init=False)
    _interrupted: bool = attrs.field(default=False, init=False)

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

    async def request(self, request: ControlRequest) -> int:
        """Queue a control request for the run, as ``playbill pause`` and friends do.

        The run's control loop takes it at once (journaled as
        ``control_requested``, exactly as a request queued by another process
        within ``control_poll_s``) and the policy carries it out, or refuses
        it with a note; ``control`` waits for that. Besides pause, resume,
        cancel, approve and reject, a person decides about a step: ``skip``,
        ``change_agent`` (with ``agent``), ``change_validator`` (with
        ``validator``) and ``decompose`` (with ``new_steps``); each closes the
        escalation it answers and the run goes on. A run opened with
        ``control_poll_s=None`` takes it only when it is resumed.

        Args:
            request: What is asked, by whom and why.

        Returns:
            The request's id in the journal's queue.
        """
        request_id = await self._journal.post_request(self._run_id, request)
        if self._doorbell is not None:
            self._doorbell.ring()
        return request_id

    async def control(self, request: ControlRequest) -> RunState:
        """Queue a control request (see ``request``) and wait until the run took it.

        Returns:
            The state right after its ``control_requested`` and what the
            policy did about it (``run_paused``, ``human_approval_given``, a
            note refusing it...) were committed.

        Raises:
            ValueError: The run was opened with ``control_poll_s=None``: it
                takes no request while it runs.
        """
        if self._doorbell is None:
            raise ValueError(f"run {self._run_id!r} takes no control request while it runs")
        request_id = await self.request(request)
        return await self.wait(lambda state: state.last_request_id >= request_id)

    async def settled(self) -> bool:
        """Whether the run is settled now, and no control request waits to be taken.

        Settled: ended (completed, failed, cancelled), or waiting for a person
        (an approval, a pause) with nothing in flight (see ``is_settled``).
        A request queued in the journal (by this program or another process)
        that the run has not taken yet may move it: the run takes it at once,
        and this says False.
        """
        state = self.state
        if not is_settled(state):
            return False
        if self._doorbell is None:
            return True
        queued = await self._journal.requests_after(self._run_id, state.last_request_id)
        if queued:
            self._doorbell.ring()
            return False
        return self.state.last_seq == state.last_seq

    async def wait(self, until: Callable[[RunState], bool] | None = None) -> RunState:
        """Wait until ``until(state)`` holds; by default until the run is settled.

        ``until`` returning a callable (``lambda s: s.pending_approvals``, a
        method not called, always true) raises ``TypeError``.

        Settled: ended (completed, failed, cancelled), or waiting for a person
        with nothing else in flight (see ``is_settled``), and no control
        request queued (see ``settled``): a paused run asked to resume is
        not settled until it has taken the request.
        """
        if until is not None:
            while not holds(until, self.state):
                await self._changed.park()  # every waiter wakes on the next commit
            return self.state
        while True:
            seen = self.state.last_seq
            if await self.settled():
                return self.state
            if self.state.last_seq == seen:
                await self._changed.park()

    async def interrupt(self, reason: str) -> RunState:
        """Stop every agent now, and journal the run paused with their work lost.

        For a run whose process is asked to stop (the CLI calls it on SIGINT
        and SIGTERM). Every agent's work is cancelled, and with it its
        processes: their groups get ``SIGTERM``, a grace period, then
        ``SIGKILL``. Then ``run_paused`` is journaled, ``stopped`` naming the
        agents: the policy interrupts the attempts they held (lost work,
        which does not count against a step's attempts) and starts nothing
        new. Leave the ``open_run`` block afterwards: ``open_run`` without a
        spec, here or in another process, resumes the run and hands the work
        out again. Interrupting twice, or a run that has ended, changes
        nothing more.

        Args:
            reason: Why, for the journal (``interrupted by SIGINT``).

        Returns:
            The run's state once the pause is journaled.
        """
        if self._interrupted:
            return self.state
        self._interrupted = True
        if self._stop_agents is not None:
            await self._stop_agents()
        state = self.state
        if state.is_terminal:
            return state
        paused = RunPaused(reason=reason, by=self._writer.holder, stopped=tuple(state.agents))
        await self._writer.append([Draft(msg=paused, sender="api")])
        return self.state

    def _observe(self, entries: Sequence[Entry]) -> None:
        if self._changed:  # every waiter wakes on each commit
            self._changed.unpark_all()


def holds(predicate: Callable[[RunState], object], state: RunState) -> bool:
    """Whether ``predicate(state)`` is true; a callable answer is a mistake, refused.

    Raises:
        TypeError: It returned a callable (``s.pending_approvals`` uncalled).
    """
    value = predicate(state)
    if callable(value):
        raise TypeError(
            f"the predicate returned {value!r}, which is always true: call it "
            "(lambda s: bool(s.pending_approvals()))"
        )
    return bool(value)


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
    trace: SpanProcessor | None = None,
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
            before the run gives up (``SupervisionEscalated``), shared by the
            agents whose spec sets no ``max_restarts`` of its own (one that
            does is counted apart, in its own ``restart_window_s``).
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
        trace: An OpenTelemetry span processor (the ``otel`` extra) to hand
            the run's spans to as they end (see docs/tracing.md); a resumed
            run's spans continue the trace its earlier processes began. The
            caller flushes or shuts it down.

    Raises:
        ValueError: ``spec`` for a run that already has entries, or no
            ``spec`` for a run that has none.
        WriterConflictError: Another live writer holds the run.
        CapabilityError: An agent's backend cannot play its roles, or edit
            files when the agent is planned to.
        AgentUnavailableError: An agent's program cannot start: a coding-agent
            CLI or a ``command``'s ``argv[0]`` is missing or not executable,
            or the CLI's release is not supported. Raised before anything
            is journaled.
    """
    the_clock: Clock = clock if clock is not None else WallClock()
    router = Router()
    run_box: Run | None = None
    tracer = RunTracer(trace) if trace is not None else None

    def on_entries(entries: Sequence[Entry]) -> None:
        router.feed(entries)
        if run_box is not None:
            run_box._observe(entries)
        if tracer is not None:
            tracer.observe(entries)
        if observe is not None:
            observe(entries)

    async with journal.writer(
        run_id,
        holder=holder,
        clock=the_clock.now_us,
        snapshot_every=snapshot_every,
        lease_ttl_s=lease_ttl_s,
        reactor=policy,
        on_entries=on_entries,
        wait_for_room=router.wait_for_room,
        # On a real repository every message is redacted (and made valid
        # Unicode) as it is journaled, whoever sends it.
        scrub=workbench.redactor.scrub if workbench is not None else None,
    ) as writer:
        state = writer.state
        assert state is not None
        if tracer is not None:  # what earlier processes began: parents and start times
            tracer.catch_up(await journal.read(run_id, 1, writer.last_seq + 1))
        if spec is None and writer.last_seq == 0:
            raise ValueError(f"run {run_id!r} does not exist; give a RunSpec to start it")
        if spec is not None and writer.last_seq > 0:
            raise ValueError(f"run {run_id!r} already exists; resume it without a RunSpec")
        plan = spec.plan if spec is not None else state.plan
        agents = plan.agents if plan is not None else ()
        agent_backends = [(agent, backends(agent)) for agent in agents]
        for agent, backend in agent_backends:
            check_capabilities(agent, backend)
        # Before anything is journaled: a missing program fails here, not at
        # its agent's first step (in-process backends are not checked, and
        # the check then awaits nothing: a simulated schedule is unchanged).
        await require_startable(
            [(agent.id, backend) for agent, backend in agent_backends],
            base=workbench.workspaces.repo_path if workbench is not None else None,
        )
        if spec is None and not state.is_terminal:
            # What the dead runner's work left running ends before anything
            # starts here: no timer fires, no agent takes work until then.
            await end_leftovers(state, durable(writer, the_clock))
        async with trio.open_nursery() as nursery:
            append = durable(writer, the_clock)
            doorbell = Doorbell() if control_poll_s is not None else None
            run_box = Run(run_id, journal, writer, doorbell)
            await nursery.start(router.run)

            timers = TimerService(the_clock, append)
            timers.load(state)
            timer_box: Mailbox[Entry] = Mailbox(MAILBOX_CAPACITY, name="timers")
            router.subscribe_all(timer_box)
            nursery.start_soon(timers.run, timer_box)

            run = run_box

            def current_state() -> RunState:
                return run.state

            actors = []
            for agent, backend in agent_backends:
                actors.append(RoleActor(agent, backend, run_id, append, current_state, workbench))
            if workbench is not None:
                integrator = IntegratorActor(workbench, append, current_state)
                merge_box: Mailbox[Entry] = Mailbox(MAILBOX_CAPACITY, name=INTEGRATOR)
                router.subscribe(INTEGRATOR, merge_box)
                nursery.start_soon(integrator.run, merge_box)
            children: list[ChildSpec] = []
            for actor, (agent, _) in zip(actors, agent_backends, strict=True):
                # One mailbox per agent for the whole run, subscribed before any
                # work is given: work given while its actor restarts waits there.
                inbox: Mailbox[Entry] = Mailbox(MAILBOX_CAPACITY, name=actor.address)
                router.subscribe(actor.address, inbox)
                child = ChildSpec(
                    actor.address,
                    actor_child(actor, inbox),
                    max_restarts=agent.max_restarts,
                    period_s=agent.restart_window_s,
                )
                children.append(child)
            clean: Callable[[str], str] = (
                workbench.redactor.redact if workbench is not None else (lambda text: text)
            )
            tree = Supervisor(
                "agents",
                children,
                strategy=restart,
                max_restarts=max_restarts,
                period_s=restart_period_s,
                on_crash=journal_crash(writer, append, clean),
                on_restart=journal_restart(append, run_id),
            )
            # The agents run in a scope of their own: ``Run.interrupt`` stops
            # them (and their processes) while the journal writer goes on.
            agents_scope = trio.CancelScope()
            agents_done = trio.Event()

            async def run_agents(*, task_status: trio.TaskStatus[None]) -> None:
                try:
                    with agents_scope:
                        await supervise(tree, append, task_status=task_status)
                finally:
                    agents_done.set()

            async def stop_agents() -> None:
                agents_scope.cancel()
                await agents_done.wait()

            await nursery.start(run_agents)
            run_box._stop_agents = stop_agents
            if control_poll_s is not None:
                nursery.start_soon(
                    take_requests,
                    journal,
                    writer,
                    append,
                    run_id,
                    control_poll_s,
                    the_clock,
                    doorbell,
                )

            if spec is not None:
                logger.info(
                    "run %s starts: %d steps, %d agents, strategy %s",
                    run_id,
                    len(spec.plan.steps),
                    len(agents),
                    spec.strategy,
                    extra={"run_id": run_id},
                )
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
                logger.info(
                    "run %s resumes at seq %d (%s)",
                    run_id,
                    writer.last_seq,
                    state.status,
                    extra={"run_id": run_id},
                )
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
                        Draft(
                            msg=AgentRestarted(agent=agent.id, restarts=restarts), sender="agents"
                        )
                    )
                await writer.append(drafts)
            try:
                yield run
            finally:
                nursery.cancel_scope.cancel()
                ended = writer.state
                logger.info(
                    "run %s leaves this process %s at seq %d",
                    run_id,
                    ended.status if ended is not None else "unknown",
                    writer.last_seq,
                    extra={"run_id": run_id},
                )
        # Every task has ended (no git call is still running in a thread):
        # an ended run's worktrees can go.
        if workbench is not None and writer.state is not None and writer.state.is_terminal:
            with trio.CancelScope(shield=True):
                await workbench.close()
