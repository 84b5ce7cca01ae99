"""What a result means for its step: verdicts, payloads, exit statuses, plans.

Pure readings of result envelopes, shared by the strategies.
"""

from __future__ import annotations

from typing import Final

from ..model._state import RunState
from ..model._values import (
    ExitStatus,
    Failure,
    FailureClass,
    Finding,
    ImplementationPayload,
    PayloadBase,
    Plan,
    PlanPayload,
    ResultEnvelope,
    ReviewOutcome,
    ReviewPayload,
    Role,
    Verdict,
    VerificationPayload,
)
from ._policy_context import clip

OUTCOMES: Final[dict[Verdict, ReviewOutcome]] = {
    "pass": "approved",
    "blocked": "replan_required",
    "request_changes": "changes_requested",
    "fail": "rejected",
}
"""What a reviewer's verdict means for the step."""

PAYLOADS: Final[dict[Role, type[PayloadBase]]] = {
    "planner": PlanPayload,
    "executor": ImplementationPayload,
    "reviewer": ReviewPayload,
    "verifier": VerificationPayload,
}
"""The payload each role's result must carry."""

EXIT_FAILURES: Final[dict[ExitStatus, tuple[FailureClass, str]]] = {
    "error": ("transient", "agent_error"),
    "timeout": ("transient", "timeout"),
    "cancelled": ("transient", "cancelled"),
    "crashed": ("agent", "crashed"),
}
"""The failure of a result that did not end ``ok``."""


def result_failure(role: Role, result: ResultEnvelope) -> Failure | None:
    """Why an attempt's own result fails it, or ``None``.

    It fails when it did not end ``ok``, or carries the wrong payload for its role.
    """
    if result.exit_status != "ok":
        failure_class, kind = EXIT_FAILURES.get(result.exit_status, ("transient", "agent_error"))
        gaps = "; ".join(g.detail for g in result.gaps)
        detail = f"{result.agent} ended with {result.exit_status}" + (f": {gaps}" if gaps else "")
        return Failure(failure_class=failure_class, kind=kind, detail=clip(detail))
    expected = PAYLOADS[role]
    if not isinstance(result.payload, expected):
        got = result.payload.__struct_config__.tag
        want = expected.__struct_config__.tag
        detail = f"a {role} step needs a {want} result, {result.agent} sent a {got} result"
        return Failure(failure_class="agent", kind="malformed_output", detail=detail)
    return None


def findings_text(findings: tuple[Finding, ...]) -> str:
    """A review's findings on one line, for failures fed back to the next attempt."""
    parts = []
    for f in findings:
        where = (
            f"{f.path}:{f.line}: "
            if f.path and f.line is not None
            else f"{f.path}: "
            if f.path
            else ""
        )
        parts.append(f"[{f.severity}] {where}{f.message}")
    return "; ".join(parts)


def merged_plan(state: RunState, proposal: PlanPayload) -> Plan | None:
    """The plan with a planner's proposed steps and criteria added, if it adds any.

    Steps and criteria already planned are kept as they are (steps with the
    specs the policy may have changed, such as a swapped validator).
    """
    plan = state.plan or Plan()
    current = [s.spec for s in state.steps.values()]
    ids = {s.id for s in current}
    steps = []
    for spec in proposal.steps:
        if spec.id not in ids:
            ids.add(spec.id)
            steps.append(spec)
    criterion_ids = {c.id for c in plan.criteria}
    criteria = []
    for criterion in proposal.criteria:
        if criterion.id not in criterion_ids:
            criterion_ids.add(criterion.id)
            criteria.append(criterion)
    if not steps and not criteria:
        return None
    return Plan(steps=(*current, *steps), agents=plan.agents, criteria=(*plan.criteria, *criteria))


def summary(result: ResultEnvelope) -> str:
    """A one-line summary of a result, for ``step_completed``."""
    payload = result.payload
    if isinstance(payload, ImplementationPayload):
        return payload.summary
    if isinstance(payload, PlanPayload):
        return f"{len(payload.steps)} steps proposed" + (
            f": {payload.rationale}" if payload.rationale else ""
        )
    if isinstance(payload, ReviewPayload):
        return f"review verdict: {payload.verdict}"
    checks = payload.checks
    return f"{sum(c.passed for c in checks)} of {len(checks)} checks passed"
