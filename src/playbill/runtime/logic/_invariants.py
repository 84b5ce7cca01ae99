"""Invariants of a run's journal, checked entry by entry while it is folded.

``JournalChecker`` folds a journal one entry at a time and checks, at every
seq, what must hold at every seq, and at the end of every reaction what must
hold once the supervisor has reacted. A *reaction* is an entry not sent by
the supervisor followed by the supervisor's entries it caused (the journal
writer stamps them right after it); inside a reaction the state may be half
way (a step retried but not yet reassigned), at its end it must not be.

It serves any journal of the policy: real runs, simulated runs and the pure
policy world of the property tests (``playbill.testing`` exports it, for
users to check their own runs). What it checks, precisely:

At every seq
  * seqs are dense from 1, one run, causes point backwards; folding records
    no anomaly;
  * work is given (``step_assigned``, ``review_requested``,
    ``verification_requested``) only while the run is ``running``, to an agent
    of the plan that plays the role, that is not busy, crashed or
    unresponsive, and, for a review or a verification, that is not the
    attempt's own agent;
  * budgets (see ``BudgetWatch``): no work a used-up budget covers is given
    after it ran out, only work in flight when it ran out reports usage
    against it afterwards, and attempts and retries never pass their limits;
  * an agent speaks (``step_started``, ``heartbeat``, ``usage_reported``,
    ``result_proposed``, ``step_failed``) only of the work it was given last:
    no agent works on two pieces of work at once;
  * a ``policy`` failure is retried only on a person's word.

At the end of every reaction
  * no step has two live attempts; no piece of work is claimed twice; no
    agent holds two pieces of work;
  * every piece of work an agent holds has exactly one pending heartbeat
    deadline;
  * steps whose scopes overlap (``scopes_overlap``) are never in progress
    together;
  * when a usage budget ran out in the reaction, none of the work it covers is
    still held (it was cancelled), and a run budget failed the run.

At the end of the journal
  * every orphaned piece of work (its agent missed its heartbeat, crashed or
    was restarted while it held it, or the run resumed while it was in
    flight) was given out again later, or its step ended otherwise
    (completed, skipped, blocked, failed for good), or the run ended, or the
    journal ends with the run waiting on a person or paused.

``check_effects_once`` (in ``_invariant_effects``) adds, for runs where
nobody but agents and the runtime writes (no person retrying a finished
step): no effect is journaled twice.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Iterable
from typing import Literal

import attrs

from ..model._entry import Entry
from ..model._messages import (
    AgentFailed,
    AgentRestarted,
    ControlRequested,
    Heartbeat,
    HeartbeatMissed,
    HumanApprovalGiven,
    Message,
    PolicyDecisionApplied,
    ResultProposed,
    RunCancelled,
    RunCompleted,
    RunFailed,
    RunResumed,
    StepBlocked,
    StepCompleted,
    StepFailed,
    StepRetried,
    StepSkipped,
    StepStarted,
    UsageReported,
    ValidationFailed,
)
from ..model._state import RunState, initial_state
from ..model._values import Role
from ._humans import live_approvals
from ._invariant_budgets import BudgetWatch, InvariantError, started_work
from ._policy_context import SUPERVISOR
from ._reducer import evolve
from ._scheduling import HOLDS_SCOPE
from ._scopes import scopes_overlap
from ._work import Work, claimed_work, held, timer_of

PEOPLES_WORD = (HumanApprovalGiven, ControlRequested, PolicyDecisionApplied)
"""Entries by which a person (not the supervisor) may ask for a retry."""

RUN_ENDS = (RunCompleted, RunFailed, RunCancelled)
"""Entries that end the run."""

Resolution = Literal["given again", "step ended", "run ended", "waits on a person", "open"]
"""What became of an orphaned piece of work (``open``: nothing yet)."""


def _role_of(work: Work, state: RunState) -> Role:
    if work.kind == "review":
        return "reviewer"
    if work.kind == "verify":
        return "verifier"
    return state.steps[work.step].spec.role


@attrs.define
class Orphan:
    """A piece of work whose agent lost it, and what became of it."""

    seq: int
    why: str
    work: Work
    resolution: Resolution = "open"


@attrs.define
class JournalChecker:
    """Folds a journal entry by entry and checks the invariants of the module.

    ``feed`` every entry in seq order, then ``finish``. Each broken invariant
    raises ``InvariantError`` naming the seq. ``orphans`` and ``counts`` say
    what the journal held (for statistics, like ``hypothesis.event``).
    """

    state: RunState = attrs.Factory(initial_state)
    entries: list[Entry] = attrs.Factory(list)
    orphans: list[Orphan] = attrs.Factory(list)
    counts: collections.Counter[str] = attrs.Factory(collections.Counter)
    _budgets: BudgetWatch = attrs.Factory(BudgetWatch)
    _by_seq: dict[int, Entry] = attrs.Factory(dict)
    _given: dict[str, tuple[str, int]] = attrs.Factory(dict)
    _in_reaction: bool = False

    def feed(self, entry: Entry) -> None:
        """Fold one entry and check it (see the module)."""
        before = self.state
        if entry.sender != SUPERVISOR and self._in_reaction:
            self._reaction_end(before)
        self._check_entry(entry, before)
        self._budgets.before(entry, before)
        after = _evolve_checked(before, entry)
        self.state = after
        self.entries.append(entry)
        self._by_seq[entry.seq] = entry
        self._budgets.after(entry, after)
        self._note_orphans(entry, before, after)
        self._in_reaction = True

    def feed_all(self, entries: Iterable[Entry]) -> JournalChecker:
        """Feed every entry, then ``finish``; returns the checker."""
        for entry in entries:
            self.feed(entry)
        self.finish()
        return self

    def finish(self) -> None:
        """End-of-journal checks: the last reaction, and every orphan's fate."""
        if self._in_reaction:
            self._reaction_end(self.state)
            self._in_reaction = False
        final = self.state
        settled_on_people = bool(live_approvals(final)) or final.status == "paused"
        for orphan in self.orphans:
            if orphan.resolution == "open" and settled_on_people:
                orphan.resolution = "waits on a person"
            self.counts[f"orphan {orphan.resolution}"] += 1
            if orphan.resolution == "open":
                raise InvariantError(
                    f"{orphan.work} was orphaned at seq {orphan.seq} ({orphan.why}) and never "
                    f"given out again, its step did not end and the run is {final.status}"
                )

    # ------------------------------------------------------------ at every seq

    def _check_entry(self, entry: Entry, before: RunState) -> None:
        if entry.seq != before.last_seq + 1:
            raise InvariantError(f"seq {entry.seq} follows seq {before.last_seq}")
        if before.run_id and entry.run_id != before.run_id:
            raise InvariantError(f"seq {entry.seq} is of run {entry.run_id!r}")
        if entry.cause is not None and not 0 < entry.cause < entry.seq:
            raise InvariantError(f"seq {entry.seq} is caused by seq {entry.cause}")
        msg = entry.msg
        work = started_work(msg)
        if work is not None:
            self.counts[f"given: {work.kind}"] += 1
            self._check_start(entry.seq, work, before)
            self._given[work.agent] = (work.step, work.attempt)
        spoken = _spoken_of(msg)
        last_given = self._given.get(entry.sender)
        if spoken is not None and entry.sender in before.agents and spoken != last_given:
            raise InvariantError(
                f"seq {entry.seq}: {entry.sender} speaks of {spoken} while the work it "
                f"was given last is {last_given}"
            )
        if isinstance(msg, StepRetried):
            self._check_retry(entry, msg, before)
        if isinstance(msg, StepFailed | ValidationFailed) and msg.failure.failure_class == "policy":
            self.counts["policy failures"] += 1

    def _check_start(self, seq: int, work: Work, before: RunState) -> None:
        where = f"seq {seq}: {work}"
        if before.status != "running":
            raise InvariantError(f"{where} given while the run is {before.status}")
        agent = before.agents.get(work.agent)
        step = before.steps.get(work.step)
        if agent is None or step is None:
            raise InvariantError(f"{where}: no such agent or step in the plan")
        if agent.status != "idle":
            raise InvariantError(
                f"{where} given to an agent that is {agent.status} "
                f"(with {agent.step}#{agent.attempt})"
            )
        if _role_of(work, before) not in agent.spec.roles:
            raise InvariantError(f"{where}: {work.agent} does not play {_role_of(work, before)}")
        if work.kind != "implement":
            attempt = step.attempt(work.attempt)
            if attempt is None or attempt.agent == work.agent:
                raise InvariantError(f"{where}: an agent checks its own attempt, or none")

    def _check_retry(self, entry: Entry, msg: StepRetried, before: RunState) -> None:
        step = before.steps.get(msg.step)
        last = step.attempts[-1].failure if step is not None and step.attempts else None
        if msg.failure_class != "policy" and (last is None or last.failure_class != "policy"):
            return
        root = self._by_seq.get(entry.cause) if entry.cause is not None else None
        if root is None or root.sender == SUPERVISOR or not isinstance(root.msg, PEOPLES_WORD):
            raise InvariantError(
                f"seq {entry.seq}: a policy failure of {msg.step} was retried after "
                f"{root.msg if root is not None else 'nothing'}"
            )

    # ------------------------------------------------------- at reaction ends

    def _reaction_end(self, state: RunState) -> None:
        self._live_attempts(state)
        self._work_and_scopes(state)

    def _live_attempts(self, state: RunState) -> None:
        """At most one live attempt per step (a competition's checker says otherwise)."""
        seq = state.last_seq
        for step in state.steps.values():
            live = [
                a.number for a in step.attempts if a.status in ("assigned", "running", "proposed")
            ]
            if len(live) > 1:
                raise InvariantError(f"seq {seq}: step {step.spec.id} has live attempts {live}")

    def _work_and_scopes(self, state: RunState) -> None:
        """Work claimed once, held by one agent with one deadline; scopes apart; budgets."""
        seq = state.last_seq
        work = claimed_work(state)
        pieces = collections.Counter((w.kind, w.step, w.attempt) for w in work)
        twice = [p for p, n in pieces.items() if n > 1]
        if twice:
            raise InvariantError(f"seq {seq}: work claimed twice: {twice}")
        holding = [w for w in work if held(state, w)]
        holders = collections.Counter(w.agent for w in holding)
        busy = [a for a, n in holders.items() if n > 1]
        if busy:
            raise InvariantError(f"seq {seq}: agents holding two pieces of work: {busy}")
        for w in holding:
            deadlines = [
                t
                for t in state.timers.values()
                if t.purpose == "heartbeat" and (t.step, t.attempt, t.agent) == w[1:]
            ]
            if len(deadlines) != 1 or timer_of(state, w) is None:
                raise InvariantError(f"seq {seq}: {w} is held with deadlines {deadlines}")
        scoped = [s for s in state.steps.values() if s.status in HOLDS_SCOPE and s.spec.scope]
        for a, b in itertools.combinations(scoped, 2):
            if scopes_overlap(a.spec.scope, b.spec.scope):
                raise InvariantError(
                    f"seq {seq}: {a.spec.id} {a.spec.scope} and {b.spec.id} {b.spec.scope} "
                    "overlap and are in progress together"
                )
        self._budgets.reaction_end(seq, state)

    # --------------------------------------------------------------- orphans

    def _note_orphans(self, entry: Entry, before: RunState, after: RunState) -> None:
        msg = entry.msg
        for orphan in self.orphans:
            if orphan.resolution == "open":
                orphan.resolution = _resolves(orphan.work, msg)
        lost: list[tuple[str, Work]] = []
        match msg:
            case HeartbeatMissed(agent=agent, step=step, attempt=n):
                lost += [
                    ("heartbeat missed", w) for w in _held_by(before, agent) if w[1:3] == (step, n)
                ]
            case AgentFailed(agent=agent):
                lost += [("agent crashed", w) for w in _held_by(before, agent)]
            case AgentRestarted(agent=agent):
                lost += [("agent restarted", w) for w in _held_by(before, agent)]
            case RunResumed():
                lost += [("run resumed", w) for w in claimed_work(before)]
            case _:
                pass
        for why, work in lost:
            self.orphans.append(Orphan(entry.seq, why, work))


