"""Properties of the supervisor's policy, over random plans, budgets and agents.

Each example builds a world (``policy_world``) from a drawn plan, policy,
budgets and agent behaviours, plays it to its end, and then replays its
journal entry by entry to check:

* every run ends (completed, failed, cancelled) or waits on a person, within
  a bounded number of entries, and decide's reactions are one level deep and
  small;
* no step has two live attempts, no agent is busy with two pieces of work,
  and the world never hands an agent work while it is busy or crashed;
* steps whose scopes overlap are never in progress together;
* budgets hold (see ``check_budgets`` for the precise statement);
* every orphaned attempt (heartbeat missed, agent crashed) is followed by a
  new attempt at its step, or the step is done, or the run is over or waits
  on a person;
* a ``policy`` failure is retried only when a person decides so;
* ``decide`` is deterministic: replaying the journal gives, after every entry
  not sent by the supervisor, exactly the drafts that were journaled after it;
  and the journal folds with no anomaly.
"""

from __future__ import annotations

import collections
import itertools
import random

from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from playbill.runtime._budgets import USAGE_RESOURCES, limit_of, used_of
from playbill.runtime._entry import Entry
from playbill.runtime._humans import live_approvals
from playbill.runtime._messages import (
    AgentFailed,
    AgentRestarted,
    ControlRequested,
    HeartbeatMissed,
    HumanApprovalGiven,
    PolicyDecisionApplied,
    ReviewRequested,
    StepAssigned,
    StepInterrupted,
    StepRetried,
    TimerFired,
    VerificationRequested,
)
from playbill.runtime._policy import decide
from playbill.runtime._reducer import evolve
from playbill.runtime._scheduling import DONE, HOLDS_SCOPE
from playbill.runtime._scopes import scopes_overlap
from playbill.runtime._state import RunState, initial_state
from playbill.runtime._values import (
    ROLES,
    AgentSpec,
    Budget,
    Criterion,
    HumanApproval,
    Plan,
    PolicySettings,
    StepSpec,
    TestsPass,
    Usage,
)
from playbill.runtime._work import claimed_work, held
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
STARTS = (StepAssigned, ReviewRequested, VerificationRequested)
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
    entries = world.entries
    caused: dict[int, list[Entry]] = collections.defaultdict(list)
    for entry in entries:
        if entry.sender == "supervisor" and entry.cause is not None:
            caused[entry.cause].append(entry)
    batch_ends = {last: root for root, last in world.batches}
    state = initial_state()
    history: list[tuple[Entry, RunState]] = []
    for entry in entries:
        before = state.status
        state = evolve(state, entry)
        history.append((entry, state))
        if isinstance(entry.msg, STARTS):
            assert before == "running", f"work started while {before}: {entry}"
        if entry.sender != "supervisor":
            drafts = decide(state, entry)
            recorded = caused.get(entry.seq, [])
            assert [(d.msg, d.recipient) for d in drafts] == [
                (e.msg, e.recipient) for e in recorded
            ], f"decide is not deterministic at seq {entry.seq}"
        if entry.seq in batch_ends:
            check_batch_end(state)
    check_budgets(world.config, history, batch_ends)
    check_orphans(world, history)
    check_policy_failures(entries)


def check_batch_end(state: RunState) -> None:
    for step in state.steps.values():
        live = [a for a in step.attempts if a.status in ("assigned", "running", "proposed")]
        assert len(live) <= 1, f"step {step.spec.id} has live attempts {live}"
    work = claimed_work(state)
    holders = collections.Counter(w.agent for w in work if held(state, w))
    assert all(n <= 1 for n in holders.values()), f"agents holding two pieces of work: {holders}"
    pieces = collections.Counter((w.kind, w.step, w.attempt) for w in work)
    assert all(n <= 1 for n in pieces.values()), f"work claimed twice: {pieces}"
    holding = [s for s in state.steps.values() if s.status in HOLDS_SCOPE and s.spec.scope]
    for a, b in itertools.combinations(holding, 2):
        assert not scopes_overlap(a.spec.scope, b.spec.scope), (a.spec.id, b.spec.id)


