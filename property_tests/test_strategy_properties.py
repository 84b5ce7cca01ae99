"""Properties of the built-in coordination strategies.

1. **Runtime invariants under random faults, for every strategy.** The pure
   policy world (``policy_world``: random plans, budgets, hangs, crashes,
   people who pause, meddle and decide) and whole simulated runs
   (``simulate`` with random plans, profiles and faults), with every step's
   strategy drawn from the built-ins (a run mixes them), keep every
   invariant of ``playbill.testing.JournalChecker``, end (or wait on a person),
   and pass ``replay --check``.

   One invariant is adapted, precisely, not weakened: *a step has at most
   one live attempt* becomes *a step's live attempts are its latest one or,
   when that one is part of a competition, attempts of that very
   competition, each by a different agent, no more than the competition
   started with* (``CompetitionChecker``). Added for competitions: once an
   arbitration named a winner, no other attempt of its competition is live
   at the end of that reaction (losers are cancelled as soon as the winner
   is certain), and an attempt of a competition completes only after an
   ``arbitration_decided`` named it. Every other invariant (one piece of
   work per agent, one heartbeat deadline per held piece, scopes, budgets,
   reassignment of orphaned work, no work to busy agents) is checked as is.

2. **Arbitration is independent of arrival order.** ``arbitrate`` gives the
   same decision for any order of its entrants; for the policies that do not
   rank by arrival, the same results arriving in another order pick the same
   winner (unless they tie on everything but arrival); and a winner declared
   *certain* stays the winner whatever the competitors still at work do.
"""

from __future__ import annotations

import random

import attrs
import pytest
import trio
from hypothesis import assume, event, given, note, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from playbill.runtime import MemoryJournal, check_replay
from playbill.runtime.logic._arbitration import Entrant, arbitrate, rank_key
from playbill.runtime.logic._humans import live_approvals
from playbill.runtime.logic._work import in_play
from playbill.runtime.model._entry import Entry
from playbill.runtime.model._messages import ArbitrationDecided, StepAssigned, StepCompleted
from playbill.runtime.model._state import RunState
from playbill.runtime.model._values import ArbitrationPolicy, Plan, PolicySettings
from playbill.simulation import simulate
from playbill.testing import InvariantError, JournalChecker, check_effects_once
from policy_world import Config, World
from test_policy_properties import MAX_BATCH, configs
from test_simulation_properties import (
    SETTLE_BOUND_S,
    Scenario,
    examples,
    scenarios,
    waits_on_people,
)

BUILTINS = ("pipeline", "parallel", "competitive", "cooperative", "review_loop")
POLICIES: tuple[ArbitrationPolicy, ...] = (
    "first_passing",
    "best_score",
    "lowest_cost",
    "reviewer_vote",
)


@attrs.define
class CompetitionChecker(JournalChecker):
    """``JournalChecker`` with the single-live-attempt invariant adapted to competitions.

    See the module for the precise statement; everything else is the parent's.
    """

    _sizes: dict[tuple[str, int], int] = attrs.Factory(dict)
    _decided: dict[str, int] = attrs.Factory(dict)

    def feed(self, entry: Entry) -> None:
        msg = entry.msg
        if isinstance(msg, StepAssigned) and msg.competition is not None:
            key = (msg.step, msg.competition)
            self._sizes[key] = self._sizes.get(key, 0) + 1
        if isinstance(msg, ArbitrationDecided) and msg.winner_attempt is not None:
            self._decided[msg.step] = msg.winner_attempt
            self.counts["arbitrations"] += 1
        if isinstance(msg, StepCompleted):
            attempt = self.state.steps[msg.step].attempt(msg.attempt)
            competing = attempt is not None and attempt.competition is not None
            if competing and self._decided.get(msg.step) != msg.attempt:
                raise InvariantError(
                    f"seq {entry.seq}: {msg.step}#{msg.attempt} of a competition completed "
                    f"without winning its arbitration ({self._decided.get(msg.step)})"
                )
        super().feed(entry)

    def _live_attempts(self, state: RunState) -> None:
        seq = state.last_seq
        for step in state.steps.values():
            live = [a for a in step.attempts if a.status in ("assigned", "running", "proposed")]
            if len(live) <= 1:
                continue
            numbers = [a.number for a in live]
            competition = step.attempts[-1].competition
            if competition is None or not all(in_play(step, a) for a in live):
                raise InvariantError(f"seq {seq}: step {step.spec.id} has live attempts {numbers}")
            agents = [a.agent for a in live]
            if len(set(agents)) != len(agents):
                raise InvariantError(f"seq {seq}: {step.spec.id}'s competitors {agents} repeat")
            started = self._sizes.get((step.spec.id, competition), 0)
            if len(live) > started:
                raise InvariantError(
                    f"seq {seq}: {step.spec.id} has {len(live)} live competitors of {started}"
                )
            winner = self._decided.get(step.spec.id)
            if winner is not None and winner in numbers:
                raise InvariantError(
                    f"seq {seq}: {step.spec.id}#{winner} won and {numbers} are still live"
                )


