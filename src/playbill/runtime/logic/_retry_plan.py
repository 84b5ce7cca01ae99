"""The retry plan: how a run would resume, computed from its stored state alone.

``retry_plan(state)`` answers the six questions of a resume, deterministically
(the same state gives the same plan, in plan order):

1. **Why resuming**: the run's status and reason, the work it left in flight,
   the people it waits on, and its latest failure.
2. **What is invalidated**: work in flight (an attempt being implemented, a
   review or verification being done), which a resume interrupts and asks
   again; and completed steps whose proof went stale (their accepted work was
   not integrated, or a step they depend on is no longer done or was done
   again after them).
3. **What proof is reusable**: every other completed step, with its accepted
   attempt, its agent and its evidence. Finished work is never redone.
4. **From which stage** each step not done resumes: ``implement`` (a new
   attempt), ``review`` or ``verify`` (its proposed result is kept and goes
   on through the pipeline), or ``integrate`` (its accepted work waits to be
   merged).
5. **Which agents change**: agents that crashed, stopped answering or ran out
   of budget, each with the agent that would take its place.
6. **Which human inputs block**: the approval requests the run waits for.

``render_retry_plan`` prints it as plain text (``playbill retry-plan RUN``).
"""

from __future__ import annotations

from ..model._state import AgentState, RunState, StepState
from ._humans import is_live
from ._retry_plan_types import (
    AgentChange,
    BlockingInput,
    InvalidatedWork,
    ResumePoint,
    RetryPlan,
    ReusableProof,
    Stage,
)
from ._scheduling import DONE
from ._work import claimed_work, current_attempt

__all__ = [
    "AgentChange",
    "BlockingInput",
    "InvalidatedWork",
    "ResumePoint",
    "RetryPlan",
    "ReusableProof",
    "Stage",
    "render_retry_plan",
    "retry_plan",
]


def retry_plan(state: RunState) -> RetryPlan:
    """The retry plan of a run, from its state alone (see the module).

    A run that ended (completed, failed, cancelled) cannot be resumed, as
    ``playbill resume`` says: its plan says so and what can be done
    instead, keeps the reusable proof, and has nothing to resume.
    """
    if state.is_terminal:
        return _ended(state)
    stale = {step.spec.id: why for step in state.steps.values() if (why := _stale(state, step))}
    blocking = tuple(
        BlockingInput(request=a.request, prompt=a.prompt, step=a.step)
        for a in state.approvals.values()
        if is_live(state, a)
    )
    return RetryPlan(
        run_id=state.run_id,
        status=state.status,
        as_of_seq=state.last_seq,
        why_resuming=_why(state, len(blocking)),
        invalidated=_invalidated(state, stale),
        reusable_proof=tuple(
            _proof(step)
            for step in state.steps.values()
            if step.status == "completed" and step.spec.id not in stale
        ),
        resume_from=tuple(
            point for step in state.steps.values() if (point := _resume(state, step, stale))
        ),
        agent_changes=tuple(
            _change(state, agent)
            for agent in state.agents.values()
            if agent.status in ("failed", "unresponsive") or agent.budget_exhausted
        ),
        human_inputs_blocking=blocking,
    )


def _ended(state: RunState) -> RetryPlan:
    """The plan of a run that ended: it cannot be resumed."""
    failed = [s.spec.id for s in state.steps.values() if s.status not in DONE]
    if state.status == "completed":
        instead = "nothing: the run completed"
    else:
        steps = f" (the steps not done: {', '.join(failed)})" if failed else ""
        labels = state.labels
        command = "playbill run PLAN"
        if "plan" in labels and "repo" in labels:  # a real run: its plan file and repository
            command = f"playbill run {labels['plan']} --repo {labels['repo']}"
        instead = (
            f"start a new run of its plan: `{command}`{steps}; the proof below stays in "
            "this run's journal"
        )
    if state.status == "completed":
        why = "the run completed: there is nothing to resume"
    else:
        why = f"the run {state.status}, so it cannot be resumed"
        why += f": {state.reason}" if state.reason else ""
        last = _last_failure(state)
        why += f"; last failure: {last}" if last else ""
    return RetryPlan(
        run_id=state.run_id,
        status=state.status,
        as_of_seq=state.last_seq,
        why_resuming=why,
        resumable=False,
        instead=instead,
        reusable_proof=tuple(_proof(s) for s in state.steps.values() if s.status == "completed"),
    )


