"""Properties of the supervisor's policy, over random plans, budgets and agents.

Each example builds a world (``policy_world``) from a drawn plan, policy,
budgets and agent behaviours, plays it to its end, and then checks:

* every run ends (completed, failed, cancelled) or waits on a person, within
  a bounded number of entries, and decide's reactions are one level deep and
  small;
* the world never hands an agent work while it is busy or crashed;
* the journal keeps every invariant of ``playbill.testing.JournalChecker``,
  checked at every seq and at every reaction's end: work given only to idle
  agents that play the role, while the run is running; no step with two live
  attempts, no agent with two pieces of work, each piece of held work with one
  heartbeat deadline; steps whose scopes overlap never in progress together;
  budgets (see ``BudgetWatch`` in ``runtime/logic/_invariant_budgets.py`` for
  the precise statement); every
  orphaned piece of work given out again, or its step or the run ended, or a
  person waited on; a ``policy`` failure retried only when a person decides
  so; no anomaly;
* ``decide`` is deterministic: ``check_replay`` finds the journal's commands
  after every entry, in order (the same check as the simulated runs'
  ``replay --check``).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from playbill.runtime.logic._humans import live_approvals
from playbill.runtime.logic._replay_check import check_replay
from playbill.runtime.model._values import (
    ROLES,
    AgentSpec,
    Budget,
    Criterion,
    HumanApproval,
    Plan,
    PolicySettings,
    StepSpec,
    TestsPass,
)
from playbill.testing import JournalChecker
from policy_world import OUTCOMES, Behaviour, Config, World

SCOPES = [
    (),
    (),
    ("src/**",),
    ("src/a.py",),
    ("docs/*.md",),
    ("src/*.py", "tests/**"),
    ("tests/a.py",),
]
VALIDATORS = [(), (), (TestsPass(),), (HumanApproval(),), (TestsPass(), HumanApproval())]
TEAM = [
    ("executor", "planner", "verifier"),
    ("executor", "reviewer"),
    ("reviewer", "verifier", "executor"),
    ("verifier", "executor", "planner"),
    ("executor",),
]
MAX_BATCH = 120


def budgets(limits: bool) -> st.SearchStrategy[Budget]:
    if not limits:
        return st.just(Budget())
    return st.builds(
        Budget,
        tokens=st.none() | st.integers(200, 20_000),
        cost_usd=st.none() | st.floats(0.05, 2.0),
        wall_s=st.none() | st.floats(2.0, 40.0),
        attempts=st.none() | st.integers(1, 10),
        retries=st.none() | st.integers(0, 5),
    )


@st.composite
def configs(draw: st.DrawFn) -> Config:
    steps = []
    for i in range(draw(st.integers(1, 5))):
        deps = draw(st.lists(st.sampled_from(range(i)), unique=True, max_size=2)) if i else []
        steps.append(
            StepSpec(
                id=f"s{i}",
                goal="g",
                role=(role := draw(st.sampled_from(["executor"] * 5 + list(ROLES)))),
                depends_on=tuple(f"s{d}" for d in sorted(deps)),
                scope=draw(
                    st.sampled_from(SCOPES if role == "executor" else [(), (), ("docs/*.md",)])
                ),
                validators=draw(st.sampled_from(VALIDATORS)),
                max_attempts=draw(st.none() | st.integers(1, 4)),
            )
        )
    calm = draw(st.integers(0, 2)) == 0  # a third of the runs: no trouble, no limits
    agents = []
    behaviours = {}
    for i in range(draw(st.sampled_from([1, 2, 3, 3, 4, 4, 5]))):
        agent = f"a{i}"
        if draw(st.integers(0, 4)):
            roles = TEAM[i % len(TEAM)]
        else:
            roles = tuple(
                draw(st.lists(st.sampled_from(ROLES), min_size=1, max_size=4, unique=True))
            )
        agents.append(
            AgentSpec(
                id=agent,
                roles=roles,
                edits_files=draw(st.integers(0, 6)) > 0,
                budget=draw(budgets(not calm and draw(st.integers(0, 4)) == 0)),
            )
        )
        trouble = draw(
            st.lists(
                st.sampled_from([0, 0, 0, 1, 2]),
                min_size=len(OUTCOMES) - 1,
                max_size=len(OUTCOMES) - 1,
            )
        )
        behaviours[agent] = Behaviour(
            weights=(8.0, *(0.0 if calm else float(t) for t in trouble)),
            passes=draw(st.sampled_from([0.5, 0.8, 1.0])),
            tokens=draw(st.integers(10, 2_000)),
        )
    criteria = []
    for i in range(draw(st.integers(0, 2))):
        validator = draw(st.sampled_from([None, TestsPass(), HumanApproval()]))
        criteria.append(Criterion(id=f"c{i}", description="d", validator=validator))
    policy = PolicySettings(
        heartbeat_timeout_s=draw(st.sampled_from([10.0, 30.0, 60.0])),
        backoff_base_s=draw(st.sampled_from([0.0, 1.0, 5.0])),
        backoff_multiplier=draw(st.sampled_from([1.0, 2.0, 3.0])),
        backoff_max_s=draw(st.sampled_from([5.0, 30.0])),
        max_attempts=draw(st.integers(1, 4)),
        max_review_rounds=draw(st.integers(1, 3)),
        on_exhausted=draw(st.sampled_from(["abort", "escalate", "skip"])),
    )
    return Config(
        plan=Plan(steps=tuple(steps), agents=tuple(agents), criteria=tuple(criteria)),
        policy=policy,
        budget=draw(budgets(not calm and draw(st.integers(0, 3)) == 0)),
        behaviours=behaviours,
        human_answers=draw(st.sampled_from([0.0, 0.7, 1.0])),
        human_decides=draw(st.sampled_from([0.0, 0.3])),
        pauses=draw(st.integers(0, 4)) == 0,
        cancels=draw(st.integers(0, 9)) == 0,
        meddles=draw(st.integers(0, 4)) == 0,
    )


@pytest.mark.slow
@given(configs(), st.randoms(use_true_random=False))
@settings(max_examples=settings.default.max_examples * 4)  # cheap: a few ms each
def test_the_policy_keeps_its_promises(config: Config, rnd: random.Random) -> None:
    world = World(config, rnd)
    world.run()
    event(f"run {world.state.status}" + (" (waiting)" if live_approvals(world.state) else ""))
    event(f"entries < {10 ** len(str(len(world.entries)))}")
    if world.state.reason:
        event(f"reason: {world.state.reason[:160]}")
    assert not world.violations, world.violations
    final = world.state
    assert final.anomaly_count == 0, final.anomalies
    assert len(world.entries) < world.max_entries, "the run did not end"
    assert final.is_terminal or live_approvals(final), _story(world)
    assert all(last - root < MAX_BATCH for root, last in world.batches)
    try:
        replay_and_check(world)
    except AssertionError:
        note(
            "\n".join(
                f"{e.seq} {e.sender}>{e.recipient} ({e.cause}) {e.msg!r}" for e in world.entries
            )
        )
        raise


def _story(world: World) -> str:
    state = world.state
    steps = {s: (v.status, len(v.attempts)) for s, v in state.steps.items()}
    agents = {a: v.status for a, v in state.agents.items()}
    return f"{state.status} {steps} {agents} timers={list(state.timers)}"


def replay_and_check(world: World) -> None:
    """The journal keeps every invariant (``JournalChecker``), and ``decide`` is deterministic."""
    JournalChecker().feed_all(world.entries)
    divergence = check_replay(world.entries)
    assert divergence is None, divergence.describe()
