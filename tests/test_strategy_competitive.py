"""The competitive strategy: N attempts at one step, arbitration, losers cancelled."""

from __future__ import annotations

from typing import Any

import pytest

from playbill.runtime.logic._arbitration import Entrant, arbitrate, vote_of
from playbill.runtime.logic._policy import STRATEGIES
from playbill.runtime.model._messages import (
    ArbitrationDecided,
    AttemptCancelled,
    StepAssigned,
    StepCompleted,
    StepFailed,
    StepInterrupted,
    StepRetried,
)
from playbill.runtime.model._values import (
    AgentSpec,
    ArbitrationPolicy,
    Check,
    Finding,
    PolicySettings,
    StepSpec,
    TestsPass,
    VerificationPayload,
)
from policy_helpers import EX, EX2, REV, VER, Driver, of, one, plan

EX3 = AgentSpec(id="ex3", roles=("executor",))
STEP = StepSpec(id="s", goal="g", scope=("src/**",), validators=(TestsPass(),))


def driver(arbitration: ArbitrationPolicy = "best_score", **kw: Any) -> Driver:
    agents = kw.pop("agents", (EX, EX2, REV, VER))
    step = kw.pop("step", STEP)
    policy = PolicySettings(arbitration=arbitration, backoff_base_s=1.0, **kw)
    return Driver(plan(step, agents=agents), policy=policy, strategy="competitive")


def passes(d: Driver, attempt: int, score: float | None = None, agent: str = "ver") -> list:
    """The attempt's review passes and its verification passes with ``score``."""
    d.review("s", "rev", "pass", attempt=attempt)
    payload = VerificationPayload(checks=(Check(name="tests_pass", passed=True, score=score),))
    return d.propose("s", agent, attempt, payload, role="verifier")


def fails(d: Driver, attempt: int) -> list:
    d.review("s", "rev", "pass", attempt=attempt)
    payload = VerificationPayload(checks=(Check(name="tests_pass", passed=False),))
    return d.propose("s", "ver", attempt, payload, role="verifier")


def test_it_is_a_built_in_strategy() -> None:
    assert "competitive" in STRATEGIES


def test_n_agents_start_the_same_step_at_once_in_one_competition() -> None:
    d = driver(competitors=3, agents=(EX, EX2, EX3, REV, VER))
    assigned = of(StepAssigned, d.first)
    assert [(a.agent, a.attempt, a.competition) for a in assigned] == [
        ("ex", 1, 1),
        ("ex2", 2, 1),
        ("ex3", 3, 1),
    ]
    # each competitor has its own heartbeat deadline
    assert {t.attempt for t in d.state.timers.values() if t.purpose == "heartbeat"} == {1, 2, 3}


def test_the_step_sets_n_and_n_is_at_most_the_free_agents_and_attempts_left() -> None:
    step = StepSpec(id="s", goal="g", validators=(TestsPass(),), competitors=5, max_attempts=4)
    d = driver(step=step, agents=(EX, EX2, EX3, REV, VER))
    assert len(of(StepAssigned, d.first)) == 3  # three executors free
    step = StepSpec(id="s", goal="g", validators=(TestsPass(),), competitors=5, max_attempts=2)
    d = driver(step=step, agents=(EX, EX2, EX3, REV, VER))
    assert len(of(StepAssigned, d.first)) == 2  # two attempts left


def test_best_score_waits_for_everyone_then_the_best_wins_and_the_table_is_journaled() -> None:
    d = driver()
    d.propose("s", "ex2", 2)
    assert not of(ArbitrationDecided, passes(d, 2, 0.6))  # attempt 1 could still beat it
    d.propose("s", "ex", 1)
    caused = passes(d, 1, 0.9)
    decided = one(ArbitrationDecided, caused)
    assert decided.policy == "best_score"
    assert decided.winner_attempt == 1
    assert decided.margin == pytest.approx(0.3)
    assert [(r.attempt, r.passed, r.score) for r in decided.scores] == [
        (1, True, 0.9),
        (2, True, 0.6),
    ]
    assert decided.scores[1].arrival_seq < decided.scores[0].arrival_seq  # attempt 2 came first
    interrupted = one(StepInterrupted, caused)
    assert (interrupted.attempt, interrupted.reason) == (2, "lost arbitration to attempt 1")
    assert one(StepCompleted, caused).attempt == 1
    assert d.state.steps["s"].status == "completed"
    assert d.state.steps["s"].completed_attempt == 1
    assert d.state.arbitrations["s"].winner_attempt == 1


def test_first_passing_decides_at_once_and_cancels_the_competitor_still_at_work() -> None:
    d = driver("first_passing")
    d.propose("s", "ex2", 2)
    caused = passes(d, 2)
    assert one(ArbitrationDecided, caused).winner_attempt == 2
    cancelled = one(AttemptCancelled, caused)
    assert (cancelled.agent, cancelled.attempt) == ("ex", 1)
    assert one(StepInterrupted, caused).attempt == 1
    assert one(StepCompleted, caused).attempt == 2
    assert d.state.agents["ex"].status == "idle"
    assert not d.state.timers  # the loser's deadline went with it


def test_lowest_cost_decides_before_the_costlier_competitor_finishes() -> None:
    d = driver("lowest_cost")
    d.usage("ex", "s", 1, cost_usd=0.50)
    d.usage("ex2", "s", 2, cost_usd=0.10)
    d.propose("s", "ex2", 2)
    caused = passes(d, 2)
    decided = one(ArbitrationDecided, caused)
    assert decided.winner_attempt == 2
    assert [r.attempt for r in decided.scores] == [2, 1]
    assert [r.passed for r in decided.scores] == [True, False]
    assert one(AttemptCancelled, caused).agent == "ex"


