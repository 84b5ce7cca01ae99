"""A small builder for scripted journals: the demo's story is told with it.

``DemoScript`` appends drafts with the time each is recorded at, and returns
the seq each will get, so that later drafts can name their cause. Its helpers
are the protocol's common moves (assign with a heartbeat timer, propose a
result, review, merge); each appends the entries the runtime would.
"""

from __future__ import annotations

import attrs

from playbill.runtime.model._entry import Draft
from playbill.runtime.model._messages import (
    Heartbeat,
    Message,
    ResultProposed,
    ReviewGiven,
    StepAssigned,
    StepCompleted,
    StepStarted,
    TimerCancelled,
    TimerSet,
    UsageReported,
    ValidationPassed,
    WorkspaceCreated,
    WorkspaceMerged,
)
from playbill.runtime.model._values import (
    AgentSpec,
    Evidence,
    Failure,
    Finding,
    ResultEnvelope,
    RolePayload,
    Usage,
)

from ._demo_cast import AGENTS

SECOND = 1_000_000
"""Microseconds in a second."""

# Addresses of the actors that are not agents.
USER = "cli"
SUPERVISOR = "supervisor"
CLOCK = "clock"
VALIDATORS = "validators"
WORKSPACES = "workspaces"


@attrs.define
class DemoScript:
    """Builds drafts and their times; ``send`` returns the seq each draft will get.

    Attributes:
        now_us: The time of the last draft (the start time before any).
        drafts: The drafts so far.
        times_us: The time of each draft.
    """

    now_us: int
    drafts: list[Draft] = attrs.Factory(list)
    times_us: list[int] = attrs.Factory(list)

    def send(
        self,
        msg: Message,
        sender: str,
        *,
        after_s: float = 0.0,
        to: str = "*",
        cause: int | None = None,
    ) -> int:
        """Append a draft ``after_s`` seconds after the previous one; return its seq."""
        self.now_us += round(after_s * SECOND)
        self.drafts.append(Draft(msg=msg, sender=sender, recipient=to, cause=cause))
        self.times_us.append(self.now_us)
        return len(self.drafts)

    def due(self, in_s: float) -> int:
        """The time ``in_s`` seconds from now, for timers."""
        return self.now_us + round(in_s * SECOND)

    def assign(
        self,
        step: str,
        agent: str,
        attempt: int,
        *,
        cause: int,
        heartbeat_s: float,
        feedback: Failure | None = None,
    ) -> int:
        """Assign an attempt and arm its heartbeat timer; return the assignment's seq."""
        assigned = self.send(
            StepAssigned(
                step=step,
                agent=agent,
                attempt=attempt,
                heartbeat_timeout_s=heartbeat_s,
                feedback=feedback,
            ),
            SUPERVISOR,
            after_s=0.1,
            to=agent,
            cause=cause,
        )
        timer = TimerSet(
            timer=heartbeat_timer(step, attempt),
            due_us=self.due(heartbeat_s),
            purpose="heartbeat",
            step=step,
            attempt=attempt,
            agent=agent,
        )
        self.send(timer, SUPERVISOR, to=SUPERVISOR, cause=assigned)
        return assigned

    def start(self, step: str, agent: str, attempt: int, *, cause: int, after_s: float) -> None:
        msg = StepStarted(step=step, agent=agent, attempt=attempt)
        self.send(msg, agent, after_s=after_s, to=SUPERVISOR, cause=cause)

    def heartbeat(self, agent: str, step: str, attempt: int, progress: str, after_s: float) -> None:
        msg = Heartbeat(agent=agent, step=step, attempt=attempt, progress=progress)
        self.send(msg, agent, after_s=after_s, to=SUPERVISOR)

    def workspace(self, step: str, attempt: int, base: str, *, cause: int) -> None:
        msg = WorkspaceCreated(
            step=step,
            attempt=attempt,
            path=f".playbill/worktrees/{step}-{attempt}",
            branch=f"playbill/{step}/{attempt}",
            base_commit=base,
        )
        self.send(msg, WORKSPACES, after_s=0.7, cause=cause)

    def propose(
        self,
        agent: AgentSpec,
        step: str,
        attempt: int,
        payload: RolePayload,
        usage: Usage,
        evidence: tuple[Evidence, ...],
        *,
        cause: int,
        after_s: float,
    ) -> int:
        """Report usage, propose a result, drop the heartbeat timer; return the result's seq."""
        reported = UsageReported(agent=agent.id, usage=usage, step=step, attempt=attempt)
        self.send(reported, agent.id, after_s=after_s, to=SUPERVISOR, cause=cause)
        result = ResultEnvelope(
            agent=agent.id,
            role=agent.roles[0],
            step=step,
            attempt=attempt,
            exit_status="ok",
            exit_code=0,
            payload=payload,
            usage=usage,
            evidence=evidence,
        )
        proposed = self.send(
            ResultProposed(result=result), agent.id, after_s=0.1, to=SUPERVISOR, cause=cause
        )
        cancelled = TimerCancelled(timer=heartbeat_timer(step, attempt))
        self.send(cancelled, SUPERVISOR, after_s=0.05, to=SUPERVISOR, cause=proposed)
        return proposed

    def validated(
        self,
        step: str,
        attempt: int,
        validator: str,
        proof: Evidence,
        *,
        cause: int,
        after_s: float,
    ) -> int:
        msg = ValidationPassed(
            step=step, attempt=attempt, validator=validator, evidence=(proof,), score=1.0
        )
        return self.send(msg, VALIDATORS, after_s=after_s, cause=cause)

    def review(
        self,
        step: str,
        attempt: int,
        usage: Usage,
        *,
        approve: bool,
        cause: int,
        after_s: float,
        findings: tuple[Finding, ...] = (),
    ) -> int:
        """The reviewer reports its usage and its verdict; return the verdict's seq."""
        reviewer = AGENTS[3].id
        reported = UsageReported(agent=reviewer, usage=usage, step=step)
        self.send(reported, reviewer, after_s=after_s, to=SUPERVISOR, cause=cause)
        verdict = ReviewGiven(
            step=step,
            attempt=attempt,
            reviewer=reviewer,
            verdict="pass" if approve else "request_changes",
            outcome="approved" if approve else "changes_requested",
            round=attempt,
            findings=findings,
        )
        return self.send(verdict, reviewer, after_s=0.1, to=SUPERVISOR, cause=cause)

    def merged(
        self, step: str, attempt: int, commit: str | None, detail: str, *, cause: int
    ) -> None:
        msg = WorkspaceMerged(
            step=step,
            attempt=attempt,
            status="applied" if commit is not None else "blocked",
            into="main",
            commit=commit,
            detail=detail,
        )
        self.send(msg, WORKSPACES, after_s=0.6, cause=cause)

    def complete(self, step: str, attempt: int, summary: str, *, cause: int) -> int:
        msg = StepCompleted(step=step, attempt=attempt, summary=summary)
        return self.send(msg, SUPERVISOR, after_s=0.05, cause=cause)


def heartbeat_timer(step: str, attempt: int) -> str:
    """The id of the heartbeat timer of an attempt."""
    return f"heartbeat:{step}#{attempt}"
