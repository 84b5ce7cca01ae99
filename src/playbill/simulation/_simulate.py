"""Deterministic whole-run simulation: ``simulate(seed, ...)``.

A simulated run is a real run — the same writer, policy, router, timers,
supervision tree and role actors — whose agents are ``SimulatedBackend``s and
whose clock is virtual: it runs inside one ``trio.run`` with a
``MockClock(autojump_threshold=0)`` (hours of agent time take milliseconds)
and trio's deterministic scheduling seeded from the run's seed. Nothing in it
reads the wall clock, the environment or a shared random generator, so one
seed gives the same journal, byte for byte, in any process.

Faults come from a ``FaultPlan``: agent crashes, hangs, slowness and
transient failures (drawn per attempt by the backends), journal commit
failures at given entry counts, and a process kill after a given entry, after
which nothing more is written; ``simulate(..., resume=True)`` then continues
the killed run from its journal.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Literal, final

import attrs
import trio

from playbill._run import RunSpec, open_run
from playbill.backends import AgentBackend
from playbill.runtime import (
    DEFAULT_POLICY,
    NO_FAULTS,
    UNLIMITED,
    AgentSpec,
    Budget,
    Criterion,
    Draft,
    Entry,
    FaultPlan,
    FaultyStore,
    Journal,
    MemoryJournal,
    Plan,
    PolicySettings,
    RunState,
    StepSpec,
    Strategy,
    TestsPass,
    VirtualClock,
    decide,
    is_settled,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor

from ._profiles import ProfileSet
from ._simulated import SimulatedBackend

EPOCH_US = 1_767_225_600_000_000
"""Virtual time 0 of every simulated run: 2026-01-01T00:00:00Z."""

Outcome = Literal["completed", "failed", "cancelled", "waiting", "killed", "running"]
"""How a simulated run ended (``waiting``: on a person; ``killed``: by the fault plan)."""


@final
@attrs.frozen
class SimulationResult:
    """What a simulated run came to.

    Attributes:
        run_id: The run.
        seed: Its seed.
        outcome: How it ended.
        state: Its final state.
        entries: Entries in its journal.
        virtual_s: Virtual seconds from its first entry to its last.
    """

    run_id: str
    seed: int
    outcome: Outcome
    state: RunState
    entries: int
    virtual_s: float


def default_plan() -> Plan:
    """The built-in example: 10 steps over a small service, 5 agents."""
    steps = (
        StepSpec(id="design", goal="Sketch the module layout", role="planner"),
        StepSpec(
            id="models",
            goal="Add the data models",
            depends_on=("design",),
            scope=("src/models/**",),
        ),
        StepSpec(
            id="storage",
            goal="Persist the models",
            depends_on=("models",),
            scope=("src/storage/**",),
            validators=(TestsPass(),),
        ),
        StepSpec(
            id="api",
            goal="Expose the models over HTTP",
            depends_on=("models",),
            scope=("src/api/**",),
            validators=(TestsPass(),),
        ),
        StepSpec(
            id="cli", goal="Add a command line", depends_on=("models",), scope=("src/cli/**",)
        ),
        StepSpec(
            id="auth",
            goal="Add token authentication",
            depends_on=("api",),
            scope=("src/api/auth/**",),
            validators=(TestsPass(),),
        ),
        StepSpec(
            id="docs", goal="Write the user guide", depends_on=("api", "cli"), scope=("docs/**",)
        ),
        StepSpec(
            id="migrations",
            goal="Add schema migrations",
            depends_on=("storage",),
            scope=("src/storage/migrations/**",),
        ),
        StepSpec(
            id="audit", goal="Review the security of the API", role="reviewer", depends_on=("auth",)
        ),
        StepSpec(
            id="release",
            goal="Run the whole suite and tag",
            role="verifier",
            depends_on=("audit", "docs", "migrations"),
        ),
    )
    agents = (
        AgentSpec(id="planner", roles=("planner",), edits_files=False),
        AgentSpec(id="executor-1", roles=("executor",)),
        AgentSpec(id="executor-2", roles=("executor",)),
        AgentSpec(id="reviewer", roles=("reviewer",), edits_files=False),
        AgentSpec(id="verifier", roles=("verifier",), edits_files=False),
    )
    criteria = (Criterion(id="suite-green", description="The whole test suite passes"),)
    return Plan(steps=steps, agents=agents, criteria=criteria)


def default_run_id(seed: int) -> str:
    """The run id of a simulated run: a function of its seed, as everything else."""
    return f"sim-{seed}"


def simulate(
    seed: int,
    *,
    plan: Plan | None = None,
    goal: str = "simulated run",
    budget: Budget = UNLIMITED,
    policy: PolicySettings = DEFAULT_POLICY,
    strategy: str = "pipeline",
    strategies: Mapping[str, Strategy] | None = None,
    profiles: ProfileSet | None = None,
    faults: FaultPlan = NO_FAULTS,
    journal: Journal | None = None,
    run_id: str | None = None,
    resume: bool = False,
    max_virtual_s: float = 30 * 24 * 3600.0,
    labels: Mapping[str, str] | None = None,
    speed: float | None = None,
    observe: Callable[[Sequence[Entry]], None] | None = None,
    kill_process: bool = False,
    trace: SpanProcessor | None = None,
) -> SimulationResult:
    """Run one simulated run to its end (or to its kill) and return what it came to.

    Args:
        seed: Decides every draw of every agent, and trio's scheduling.
        plan: The plan; ``default_plan()`` when None.
        goal: The run's goal.
        budget: The run's budget.
        policy: The supervisor's policy settings.
        strategy: The coordination strategy.
        strategies: The strategies the policy knows by name (``decide``'s
            ``strategies``); the built-in ``STRATEGIES`` when None.
        profiles: How the agents behave; the built-in profiles when None.
        faults: Faults to inject.
        journal: Where to journal the run; a new ``MemoryJournal`` when None.
        run_id: The run's id; ``default_run_id(seed)`` when None.
        resume: Continue an existing run of the journal (after a kill)
            instead of starting one.
        max_virtual_s: Stop a run that has not settled after this much
            virtual time (its outcome is then ``running``).
        labels: More labels for the run (``simulated`` and ``faults`` are set).
        speed: Run virtual time at this many times real time, instead of as
            fast as possible: for watching a run live, and for steering it
            from another process (``playbill pause``...), whose requests it
            then takes. Such a run is not reproducible to the byte (real time
            decides when requests arrive), and it waits while paused or
            waiting for a person, until it ends.
        observe: Called with every committed batch of entries (a live display).
        kill_process: Make ``faults.kill`` a real ``SIGKILL`` of this process
            (for testing recovery across processes) instead of stopping the
            run in-process.
        trace: An OpenTelemetry span processor to hand the run's spans to
            as they end (``open_run``'s ``trace``).
    """
    the_journal = journal if journal is not None else MemoryJournal()
    rid = run_id if run_id is not None else default_run_id(seed)
    the_plan = plan if plan is not None else default_plan()
    profile_set = profiles if profiles is not None else ProfileSet()
    spec = None
    if not resume:
        spec = RunSpec(
            goal=goal,
            plan=the_plan,
            budget=budget,
            policy=policy,
            strategy=strategy,
            seed=seed,
            labels={**(labels or {}), "simulated": "true", "faults": str(faults)},
        )
    killed: list[int] = []

    def policy_of(state: RunState, entry: Entry) -> Sequence[Draft]:
        return decide(state, entry, strategies=strategies)

    epoch_us = EPOCH_US
    if resume:
        # Virtual time goes on from the last entry of the killed run.
        info = trio.run(the_journal.run_info, rid)
        epoch_us = info.last_us if info is not None else EPOCH_US

    # The run writes through a store that fails the commits the faults say
    # (and those a killed process would never have made).
    store = FaultyStore(the_journal.store)
    faulty_journal = Journal(store, the_journal.lease_clock)

    async def main() -> RunState:
        async with VirtualClock.open(epoch_us) as clock:

            def backend(agent: AgentSpec) -> AgentBackend:
                return SimulatedBackend(
                    agent.id,
                    profile_set.profile_for(agent.id),
                    seed,
                    clock,
                    roles=agent.roles,
                    faults=faults,
                    edits_files=agent.edits_files,
                )

            failures = sorted(faults.journal_fail)

            def on_entries(entries: Sequence[Entry]) -> None:
                last = entries[-1].seq
                while failures and last >= failures[0]:
                    failures.pop(0)
                    store.fail_next_commit()  # the next commit fails, whole
                if faults.kill is not None and last >= faults.kill and not killed:
                    killed.append(last)
                    if kill_process:
                        os.kill(os.getpid(), signal.SIGKILL)
                    # The process dies right after this commit: whatever is
                    # still queued is never written.
                    store.fail_next_commit()
                    kill_scope.cancel()
                if observe is not None:
                    observe(entries)

            with trio.CancelScope() as kill_scope:
                async with open_run(
                    faulty_journal,
                    rid,
                    backend,
                    spec=spec,
                    clock=clock,
                    # Requests from other processes arrive in real time: only
                    # a run paced by real time takes them.
                    control_poll_s=None if speed is None else 0.25 * speed,
                    lease_ttl_s=1e9,  # no renewal wake-ups: they would be bare trio sleeps
                    observe=on_entries,
                    resumed_by="simulation",
                    policy=policy_of,
                    trace=trace,
                ) as run:
                    if speed is not None:
                        return await run.wait(_ended)
                    with trio.move_on_after(max_virtual_s):
                        return await run.wait()
                    return run.state  # stalled: it would never settle
            return await the_journal.state_at(rid)

    # trio.testing loads here, not with the module: it imports pytest.
    from trio.testing import MockClock

    mock_clock = MockClock(autojump_threshold=0) if speed is None else MockClock(rate=speed)
    with _deterministic_scheduling(seed):
        state = trio.run(main, clock=mock_clock)
    outcome: Outcome
    if killed:
        outcome = "killed"
    elif state.is_terminal:
        outcome = state.status  # type: ignore[assignment]
    elif is_settled(state):
        outcome = "waiting"
    else:
        outcome = "running"
    return SimulationResult(
        run_id=rid,
        seed=seed,
        outcome=outcome,
        state=state,
        entries=state.last_seq,
        virtual_s=(state.updated_us - state.created_us) / 1e6,
    )


def _ended(state: RunState) -> bool:
    return state.is_terminal


@contextlib.contextmanager
def _deterministic_scheduling(seed: int) -> Iterator[None]:
    """Make trio's scheduler a function of ``seed`` for the duration of the block.

    Trio shuffles each batch of runnable tasks with its own random generator;
    its hypothesis integration makes that deterministic by sorting the batch
    by task creation order before a seeded shuffle. This does the same.
    """
    run = trio._core._run
    saved_flag = run._ALLOW_DETERMINISTIC_SCHEDULING
    saved_random = run._r.getstate()
    run._ALLOW_DETERMINISTIC_SCHEDULING = True  # type: ignore[misc]
    run._r.seed(seed)
    try:
        yield
    finally:
        run._ALLOW_DETERMINISTIC_SCHEDULING = saved_flag  # type: ignore[misc]
        run._r.setstate(saved_random)
