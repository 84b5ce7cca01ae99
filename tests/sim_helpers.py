"""Helpers for the simulated backend's tests: work orders, a recording reporter."""

from __future__ import annotations

from typing import Any

from playbill.backends._backend import BackendError, WorkKind, WorkOrder
from playbill.runtime import (
    CommandPasses,
    Failure,
    HumanApproval,
    Role,
    StepSpec,
    TestsPass,
    Usage,
)
from playbill.runtime.model._faults import FaultPlan
from playbill.runtime.shell._clock import VirtualClock
from playbill.simulation._profiles import BUILTIN_PROFILES, AgentProfile
from playbill.simulation._simulated import SimulatedBackend, SimulatedCrash

EPOCH_US = 1_700_000_000_000_000
STEP = StepSpec(
    id="s1",
    goal="add the parser",
    scope=("src/pkg/**", "tests/test_*.py"),
    validators=(TestsPass(), CommandPasses(argv=("ruff", "check", ".")), HumanApproval()),
)


def order(
    attempt: int = 1,
    *,
    kind: WorkKind = "work",
    role: Role = "executor",
    step: StepSpec = STEP,
    agent: str = "agent-1",
    feedback: Failure | None = None,
) -> WorkOrder:
    return WorkOrder(
        run_id="run-1",
        agent=agent,
        role=role,
        kind=kind,
        step=step,
        attempt=attempt,
        feedback=feedback,
    )


class Recorder:
    """A reporter that records every call with the virtual time it came at."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.start = clock.now_us()
        self.calls: list[tuple[str, int, object]] = []

    async def heartbeat(self, progress: str = "") -> None:
        self.calls.append(("heartbeat", self.clock.now_us() - self.start, progress))

    async def usage(self, usage: Usage) -> None:
        self.calls.append(("usage", self.clock.now_us() - self.start, usage))

    def reported(self) -> Usage:
        total = Usage()
        for kind, _, value in self.calls:
            if kind == "usage":
                assert isinstance(value, Usage)
                total = total + value
        return total


def backend(
    clock: VirtualClock,
    profile: AgentProfile = BUILTIN_PROFILES["default"],
    *,
    faults: FaultPlan | None = None,
    seed: int = 7,
    agent: str = "agent-1",
    edits_files: bool = True,
) -> SimulatedBackend:
    return SimulatedBackend(
        agent,
        profile,
        seed,
        clock,
        faults=faults if faults is not None else FaultPlan(),
        edits_files=edits_files,
    )


async def act(sim: SimulatedBackend, work: WorkOrder, clock: VirtualClock) -> tuple[Any, Recorder]:
    """Run ``work``; return the result (or the exception) and the recorder."""
    recorder = Recorder(clock)
    try:
        outcome: Any = await sim.run(work, recorder)
    except (BackendError, SimulatedCrash) as error:
        outcome = error
    return outcome, recorder


def outcomes(
    profile: AgentProfile,
    n: int = 4000,
    *,
    faults: FaultPlan | None = None,
    role: Role = "executor",
    kind: WorkKind = "work",
    feedback: Failure | None = None,
) -> list[Any]:
    sim = SimulatedBackend(
        "agent-1", profile, 11, VirtualClock(EPOCH_US), faults=faults or FaultPlan()
    )
    return [
        sim.outcome(
            order(1, step=StepSpec(id=f"s{i}", goal="g"), role=role, kind=kind, feedback=feedback)
        )
        for i in range(n)
    ]


def assert_rate(hits: int, n: int, p: float) -> None:
    """``hits`` of ``n`` is within five standard deviations of ``n * p``."""
    sd = (n * p * (1 - p)) ** 0.5
    assert abs(hits - n * p) <= 5 * sd + 1, (hits, n, p)