def test_lowest_cost_waits_while_the_other_competitor_could_still_be_cheaper() -> None:
    d = driver("lowest_cost")
    d.usage("ex", "s", 1, cost_usd=0.05)
    d.usage("ex2", "s", 2, cost_usd=0.10)
    d.propose("s", "ex2", 2)
    assert not of(ArbitrationDecided, passes(d, 2))


def test_reviewer_vote_prefers_the_review_with_fewer_and_lighter_findings() -> None:
    d = driver("reviewer_vote")
    for attempt, agent, findings in (
        (1, "ex", (Finding(severity="major", message="naming"),)),
        (2, "ex2", (Finding(severity="info", message="typo"),)),
    ):
        d.propose("s", agent, attempt)
        d.review("s", "rev", "pass", attempt=attempt, findings=findings)
        payload = VerificationPayload(checks=(Check(name="tests_pass", passed=True),))
        caused = d.propose("s", "ver", attempt, payload, role="verifier")
    decided = one(ArbitrationDecided, caused)
    assert decided.winner_attempt == 2
    assert decided.scores[0].vote == pytest.approx(
        vote_of((Finding(severity="info", message="x"),))
    )
    assert decided.margin > 0


def test_ties_are_broken_by_cost_then_arrival_and_named() -> None:
    d = driver()
    d.propose("s", "ex2", 2)
    passes(d, 2, 0.8)
    d.propose("s", "ex", 1)
    decided = one(ArbitrationDecided, passes(d, 1, 0.8))
    assert decided.winner_attempt == 2  # same score, same cost: the first to arrive
    assert decided.tie_break == "arrival"
    assert decided.margin == 0.0


@pytest.mark.parametrize("policy", ["best_score", "lowest_cost", "reviewer_vote"])
def test_the_same_results_in_either_order_pick_the_same_winner(policy: ArbitrationPolicy) -> None:
    winners = []
    for order in ((1, 2), (2, 1)):
        d = driver(policy)
        d.usage("ex", "s", 1, cost_usd=0.02)
        d.usage("ex2", "s", 2, cost_usd=0.03)
        caused: list = []
        for attempt in order:
            agent = "ex" if attempt == 1 else "ex2"
            d.propose("s", agent, attempt)
            caused += passes(d, attempt, {1: 0.9, 2: 0.7}[attempt])
        # (lowest_cost may decide before the costlier result is in: only the winner is compared)
        winners.append(one(ArbitrationDecided, caused).winner_attempt)
    assert winners == [1, 1]  # higher score, lower cost, same vote then higher score


def test_a_failed_competitor_leaves_the_competition_and_the_other_can_win() -> None:
    d = driver()
    d.propose("s", "ex", 1)
    fails(d, 1)
    assert d.state.steps["s"].attempts[0].status == "failed"
    assert d.state.steps["s"].status == "verify_pending"  # attempt 2 still competes
    d.propose("s", "ex2", 2)
    caused = passes(d, 2, 0.5)
    decided = one(ArbitrationDecided, caused)
    assert decided.winner_attempt == 2
    assert [(r.attempt, r.passed) for r in decided.scores] == [(2, True), (1, False)]
    assert one(StepCompleted, caused).attempt == 2


def test_when_every_competitor_fails_the_step_is_retried_as_a_new_competition() -> None:
    d = driver(max_attempts=4)
    d.propose("s", "ex", 1)
    fails(d, 1)
    d.propose("s", "ex2", 2)
    retried = one(StepRetried, fails(d, 2))
    assert retried.next_attempt == 3
    d.later(retried.backoff_s)
    assigned = of(StepAssigned, d.fire_due())
    assert [(a.attempt, a.competition) for a in assigned] == [(3, 3), (4, 3)]
    assert all(a.feedback is not None for a in assigned)


def test_a_competition_has_no_more_competitors_than_attempts_left() -> None:
    d = driver(max_attempts=3)
    d.propose("s", "ex", 1)
    fails(d, 1)
    d.propose("s", "ex2", 2)
    retried = one(StepRetried, fails(d, 2))
    d.later(retried.backoff_s)
    assert [a.attempt for a in of(StepAssigned, d.fire_due())] == [3]


def test_a_crashed_competitor_leaves_the_others_at_work() -> None:
    d = driver()
    d.later(400)  # past the heartbeat deadline: neither sent one
    d.heartbeat("ex2")
    caused = d.fire_due()
    # ex2's fresh heartbeat keeps it; ex is declared unresponsive, its attempt stalled
    assert [(m.attempt, m.failure.kind) for m in of(StepFailed, caused)] == [(1, "stalled")]
    assert not of(StepInterrupted, caused)
    assert d.state.steps["s"].attempts[1].status == "assigned"
    assert d.state.steps["s"].status == "in_progress"
    d.propose("s", "ex2", 2)
    assert one(ArbitrationDecided, passes(d, 2, 0.4)).winner_attempt == 2


def test_arbitrate_ranks_only_passing_entrants_and_says_when_it_is_certain() -> None:
    done = Entrant(agent="a", attempt=1, standing="passed", score=0.9, arrival_seq=10)
    running = Entrant(agent="b", attempt=2, standing="pending", cost_usd=0.01)
    outcome = arbitrate("best_score", [done, running])
    assert outcome.winner is not None and outcome.winner.attempt == 1
    assert not outcome.certain  # b may still score 1.0
    perfect = Entrant(agent="a", attempt=1, standing="passed", score=1.0, arrival_seq=10)
    assert arbitrate("best_score", [perfect, running]).certain
    nobody = arbitrate("first_passing", [Entrant(agent="a", attempt=1, standing="failed")])
    assert nobody.winner is None and not nobody.certain
    assert [r.passed for r in nobody.table] == [False]
