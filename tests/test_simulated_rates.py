"""The simulated backend draws outcomes at the rates its profile and the faults say.

The seeds are fixed, so these statistical checks are not flaky; their bounds
are five standard deviations wide.
"""

from __future__ import annotations

import pytest

from playbill.runtime import Failure
from playbill.runtime.model._faults import FaultPlan
from playbill.simulation._profiles import AgentProfile, FaultOdds, Latency, RoleOdds
from sim_helpers import assert_rate, outcomes


def test_fault_and_success_rates_match_the_profile() -> None:
    profile = AgentProfile(
        success=RoleOdds(executor=0.7), faults=FaultOdds(crash=0.1, hang=0.05, transient=0.1)
    )
    drawn = outcomes(profile)
    count = {k: sum(o.kind == k for o in drawn) for k in ("crash", "hang", "transient")}
    n = len(drawn)
    assert_rate(count["crash"], n, 0.1)
    assert_rate(count["hang"], n, 0.9 * 0.05)
    assert_rate(count["transient"], n, 0.9 * 0.95 * 0.1)
    worked = [o for o in drawn if o.kind in ("success", "failure")]
    assert_rate(sum(o.kind == "success" for o in worked), len(worked), 0.7)


def test_latency_and_tokens_follow_their_medians() -> None:
    profile = AgentProfile(latency=Latency(median_s=40.0, sigma=0.8))
    drawn = outcomes(profile, 2001)
    latencies = sorted(o.work_us for o in drawn)
    assert latencies[1000] == pytest.approx(40e6, rel=0.1)
    tokens = sorted(o.tokens_in for o in drawn)
    assert tokens[1000] == pytest.approx(profile.tokens_in.median, rel=0.1)


def test_faults_overlay_the_profile() -> None:
    profile = AgentProfile(faults=FaultOdds(crash=0.1))
    drawn = outcomes(profile, faults=FaultPlan(crash=0.2))
    assert_rate(sum(o.kind == "crash" for o in drawn), len(drawn), 1 - 0.9 * 0.8)


def test_slow_faults_multiply_the_latency_of_the_same_draws() -> None:
    plain = outcomes(AgentProfile(), 2000)
    slow = outcomes(AgentProfile(), 2000, faults=FaultPlan(slow=0.25, slow_factor=4.0))
    assert_rate(sum(o.slowed for o in slow), 2000, 0.25)
    for a, b in zip(plain, slow, strict=True):
        assert b.work_us == pytest.approx(a.work_us * (4.0 if b.slowed else 1.0), abs=2)
        assert (a.kind, a.payload) == (b.kind, b.payload)


def test_raising_a_fault_rate_changes_nothing_else() -> None:
    low = outcomes(AgentProfile(), 1000, faults=FaultPlan(crash=0.05))
    high = outcomes(AgentProfile(), 1000, faults=FaultPlan(crash=0.3))
    for a, b in zip(low, high, strict=True):
        if a.kind == "crash":
            assert b.kind == "crash"
        elif b.kind != "crash":
            assert a == b


def test_feedback_makes_success_likelier() -> None:
    profile = AgentProfile(success=RoleOdds(executor=0.5), feedback_gain=0.4)
    feedback = Failure(failure_class="validation", kind="tests_failed")
    drawn = outcomes(profile, feedback=feedback)
    assert_rate(sum(o.kind == "success" for o in drawn), len(drawn), 1 - 0.5 * 0.6)
