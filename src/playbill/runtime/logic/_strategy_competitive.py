"""The ``competitive`` strategy: best-of-N attempts at the same step, one winner.

1. **Compete.** When the step is ready, up to N agents start on it at once,
   each with an attempt of its own (``step_assigned`` with ``competition`` =
   the number of the competition's first attempt). N is the step's
   ``competitors``, else the policy's (2 by default), and at most the
   attempts the step has left, the free agents that can take it and the
   run's attempts budget. The competitors work side by side (in real runs,
   each in a worktree of its own); the step's scope is held once.
2. **Vet.** Each result, as it arrives, goes through the pipeline's stages
   on its own: its exit status and payload, its blockers, the review and the
   verification (each by an agent other than its author). An attempt that
   fails a stage ends (``step_failed``); the others go on.
3. **Arbitrate.** After every entry the competitors are ranked by the
   arbitration policy (``PolicySettings.arbitration``: ``first_passing``,
   ``best_score``, ``lowest_cost``, ``reviewer_vote``; see
   ``_arbitration``). As soon as the best attempt that passed is certain to
   stay the best, whatever the competitors still at work might do, the
   decision is journaled (``arbitration_decided``, with the whole score
   table, the margin and the tie-break), and the losers still at work are
   cancelled (``attempt_cancelled``, ``step_interrupted``: "lost
   arbitration"). ``first_passing`` decides on the first result that passes;
   ``lowest_cost`` as soon as every other competitor has already spent more;
   the others usually when everyone has finished.
4. **Complete.** The winner gets its human approvals, is integrated and
   completes, as in the pipeline.

When every competitor fails, the step has failed: the usual failure rules
retry it (a new competition, the last failure fed back) or apply
``on_exhausted``. A competitor that crashes or stops sending heartbeats
simply leaves the competition; it is not replaced.
"""

from __future__ import annotations

from typing import Final, final

from ..model._messages import ArbitrationDecided, AttemptCancelled, StepInterrupted
from ..model._state import AttemptState, StepState
from ..model._values import ArbitrationPolicy, ResultEnvelope
from ._arbitration import Arbitration, Entrant, Standing, arbitrate, vote_of
from ._budgets import run_overrun
from ._pipeline import PIPELINE, approve_and_complete, assign
from ._policy_context import PolicyContext, max_attempts
from ._scheduling import pick_agent
from ._vetting import vet
from ._work import collect_timers, in_play

MAX_COMPETITORS: Final = 16
"""A bound on N, whatever the settings say."""


@final
class Competitive:
    """N agents attempt the same step; the arbitration policy picks one (see the module)."""

    name = "competitive"

    def start(self, ctx: PolicyContext, step: str) -> bool:
        """Start a competition: assign up to N attempts of the step at once."""
        found = ctx.state.steps.get(step)
        if found is None:
            return False
        wanted = competitors(ctx, found)
        first = len(found.attempts) + 1
        started = 0
        while started < wanted:
            if started and run_overrun(ctx.state, attempt=True) is not None:
                break  # the run's attempts budget: compete with fewer
            now = ctx.state.steps[step]
            agent = pick_agent(ctx, now, attempt=len(now.attempts) + 1)
            if agent is None:
                break
            assign(ctx, step, agent, feedback=found.feedback, competition=first)
            started += 1
        return started > 0

    def on_result(self, ctx: PolicyContext, result: ResultEnvelope) -> None:
        """Record a verification's checks as the pipeline does (for any competitor)."""
        PIPELINE.on_result(ctx, result)

    def advance(self, ctx: PolicyContext, step: str) -> None:
        """Vet the competitors' results, arbitrate, retire the losers, complete the winner."""
        found = ctx.state.steps.get(step)
        if found is None or not found.attempts:
            return
        rivals = [a for a in found.attempts if in_play(found, a)]
        winner = _decided(ctx, found, rivals)
        if winner is None:
            passed: set[int] = set()
            for attempt in rivals:
                if ctx.state.steps[step].status != "verify_pending" or ctx.state.is_terminal:
                    return  # a stage blocked the step, or ended the run
                if attempt.status == "proposed" and vet(ctx, step, attempt.number):
                    passed.add(attempt.number)
            now = ctx.state.steps[step]
            if now.status != "verify_pending":
                return
            rivals = [now.attempt(a.number) or a for a in rivals]
            outcome = arbitrate(
                policy_of(ctx), [entrant(ctx, a, a.number in passed) for a in rivals]
            )
            if outcome.winner is None or not outcome.certain:
                return
            winner = outcome.winner.attempt
            _decide(ctx, step, outcome)
        found = ctx.state.steps[step]
        chosen = found.attempt(winner)
        if chosen is not None and chosen.status == "proposed":
            approve_and_complete(ctx, found, chosen)


