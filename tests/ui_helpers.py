"""Helpers for the web view's tests: a run holding hostile text, an app to request pages of."""

from __future__ import annotations

from playbill.runtime import (
    AgentSpec,
    Draft,
    Failure,
    ImplementationPayload,
    Journal,
    NoteWritten,
    Plan,
    PlanAttached,
    ResultEnvelope,
    ResultProposed,
    RunCreated,
    StepAssigned,
    StepFailed,
    StepSpec,
    StepStarted,
    ValidationFailed,
)

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>'
"""Agent output that would run script if a page let it through as markup."""

HOSTILE_RUN = "hostile-1"


def hostile_drafts() -> list[Draft]:
    """A run whose one attempt proposes, prints and notes ``HOSTILE``, and fails."""
    plan = Plan(
        steps=(StepSpec(id="s1", goal=f"goal {HOSTILE}"),),
        agents=(AgentSpec(id="a1", roles=("executor",), backend="claude_code"),),
    )
    result = ResultEnvelope(
        agent="a1",
        role="executor",
        step="s1",
        attempt=1,
        exit_status="ok",
        payload=ImplementationPayload(summary=f"summary {HOSTILE}", changed_files=(HOSTILE,)),
    )
    failure = Failure(failure_class="validation", kind="tests_failed", detail=f"detail {HOSTILE}")
    return [
        Draft(msg=RunCreated(goal=f"run {HOSTILE}", labels={"team": "red"}), sender="api"),
        Draft(msg=PlanAttached(plan=plan), sender="api"),
        Draft(msg=StepAssigned(step="s1", agent="a1", attempt=1), sender="supervisor"),
        Draft(msg=StepStarted(step="s1", agent="a1", attempt=1), sender="a1"),
        Draft(msg=ResultProposed(result=result), sender="a1"),
        Draft(
            msg=ValidationFailed(
                step="s1",
                attempt=1,
                validator="tests_pass",
                failure=failure,
                output_tail=f"tail {HOSTILE}",
            ),
            sender="supervisor",
            cause=5,
        ),
        Draft(msg=StepFailed(step="s1", attempt=1, failure=failure), sender="supervisor", cause=6),
        Draft(msg=NoteWritten(author="a1", text=f"note {HOSTILE}"), sender="a1"),
    ]


async def write_hostile_run(journal: Journal, run_id: str = HOSTILE_RUN) -> None:
    """Journal ``hostile_drafts`` as run ``run_id``."""
    async with journal.writer(run_id) as writer:
        await writer.append(hostile_drafts())
