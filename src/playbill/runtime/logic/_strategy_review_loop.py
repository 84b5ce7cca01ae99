"""The ``review_loop`` strategy: the author revises until the reviewer approves, K rounds at most.

The pipeline treats a review that asks for changes like any failed attempt:
the step is retried after a backoff, on whichever agent is free first, and
the round counts against the step's ``max_attempts``. ``review_loop`` makes
it a conversation:

1. When the reviewer asks for changes, the attempt fails
   (``validation``/``changes_requested``, the findings as its detail) and the
   step is retried **at once** (no backoff), with the findings fed back.
2. The revision goes to the **same author** when it is free and within its
   budget (else to the first free agent that fits, as in the pipeline).
3. Revisions are bounded by K = ``PolicySettings.max_review_rounds`` review
   rounds that asked for changes, and by nothing else (not the step's
   ``max_attempts``): after the K-th, the settings' ``on_exhausted`` action is
   applied and journaled (``policy_decision_applied``: abort, escalate to a
   person, or skip).

Everything else is the pipeline's: a review that rejects outright (``fail``)
or finds the step blocked, a failed verification, a crash or a timeout go
through the usual failure rules (``_failures``), which count every attempt,
revisions included, against ``max_attempts``.
"""

from __future__ import annotations

from typing import Final, final

from ..model._messages import StepFailed
from ..model._state import AttemptState, StepState
from ..model._values import Blocker, Failure, Finding, ResultEnvelope, ReviewOutcome
from ._budgets import agent_may_start
from ._failures import exhaust, retry
from ._pipeline import PIPELINE, assign, vet_and_complete
from ._policy_context import PolicyContext, clip
from ._results import findings_text
from ._scheduling import is_free, is_out, step_candidates
from ._vetting import judged
from ._work import current_attempt

CHANGES_REQUESTED: Final = "changes_requested"
"""The failure kind of an attempt whose review asked for changes."""


@final
class ReviewLoop:
    """Revise on the reviewer's word, K rounds at most (see the module)."""

    name = "review_loop"

    def start(self, ctx: PolicyContext, step: str) -> bool:
        """Give a revision back to its author when it can take it; else as the pipeline."""
        found = ctx.state.steps.get(step)
        if found is None:
            return False
        author = _author(found)
        if author is not None:
            agent = ctx.state.agents.get(author)
            able = any(a.spec.id == author for a in step_candidates(ctx.state, found))
            attempt = len(found.attempts) + 1
            if (
                agent is not None
                and able
                and is_free(agent)
                and not is_out(agent)
                and agent_may_start(ctx, author, attempt=attempt, step=step)
            ):
                assign(ctx, step, author, feedback=found.feedback)
                return True
        return PIPELINE.start(ctx, step)

    def on_result(self, ctx: PolicyContext, result: ResultEnvelope) -> None:
        """Record a verification's checks as the pipeline does."""
        PIPELINE.on_result(ctx, result)

    def advance(self, ctx: PolicyContext, step: str) -> None:
        """Take the proposed attempt through review (with revisions) and verification."""
        vet_and_complete(ctx, step, judge=revise)


REVIEW_LOOP: Final = ReviewLoop()
"""The review-loop strategy."""


def rounds(step: StepState) -> int:
    """Review rounds of the step that asked for changes."""
    return sum(1 for a in step.attempts if a.review == CHANGES_REQUESTED)


def revise(
    ctx: PolicyContext,
    step: StepState,
    attempt: AttemptState,
    outcome: ReviewOutcome,
    findings: tuple[Finding, ...],
    blockers: tuple[Blocker, ...],
) -> None:
    """The review loop's judge: changes requested -> a revision at once, K rounds at most.

    Any other outcome, and a reviewer step's own verdict (it is no review
    round of the step), is judged as the pipeline judges it.
    """
    if outcome != CHANGES_REQUESTED or step.spec.role != "executor":
        judged(ctx, step, attempt, outcome, findings, blockers)
        return
    sid, n = step.spec.id, attempt.number
    detail = clip(f"review: {findings_text(findings) or outcome}")
    failure = Failure(failure_class="validation", kind=CHANGES_REQUESTED, detail=detail)
    ctx.emit(StepFailed(step=sid, attempt=n, failure=failure))
    now = ctx.state.steps.get(sid)
    if now is None or now.status != "failed":
        return
    limit = ctx.settings.max_review_rounds
    done = rounds(now)
    if done >= limit:
        exhaust(ctx, now, failure, f"{done} of {limit} review rounds asked for changes")
    else:
        retry(ctx, sid, failure, at_once=True)


def _author(step: StepState) -> str | None:
    """The author of the last attempt, when a review asked it for changes."""
    last = current_attempt(step)
    if last is None or last.status != "failed" or last.review != CHANGES_REQUESTED:
        return None
    return last.agent
