"""The ``parallel`` strategy: the pipeline without its review stage.

Every strategy already runs independent steps at once: the scheduler starts
each ready step whose scope is free on the first free agent that fits (see
``_scheduling``). What ``parallel`` changes is the path of one attempt: an
executor's result goes straight to verification, with no reviewer asked, so
reviewers are never waited for and an attempt completes one stage sooner.
Everything else is the pipeline's: assignment, a reviewer step's own
verdict, verification by another agent (validators fail closed), human
approvals, integration, retries and budgets.

What it trades: review findings. Use it where validators (tests, builds,
commands) are the real judge, and for throughput; keep ``pipeline`` or
``review_loop`` where a reviewer's reading matters.
"""

from __future__ import annotations

from typing import Final, final

from ..model._values import ResultEnvelope
from ._pipeline import PIPELINE, vet_and_complete
from ._policy_context import PolicyContext


@final
class Parallel:
    """Implement, verify, integrate, complete: no review stage (see the module)."""

    name = "parallel"

    def start(self, ctx: PolicyContext, step: str) -> bool:
        """Assign the step's next attempt as the pipeline does."""
        return PIPELINE.start(ctx, step)

    def on_result(self, ctx: PolicyContext, result: ResultEnvelope) -> None:
        """Record a verification's checks as the pipeline does."""
        PIPELINE.on_result(ctx, result)

    def advance(self, ctx: PolicyContext, step: str) -> None:
        """Verify the proposed attempt (no review), then complete it."""
        vet_and_complete(ctx, step, review=False)


PARALLEL: Final = Parallel()
"""The parallel strategy."""
