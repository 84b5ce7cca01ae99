"""What a simulated agent does with a work order: every draw, and nothing else.

``draw_outcome`` is a pure function of the profile, the fault plan, the seed,
the agent and the work order. Its generator is seeded by a stable hash of
``(seed, agent, run id, step id, attempt, kind)``, so what an agent does never
depends on what other agents did before, on the order actors run in, or on
the process and its hash seed.

The first draws are always the same nine uniforms, in this order, whatever
the outcome: crash, hang, transient, slow, success, the fraction of the work
done when a fault strikes, latency, tokens in, tokens out. So two profiles
that differ in one probability see the same random numbers (common random
numbers): raising a crash rate turns some attempts into crashes and changes
nothing else about the others. The payload's details are drawn after them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from statistics import NormalDist
from typing import Literal, final

import attrs

from playbill.backends import WorkOrder
from playbill.runtime import (
    Blocker,
    Evidence,
    ExitStatus,
    Failure,
    FaultPlan,
    Gap,
    RolePayload,
    Usage,
)

from ._profiles import AgentProfile, Pricing, Tokens
from ._sim_payloads import implementation, plan, review, stable_rng, verification

OutcomeKind = Literal["success", "failure", "crash", "hang", "transient"]
"""How a simulated piece of work ends.

``success`` and ``failure`` return a result. A failed planner or executor
ends with exit status ``error``; a failed reviewer gives a negative verdict
and a failed verifier a failed check, both with exit status ``ok`` (they did
their job). ``crash`` raises ``SimulatedCrash``; ``hang`` goes silent until
cancelled; ``transient`` raises a ``BackendError`` of class ``transient``.
"""

MAX_LATENCY_S = 24 * 3600.0
"""The longest a simulated piece of work may take (a one-day cap on the tail)."""

MAX_TOKENS = 10**9
"""The most tokens a simulated piece of work may use, in or out."""

_NORMAL = NormalDist()


@final
@attrs.frozen
class Chunk:
    """One stretch of simulated work between two heartbeats.

    Attributes:
        end_us: When it ends, in microseconds from the start of the work.
        usage: What was consumed during it.
        progress: The heartbeat's progress text after it.
    """

    end_us: int
    usage: Usage
    progress: str


@final
@attrs.frozen
class SimulatedOutcome:
    """Everything a simulated piece of work will do, drawn up front.

    Attributes:
        kind: How it ends.
        work_us: How long it works, in virtual microseconds, until it ends or
            the fault strikes.
        interval_us: Microseconds between heartbeats.
        tokens_in: Prompt tokens used over ``work_us``.
        tokens_out: Completion tokens used over ``work_us``.
        pricing: What tokens cost.
        slowed: Whether the ``slow`` fault struck.
        exit_status: The result's exit status (``success`` and ``failure``).
        payload: The result's payload (``success`` and ``failure``).
        evidence: The result's evidence.
        gaps: The result's gaps.
        blockers: The result's blockers.
        failure: The failure raised by a ``transient`` outcome.
    """

    kind: OutcomeKind
    work_us: int
    interval_us: int
    tokens_in: int
    tokens_out: int
    pricing: Pricing
    slowed: bool = False
    exit_status: ExitStatus = "ok"
    payload: RolePayload | None = None
    evidence: tuple[Evidence, ...] = ()
    gaps: tuple[Gap, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    failure: Failure | None = None

    def chunks(self) -> Iterator[Chunk]:
        """The stretches of work, one heartbeat interval each (the last may be shorter).

        Tokens are spread evenly over the work; each chunk's cost is the
        difference of the cumulative cost, so the chunks add up to the whole.
        """
        done_us = done_in = done_out = 0
        done_cost = 0.0
        while done_us < self.work_us:
            end = min(done_us + self.interval_us, self.work_us)
            tokens_in = self.tokens_in * end // self.work_us
            tokens_out = self.tokens_out * end // self.work_us
            cost = _cost(self.pricing, tokens_in, tokens_out)
            usage = Usage(
                tokens_in=tokens_in - done_in,
                tokens_out=tokens_out - done_out,
                cost_usd=cost - done_cost,
                wall_s=(end - done_us) / 1e6,
            )
            yield Chunk(end_us=end, usage=usage, progress=f"{100 * end // self.work_us}%")
            done_us, done_in, done_out, done_cost = end, tokens_in, tokens_out, cost

    def usage(self) -> Usage:
        """What the work consumes in all: the chunks' usage added up, in order."""
        total = Usage()
        for chunk in self.chunks():
            total = total + chunk.usage
        return total


