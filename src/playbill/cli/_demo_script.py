"""A small builder for scripted journals, recorded through today's policy.

``DemoScript`` journals the facts of a story (what the user, the agents, the
integrator and the clock say) at the times the story gives, and after each
fact it journals the supervisor's reactions exactly as a run's writer does,
with the same ``cascade``: the policy (``decide``) is called on the state
folded up to the fact, and its commands follow the fact at the same time,
each folded and reacted to in turn, breadth first. So every supervisor
entry of a scripted journal is what the policy decides, and
``replay --check`` finds no divergence in it.

The story only says what the others do; its helpers are the common moves of
the protocol (start an attempt, report usage, propose a result, review,
verify, merge, let a timer fire). Each returns the seq of the entry it
journaled, and the script checks that the policy asked for the move first
(an attempt is assigned before it starts, a review requested before it is
given), so a story that drifts from the policy fails loudly when it is built.
"""

from __future__ import annotations

from typing import TypeVar

import attrs

from playbill.runtime import (
    CascadePolicy,
    Check,
    Draft,
    Evidence,
    Finding,
    Heartbeat,
    ImplementationPayload,
    MergeRequested,
    Message,
    ResultEnvelope,
    ResultProposed,
    ReviewPayload,
    ReviewRequested,
    Role,
    RolePayload,
    RunState,
    StepAssigned,
    StepStarted,
    TimerFired,
    Usage,
    UsageReported,
    Verdict,
    VerificationPayload,
    VerificationRequested,
    WorkspaceCreated,
    WorkspaceMerged,
    cascade,
    decide,
    initial_state,
)

SECOND = 1_000_000
"""Microseconds in a second."""

SCRIPT_RUN_ID = "demo-0000"
"""The run id entries carry while the script is built (a journal gives its own)."""

# Addresses of the actors that are not agents.
USER = "cli"
SUPERVISOR = "supervisor"
TIMERS = "timers"
INTEGRATOR = "integrator"

INTEGRATION_BRANCH = "playbill/integration"
"""The branch the scripted integrator applies accepted work onto."""


_M = TypeVar("_M", StepAssigned, ReviewRequested, VerificationRequested, MergeRequested)


class ScriptError(Exception):
    """A story asked for a move the policy had not asked for (a bug in the story)."""


