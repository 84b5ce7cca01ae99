"""``retry_plan`` says what ``resume`` then does: random runs, killed at random seqs.

Each example draws a simulated scenario (a random plan, team, faults,
budgets and policy, from ``test_simulation_properties``), kills its run
after a random entry, computes the retry plan of the killed journal's state,
resumes the run and compares what the resumed run did with what the plan
said:

- a run that ended before the kill (or with the entry it was killed
  after) is not resumable, and the plan says so;
- every step the plan keeps (its reusable proof) is never assigned again;
- every step that resumes at ``implement`` gets, as its first assignment
  after the kill (if it gets one: a step waiting for a person may not), the
  attempt the plan named, one past the attempts it had made;
- every step that resumes at ``review`` or ``verify`` keeps its attempt: the
  first news of the step after the kill is about that attempt (asked to be
  reviewed or verified again, merged, completed or failed), never a new
  attempt;
- the JSON of the plan has every key.
"""

from __future__ import annotations

import attrs
from hypothesis import event, given, note
from hypothesis import strategies as st

from playbill.runtime import (
    Entry,
    MemoryJournal,
    MergeRequested,
    ReviewRequested,
    StepAssigned,
    StepCompleted,
    StepFailed,
    StepInterrupted,
    VerificationRequested,
    fold,
    retry_plan,
)
from test_simulation_properties import Scenario, examples, read, run_known, scenarios

NEWS = (
    ReviewRequested,
    VerificationRequested,
    MergeRequested,
    StepCompleted,
    StepFailed,
    StepInterrupted,
)
"""What happens to an attempt a resume keeps."""


def first_assignment(entries: list[Entry], step: str) -> int | None:
    """The attempt of the first assignment of ``step`` among ``entries``."""
    for entry in entries:
        if isinstance(entry.msg, StepAssigned) and entry.msg.step == step:
            return entry.msg.attempt
    return None


def kept(entries: list[Entry], step: str, attempt: int) -> bool:
    """Whether the first news of ``step`` is about ``attempt``, and not a new attempt.

    The kept attempt is reviewed, verified, merged, completed or failed
    before any new attempt of the step is assigned.
    """
    for entry in entries:
        msg = entry.msg
        if isinstance(msg, StepAssigned) and msg.step == step:
            return False
        if isinstance(msg, NEWS) and msg.step == step:
            return msg.attempt == attempt
    return True  # nothing happened to it: the run ended or waits


@given(scenarios(journal_faults=False), st.data())
@examples(0.3)
def test_the_retry_plan_of_a_killed_run_is_what_its_resume_does(
    scenario: Scenario, data: st.DataObject
) -> None:
    kill = data.draw(st.integers(1, 150), label="kill at")
    journal = MemoryJournal()
    killed = run_known(scenario, journal, faults=attrs.evolve(scenario.faults, kill=kill))
    before = read(journal, killed.run_id)
    state = fold(before)
    plan = retry_plan(state)
    if state.is_terminal:
        event("ended before the kill")
        assert not plan.resumable and not plan.resume_from and plan.instead
        return
    event(f"{killed.outcome} while {state.status}")
    assert plan.resumable
    run_known(scenario, journal, resume=True)
    after = read(journal, killed.run_id)[len(before) :]

    for proof in plan.reusable_proof:
        assert first_assignment(after, proof.step) is None, proof.step
    for point in plan.resume_from:
        step = state.steps[point.step]
        if point.stage == "implement":
            assert point.attempt == len(step.attempts) + 1
            found = first_assignment(after, point.step)
            assert found is None or found == point.attempt, (point, found)
        elif point.stage in ("review", "verify"):
            assert point.attempt == len(step.attempts)
            trail = [e.msg for e in after if getattr(e.msg, "step", None) == point.step]
            note(f"{point}: {trail}")
            assert kept(after, point.step, point.attempt), point
