"""Checks over a whole journal, beside ``JournalChecker``'s: effects journaled once."""

from __future__ import annotations

import collections
from collections.abc import Sequence

from ..model._entry import Entry
from ..model._messages import (
    ResultProposed,
    ReviewGiven,
    RunCancelled,
    RunCompleted,
    RunFailed,
    StepAssigned,
    StepCompleted,
    StepFailed,
    StepInterrupted,
    StepRetried,
    ValidationFailed,
    ValidationPassed,
)
from ._invariant_budgets import InvariantError
from ._policy_context import SUPERVISOR


def reactions(entries: Sequence[Entry]) -> dict[int, list[Entry]]:
    """The supervisor's entries caused by each entry, by the cause's seq."""
    caused: dict[int, list[Entry]] = collections.defaultdict(list)
    for entry in entries:
        if entry.sender == SUPERVISOR and entry.cause is not None:
            caused[entry.cause].append(entry)
    return caused


def check_effects_once(entries: Sequence[Entry]) -> None:
    """No effect is journaled twice.

    One ``result_proposed`` per (step, attempt, agent, role); one
    ``step_assigned`` per (step, attempt); one ``step_completed`` per step and
    no attempt both completed and ended otherwise (failed, interrupted,
    retried); the supervisor ends an attempt (completes, fails or interrupts
    it) once; one ``review_given`` per (step, attempt, round); one
    validation outcome per (step, attempt, validator); at most one end of
    the run.
    """
    seen: dict[tuple[object, ...], int] = {}

    def once(key: tuple[object, ...], seq: int) -> None:
        if key in seen:
            raise InvariantError(f"seq {seq}: {key} was already journaled at seq {seen[key]}")
        seen[key] = seq

    completed: dict[tuple[str, int], int] = {}
    ended: dict[tuple[str, int], int] = {}
    for entry in entries:
        msg = entry.msg
        match msg:
            case ResultProposed(result=r):
                once(("result", r.step, r.attempt, r.agent, r.role), entry.seq)
            case StepAssigned(step=step, attempt=n):
                once(("assigned", step, n), entry.seq)
            case StepCompleted(step=step, attempt=n):
                once(("completed", step), entry.seq)
                once(("ended", step, n), entry.seq)
                completed[(step, n)] = entry.seq
            case StepFailed(step=step, attempt=n) | StepInterrupted(step=step, attempt=n):
                ended.setdefault((step, n), entry.seq)
                if entry.sender == SUPERVISOR:
                    once(("ended", step, n), entry.seq)
            case StepRetried(step=step, next_attempt=n):
                ended.setdefault((step, n - 1), entry.seq)
            case ReviewGiven(step=step, attempt=n, round=r):
                once(("review", step, n, r), entry.seq)
            case (
                ValidationPassed(step=step, attempt=n, validator=v)
                | ValidationFailed(step=step, attempt=n, validator=v)
            ):
                once(("validation", step, n, v), entry.seq)
            case RunCompleted() | RunFailed() | RunCancelled():
                once(("run end",), entry.seq)
            case _:
                pass
    both = sorted(set(completed) & set(ended))
    if both:
        key = both[0]
        raise InvariantError(
            f"attempt {key} was completed at seq {completed[key]} and failed, interrupted "
            f"or retried at seq {ended[key]}"
        )