def _why(state: RunState, waiting: int) -> str:
    match state.status:
        case "new" | "created":
            why = "the run has no plan yet: there is nothing to resume"
        case "completed":
            why = "the run completed: there is nothing to resume"
        case "failed":
            why = f"the run failed: {state.reason}"
        case "cancelled":
            why = f"the run was cancelled: {state.reason or 'no reason given'}"
        case "paused":
            why = f"the run is paused: {state.reason or 'no reason given'}"
        case "running":
            in_flight = len(claimed_work(state))
            if in_flight:
                why = (
                    f"the run is running with {in_flight} piece(s) of work in flight; "
                    "if its process stopped, that work is lost"
                )
            elif waiting:
                why = f"the run waits on {waiting} answer(s) from a person"
            else:
                why = "the run is running"
    last = _last_failure(state)
    return f"{why}; last failure: {last}" if last and state.status != "completed" else why


def _last_failure(state: RunState) -> str:
    latest: tuple[int, str] | None = None
    for step in state.steps.values():
        for attempt in step.attempts:
            failure = attempt.failure
            if failure is None or attempt.ended_us is None:
                continue
            text = f"step {step.spec.id!r} attempt {attempt.number}: "
            text += f"{failure.failure_class}/{failure.kind}"
            if failure.detail:
                text += f" ({failure.detail})"
            if latest is None or attempt.ended_us >= latest[0]:
                latest = (attempt.ended_us, text)
    return latest[1] if latest else ""


def _stale(state: RunState, step: StepState) -> str:
    """Why a completed step's proof no longer holds, or ``""``."""
    if step.status != "completed" or step.completed_attempt is None:
        return ""
    workspace = state.workspaces.get(f"{step.spec.id}#{step.completed_attempt}")
    if workspace is not None and workspace.merge_status in ("conflicted", "blocked"):
        return f"its accepted work was not integrated ({workspace.merge_status})"
    accepted = step.attempt(step.completed_attempt)
    done_us = accepted.ended_us if accepted is not None else None
    for dep in step.spec.depends_on:
        other = state.steps.get(dep)
        if other is None:
            continue
        if other.status not in DONE:
            return f"it depends on {dep}, which is {other.status} again"
        theirs = other.attempt(other.completed_attempt) if other.completed_attempt else None
        if theirs and theirs.ended_us and done_us and theirs.ended_us > done_us:
            return f"it depends on {dep}, whose accepted work is newer"
    return ""


def _invalidated(state: RunState, stale: dict[str, str]) -> tuple[InvalidatedWork, ...]:
    out = []
    for work in claimed_work(state):
        reason = {
            "implement": "in flight: a resume interrupts it and starts a new attempt",
            "review": "review in flight: a resume asks for it again",
            "verify": "verification in flight: a resume asks for it again",
        }[work.kind]
        out.append(
            InvalidatedWork(step=work.step, attempt=work.attempt, agent=work.agent, reason=reason)
        )
    for sid, why in stale.items():
        step = state.steps[sid]
        accepted = step.attempt(step.completed_attempt or 0)
        if accepted is not None:
            out.append(
                InvalidatedWork(
                    step=sid,
                    attempt=accepted.number,
                    agent=accepted.agent,
                    reason=f"stale proof: {why}",
                )
            )
    return tuple(out)


def _proof(step: StepState) -> ReusableProof:
    accepted = step.attempt(step.completed_attempt or 0)
    if accepted is None:
        return ReusableProof(step=step.spec.id, attempt=step.completed_attempt or 0, agent="")
    passed = [v for v in accepted.validations if v.passed]
    evidence = tuple(
        dict.fromkeys(  # in order, each piece once
            (
                *(accepted.result.evidence if accepted.result is not None else ()),
                *(e for v in passed for e in v.evidence),
            )
        )
    )
    return ReusableProof(
        step=step.spec.id,
        attempt=accepted.number,
        agent=accepted.agent,
        validations=tuple(v.validator for v in passed),
        evidence=evidence,
    )