def _cost(pricing: Pricing, tokens_in: int, tokens_out: int) -> float:
    return tokens_in / 1000 * pricing.per_1k_in + tokens_out / 1000 * pricing.per_1k_out


def either(a: float, b: float) -> float:
    """The probability that either of two independent events happens."""
    return 1.0 - (1.0 - a) * (1.0 - b)


def _lognormal(median: float, sigma: float, u: float) -> float:
    z = _NORMAL.inv_cdf(min(max(u, 1e-12), 1.0 - 1e-12))
    return median * math.exp(sigma * z)


def _tokens(dist: Tokens, u: float) -> int:
    return min(MAX_TOKENS, round(_lognormal(dist.median, dist.sigma, u)))


def draw_outcome(
    profile: AgentProfile,
    faults: FaultPlan,
    seed: int,
    agent: str,
    order: WorkOrder,
    *,
    edits_files: bool = True,
) -> SimulatedOutcome:
    """Draw what ``agent`` does with ``order`` (see the module documentation).

    Args:
        profile: How the agent behaves.
        faults: Faults injected on top of the profile's own odds.
        seed: The run's simulation seed.
        agent: The agent's id (part of the generator's seed).
        order: The work.
        edits_files: Whether the agent may change files.
    """
    rng = stable_rng(seed, agent, order.run_id, order.step.id, order.attempt, order.kind)
    u = [rng.random() for _ in range(9)]
    u_crash, u_hang, u_transient, u_slow, u_success, u_strike, u_latency, u_in, u_out = u

    slowed = u_slow < faults.slow
    latency_s = (
        _lognormal(profile.latency.median_s, profile.latency.sigma, u_latency)
        * profile.latency.role_factor.of(order.role)
        * profile.slow_factor
        * (faults.slow_factor if slowed else 1.0)
    )
    latency_us = max(1, round(min(latency_s, MAX_LATENCY_S) * 1e6))
    interval_us = max(1, round(profile.heartbeat_interval_s * 1e6))
    tokens_in, tokens_out = _tokens(profile.tokens_in, u_in), _tokens(profile.tokens_out, u_out)

    fault: OutcomeKind | None = None
    if u_crash < either(profile.faults.crash, faults.crash):
        fault = "crash"
    elif u_hang < either(profile.faults.hang, faults.hang):
        fault = "hang"
    elif u_transient < either(profile.faults.transient, faults.transient):
        fault = "transient"
    if fault is not None:
        strike_us = max(1, round(latency_us * u_strike))
        failure = None
        if fault == "transient":
            failure = Failure(
                failure_class="transient",
                kind="rate_limited",
                detail=f"simulated transient failure of {agent} on {order.step.id}",
            )
        return SimulatedOutcome(
            kind=fault,
            work_us=strike_us,
            tokens_in=tokens_in * strike_us // latency_us,
            tokens_out=tokens_out * strike_us // latency_us,
            failure=failure,
            interval_us=interval_us,
            pricing=profile.cost,
            slowed=slowed,
        )

    odds = profile.success.of(order.role)
    if order.feedback is not None:
        odds = 1.0 - (1.0 - odds) * (1.0 - profile.feedback_gain)
    ok = u_success < odds
    payload: RolePayload
    evidence: tuple[Evidence, ...] = ()
    gaps: tuple[Gap, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    exit_status: ExitStatus = "ok"
    if order.kind == "review" or (order.kind == "work" and order.role == "reviewer"):
        payload, blockers = review(order, rng, ok, profile.review_blocked)
    elif order.kind == "verify" or (order.kind == "work" and order.role == "verifier"):
        payload = verification(order, rng, ok)
    elif order.role == "planner":
        payload, gaps = plan(order, ok, profile.planner_substeps)
        exit_status = "ok" if ok else "error"
    else:
        payload, evidence, gaps = implementation(order, rng, ok, edits_files)
        exit_status = "ok" if ok else "error"
    return SimulatedOutcome(
        kind="success" if ok else "failure",
        work_us=latency_us,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
        exit_status=exit_status,
        payload=payload,
        evidence=evidence,
        gaps=gaps,
        blockers=blockers,
        interval_us=interval_us,
        pricing=profile.cost,
        slowed=slowed,
    )