def with_strategies(plan: Plan, draw: st.DrawFn, names: tuple[str, ...] = BUILTINS) -> Plan:
    """The plan with each step's strategy (and competitors) drawn from ``names``."""
    steps = tuple(
        replace(
            s,
            strategy=draw(st.sampled_from(names)),
            competitors=draw(st.none() | st.integers(1, 4)),
        )
        for s in plan.steps
    )
    return replace(plan, steps=steps)


def with_arbitration(policy: PolicySettings, draw: st.DrawFn) -> PolicySettings:
    """The policy with an arbitration policy and a number of competitors drawn."""
    return replace(
        policy,
        arbitration=draw(st.sampled_from(POLICIES)),
        competitors=draw(st.integers(1, 3)),
    )


@st.composite
def strategy_configs(draw: st.DrawFn, names: tuple[str, ...] = BUILTINS) -> Config:
    config = draw(configs())
    return attrs.evolve(
        config,
        plan=with_strategies(config.plan, draw, names),
        policy=with_arbitration(config.policy, draw),
    )


# --------------------------------------------------- 1. invariants, pure world


@pytest.mark.slow
@given(strategy_configs(), st.randoms(use_true_random=False))
@settings(max_examples=settings.default.max_examples * 3)
def test_every_strategy_keeps_the_policy_promises(config: Config, rnd: random.Random) -> None:
    play_and_check(config, rnd)


@pytest.mark.slow
@given(strategy_configs(("competitive",)), st.randoms(use_true_random=False))
@settings(max_examples=settings.default.max_examples * 2)
def test_competitions_keep_the_policy_promises(config: Config, rnd: random.Random) -> None:
    play_and_check(config, rnd)


def play_and_check(config: Config, rnd: random.Random) -> None:
    """Play a world to its end and check every promise (``test_policy_properties``'s, adapted)."""
    world = World(config, rnd)
    world.run()
    final = world.state
    event(f"run {final.status}" + (" (waiting)" if live_approvals(final) else ""))
    for step in config.plan.steps:
        event(f"strategy {step.strategy}")
    try:
        assert not world.violations, world.violations
        assert final.anomaly_count == 0, final.anomalies
        assert len(world.entries) < world.max_entries, "the run did not end"
        assert final.is_terminal or live_approvals(final)
        assert all(last - root < MAX_BATCH for root, last in world.batches)
        checker = CompetitionChecker().feed_all(world.entries)
        if checker.counts["arbitrations"]:
            event("arbitrated")
        divergence = check_replay(world.entries)
        assert divergence is None, divergence.describe()
    except AssertionError:
        note(
            "\n".join(
                f"{e.seq} {e.sender}>{e.recipient} ({e.cause}) {e.msg!r}" for e in world.entries
            )
        )
        raise


# ------------------------------------------------ 1. invariants, simulated runs


@st.composite
def strategy_scenarios(draw: st.DrawFn) -> tuple[Scenario, str, PolicySettings]:
    scenario = draw(scenarios(journal_faults=False))
    strategy = draw(st.sampled_from(BUILTINS))
    if scenario.plan is not None and draw(st.booleans()):
        scenario = attrs.evolve(scenario, plan=with_strategies(scenario.plan, draw))
    return scenario, strategy, with_arbitration(scenario.policy, draw)


@pytest.mark.slow
@given(strategy_scenarios())
@examples(0.5, least=5)
def test_every_strategy_keeps_the_runtime_invariants_in_simulated_runs(
    drawn: tuple[Scenario, str, PolicySettings],
) -> None:
    scenario, strategy, policy = drawn
    journal = MemoryJournal()
    result = simulate(
        scenario.seed,
        plan=scenario.plan,
        budget=scenario.budget,
        policy=policy,
        strategy=strategy,
        profiles=scenario.profiles,
        faults=scenario.faults,
        journal=journal,
        max_virtual_s=SETTLE_BOUND_S,
    )
    entries = trio.run(journal.read, result.run_id)
    event(f"{strategy}: run {result.outcome}")
    try:
        assert result.outcome in ("completed", "failed", "cancelled", "waiting"), result.outcome
        if result.outcome == "waiting":
            assert waits_on_people(result.state)
        if CompetitionChecker().feed_all(entries).counts["arbitrations"]:
            event("arbitrated")
        check_effects_once(entries)
        divergence = check_replay(entries)
        assert divergence is None, divergence.describe()
    except AssertionError:
        note(f"{strategy} {result.outcome}: {result.state.reason}")
        note(
            "\n".join(
                f"{e.seq} {e.sender}>{e.recipient} ({e.cause}) {e.msg!r}"[:240]
                for e in entries[:400]
            )
        )
        raise