COMPETITIVE: Final = Competitive()
"""The competitive strategy."""


def competitors(ctx: PolicyContext, step: StepState) -> int:
    """How many attempts a competition of the step starts with, at most."""
    wanted = (
        step.spec.competitors if step.spec.competitors is not None else ctx.settings.competitors
    )
    left = max_attempts(ctx.settings, step.spec.max_attempts) - step.attempts_made
    return max(1, min(wanted, left, MAX_COMPETITORS))


def policy_of(ctx: PolicyContext) -> ArbitrationPolicy:
    """The run's arbitration policy."""
    return ctx.settings.arbitration


def entrant(ctx: PolicyContext, attempt: AttemptState, passed: bool) -> Entrant:
    """What arbitration knows of a competitor."""
    standing: Standing
    if passed:
        standing = "passed"
    elif attempt.status in ("assigned", "running", "proposed"):
        standing = "pending"
    else:
        standing = "failed"
    # every check's score, failing ones included: the table shows what the
    # validators reported (only passing entrants are ranked)
    scores = [r.score for r in attempt.validations if r.score is not None]
    vote = None
    if policy_of(ctx) == "reviewer_vote" and attempt.review == "approved":
        vote = vote_of(attempt.findings)
    return Entrant(
        agent=attempt.agent,
        attempt=attempt.number,
        standing=standing,
        score=sum(scores) / len(scores) if scores else None,
        cost_usd=attempt.usage.cost_usd,
        tokens=attempt.usage.tokens,
        arrival_seq=attempt.proposed_seq,
        vote=vote,
    )


def _decided(ctx: PolicyContext, step: StepState, rivals: list[AttemptState]) -> int | None:
    """The winner of this competition, when its arbitration is already journaled."""
    record = ctx.state.arbitrations.get(step.spec.id)
    if record is None or record.winner_attempt is None:
        return None
    return record.winner_attempt if any(a.number == record.winner_attempt for a in rivals) else None


def _decide(ctx: PolicyContext, step: str, outcome: Arbitration) -> None:
    """Journal the decision, then stop every loser still at work or being checked."""
    assert outcome.winner is not None
    winner = outcome.winner.attempt
    ctx.emit(
        ArbitrationDecided(
            step=step,
            policy=outcome.policy,
            winner_attempt=winner,
            scores=outcome.table,
            margin=outcome.margin,
            tie_break=outcome.tie_break,
        )
    )
    reason = f"lost arbitration to attempt {winner}"
    found = ctx.state.steps[step]
    for attempt in [a for a in found.attempts if in_play(found, a)]:
        if attempt.number == winner or attempt.status not in ("assigned", "running", "proposed"):
            continue
        for agent in (attempt.agent, attempt.reviewer, attempt.verifier):
            held = ctx.state.agents.get(agent) if agent is not None else None
            if held is not None and (held.step, held.attempt) == (step, attempt.number):
                cancelled = AttemptCancelled(
                    step=step, attempt=attempt.number, agent=held.spec.id, reason=reason
                )
                ctx.emit(cancelled, to=held.spec.id)
        ctx.emit(StepInterrupted(step=step, attempt=attempt.number, reason=reason))
    collect_timers(ctx)  # the losers' deadlines, before the run may end with the winner