def check_budgets(
    config: Config, history: list[tuple[Entry, RunState]], batch_ends: dict[int, int]
) -> None:
    """Budgets are never exceeded by more than the work in flight when they were crossed.

    Precisely, for the run's budget and for each agent's, and each usage
    resource r (tokens, cost, wall) with limit L: let c be the first entry
    after which the budget's usage of r is at least L. Then (1) no work it
    covers starts after c: no ``step_assigned``, ``review_requested`` or
    ``verification_requested`` at all for the run's budget, none addressed to
    that agent for an agent's; and (2) when the batch of c is committed, no
    agent is busy any more with work it covers (that work was cancelled). So whatever is
    used beyond L was used by work already in flight at c. Attempts and
    retries are counted when they start, and their limits are never exceeded
    at all.
    """
    budgets: dict[str | None, Budget] = {None: config.budget}
    budgets.update({a.id: a.budget for a in config.plan.agents})
    crossed: dict[tuple[str | None, str], int] = {}
    attempts: collections.Counter[str | None] = collections.Counter()
    retry_attempts: collections.Counter[str | None] = collections.Counter()
    retries = 0
    for entry, state in history:
        msg = entry.msg
        for owner, budget in budgets.items():
            found = state.agents.get(owner) if owner is not None else None
            usage = state.usage if owner is None else found.usage if found else Usage()
            for r in USAGE_RESOURCES:
                limit = limit_of(budget, r)
                if limit is not None and used_of(usage, r) >= limit:
                    crossed.setdefault((owner, r), entry.seq)
        if isinstance(msg, STARTS):
            agent = (
                msg.agent
                if isinstance(msg, StepAssigned)
                else msg.reviewer
                if isinstance(msg, ReviewRequested)
                else msg.verifier
            )
            for (owner, r), seq in crossed.items():
                assert owner not in (None, agent), (
                    f"{agent} started work after {owner or 'the run'}'s {r} budget ran out at {seq}"
                )
        if isinstance(msg, StepAssigned):
            attempts[None] += 1
            attempts[msg.agent] += 1
            if msg.attempt > 1:
                retry_attempts[msg.agent] += 1
        if isinstance(msg, StepRetried):
            retries += 1
        if entry.seq in batch_ends:
            for (owner, _), seq in crossed.items():
                if batch_ends[entry.seq] <= seq <= entry.seq:
                    left = [
                        w
                        for w in claimed_work(state)
                        if owner in (None, w.agent) and held(state, w)
                    ]
                    assert not left, f"work left in flight after a budget ran out: {left}"
    for owner, budget in budgets.items():
        if budget.attempts is not None:
            assert attempts[owner] <= budget.attempts
        if owner is not None and budget.retries is not None:
            assert retry_attempts[owner] <= budget.retries
    if config.budget.retries is not None:
        assert retries <= config.budget.retries


def check_orphans(world: World, history: list[tuple[Entry, RunState]]) -> None:
    """Every orphaned attempt is followed by another attempt, or its step or the run ends."""
    by_seq = {entry.seq: entry for entry, _ in history}
    orphaned = []
    for entry, _ in history:
        msg = entry.msg
        if isinstance(msg, StepInterrupted) and entry.sender == "supervisor" and entry.cause:
            root = by_seq[entry.cause].msg
            if isinstance(root, AgentFailed | AgentRestarted | TimerFired):
                orphaned.append((msg.step, msg.attempt))
        if isinstance(msg, HeartbeatMissed):
            assert entry.sender == "supervisor"
    final = world.state
    if final.is_terminal or live_approvals(final):
        return
    for step, attempt in orphaned:
        found = final.steps[step]
        assert len(found.attempts) > attempt or found.status in DONE, (step, attempt)


def check_policy_failures(entries: list[Entry]) -> None:
    by_seq = {entry.seq: entry for entry in entries}
    for entry in entries:
        msg = entry.msg
        if isinstance(msg, StepRetried) and msg.failure_class == "policy":
            assert entry.cause is not None
            root = by_seq[entry.cause]
            assert root.sender != "supervisor"
            assert isinstance(
                root.msg, HumanApprovalGiven | ControlRequested | PolicyDecisionApplied
            ), f"a policy failure was retried after {root.msg}"
