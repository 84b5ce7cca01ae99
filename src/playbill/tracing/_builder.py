"""From journal entries to spans: the one builder both the live tracer and ``playbill trace`` use.

``SpanBuilder`` takes a run's entries in seq order and hands back each span
as it ends. It is pure: no clock, no I/O, no tracing library; every time is
an entry's ``at_us``. ``build_spans(entries)`` is the whole journal at once.

The span model (see docs/tracing.md):

* ``run``: from ``run_created`` to ``run_completed`` / ``run_failed`` /
  ``run_cancelled``; pauses, resumes, crashes, restarts, budget stops and
  control requests are its events.
* ``step``: from its first ``step_assigned`` to ``step_completed`` or
  ``step_skipped`` (else to the run's end), under the run.
* ``attempt``: from ``step_assigned`` to ``step_completed``, ``step_failed``
  or ``step_interrupted`` of that attempt, under its step. An attempt in
  flight when its process died ends, once the run is resumed, with the
  policy's ``step_interrupted``: an error.
* ``review``: ``review_requested`` to ``review_given``, under the attempt.
* ``verification``: ``verification_requested`` to the verifier's result and
  the ``validation_passed`` / ``validation_failed`` entries that follow it,
  under the attempt.
* ``merge``: ``merge_requested`` to ``workspace_merged``, under the step.

A span still open when its parent ends ends with it, as an error; one still
open when the entries run out (a run in flight, or waiting for a person) ends
at the last entry with ``playbill.unfinished`` set.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import final

import attrs

from playbill.runtime import (
    AgentFailed,
    AgentRestarted,
    ArbitrationDecided,
    BudgetExhausted,
    ControlRequested,
    Entry,
    Failure,
    HeartbeatMissed,
    MergeRequested,
    PlanAttached,
    PolicyDecisionApplied,
    ProcessEnded,
    ProcessStarted,
    ResultProposed,
    ReviewGiven,
    ReviewRequested,
    RunCancelled,
    RunCompleted,
    RunCreated,
    RunFailed,
    RunPaused,
    RunResumed,
    StepAssigned,
    StepBlocked,
    StepCompleted,
    StepFailed,
    StepInterrupted,
    StepRetried,
    StepSkipped,
    StepStarted,
    UsageReported,
    ValidationFailed,
    ValidationPassed,
    VerificationRequested,
    WorkspaceMerged,
)

from ._open_spans import Key, OpenSpan, OpenSpans
from ._records import AttributeValue, SpanEvent, SpanName, SpanRecord, SpanStatus

_DEPTH: dict[SpanName, int] = {
    "run": 0,
    "step": 1,
    "attempt": 2,
    "merge": 2,
    "review": 3,
    "verification": 3,
}
"""How deep each kind of span sits in a run's tree."""


