"""The retry plan's values: what ``retry_plan`` answers (see ``_retry_plan``)."""

from __future__ import annotations

from typing import Literal, TypeAlias

from ..model._values import Evidence, Role, Value

Stage: TypeAlias = Literal["implement", "review", "verify", "integrate"]
"""Where a step resumes."""


class InvalidatedWork(Value, frozen=True):
    """Work a resume cannot keep.

    Attributes:
        step: The step.
        attempt: The attempt.
        agent: Who did or was doing the work.
        reason: Why it is invalidated.
    """

    step: str
    attempt: int
    agent: str
    reason: str


class ReusableProof(Value, frozen=True):
    """A completed step whose accepted work stands.

    Attributes:
        step: The step.
        attempt: Its accepted attempt.
        agent: The agent that did it.
        validations: The validators that passed for it.
        evidence: Its proof: the result's evidence, then the validations'.
    """

    step: str
    attempt: int
    agent: str
    validations: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()


class ResumePoint(Value, frozen=True):
    """Where a step not done resumes, and why there.

    Attributes:
        step: The step.
        stage: Where it resumes.
        reason: Why there.
        attempt: The attempt the resumed run works on: the new attempt it
            assigns (``implement``: lost work is never resumed, so an
            attempt in flight is followed by a new one), the attempt whose
            result it keeps (``review``, ``verify``), or the accepted one
            (``integrate``).
    """

    step: str
    stage: Stage
    reason: str
    attempt: int = 0


class AgentChange(Value, frozen=True):
    """An agent that cannot go on, and the one that would take its place.

    Attributes:
        agent: The agent.
        why: ``crashed``, ``unresponsive`` or ``out of budget``.
        roles: Its roles.
        replacement: The first healthy agent of the plan that shares the most
            of its roles, or ``None`` when there is none.
    """

    agent: str
    why: str
    roles: tuple[Role, ...]
    replacement: str | None = None


class BlockingInput(Value, frozen=True):
    """A person's answer the run waits for."""

    request: str
    prompt: str
    step: str | None = None


class RetryPlan(Value, frozen=True):
    """How a run would resume: the six answers of ``retry_plan`` (see the module).

    Attributes:
        run_id: The run.
        status: Its status.
        as_of_seq: The seq of the last entry the plan accounts for.
        why_resuming: Why a resume is needed, in a sentence or two.
        invalidated: Work that cannot be kept.
        reusable_proof: Completed work that stands.
        resume_from: Where each step not done resumes.
        agent_changes: Agents to replace.
        human_inputs_blocking: Answers the run waits for.
        resumable: Whether ``playbill resume`` continues the run: not once
            it completed, failed or was cancelled (then every other section
            but the reusable proof is empty).
        instead: For a run that cannot be resumed, what can be done.
    """

    run_id: str
    status: str
    as_of_seq: int
    why_resuming: str
    resumable: bool = True
    instead: str = ""
    invalidated: tuple[InvalidatedWork, ...] = ()
    reusable_proof: tuple[ReusableProof, ...] = ()
    resume_from: tuple[ResumePoint, ...] = ()
    agent_changes: tuple[AgentChange, ...] = ()
    human_inputs_blocking: tuple[BlockingInput, ...] = ()
