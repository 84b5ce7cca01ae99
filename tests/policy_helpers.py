"""A driver for ``decide``: what the journal writer does, without a journal.

``Driver.send`` journals one entry (dense seq, the driver's clock), then, as the
writer's reactor does, folds it, calls ``decide`` and stamps the drafts right
after it with the same time, breadth first, deciding on each in turn. It
returns the supervisor's messages the entry caused, and checks on the way that
the cascade is one level deep and that nothing folds into an anomaly.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any, TypeVar

import factories
from playbill.runtime.logic._policy import decide
from playbill.runtime.logic._reducer import evolve
from playbill.runtime.model._entry import Entry
from playbill.runtime.model._messages import (
    Heartbeat,
    Message,
    PlanAttached,
    ResultProposed,
    RunCreated,
    StepStarted,
    TimerFired,
    UsageReported,
)
from playbill.runtime.model._state import RunState, initial_state
from playbill.runtime.model._values import (
    AgentSpec,
    Budget,
    Check,
    ExitStatus,
    ImplementationPayload,
    Plan,
    PolicySettings,
    ResultEnvelope,
    ReviewPayload,
    RolePayload,
    StepSpec,
    Usage,
    VerificationPayload,
)

SECOND = 1_000_000
START_US = 1_700_000_000 * SECOND
M = TypeVar("M")

EX = AgentSpec(id="ex", roles=("executor",))
EX2 = AgentSpec(id="ex2", roles=("executor",))
REV = AgentSpec(id="rev", roles=("reviewer",), edits_files=False)
VER = AgentSpec(id="ver", roles=("verifier",), edits_files=False)


class Driver:
    """One run, driven entry by entry (see the module)."""

    def __init__(
        self,
        plan: Plan,
        *,
        policy: PolicySettings | None = None,
        budget: Budget | None = None,
        strategy: str = "pipeline",
    ) -> None:
        self.entries: list[Entry] = []
        self.state: RunState = initial_state()
        self.now_us = START_US
        self.max_depth = 0
        created = RunCreated(
            goal="g",
            policy=policy or PolicySettings(),
            budget=budget or Budget(),
            strategy=strategy,
        )
        self.send(created, sender="cli")
        self.first = self.send(PlanAttached(plan=plan), sender="cli")

    # ------------------------------------------------------------- journal

    def send(
        self, msg: Message, *, sender: str = "agent", after_s: float = 0.0, to: str = "supervisor"
    ) -> list[Message]:
        """Journal ``msg`` and the supervisor's cascade; return the cascade's messages."""
        self.now_us += round(after_s * SECOND)
        root = self._entry(msg, sender, to, None)
        queue: collections.deque[tuple[Entry, int]] = collections.deque([(root, 0)])
        caused: list[Message] = []
        seq = root.seq
        while queue:
            entry, depth = queue.popleft()
            self.max_depth = max(self.max_depth, depth)
            self.state = evolve(self.state, entry)
            self.entries.append(entry)
            assert self.state.anomaly_count == 0, self.state.anomalies
            if entry is not root:
                caused.append(entry.msg)
            drafts = decide(self.state, entry)
            assert depth == 0 or not drafts, f"decide reacted to its own {entry.msg}"
            for draft in drafts:
                assert draft.sender == "supervisor" and draft.cause == entry.seq
                seq += 1
                stamped = draft.stamp("run", seq, self.now_us)
                queue.append((stamped, depth + 1))
        return caused

    def _entry(self, msg: Message, sender: str, to: str, cause: int | None) -> Entry:
        seq = self.state.last_seq + 1
        return factories.entry(
            msg, seq=seq, run_id="run", at_us=self.now_us, sender=sender, recipient=to, cause=cause
        )

    def recipients(self, kind: type[Any]) -> list[str]:
        """Recipients of the journal's messages of a type, in order."""
        return [e.recipient for e in self.entries if isinstance(e.msg, kind)]

    # ------------------------------------------------------ agents' moves

    def start(self, step: str, agent: str, attempt: int = 1) -> list[Message]:
        return self.send(StepStarted(step=step, agent=agent, attempt=attempt), sender=agent)

    def heartbeat(self, agent: str, *, after_s: float = 0.0) -> list[Message]:
        return self.send(Heartbeat(agent=agent), sender=agent, after_s=after_s)

    def usage(
        self, agent: str, step: str | None = None, attempt: int | None = None, **usage: Any
    ) -> list[Message]:
        msg = UsageReported(agent=agent, usage=Usage(**usage), step=step, attempt=attempt)
        return self.send(msg, sender=agent)

    def propose(
        self,
        step: str,
        agent: str,
        attempt: int = 1,
        payload: RolePayload | None = None,
        *,
        role: str | None = None,
        exit_status: ExitStatus = "ok",
        after_s: float = 0.0,
        **envelope: Any,
    ) -> list[Message]:
        spec = self.state.steps[step].spec
        result = ResultEnvelope(
            agent=agent,
            role=role or spec.role,  # type: ignore[arg-type]
            step=step,
            attempt=attempt,
            exit_status=exit_status,
            payload=payload or ImplementationPayload(summary="done"),
            **envelope,
        )
        return self.send(ResultProposed(result=result), sender=agent, after_s=after_s)

    def review(self, step: str, reviewer: str, verdict: str, attempt: int = 1, **kw: Any):
        payload = ReviewPayload(verdict=verdict, **kw)  # type: ignore[arg-type]
        return self.propose(step, reviewer, attempt, payload, role="reviewer")

    def verify(self, step: str, verifier: str, *checks: bool, attempt: int = 1):
        payload = VerificationPayload(
            checks=tuple(Check(name=f"check{i}", passed=p) for i, p in enumerate(checks))
        )
        return self.propose(step, verifier, attempt, payload, role="verifier")

    def fire(self, timer: str, *, at_due: bool = True) -> list[Message]:
        """Fire a pending timer (at its due time, unless that is past)."""
        due = self.state.timers[timer].due_us
        if at_due and due > self.now_us:
            self.now_us = due
        return self.send(TimerFired(timer=timer), sender="timers")

    def fire_due(self) -> list[Message]:
        """Fire every timer due by now, in (due, set seq) order."""
        out: list[Message] = []
        while True:
            due = sorted(
                (t for t in self.state.timers.values() if t.due_us <= self.now_us),
                key=lambda t: (t.due_us, t.set_seq),
            )
            if not due:
                return out
            out += self.fire(due[0].timer)

    def later(self, seconds: float) -> None:
        self.now_us += round(seconds * SECOND)


def of(kind: type[M], msgs: Iterable[object]) -> list[M]:
    """The messages of one type, in order."""
    return [m for m in msgs if isinstance(m, kind)]


def one(kind: type[M], msgs: Iterable[object]) -> M:
    """The only message of a type."""
    found = of(kind, msgs)
    assert len(found) == 1, (kind.__name__, found)
    return found[0]


def kinds(msgs: Iterable[object]) -> list[str]:
    """The tags of messages, in order."""
    return [m.__struct_config__.tag for m in msgs]  # type: ignore[attr-defined]


def plan(*steps: StepSpec, agents: tuple[AgentSpec, ...] = (EX, REV, VER), **kw: Any) -> Plan:
    return Plan(steps=steps, agents=agents, **kw)