@final
@attrs.define(eq=False)
class SpanBuilder:
    """Turns a run's entries, fed in seq order, into the spans of its trace as each ends.

    ``feed`` one entry at a time (the live tracer feeds each committed
    batch); ``finish`` ends what the entries left open. The same entries
    always give the same spans, ids included.
    """

    _spans: OpenSpans = attrs.field(factory=OpenSpans, init=False)
    _roles: dict[str, str] = attrs.field(factory=dict, init=False)
    _winners: dict[str, int | None] = attrs.field(factory=dict, init=False)
    _processes: dict[int, OpenSpan] = attrs.field(factory=dict, init=False)
    _last_us: int = attrs.field(default=0, init=False)

    @property
    def _open(self) -> dict[Key, OpenSpan]:
        return self._spans.open

    def feed(self, entry: Entry) -> list[SpanRecord]:
        """Take the next entry; return the spans it ended (children before parents)."""
        self._last_us = entry.at_us
        self._flush_verifications(entry)
        self._take(entry)
        return self._spans.take_done()

    def finish(self) -> list[SpanRecord]:
        """End every span still open at the last entry's time, marked ``playbill.unfinished``."""
        for span in list(self._open.values()):
            if span.closing:
                self._spans.end(span, span.end_us or self._last_us, span.status, span.message)
        # Children first: the later opened, and of one entry's spans the deeper.
        for span in sorted(self._open.values(), key=lambda open: (-open.seq, -_DEPTH[open.name])):
            if self._open.get(span.key) is span:
                span.attributes["playbill.unfinished"] = True
                self._spans.end(span, self._last_us, "unset", "")
        return self._spans.take_done()

    # ------------------------------------------------------------ the entries

    def _take(self, entry: Entry) -> None:
        msg, at = entry.msg, entry.at_us
        key: Key
        span: OpenSpan | None
        match msg:
            case RunCreated():
                self._spans.begin("run", ("run",), entry, None, {"playbill.strategy": msg.strategy})
            case PlanAttached():
                self._roles.update({step.id: step.role for step in msg.plan.steps})
            case RunCompleted():
                self._spans.end_key(("run",), at, "ok", "", outcome="completed")
            case RunFailed():
                self._spans.end_key(("run",), at, "error", msg.reason[:200], outcome="failed")
            case RunCancelled():
                self._spans.end_key(("run",), at, "error", "cancelled", outcome="cancelled")
            case RunPaused():
                self._spans.event(("run",), "run_paused", at, by=msg.by, reason=msg.reason[:200])
            case RunResumed():
                # The work in flight lost its process: the policy interrupts the
                # attempts and asks again for the reviews and checks it awaited.
                for span in self._open.values():
                    self._spans.event(
                        span.key, "run_resumed", at, by=msg.by, reason=msg.reason[:200]
                    )
            case StepAssigned():
                self._assigned(entry, msg)
            case StepStarted():
                self._spans.event(("attempt", msg.step, str(msg.attempt)), "started", at)
            case StepCompleted():
                self._spans.end_key(
                    ("attempt", msg.step, str(msg.attempt)), at, "ok", "", "completed"
                )
                self._spans.end_key(("step", msg.step), at, "ok", "", outcome="completed")
            case StepFailed():
                key = ("attempt", msg.step, str(msg.attempt))
                self._failed(key, at, msg.failure)
            case StepInterrupted():
                self._interrupted(msg, at)
            case StepSkipped():
                self._spans.end_key(("step", msg.step), at, "unset", "", outcome="skipped")
            case StepBlocked():
                self._spans.event(("step", msg.step), "step_blocked", at, reason=msg.reason[:200])
            case StepRetried():
                self._spans.event(
                    ("step", msg.step),
                    "step_retried",
                    at,
                    next_attempt=msg.next_attempt,
                    failure_class=msg.failure_class,
                )
            case ArbitrationDecided():
                self._winners[msg.step] = msg.winner_attempt
                self._spans.event(("step", msg.step), "arbitration_decided", at, policy=msg.policy)
            case PolicyDecisionApplied():
                target = ("step", msg.step) if msg.step is not None else ("run",)
                self._spans.event(target, "policy_decision", at, action=msg.action)
            case ReviewRequested():
                key = ("review", msg.step, str(msg.attempt), str(msg.round))
                parent = self._parent_of_work(msg.step, msg.attempt)
                attributes = self._work_attributes(msg.step, msg.attempt, "reviewer")
                span = self._spans.begin(
                    "review", key, entry, parent, attributes, agent=msg.reviewer
                )
                span.attributes.update({"playbill.round": msg.round})
            case ReviewGiven():
                key = ("review", msg.step, str(msg.attempt), str(msg.round))
                span = self._open.get(key)
                if span is not None:
                    span.attributes.update({"playbill.verdict": msg.verdict})
                    self._spans.end(span, at, "unset", "", outcome=msg.outcome)
            case VerificationRequested():
                key = ("verification", msg.step, str(msg.attempt))
                parent = self._parent_of_work(msg.step, msg.attempt)
                attributes = self._work_attributes(msg.step, msg.attempt, "verifier")
                self._spans.begin(
                    "verification", key, entry, parent, attributes, agent=msg.verifier
                )
            case ResultProposed():
                result = msg.result
                verification = self._open.get(("verification", result.step, str(result.attempt)))
                if verification is not None and verification.agent == result.agent:
                    verification.closing = True
                    verification.end_us = at
                    verification.attributes["playbill.outcome"] = "passed"
            case ValidationPassed() | ValidationFailed():
                self._validation(msg, at)
            case MergeRequested():
                parent = self._open.get(("step", msg.step))
                attributes = self._work_attributes(msg.step, msg.attempt, "")
                self._spans.begin(
                    "merge", ("merge", msg.step, str(msg.attempt)), entry, parent, attributes
                )
            case WorkspaceMerged():
                key = ("merge", msg.step, str(msg.attempt))
                status: SpanStatus = "ok" if msg.status == "applied" else "error"
                span = self._open.get(key)
                if span is not None:
                    if msg.commit:
                        span.attributes["playbill.commit"] = msg.commit
                    self._spans.end(
                        span, at, status, "" if status == "ok" else msg.status, msg.status
                    )
            case UsageReported():
                self._usage(msg)
            case HeartbeatMissed():
                self._spans.event(("attempt", msg.step, str(msg.attempt)), "heartbeat_missed", at)
            case AgentFailed():
                key = ("attempt", msg.step or "", str(msg.attempt))
                self._spans.event(
                    key if key in self._open else ("run",),
                    "agent_failed",
                    at,
                    agent=msg.agent,
                    failure_class=msg.failure.failure_class,
                    failure_kind=msg.failure.kind,
                )
            case AgentRestarted():
                self._spans.event(
                    ("run",), "agent_restarted", at, agent=msg.agent, restarts=msg.restarts
                )
            case ProcessStarted():
                key = ("attempt", msg.step or "", str(msg.attempt))
                where = self._open.get(key) or self._open.get(("run",))
                if where is not None:
                    self._processes[msg.process.pid] = where
                    self._spans.event(where.key, "process_started", at, pid=msg.process.pid)
            case ProcessEnded():
                started = self._processes.pop(msg.pid, None)
                where = started if started is not None and started.key in self._open else None
                self._spans.event(
                    where.key if where is not None else ("run",),
                    "process_ended",
                    at,
                    pid=msg.pid,
                    how=msg.how,
                )
            case BudgetExhausted():
                self._spans.event(("run",), "budget_exhausted", at, resource=msg.resource)
            case ControlRequested():
                self._spans.event(("run",), "control_requested", at, action=msg.request.action)
            case _:
                pass

    def _assigned(self, entry: Entry, msg: StepAssigned) -> None:
        step = self._open.get(("step", msg.step))
        if step is None:
            attributes: dict[str, AttributeValue] = {"playbill.step": msg.step}
            if msg.step in self._roles:
                attributes["playbill.role"] = self._roles[msg.step]
            step = self._spans.begin(
                "step", ("step", msg.step), entry, self._open.get(("run",)), attributes
            )
        key = ("attempt", msg.step, str(msg.attempt))
        if key in self._open:  # assigned again before it ended: the old one is over
            self._spans.end(self._open[key], entry.at_us, "error", "assigned again", "reassigned")
        attributes = self._work_attributes(msg.step, msg.attempt, self._roles.get(msg.step, ""))
        attributes["playbill.agent"] = msg.agent
        if msg.competition is not None:
            attributes["playbill.competition"] = msg.competition
        self._spans.begin("attempt", key, entry, step, attributes, agent=msg.agent)

    def _failed(self, key: Key, at: int, failure: Failure) -> None:
        span = self._open.get(key)
        if span is not None:
            span.attributes["playbill.failure_class"] = failure.failure_class
            span.attributes["playbill.failure_kind"] = failure.kind
            message = f"{failure.failure_class}: {failure.kind}"
            self._spans.end(span, at, "error", message, outcome="failed")

    def _interrupted(self, msg: StepInterrupted, at: int) -> None:
        winner = self._winners.get(msg.step)
        lost = msg.step in self._winners and winner is not None and winner != msg.attempt
        message = f"interrupted: {msg.reason[:200]}" if msg.reason else "interrupted"
        outcome = "lost" if lost else "interrupted"
        key = ("attempt", msg.step, str(msg.attempt))
        self._spans.end_key(key, at, "unset" if lost else "error", "" if lost else message, outcome)

    def _validation(self, msg: ValidationPassed | ValidationFailed, at: int) -> None:
        passed = isinstance(msg, ValidationPassed)
        details: dict[str, AttributeValue] = {"validator": msg.validator, "passed": passed}
        if isinstance(msg, ValidationFailed):
            details["failure_kind"] = msg.failure.kind
        verification = self._open.get(("verification", msg.step, str(msg.attempt)))
        if verification is not None:
            verification.events.append(SpanEvent("validation", at, details))
            if verification.closing:
                verification.end_us = at
            if not passed:
                verification.attributes["playbill.outcome"] = "failed"
            return
        target = ("attempt", msg.step, str(msg.attempt))
        self._spans.event(
            target if target in self._open else ("step", msg.step),
            "validation",
            at,
            **details,
        )

    def _usage(self, msg: UsageReported) -> None:
        spans: list[OpenSpan] = []
        if msg.step is not None and msg.attempt is not None:
            for kind in ("review", "verification", "attempt"):
                found = [
                    span
                    for span in self._open.values()
                    if span.key[:3] == (kind, msg.step, str(msg.attempt))
                    and span.agent == msg.agent
                ]
                if found:
                    spans.append(found[-1])
                    break
        if msg.step is not None and ("step", msg.step) in self._open:
            spans.append(self._open[("step", msg.step)])
        if ("run",) in self._open:
            spans.append(self._open[("run",)])
        for span in spans:
            span.usage = span.usage + msg.usage

    # --------------------------------------------------------------- the spans

    def _work_attributes(self, step: str, attempt: int, role: str) -> dict[str, AttributeValue]:
        attributes: dict[str, AttributeValue] = {"playbill.step": step, "playbill.attempt": attempt}
        if role:
            attributes["playbill.role"] = role
        return attributes

    def _parent_of_work(self, step: str, attempt: int) -> OpenSpan | None:
        return self._open.get(("attempt", step, str(attempt))) or self._open.get(("step", step))

    def _flush_verifications(self, entry: Entry) -> None:
        """End the verifications whose checks are all in: the next entry is not one of them."""
        msg = entry.msg
        for span in [span for span in self._open.values() if span.closing]:
            if (
                isinstance(msg, ValidationPassed | ValidationFailed)
                and ("verification", msg.step, str(msg.attempt)) == span.key
            ):
                continue
            self._spans.end(span, span.end_us, "unset", "")


def build_spans(entries: Iterable[Entry]) -> list[SpanRecord]:
    """Every span of a run's entries, in the order they end (open ones ended as unfinished)."""
    builder = SpanBuilder()
    spans: list[SpanRecord] = []
    for entry in entries:
        spans.extend(builder.feed(entry))
    spans.extend(builder.finish())
    return spans