# ------------------------------------------------ 2. arbitration and arrival order


@st.composite
def entrants(draw: st.DrawFn, *, pending: bool = True) -> list[Entrant]:
    n = draw(st.integers(1, 6))
    arrivals = draw(st.permutations(range(10, 10 + n)))
    out = []
    for i in range(n):
        standing = draw(
            st.sampled_from(
                ["passed", "passed", "failed", "pending"] if pending else ["passed", "failed"]
            )
        )
        arrived = standing != "pending" or draw(st.booleans())
        out.append(
            Entrant(
                agent=f"a{draw(st.integers(0, 9))}",
                attempt=i + 1,
                standing=standing,
                score=draw(st.none() | st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])),
                cost_usd=draw(st.sampled_from([0.0, 0.01, 0.02, 0.05])),
                tokens=draw(st.integers(0, 1000)),
                arrival_seq=arrivals[i] if arrived else None,
                vote=draw(st.none() | st.sampled_from([0.1, 0.5, 1.0])),
            )
        )
    return out


@given(st.sampled_from(POLICIES), entrants(), st.randoms(use_true_random=False))
def test_arbitration_does_not_depend_on_the_order_entrants_are_given_in(
    policy: ArbitrationPolicy, drawn: list[Entrant], rnd: random.Random
) -> None:
    shuffled = list(drawn)
    rnd.shuffle(shuffled)
    assert arbitrate(policy, shuffled) == arbitrate(policy, drawn)


@given(
    st.sampled_from(("best_score", "lowest_cost", "reviewer_vote")),
    entrants(pending=False),
    st.randoms(use_true_random=False),
)
def test_the_same_results_arriving_in_another_order_pick_the_same_winner(
    policy: ArbitrationPolicy, drawn: list[Entrant], rnd: random.Random
) -> None:
    passing = [e for e in drawn if e.standing == "passed"]
    assume(passing)
    best = min(passing, key=lambda e: rank_key(policy, e))
    # results tied with the winner on everything but arrival may go either way
    assume(
        all(
            rank_key(policy, e)[0][:-1] != rank_key(policy, best)[0][:-1]
            for e in passing
            if e is not best
        )
    )
    seqs = [e.arrival_seq for e in drawn]
    rnd.shuffle(seqs)
    reordered = [attrs.evolve(e, arrival_seq=s) for e, s in zip(drawn, seqs, strict=True)]
    first, second = arbitrate(policy, drawn), arbitrate(policy, reordered)
    assert first.winner is not None and second.winner is not None
    assert first.winner.attempt == second.winner.attempt == best.attempt
    assert first.margin == second.margin
    assert {(r.attempt, r.passed) for r in first.table} == {
        (r.attempt, r.passed) for r in second.table
    }


@given(st.sampled_from(POLICIES), entrants(), st.data())
def test_a_certain_winner_stays_the_winner_whatever_the_others_do(
    policy: ArbitrationPolicy, drawn: list[Entrant], data: st.DataObject
) -> None:
    now = arbitrate(policy, drawn)
    assume(now.winner is not None and now.certain)
    assert now.winner is not None
    later_seq = 100
    finished = []
    for e in drawn:
        if e.standing != "pending":
            finished.append(e)
            continue
        later_seq += 1
        finished.append(
            attrs.evolve(
                e,
                standing=data.draw(st.sampled_from(["passed", "failed"])),
                score=data.draw(st.sampled_from([0.0, 0.5, 1.0])),
                vote=data.draw(st.none() | st.sampled_from([0.5, 1.0])),
                cost_usd=e.cost_usd + data.draw(st.sampled_from([0.0, 0.01, 1.0])),
                arrival_seq=e.arrival_seq if e.arrival_seq is not None else later_seq,
            )
        )
    final = arbitrate(policy, finished)
    assert final.winner is not None and final.winner.attempt == now.winner.attempt
