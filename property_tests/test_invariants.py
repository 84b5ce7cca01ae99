"""The journal checkers catch what they claim to: each check, against a journal broken on purpose.

Each test takes the journal of a real simulated run, which keeps every
invariant, breaks it in one place, and expects ``JournalChecker`` (or
``check_effects_once``) to name what broke.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest
import trio

from playbill.runtime import (
    AgentSpec,
    Budget,
    Entry,
    FaultPlan,
    Heartbeat,
    HeartbeatMissed,
    MemoryJournal,
    NoteWritten,
    Plan,
    PlanAttached,
    ResultProposed,
    RunCreated,
    StepAssigned,
    StepRetried,
    StepSpec,
    TestsPass,
    TimerSet,
)
from playbill.simulation import ProfileSet, default_plan, simulate
from playbill.testing import InvariantError, JournalChecker, check_effects_once

PERFECT = ProfileSet(default="perfect")


def journal(seed: int = 1, **kwargs: object) -> list[Entry]:
    the_journal = MemoryJournal()
    result = simulate(seed, journal=the_journal, **kwargs)  # type: ignore[arg-type]
    return trio.run(the_journal.read, result.run_id)


@pytest.fixture(scope="module")
def perfect_run() -> list[Entry]:
    return journal(profiles=PERFECT)


def replaced(entries: list[Entry], seq: int, msg: object, **envelope: object) -> list[Entry]:
    """The journal with entry ``seq``'s message (and envelope fields) replaced."""
    out = list(entries)
    out[seq - 1] = msgspec.structs.replace(out[seq - 1], msg=msg, **envelope)
    return out


def first(entries: list[Entry], test: Callable[[Entry], bool]) -> Entry:
    return next(e for e in entries if test(e))


def check(entries: list[Entry]) -> None:
    JournalChecker().feed_all(entries)


def test_a_real_journal_keeps_every_invariant(perfect_run: list[Entry]) -> None:
    checker = JournalChecker().feed_all(perfect_run)
    check_effects_once(perfect_run)
    assert checker.counts["given: implement"] == len(default_plan().steps)


def test_work_given_to_a_busy_agent(perfect_run: list[Entry]) -> None:
    beat = first(perfect_run, lambda e: isinstance(e.msg, Heartbeat))
    assert isinstance(beat.msg, Heartbeat)
    other = StepAssigned(step="release", agent=beat.msg.agent, attempt=1)
    broken = replaced(perfect_run, beat.seq, other, sender="supervisor", cause=beat.seq - 1)
    with pytest.raises(InvariantError, match="given to an agent that is busy"):
        check(broken)


def test_held_work_without_a_deadline(perfect_run: list[Entry]) -> None:
    timer = first(perfect_run, lambda e: isinstance(e.msg, TimerSet))
    broken = replaced(perfect_run, timer.seq, NoteWritten(author="supervisor", text="no timer"))
    with pytest.raises(InvariantError, match="is held with deadlines"):
        check(broken)


def test_an_agent_speaking_of_other_work(perfect_run: list[Entry]) -> None:
    beat = first(perfect_run, lambda e: isinstance(e.msg, Heartbeat))
    assert isinstance(beat.msg, Heartbeat)
    wrong = msgspec.structs.replace(beat.msg, attempt=7)
    with pytest.raises(InvariantError, match="speaks of"):
        check(replaced(perfect_run, beat.seq, wrong))


def test_overlapping_scopes_in_progress_together(perfect_run: list[Entry]) -> None:
    # storage and api run side by side; give api storage's scope after the fact
    plan = default_plan()
    steps = tuple(
        msgspec.structs.replace(s, scope=("src/storage/**",)) if s.id == "api" else s
        for s in plan.steps
    )
    attached = first(perfect_run, lambda e: isinstance(e.msg, PlanAttached))
    broken = replaced(perfect_run, attached.seq, PlanAttached(plan=Plan(steps, plan.agents)))
    with pytest.raises(InvariantError, match="overlap and are in progress together"):
        check(broken)


def test_work_past_a_used_up_budget(perfect_run: list[Entry]) -> None:
    created = perfect_run[0]
    assert isinstance(created.msg, RunCreated)
    tight = msgspec.structs.replace(created.msg, budget=Budget(tokens=3_000))
    with pytest.raises(InvariantError, match="budget"):
        check(replaced(perfect_run, 1, tight))


def test_attempts_past_their_budget(perfect_run: list[Entry]) -> None:
    created = perfect_run[0]
    assert isinstance(created.msg, RunCreated)
    tight = msgspec.structs.replace(created.msg, budget=Budget(attempts=2))
    with pytest.raises(InvariantError, match="attempts assigned"):
        check(replaced(perfect_run, 1, tight))


def test_a_policy_failure_retried() -> None:
    entries = journal(6, faults=FaultPlan(transient=0.3))
    retry = first(entries, lambda e: isinstance(e.msg, StepRetried))
    assert isinstance(retry.msg, StepRetried)
    as_policy = msgspec.structs.replace(retry.msg, failure_class="policy")
    with pytest.raises(InvariantError, match="policy failure"):
        check(replaced(entries, retry.seq, as_policy))


def test_an_orphan_never_given_out_again() -> None:
    # two verifiers that always hang: cut the journal after the first miss
    plan = Plan(
        steps=(
            StepSpec(id="a", goal="g", validators=(TestsPass(),)),
            StepSpec(id="b", goal="g", validators=(TestsPass(),)),
        ),
        agents=(
            AgentSpec(id="ex1", roles=("executor",)),
            AgentSpec(id="ex2", roles=("executor",)),
            AgentSpec(id="v1", roles=("verifier",), edits_files=False),
            AgentSpec(id="v2", roles=("verifier",), edits_files=False),
        ),
    )
    entries = journal(1, plan=plan, faults=FaultPlan(hang=1.0), profiles=PERFECT)
    missed = first(entries, lambda e: isinstance(e.msg, HeartbeatMissed))
    end = next(e.seq for e in entries[missed.seq :] if e.sender != "supervisor")
    check(entries)
    with pytest.raises(InvariantError, match="orphaned at seq"):
        check(entries[: end - 1])


def test_an_effect_journaled_twice(perfect_run: list[Entry]) -> None:
    result = first(perfect_run, lambda e: isinstance(e.msg, ResultProposed))
    beat = first(perfect_run, lambda e: e.seq > result.seq and isinstance(e.msg, Heartbeat))
    with pytest.raises(InvariantError, match="already journaled"):
        check_effects_once(replaced(perfect_run, beat.seq, result.msg, sender=result.sender))