def _evolve_checked(state: RunState, entry: Entry) -> RunState:
    """``evolve``, failing on the first anomaly it records."""
    after = evolve(state, entry)
    if after.anomaly_count != state.anomaly_count:
        raise InvariantError(f"seq {entry.seq}: folding recorded {after.anomalies[-1]!r}")
    return after


def _spoken_of(msg: Message) -> tuple[str, int] | None:
    """The (step, attempt) an agent's own report is about, if it is one that names one."""
    match msg:
        case StepStarted(step=step, attempt=n) | StepFailed(step=step, attempt=n):
            return (step, n)
        case Heartbeat(step=step, attempt=n) | UsageReported(step=step, attempt=n):
            return None if step is None or n is None else (step, n)
        case ResultProposed(result=result):
            return (result.step, result.attempt)
        case _:
            return None


def _held_by(state: RunState, agent: str) -> list[Work]:
    return [w for w in claimed_work(state) if w.agent == agent and held(state, w)]


def _resolves(work: Work, msg: Message) -> Resolution:
    """What ``msg`` does to an orphaned piece of work: ``open`` when nothing."""
    if isinstance(msg, RUN_ENDS):
        return "run ended"
    given = started_work(msg)
    # the same work asked again, or the step gone on to a later attempt
    if (
        given is not None
        and given.step == work.step
        and (
            given.attempt > work.attempt or (given.kind, given.attempt) == (work.kind, work.attempt)
        )
    ):
        return "given again"
    match msg:
        case StepCompleted(step=step) | StepSkipped(step=step) | StepBlocked(step=step):
            if step == work.step:
                return "step ended"
        case _:
            pass
    return "open"