def _resume(state: RunState, step: StepState, stale: dict[str, str]) -> ResumePoint | None:
    sid = step.spec.id
    attempt = current_attempt(step)
    if step.status == "completed":
        if sid in stale:
            stage: Stage = "integrate" if "integrated" in stale[sid] else "implement"
            number = len(step.attempts) + 1 if stage == "implement" else step.completed_attempt
            return ResumePoint(step=sid, stage=stage, reason=stale[sid], attempt=number or 0)
        workspace = state.workspaces.get(f"{sid}#{step.completed_attempt}")
        if workspace is not None and workspace.merge_status == "pending":
            return ResumePoint(
                step=sid,
                stage="integrate",
                reason="its accepted work is not merged yet",
                attempt=step.completed_attempt or 0,
            )
        return None
    if step.status == "skipped":
        return None
    if step.status == "verify_pending" and attempt is not None and attempt.status == "proposed":
        reviewed = attempt.review is not None or attempt.verifier is not None or attempt.validations
        if step.spec.role == "executor" and not reviewed:
            return ResumePoint(
                step=sid,
                stage="review",
                reason=f"attempt {attempt.number} proposed a result; it is kept",
                attempt=attempt.number,
            )
        return ResumePoint(
            step=sid,
            stage="verify",
            reason=f"attempt {attempt.number} proposed a result and passed review",
            attempt=attempt.number,
        )
    # work in flight is lost to a resume (interrupted, never resumed): a new attempt follows
    next_attempt = len(step.attempts) + 1
    reasons = {
        "pending": "not started yet" if not step.attempts else "waits to be retried",
        "in_progress": f"attempt {len(step.attempts)} in flight is interrupted",
        "failed": f"attempt {len(step.attempts)} failed",
        "interrupted": f"attempt {len(step.attempts)} was interrupted",
        "blocked": f"blocked: {step.blocked_reason or 'no reason given'}",
    }
    reason = f"{reasons.get(step.status, step.status)}; next: attempt {next_attempt}"
    asked = [a for a in state.approvals.values() if a.step == sid and is_live(state, a)]
    if asked:
        reason += " if a person approves (or decides otherwise)"
    return ResumePoint(step=sid, stage="implement", reason=reason, attempt=next_attempt)


def _change(state: RunState, agent: AgentState) -> AgentChange:
    why = (
        "out of budget"
        if agent.budget_exhausted
        else "crashed"
        if agent.status == "failed"
        else "unresponsive"
    )
    roles = agent.spec.roles
    best: tuple[int, str] | None = None
    for other in state.agents.values():
        if (
            other.spec.id == agent.spec.id
            or other.budget_exhausted
            or other.status in ("failed", "unresponsive")
        ):
            continue
        shared = sum(1 for r in roles if r in other.spec.roles)
        if shared and (best is None or shared > best[0]):
            best = (shared, other.spec.id)
    return AgentChange(
        agent=agent.spec.id, why=why, roles=roles, replacement=best[1] if best else None
    )


def render_retry_plan(plan: RetryPlan) -> str:
    """The retry plan as plain text, one section per question."""
    lines = [
        f"Retry plan for run {plan.run_id} ({plan.status}, as of seq {plan.as_of_seq})",
        "",
        f"Why resuming: {plan.why_resuming}",
    ]
    if not plan.resumable:
        lines.append(f"Cannot be resumed; instead: {plan.instead}")

    def section(title: str, items: list[str], details: list[list[str]] | None = None) -> None:
        lines.extend(["", f"{title}:"])
        if not items:
            lines.append("  (none)")
        for i, item in enumerate(items):
            lines.append(f"  - {item}")
            lines.extend(f"      {detail}" for detail in (details[i] if details else ()))

    section(
        "Invalidated", [f"{w.step}#{w.attempt} ({w.agent}): {w.reason}" for w in plan.invalidated]
    )
    proofs = []
    for p in plan.reusable_proof:
        text = f"{p.step}#{p.attempt} by {p.agent or 'unknown'}"
        if p.validations:
            text += f"; passed: {', '.join(p.validations)}"
        proofs.append(text)
    evidence = [
        [f"{e.kind} {e.ref}" + (f": {e.detail}" if e.detail else "") for e in p.evidence]
        for p in plan.reusable_proof
    ]
    section("Reusable proof", proofs, evidence)
    section("Resume from", [f"{r.step}: {r.stage} ({r.reason})" for r in plan.resume_from])
    section(
        "Agent changes",
        [f"{c.agent} ({c.why}) -> {c.replacement or 'no replacement'}" for c in plan.agent_changes],
    )
    section(
        "Human inputs blocking",
        [
            f"{h.request}" + (f" (step {h.step})" if h.step else "") + f": {h.prompt}"
            for h in plan.human_inputs_blocking
        ],
    )
    return "\n".join(lines) + "\n"
