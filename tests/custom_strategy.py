"""Strategies of one's own for the sweep tests, in a module worker processes can import."""

from __future__ import annotations

from playbill.runtime import PIPELINE, PolicyContext, ResultEnvelope, approve_and_complete, vet


class TestsFirst:
    """Executor steps with validators skip the review (their tests judge them); others do not."""

    def start(self, ctx: PolicyContext, step: str) -> bool:
        """Assign as the pipeline does."""
        return PIPELINE.start(ctx, step)

    def on_result(self, ctx: PolicyContext, result: ResultEnvelope) -> None:
        """Record results as the pipeline does."""
        PIPELINE.on_result(ctx, result)

    def advance(self, ctx: PolicyContext, step: str) -> None:
        """Vet (reviewing only steps without validators), then approve and complete."""
        found = ctx.state.steps[step]
        if vet(ctx, step, found.attempts[-1].number, review=not found.spec.validators):
            found = ctx.state.steps[step]
            approve_and_complete(ctx, found, found.attempts[-1])


class NeverReviews:
    """The pipeline without any review: another class, to redefine a name with."""

    def start(self, ctx: PolicyContext, step: str) -> bool:
        """Assign as the pipeline does."""
        return PIPELINE.start(ctx, step)

    def on_result(self, ctx: PolicyContext, result: ResultEnvelope) -> None:
        """Record results as the pipeline does."""
        PIPELINE.on_result(ctx, result)

    def advance(self, ctx: PolicyContext, step: str) -> None:
        """Vet without review, then approve and complete."""
        found = ctx.state.steps[step]
        if vet(ctx, step, found.attempts[-1].number, review=False):
            found = ctx.state.steps[step]
            approve_and_complete(ctx, found, found.attempts[-1])
