"""The budget invariants of ``JournalChecker`` (see ``BudgetWatch``), and what both share."""

from __future__ import annotations

import collections

import attrs

from ..model._entry import Entry
from ..model._messages import (
    Message,
    ReviewRequested,
    StepAssigned,
    StepInterrupted,
    StepRetried,
    UsageReported,
    VerificationRequested,
)
from ..model._state import WORK_LOST, RunState
from ..model._values import Budget, BudgetResource
from ._budgets import USAGE_RESOURCES, limit_of, used_of
from ._work import Work, claimed_work, held


class InvariantError(AssertionError):
    """A journal broke an invariant; the message names the seq and what broke."""


def started_work(msg: Message) -> Work | None:
    """The piece of work a start command gives, if it is one."""
    match msg:
        case StepAssigned(step=step, attempt=n, agent=agent):
            return Work("implement", step, n, agent)
        case ReviewRequested(step=step, attempt=n, reviewer=agent):
            return Work("review", step, n, agent)
        case VerificationRequested(step=step, attempt=n, verifier=agent):
            return Work("verify", step, n, agent)
        case _:
            return None


@attrs.define
class _Crossing:
    """A usage budget that ran out at ``seq``, and the work in flight then."""

    seq: int
    in_flight: frozenset[tuple[str, str, int]]  # (agent, step, attempt)


@attrs.define
class BudgetWatch:
    """Budgets are never exceeded by more than the work in flight when they ran out.

    Precisely, for the run's budget and each agent's, and each usage resource
    r (tokens, cost, wall) with limit L: let c be the first seq after which the
    budget's usage of r is at least L (the run's usage for the run's budget,
    the agent's for an agent's). Then

    1. no work it covers is given after c (none at all for the run's budget,
       none to that agent for an agent's);
    2. at the end of c's reaction no agent holds work it covers (it was
       cancelled), and for the run's budget the run has failed;
    3. every usage reported against it after c comes from a piece of work
       (agent, step, attempt) that was claimed or held at c: what is used
       beyond L was used by work already in flight when it ran out.

    Attempts and retries are counted when they start and never pass their
    limits: step assignments (run and agent), step retries (run), and
    assignments of attempts after the first (agent). Work lost to a kill or
    a restart is charged to none of them: an attempt interrupted with
    ``work_lost`` is uncounted, and so are the retry that gives its work
    out again and that retry's assignment.
    """

    crossed: dict[tuple[str | None, BudgetResource], _Crossing] = attrs.Factory(dict)
    fresh: list[tuple[str | None, BudgetResource]] = attrs.Factory(list)
    assigned: collections.Counter[str | None] = attrs.Factory(collections.Counter)
    retried_by: collections.Counter[str | None] = attrs.Factory(collections.Counter)
    retries: int = 0
    owners: dict[tuple[str, int], str] = attrs.Factory(dict)
    lost: set[str] = attrs.Factory(set)  # steps whose latest attempt was lost

    @staticmethod
    def budgets(state: RunState) -> dict[str | None, Budget]:
        found: dict[str | None, Budget] = {None: state.budget}
        found.update({a: s.spec.budget for a, s in state.agents.items()})
        return found

    def covers(self, owner: str | None, agent: str) -> bool:
        return owner is None or owner == agent

    def before(self, entry: Entry, state: RunState) -> None:
        """Checks on an entry against the budgets that ran out before it."""
        msg = entry.msg
        work = started_work(msg)
        if work is not None:
            for (owner, r), crossing in self.crossed.items():
                if self.covers(owner, work.agent):
                    raise InvariantError(
                        f"seq {entry.seq}: {work} given after {owner or 'the run'}'s {r} "
                        f"budget ran out at seq {crossing.seq}"
                    )
        if isinstance(msg, UsageReported):
            for (owner, r), crossing in self.crossed.items():
                if not self.covers(owner, msg.agent):
                    continue
                key = (msg.agent, msg.step, msg.attempt)
                if msg.step is None or msg.attempt is None or key not in crossing.in_flight:
                    raise InvariantError(
                        f"seq {entry.seq}: {msg.agent} reported usage of {key[1:]} against "
                        f"{owner or 'the run'}'s {r} budget, which ran out at seq "
                        f"{crossing.seq} when that work was not in flight"
                    )

    def after(self, entry: Entry, state: RunState) -> None:
        """Count starts, and note budgets that ran out with this entry."""
        msg = entry.msg
        if isinstance(msg, StepAssigned):
            self.assigned[None] += 1
            self.assigned[msg.agent] += 1
            self.owners[(msg.step, msg.attempt)] = msg.agent
            if msg.attempt > 1 and msg.step not in self.lost:
                self.retried_by[msg.agent] += 1
            self.lost.discard(msg.step)
        if isinstance(msg, StepInterrupted) and msg.reason == WORK_LOST:
            owner = self.owners.get((msg.step, msg.attempt))
            if owner is not None and msg.step not in self.lost:
                self.assigned[None] -= 1
                self.assigned[owner] -= 1
                self.lost.add(msg.step)
        if isinstance(msg, StepRetried) and msg.step not in self.lost:
            self.retries += 1
        budgets = self.budgets(state)
        for owner, budget in budgets.items():
            if budget.attempts is not None and self.assigned[owner] > budget.attempts:
                raise InvariantError(
                    f"seq {entry.seq}: {self.assigned[owner]} attempts assigned "
                    f"({owner or 'run'} budget {budget.attempts})"
                )
            retries = budget.retries if owner is not None else None
            if retries is not None and self.retried_by[owner] > retries:
                raise InvariantError(
                    f"seq {entry.seq}: {owner} was given {self.retried_by[owner]} retries "
                    f"(budget {retries})"
                )
        if state.budget.retries is not None and self.retries > state.budget.retries:
            raise InvariantError(
                f"seq {entry.seq}: {self.retries} retries (run budget {state.budget.retries})"
            )
        if not isinstance(msg, UsageReported):
            return  # only usage moves a usage budget
        for owner, budget in budgets.items():
            found = state.agents.get(owner) if owner is not None else None
            if owner is not None and found is None:
                continue
            usage = state.usage if found is None else found.usage
            for r in USAGE_RESOURCES:
                limit = limit_of(budget, r)
                if limit is None or used_of(usage, r) < limit or (owner, r) in self.crossed:
                    continue
                in_flight = {(w.agent, w.step, w.attempt) for w in claimed_work(state)}
                in_flight.update(
                    (a, s.step, s.attempt)
                    for a, s in state.agents.items()
                    if s.status == "busy" and s.step is not None and s.attempt is not None
                )
                self.crossed[(owner, r)] = _Crossing(entry.seq, frozenset(in_flight))
                self.fresh.append((owner, r))

    def reaction_end(self, seq: int, state: RunState) -> None:
        """Work covered by a budget that ran out in this reaction was cancelled."""
        for owner, r in self.fresh:
            left = [
                w for w in claimed_work(state) if self.covers(owner, w.agent) and held(state, w)
            ]
            if left:
                raise InvariantError(
                    f"seq {seq}: {owner or 'the run'}'s {r} budget ran out at seq "
                    f"{self.crossed[(owner, r)].seq} and {left} is still in flight"
                )
            if owner is None and state.status != "failed":
                raise InvariantError(
                    f"seq {seq}: the run's {r} budget ran out at seq "
                    f"{self.crossed[(owner, r)].seq} and the run is {state.status}, not failed"
                )
        self.fresh.clear()
