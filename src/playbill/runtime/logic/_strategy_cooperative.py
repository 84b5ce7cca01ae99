"""The ``cooperative`` strategy: agents hand a step to each other, with context.

The pipeline retries a failed attempt on whichever agent is free first (often
the very one that failed) with the failure as its only feedback.
``cooperative`` passes the work on instead:

1. **Handoff on failure.** When an attempt failed or was interrupted (not
   lost to a restart) and the step is retried, the next attempt goes to
   **another** free agent that can take it, and a ``handoff_recorded`` is
   journaled first: from the last attempt's agent to the new one, ``done``
   (the summary of what the last attempt produced, if anything), ``open_items``
   (the failure, the review's findings, the gaps it reported) and its
   ``evidence``. The new attempt's feedback carries the same context. When no
   other agent is free, the step goes to the first free one as in the
   pipeline, without a handoff.
2. **Handoff on gaps.** An attempt that ends ``ok`` but reports gaps (what
   it knows it did not do) is not reviewed: it ends
   (``validation``/``gaps``) and the step is handed on at once, so another
   agent finishes the work. This happens while the step has attempts left
   (``max_attempts``); after that, the gaps are accepted and the attempt is
   reviewed and verified as in the pipeline.

Everything else (review, verification, approvals, integration, failure
rules, budgets) is the pipeline's.
"""

from __future__ import annotations

from typing import Final, final

from ..model._messages import HandoffRecorded, StepFailed
from ..model._state import AttemptState, StepState
from ..model._values import Evidence, Failure, ResultEnvelope
from ._budgets import agent_may_start
from ._failures import retry
from ._pipeline import PIPELINE, approve_and_complete, assign
from ._policy_context import PolicyContext, clip, max_attempts
from ._results import PAYLOADS, findings_text, summary
from ._scheduling import helpers_ever, is_free, is_out, needs_verifier, step_candidates
from ._vetting import vet
from ._work import current_attempt

GAPS: Final = "gaps"
"""The failure kind of an attempt handed on because it reported gaps."""


@final
class Cooperative:
    """Hand failed or partial work to another agent with context (see the module)."""

    name = "cooperative"

    def start(self, ctx: PolicyContext, step: str) -> bool:
        """Assign the next attempt, to another agent than the last, with a handoff."""
        found = ctx.state.steps.get(step)
        if found is None:
            return False
        last = current_attempt(found)
        if last is None or last.lost or last.status not in ("failed", "interrupted"):
            return PIPELINE.start(ctx, step)
        other = _next_agent(ctx, found, last.agent)
        if other is None:
            return PIPELINE.start(ctx, step)
        done, open_items, evidence = handoff_context(last)
        ctx.emit(
            HandoffRecorded(
                step=step,
                from_agent=last.agent,
                to_agent=other,
                done=done,
                open_items=open_items,
                evidence=evidence,
            )
        )
        base = found.feedback or last.failure
        note = clip(
            f"handed over by {last.agent}; done: {done or 'nothing usable'}; "
            f"open: {'; '.join(open_items) or 'nothing named'}"
        )
        feedback = Failure(
            failure_class=base.failure_class if base is not None else "transient",
            kind=base.kind if base is not None else "handoff",
            detail=clip(f"{base.detail}\n{note}" if base is not None and base.detail else note),
        )
        assign(ctx, step, other, feedback=feedback)
        return True

    def on_result(self, ctx: PolicyContext, result: ResultEnvelope) -> None:
        """Record a verification's checks as the pipeline does."""
        PIPELINE.on_result(ctx, result)

    def advance(self, ctx: PolicyContext, step: str) -> None:
        """Hand partial work on; take finished work through the pipeline's stages."""
        found = ctx.state.steps.get(step)
        attempt = current_attempt(found) if found is not None else None
        if found is None or attempt is None or attempt.result is None:
            return
        if found.status != "verify_pending" or attempt.status != "proposed":
            return
        result = attempt.result
        partial = (
            result.exit_status == "ok"
            and result.gaps
            and not any(b.blocking for b in result.blockers)
            and isinstance(result.payload, PAYLOADS[found.spec.role])
            and attempt.review is None
            and attempt.reviewer is None
            and attempt.verifier is None
            and found.attempts_made < max_attempts(ctx.settings, found.spec.max_attempts)
        )
        if partial:
            detail = clip("; ".join(g.detail for g in result.gaps))
            failure = Failure(failure_class="validation", kind=GAPS, detail=detail)
            ctx.emit(StepFailed(step=step, attempt=attempt.number, failure=failure))
            if ctx.state.steps[step].status == "failed":
                retry(ctx, step, failure, at_once=True)
            return
        if vet(ctx, step, attempt.number):
            found = ctx.state.steps[step]
            approve_and_complete(ctx, found, found.attempts[-1])


COOPERATIVE: Final = Cooperative()
"""The cooperative strategy."""


def handoff_context(attempt: AttemptState) -> tuple[str, tuple[str, ...], tuple[Evidence, ...]]:
    """What an ended attempt hands on: what it did, what is open, its evidence."""
    result = attempt.result
    done = clip(summary(result), 500) if result is not None and result.exit_status == "ok" else ""
    open_items: list[str] = []
    if attempt.failure is not None:
        failure = attempt.failure
        open_items.append(
            clip(f"{failure.kind}: {failure.detail}" if failure.detail else failure.kind, 500)
        )
    if attempt.findings:
        open_items.append(clip(f"review: {findings_text(attempt.findings)}", 500))
    if result is not None:
        open_items.extend(clip(f"gap: {g.detail}", 500) for g in result.gaps)
    evidence = result.evidence if result is not None else ()
    return done, tuple(dict.fromkeys(open_items)), evidence


def _next_agent(ctx: PolicyContext, step: StepState, instead_of: str) -> str | None:
    """The first free agent other than ``instead_of`` that may take the step now."""
    candidates = [a for a in step_candidates(ctx.state, step, exclude=instead_of) if not is_out(a)]
    if needs_verifier(step):
        # as the pipeline: leave the only possible verifier free to verify
        checkable = [
            a for a in candidates if helpers_ever(ctx.state, "verifier", exclude=(a.spec.id,))
        ]
        candidates = checkable or candidates
    attempt = len(step.attempts) + 1
    for agent in candidates:
        if is_free(agent) and agent_may_start(
            ctx, agent.spec.id, attempt=attempt, step=step.spec.id
        ):
            return agent.spec.id
    return None
