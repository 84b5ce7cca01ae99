"""The simulated agent backend: seeded, deterministic, with faults.

``SimulatedBackend`` plays any role without an LLM: it draws what happens
from its profile and the run's fault plan (``draw_outcome``: one generator per
piece of work, seeded by a stable hash, so nothing depends on the order actors
run in or on the process), then acts it out on the injected clock: it works in
heartbeat-interval stretches, sending a usage report and a heartbeat after
each, and returns a result, raises, or hangs.

Every token is reported through ``report.usage`` before ``run`` returns or
raises. The result's ``usage`` repeats the total (a header, not to be
journaled again), and a ``BackendError``'s ``usage`` is empty: nothing is
left unreported.
"""

from __future__ import annotations

from typing import assert_never, final

import attrs
import trio

from playbill.backends import BackendError, Capabilities, Reporter, WorkOrder, role_set
from playbill.runtime import (
    NO_FAULTS,
    ROLES,
    Clock,
    Failure,
    FaultPlan,
    ResultEnvelope,
    Role,
    Usage,
)

from ._profiles import AgentProfile
from ._sim_draws import SimulatedOutcome, draw_outcome


class SimulatedCrash(Exception):
    """A simulated agent crashed: an unexpected exception, as a real agent's bug.

    Deliberately not a ``PlaybillError``: to the runtime it must look like any
    other crash of an agent.

    Attributes:
        agent: The agent that crashed.
        step: The step it was working on.
        attempt: The attempt.
    """

    def __init__(self, agent: str, step: str, attempt: int) -> None:
        super().__init__(f"simulated crash of {agent} on {step}#{attempt}")
        self.agent = agent
        self.step = step
        self.attempt = attempt


@final
@attrs.define(eq=False)
class SimulatedBackend:
    """A seeded simulated agent (see the module documentation).

    Args:
        agent_id: The agent it plays; part of every draw's seed.
        profile: How it behaves.
        seed: The run's simulation seed.
        clock: The clock it works on (a ``VirtualClock`` under simulation).
        roles: The roles it can play.
        faults: Faults injected on top of the profile's own odds.
        edits_files: Whether it changes files (executor results list changed
            files inside the step's scope only when it does).
    """

    _agent_id: str = attrs.field(alias="agent_id")
    _profile: AgentProfile = attrs.field(alias="profile")
    _seed: int = attrs.field(alias="seed")
    _clock: Clock = attrs.field(alias="clock")
    role_set: frozenset[Role] = attrs.field(
        alias="roles", default=frozenset(ROLES), converter=role_set, kw_only=True
    )
    _faults: FaultPlan = attrs.field(alias="faults", default=NO_FAULTS, kw_only=True)
    _edits_files: bool = attrs.field(alias="edits_files", default=True, kw_only=True)

    @property
    def name(self) -> str:
        """``simulated``."""
        return "simulated"

    @property
    def capabilities(self) -> Capabilities:
        """The roles it was given; it reports usage and returns typed results."""
        return Capabilities(
            roles=self.role_set,
            edits_files=self._edits_files,
            reports_usage=True,
            structured_output=True,
        )

    def outcome(self, order: WorkOrder) -> SimulatedOutcome:
        """What ``run(order, ...)`` will do, without doing it (pure, deterministic)."""
        return draw_outcome(
            self._profile,
            self._faults,
            self._seed,
            self._agent_id,
            order,
            edits_files=self._edits_files,
        )

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        """Act out the drawn outcome on the clock.

        Sleeps one heartbeat interval at a time, reporting the usage of each
        stretch and, between stretches, a heartbeat; then returns the result,
        raises, or hangs (no more heartbeats; returns only by cancellation).

        Raises:
            BackendError: A ``transient`` outcome, or a role it cannot play
                (class ``policy``).
            SimulatedCrash: A ``crash`` outcome.
        """
        if order.role not in self.role_set:
            failure = Failure(
                failure_class="policy",
                kind="unsupported_role",
                detail=f"{self._agent_id} cannot play {order.role}",
            )
            raise BackendError(failure)
        clock = self._clock
        outcome = self.outcome(order)
        start = clock.now_us()
        total = Usage()
        pending_heartbeat: str | None = None
        for chunk in outcome.chunks():
            if pending_heartbeat is not None:
                await report.heartbeat(pending_heartbeat)
            await clock.sleep_until_us(start + chunk.end_us)
            await report.usage(chunk.usage)
            total = total + chunk.usage
            pending_heartbeat = chunk.progress
        match outcome.kind:
            case "success" | "failure":
                assert outcome.payload is not None
                return ResultEnvelope(
                    agent=order.agent,
                    role=order.role,
                    step=order.step.id,
                    attempt=order.attempt,
                    exit_status=outcome.exit_status,
                    exit_code=0 if outcome.exit_status == "ok" else 1,
                    payload=outcome.payload,
                    usage=total,
                    evidence=outcome.evidence,
                    gaps=outcome.gaps,
                    blockers=outcome.blockers,
                )
            case "crash":
                raise SimulatedCrash(self._agent_id, order.step.id, order.attempt)
            case "transient":
                assert outcome.failure is not None
                raise BackendError(outcome.failure)
            case "hang":
                await trio.sleep_forever()
            case _:
                assert_never(outcome.kind)