@attrs.define
class DemoScript:
    """Journals a story's facts and the policy's reactions to them.

    Attributes:
        now_us: The time of the last entry (the start time before any).
        drafts: Every draft so far, in journal order (the n-th gets seq n).
        times_us: The time of each draft.
        state: The run's state after the last draft.
        policy: The supervisor's policy, run as the writer runs it (``cascade``).
    """

    now_us: int
    drafts: list[Draft] = attrs.Factory(list)
    times_us: list[int] = attrs.Factory(list)
    state: RunState = attrs.Factory(initial_state)
    policy: CascadePolicy = attrs.Factory(lambda: CascadePolicy(decide))

    def send(self, msg: Message, sender: str, *, after_s: float = 0.0, to: str = SUPERVISOR) -> int:
        """Journal a fact ``after_s`` seconds after the last entry, then the reactions to it.

        Returns:
            The fact's seq.
        """
        self.now_us += round(after_s * SECOND)
        seq = self.state.last_seq + 1
        draft = Draft(msg=msg, sender=sender, recipient=to)
        done = cascade(self.state, draft.stamp(SCRIPT_RUN_ID, seq, self.now_us), self.policy)
        if not done.entries:
            raise ScriptError(f"the policy refused {type(msg).__name__} at seq {seq}")
        for entry in done.entries:
            self.drafts.append(
                Draft(
                    msg=entry.msg, sender=entry.sender, recipient=entry.recipient, cause=entry.cause
                )
            )
            self.times_us.append(entry.at_us)
        self.state = done.state
        return seq

    # ------------------------------------------------------------- attempts

    def start(self, agent: str, step: str, attempt: int, *, after_s: float) -> int:
        """The agent starts an attempt the policy assigned to it."""
        self._expect_assigned(agent, step, attempt)
        return self.send(
            StepStarted(step=step, agent=agent, attempt=attempt), agent, after_s=after_s
        )

    def workspace(self, agent: str, step: str, attempt: int, base: str, *, after_s: float) -> int:
        """The agent's attempt gets its worktree, from ``base``."""
        msg = WorkspaceCreated(
            step=step,
            attempt=attempt,
            path=f"~/.local/share/playbill/worktrees/ledger/{step}-{attempt}",
            branch=f"playbill/{step}/{attempt}",
            base_commit=base,
        )
        return self.send(msg, agent, after_s=after_s)

    def heartbeat(
        self, agent: str, step: str, attempt: int, progress: str, *, after_s: float
    ) -> int:
        """The agent shows progress on an attempt (or a review, or a verification)."""
        msg = Heartbeat(agent=agent, step=step, attempt=attempt, progress=progress)
        return self.send(msg, agent, after_s=after_s)

    def propose(
        self,
        agent: str,
        role: Role,
        step: str,
        attempt: int,
        payload: RolePayload,
        usage: Usage,
        *,
        after_s: float,
        evidence: tuple[Evidence, ...] = (),
    ) -> int:
        """The agent reports its usage, then proposes its result; return the result's seq."""
        reported = UsageReported(agent=agent, usage=usage, step=step, attempt=attempt)
        self.send(reported, agent, after_s=after_s)
        result = ResultEnvelope(
            agent=agent,
            role=role,
            step=step,
            attempt=attempt,
            exit_status="ok",
            exit_code=0,
            payload=payload,
            usage=usage,
            evidence=evidence,
        )
        return self.send(ResultProposed(result=result), agent, after_s=0.1)

    def implement(
        self,
        agent: str,
        step: str,
        attempt: int,
        payload: ImplementationPayload,
        usage: Usage,
        *,
        after_s: float,
        evidence: tuple[Evidence, ...] = (),
    ) -> int:
        """An executor proposes its implementation; return the result's seq."""
        return self.propose(
            agent, "executor", step, attempt, payload, usage, after_s=after_s, evidence=evidence
        )

    def review(
        self,
        reviewer: str,
        step: str,
        attempt: int,
        verdict: Verdict,
        usage: Usage,
        *,
        after_s: float,
        findings: tuple[Finding, ...] = (),
    ) -> int:
        """The reviewer gives the verdict the policy asked for; return the result's seq."""
        if not self._requested(ReviewRequested, step, attempt):
            raise ScriptError(f"nobody asked for a review of {step}#{attempt}")
        payload = ReviewPayload(verdict=verdict, findings=findings)
        return self.propose(reviewer, "reviewer", step, attempt, payload, usage, after_s=after_s)

    def verify(
        self,
        verifier: str,
        step: str,
        attempt: int,
        checks: tuple[Check, ...],
        usage: Usage,
        *,
        after_s: float,
        evidence: tuple[Evidence, ...] = (),
    ) -> int:
        """The verifier reports the checks the policy asked for; return the result's seq."""
        if not self._requested(VerificationRequested, step, attempt):
            raise ScriptError(f"nobody asked to verify {step}#{attempt}")
        payload = VerificationPayload(checks=checks)
        return self.propose(
            verifier, "verifier", step, attempt, payload, usage, after_s=after_s, evidence=evidence
        )

    def merged(self, step: str, attempt: int, commit: str, *, after_s: float) -> int:
        """The integrator applies an accepted attempt the policy asked it to merge."""
        if not self._requested(MergeRequested, step, attempt):
            raise ScriptError(f"nobody asked to merge {step}#{attempt}")
        msg = WorkspaceMerged(
            step=step, attempt=attempt, status="applied", into=INTEGRATION_BRANCH, commit=commit
        )
        return self.send(msg, INTEGRATOR, after_s=after_s)

    def fire(self, purpose: str) -> int:
        """The earliest pending timer for ``purpose`` fires, at its due time."""
        due = [t for t in self.state.timers.values() if t.purpose == purpose]
        if not due:
            raise ScriptError(f"no {purpose} timer is pending")
        timer = min(due, key=lambda t: (t.due_us, t.timer))
        self.now_us = max(self.now_us, timer.due_us)
        return self.send(TimerFired(timer=timer.timer), TIMERS)

    # --------------------------------------------------------------- checks

    def _expect_assigned(self, agent: str, step: str, attempt: int) -> None:
        assigned = self._commands(StepAssigned, step, attempt)
        if not assigned:
            raise ScriptError(f"{step}#{attempt} was never assigned")
        if assigned[-1].agent != agent:
            raise ScriptError(f"{step}#{attempt} was assigned to {assigned[-1].agent}, not {agent}")

    def _requested(self, kind: type[_M], step: str, attempt: int) -> bool:
        return bool(self._commands(kind, step, attempt))

    def _commands(self, kind: type[_M], step: str, attempt: int) -> list[_M]:
        """The supervisor's commands of type ``kind`` for ``step``'s attempt, oldest first."""
        return [
            draft.msg
            for draft in self.drafts
            if draft.sender == SUPERVISOR
            and isinstance(draft.msg, kind)
            and (draft.msg.step, draft.msg.attempt) == (step, attempt)
        ]
