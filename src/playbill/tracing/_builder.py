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
    Usage,
    UsageReported,
    ValidationFailed,
    ValidationPassed,
    VerificationRequested,
    WorkspaceMerged,
)

from ._records import (
    AttributeValue,
    SpanEvent,
    SpanName,
    SpanRecord,
    SpanStatus,
    span_id_of,
    trace_id_of,
)

_Key = tuple[str, ...]
"""An open span's key: its kind, then what names it (step, attempt, round)."""


@attrs.define(eq=False)
class _Open:
    """A span that has begun and not ended."""

    name: SpanName
    key: _Key
    seq: int
    span_id: str
    parent: _Open | None
    start_us: int
    attributes: dict[str, AttributeValue]
    agent: str = ""
    usage: Usage = attrs.field(factory=Usage)
    events: list[SpanEvent] = attrs.field(factory=list)
    children: list[_Open] = attrs.field(factory=list)
    closing: bool = False  # a verification whose result is in, its checks still coming
    end_us: int = 0
    status: SpanStatus = "unset"
    message: str = ""


@final
@attrs.define(eq=False)
class SpanBuilder:
    """Turns a run's entries, fed in seq order, into the spans of its trace as each ends.

    ``feed`` one entry at a time (the live tracer feeds each committed
    batch); ``finish`` ends what the entries left open. The same entries
    always give the same spans, ids included.
    """

    _open: dict[_Key, _Open] = attrs.field(factory=dict, init=False)
    _roles: dict[str, str] = attrs.field(factory=dict, init=False)
    _winners: dict[str, int | None] = attrs.field(factory=dict, init=False)
    _processes: dict[int, _Open] = attrs.field(factory=dict, init=False)
    _run_id: str = attrs.field(default="", init=False)
    _last_us: int = attrs.field(default=0, init=False)
    _done: list[SpanRecord] = attrs.field(factory=list, init=False)

    def feed(self, entry: Entry) -> list[SpanRecord]:
        """Take the next entry; return the spans it ended (children before parents)."""
        self._run_id = self._run_id or entry.run_id
        self._last_us = entry.at_us
        self._flush_verifications(entry)
        self._take(entry)
        done, self._done = self._done, []
        return done

    def finish(self) -> list[SpanRecord]:
        """End every span still open at the last entry's time, marked ``playbill.unfinished``."""
        for span in list(self._open.values()):
            if span.closing:
                self._end(span, span.end_us or self._last_us, span.status, span.message)
        for span in sorted(self._open.values(), key=lambda open_span: -open_span.seq):
            span.attributes["playbill.unfinished"] = True
            self._end(span, self._last_us, "unset", "")
        done, self._done = self._done, []
        return done

    # ------------------------------------------------------------ the entries

    def _take(self, entry: Entry) -> None:
        msg, at = entry.msg, entry.at_us
        key: _Key
        span: _Open | None
        match msg:
            case RunCreated():
                self._begin("run", ("run",), entry, None, {"playbill.strategy": msg.strategy})
            case PlanAttached():
                self._roles.update({step.id: step.role for step in msg.plan.steps})
            case RunCompleted():
                self._end_key(("run",), at, "ok", "", outcome="completed")
            case RunFailed():
                self._end_key(("run",), at, "error", msg.reason[:200], outcome="failed")
            case RunCancelled():
                self._end_key(("run",), at, "error", "cancelled", outcome="cancelled")
            case RunPaused():
                self._event(("run",), "run_paused", at, by=msg.by, reason=msg.reason[:200])
            case RunResumed():
                # The work in flight lost its process: the policy interrupts the
                # attempts and asks again for the reviews and checks it awaited.
                for span in self._open.values():
                    self._event(span.key, "run_resumed", at, by=msg.by, reason=msg.reason[:200])
            case StepAssigned():
                self._assigned(entry, msg)
            case StepStarted():
                self._event(("attempt", msg.step, str(msg.attempt)), "started", at)
            case StepCompleted():
                self._end_key(("attempt", msg.step, str(msg.attempt)), at, "ok", "", "completed")
                self._end_key(("step", msg.step), at, "ok", "", outcome="completed")
            case StepFailed():
                key = ("attempt", msg.step, str(msg.attempt))
                self._failed(key, at, msg.failure)
            case StepInterrupted():
                self._interrupted(msg, at)
            case StepSkipped():
                self._end_key(("step", msg.step), at, "unset", "", outcome="skipped")
            case StepBlocked():
                self._event(("step", msg.step), "step_blocked", at, reason=msg.reason[:200])
            case StepRetried():
                self._event(
                    ("step", msg.step),
                    "step_retried",
                    at,
                    next_attempt=msg.next_attempt,
                    failure_class=msg.failure_class,
                )
            case ArbitrationDecided():
                self._winners[msg.step] = msg.winner_attempt
                self._event(("step", msg.step), "arbitration_decided", at, policy=msg.policy)
            case PolicyDecisionApplied():
                target = ("step", msg.step) if msg.step is not None else ("run",)
                self._event(target, "policy_decision", at, action=msg.action)
            case ReviewRequested():
                key = ("review", msg.step, str(msg.attempt), str(msg.round))
                parent = self._parent_of_work(msg.step, msg.attempt)
                attributes = self._work_attributes(msg.step, msg.attempt, "reviewer")
                span = self._begin("review", key, entry, parent, attributes, agent=msg.reviewer)
                span.attributes.update({"playbill.round": msg.round})
            case ReviewGiven():
                key = ("review", msg.step, str(msg.attempt), str(msg.round))
                span = self._open.get(key)
                if span is not None:
                    span.attributes.update({"playbill.verdict": msg.verdict})
                    self._end(span, at, "unset", "", outcome=msg.outcome)
            case VerificationRequested():
                key = ("verification", msg.step, str(msg.attempt))
                parent = self._parent_of_work(msg.step, msg.attempt)
                attributes = self._work_attributes(msg.step, msg.attempt, "verifier")
                self._begin("verification", key, entry, parent, attributes, agent=msg.verifier)
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
                self._begin(
                    "merge", ("merge", msg.step, str(msg.attempt)), entry, parent, attributes
                )
            case WorkspaceMerged():
                key = ("merge", msg.step, str(msg.attempt))
                status: SpanStatus = "ok" if msg.status == "applied" else "error"
                span = self._open.get(key)
                if span is not None:
                    if msg.commit:
                        span.attributes["playbill.commit"] = msg.commit
                    self._end(span, at, status, "" if status == "ok" else msg.status, msg.status)
            case UsageReported():
                self._usage(msg)
            case HeartbeatMissed():
                self._event(("attempt", msg.step, str(msg.attempt)), "heartbeat_missed", at)
            case AgentFailed():
                key = ("attempt", msg.step or "", str(msg.attempt))
                self._event(
                    key if key in self._open else ("run",),
                    "agent_failed",
                    at,
                    agent=msg.agent,
                    failure_class=msg.failure.failure_class,
                    failure_kind=msg.failure.kind,
                )
            case AgentRestarted():
                self._event(("run",), "agent_restarted", at, agent=msg.agent, restarts=msg.restarts)
            case ProcessStarted():
                key = ("attempt", msg.step or "", str(msg.attempt))
                where = self._open.get(key) or self._open.get(("run",))
                if where is not None:
                    self._processes[msg.process.pid] = where
                    self._event(where.key, "process_started", at, pid=msg.process.pid)
            case ProcessEnded():
                started = self._processes.pop(msg.pid, None)
                where = started if started is not None and started.key in self._open else None
                self._event(
                    where.key if where is not None else ("run",),
                    "process_ended",
                    at,
                    pid=msg.pid,
                    how=msg.how,
                )
            case BudgetExhausted():
                self._event(("run",), "budget_exhausted", at, resource=msg.resource)
            case ControlRequested():
                self._event(("run",), "control_requested", at, action=msg.request.action)
            case _:
                pass

    def _assigned(self, entry: Entry, msg: StepAssigned) -> None:
        step = self._open.get(("step", msg.step))
        if step is None:
            attributes: dict[str, AttributeValue] = {"playbill.step": msg.step}
            if msg.step in self._roles:
                attributes["playbill.role"] = self._roles[msg.step]
            step = self._begin(
                "step", ("step", msg.step), entry, self._open.get(("run",)), attributes
            )
        key = ("attempt", msg.step, str(msg.attempt))
        if key in self._open:  # assigned again before it ended: the old one is over
            self._end(self._open[key], entry.at_us, "error", "assigned again", "reassigned")
        attributes = self._work_attributes(msg.step, msg.attempt, self._roles.get(msg.step, ""))
        attributes["playbill.agent"] = msg.agent
        if msg.competition is not None:
            attributes["playbill.competition"] = msg.competition
        self._begin("attempt", key, entry, step, attributes, agent=msg.agent)

    def _failed(self, key: _Key, at: int, failure: Failure) -> None:
        span = self._open.get(key)
        if span is not None:
            span.attributes["playbill.failure_class"] = failure.failure_class
            span.attributes["playbill.failure_kind"] = failure.kind
            message = f"{failure.failure_class}: {failure.kind}"
            self._end(span, at, "error", message, outcome="failed")

    def _interrupted(self, msg: StepInterrupted, at: int) -> None:
        winner = self._winners.get(msg.step)
        lost = msg.step in self._winners and winner is not None and winner != msg.attempt
        message = f"interrupted: {msg.reason[:200]}" if msg.reason else "interrupted"
        outcome = "lost" if lost else "interrupted"
        key = ("attempt", msg.step, str(msg.attempt))
        self._end_key(key, at, "unset" if lost else "error", "" if lost else message, outcome)

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
        self._event(
            target if target in self._open else ("step", msg.step), "validation", at, **details
        )

    def _usage(self, msg: UsageReported) -> None:
        spans: list[_Open] = []
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

    def _parent_of_work(self, step: str, attempt: int) -> _Open | None:
        return self._open.get(("attempt", step, str(attempt))) or self._open.get(("step", step))

    def _begin(
        self,
        name: SpanName,
        key: _Key,
        entry: Entry,
        parent: _Open | None,
        attributes: dict[str, AttributeValue],
        *,
        agent: str = "",
    ) -> _Open:
        if key in self._open:  # asked for again before it ended (after a resume)
            self._end(self._open[key], entry.at_us, "error", "requested again", "superseded")
        attributes = {"playbill.run_id": entry.run_id, **attributes}
        if agent:
            attributes["playbill.agent"] = agent
        span = _Open(
            name,
            key,
            entry.seq,
            span_id_of(entry.run_id, entry.seq, name),
            parent,
            entry.at_us,
            attributes,
        )
        span.agent = agent
        if parent is not None:
            parent.children.append(span)
        self._open[key] = span
        return span

    def _event(self, key: _Key, name: str, at: int, **details: AttributeValue) -> None:
        span = self._open.get(key)
        if span is not None:
            span.events.append(SpanEvent(name, at, details))

    def _end_key(
        self, key: _Key, at: int, status: SpanStatus, message: str, outcome: str = ""
    ) -> None:
        span = self._open.get(key)
        if span is not None:
            self._end(span, at, status, message, outcome)

    def _end(
        self, span: _Open, at: int, status: SpanStatus, message: str, outcome: str = ""
    ) -> None:
        for child in list(span.children):
            if self._open.get(child.key) is child:
                if child.closing:
                    self._end(child, child.end_us, "unset", "")
                else:
                    self._end(child, at, "error", f"ended with its {span.name}", "abandoned")
        del self._open[span.key]
        if outcome:
            span.attributes["playbill.outcome"] = outcome
        usage = span.usage
        span.attributes.update(
            {
                "playbill.tokens_in": usage.tokens_in,
                "playbill.tokens_out": usage.tokens_out,
                "playbill.tokens": usage.tokens,
                "playbill.cost_usd": usage.cost_usd,
            }
        )
        self._done.append(
            SpanRecord(
                name=span.name,
                trace_id=trace_id_of(self._run_id),
                span_id=span.span_id,
                parent_id=span.parent.span_id if span.parent is not None else None,
                start_us=span.start_us,
                end_us=max(at, span.start_us),
                attributes=dict(span.attributes),
                events=tuple(span.events),
                status=status,
                status_message=message if status == "error" else "",
                seq=span.seq,
            )
        )

    def _flush_verifications(self, entry: Entry) -> None:
        """End the verifications whose checks are all in: the next entry is not one of them."""
        msg = entry.msg
        for span in [span for span in self._open.values() if span.closing]:
            if (
                isinstance(msg, ValidationPassed | ValidationFailed)
                and ("verification", msg.step, str(msg.attempt)) == span.key
            ):
                continue
            self._end(span, span.end_us, "unset", "")


def build_spans(entries: Iterable[Entry]) -> list[SpanRecord]:
    """Every span of a run's entries, in the order they end (open ones ended as unfinished)."""
    builder = SpanBuilder()
    spans: list[SpanRecord] = []
    for entry in entries:
        spans.extend(builder.feed(entry))
    spans.extend(builder.finish())
    return spans
