"""Work in flight: who works on what, its heartbeat deadlines, and how it is stopped.

A piece of work is claimed by the state when an attempt is assigned and not
yet proposed (``implement``), or when a review or verification of a proposed
attempt was requested and not yet reported (``review``, ``verify``). It is
held while its agent is busy with it. Claimed work that is not held is
orphaned: its agent crashed, missed its heartbeat or was restarted.

Every held piece of work has exactly one pending heartbeat timer, set with it.
A timer that fires leaves its work without one: that is how the policy knows
whose deadline came, without parsing timer ids. Its agent's stall window
(``stall_window_s``) sets it: work whose agent showed no sign of progress (no
heartbeat) for that long has stalled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, NamedTuple

from ..model._messages import (
    AttemptCancelled,
    HeartbeatMissed,
    RunFailed,
    StepFailed,
    StepInterrupted,
    TimerCancelled,
    TimerSet,
)
from ..model._state import AttemptState, RunState, StepState, TimerState
from ..model._step_map import StepMap
from ..model._values import Failure, FailureClass, ResultEnvelope, Role
from ._policy_context import (
    PolicyContext,
    clip,
    heartbeat_timer,
    stall_window_s,
    stall_window_us,
)
from ._step_index import index_of

STALLED = "stalled"
"""The failure kind of work whose agent showed no progress within its stall window."""

WorkKind = Literal["implement", "review", "verify"]
"""What a piece of work is."""


class Work(NamedTuple):
    """A piece of work claimed by the state."""

    kind: WorkKind
    step: str
    attempt: int
    agent: str


def current_attempt(step: StepState) -> AttemptState | None:
    """The step's latest attempt, if any."""
    return step.attempts[-1] if step.attempts else None


def report_of(attempt: AttemptState, agent: str | None, role: Role) -> ResultEnvelope | None:
    """The report an agent in a role made about an attempt, if it made one."""
    if agent is None:
        return None
    for report in attempt.reports:
        if report.agent == agent and report.role == role:
            return report
    return None


_claimed: tuple[Mapping[str, StepState], tuple[Work, ...]] | None = None


def claimed_work(state: RunState) -> tuple[Work, ...]:
    """Every piece of work the state says is in flight, in plan order.

    A function of the steps alone: the latest answer is kept for the
    ``StepMap`` it was computed from (which never changes), since the policy
    asks several times about the same steps.
    """
    global _claimed
    steps = state.steps
    last = _claimed
    if last is not None and last[0] is steps:
        return last[1]
    out: list[Work] = []
    index = index_of(steps)
    for sid in index.ids(index.of("in_progress", "verify_pending")):
        step = steps[sid]
        for a in step.attempts:
            if a.status in ("assigned", "running") and (
                step.status == "in_progress" or (a.competition is not None and in_play(step, a))
            ):
                # a competitor still works after a rival proposed (verify_pending)
                out.append(Work("implement", sid, a.number, a.agent))
            elif a.status == "proposed" and step.status == "verify_pending":
                if a.review is None and a.reviewer and not report_of(a, a.reviewer, "reviewer"):
                    out.append(Work("review", sid, a.number, a.reviewer))
                if a.verifier and not report_of(a, a.verifier, "verifier"):
                    out.append(Work("verify", sid, a.number, a.verifier))
    work = tuple(out)
    if isinstance(steps, StepMap):  # a plain dict could be changed in place
        _claimed = (steps, work)
    return work


def dangling_attempts(state: RunState) -> list[tuple[str, AttemptState]]:
    """Attempts still open (assigned, running, proposed) whose step moved on without them.

    The step is not in progress or verifying any more (blocked, skipped or
    retried from outside), or a later attempt of it exists that is not its
    rival in the same competition (see ``in_play``).
    """
    out: list[tuple[str, AttemptState]] = []
    steps = state.steps
    index = index_of(steps)
    # A step at work whose one attempt is open has that attempt in play: only
    # steps not at work, or with more than one attempt, can leave one behind.
    at_work = index.of("in_progress", "verify_pending")
    for sid in index.ids(index.live & (~at_work | index.retried)):
        step = steps[sid]
        for a in step.attempts:
            if a.status not in ("assigned", "running", "proposed"):
                continue
            if step.status not in ("in_progress", "verify_pending") or not in_play(step, a):
                out.append((step.spec.id, a))
    return out


def in_play(step: StepState, attempt: AttemptState) -> bool:
    """Whether an attempt is one its step is working on now.

    That is its latest attempt or, when the latest is part of a competition
    (``competition`` set by the ``competitive`` strategy), any attempt of that
    same competition. Lone attempts (every other strategy) are in play only
    when they are the latest.
    """
    last = step.attempts[-1] if step.attempts else None
    if last is None:
        return False
    return attempt.number == last.number or (
        attempt.competition is not None and attempt.competition == last.competition
    )


def close_dangling(ctx: PolicyContext) -> None:
    """Stop and interrupt every dangling attempt (see ``dangling_attempts``)."""
    for step, attempt in dangling_attempts(ctx.state):
        for agent in (attempt.agent, attempt.reviewer, attempt.verifier):
            found = ctx.state.agents.get(agent) if agent is not None else None
            if found is not None and (found.step, found.attempt) == (step, attempt.number):
                msg = AttemptCancelled(
                    step=step, attempt=attempt.number, agent=found.spec.id, reason="not needed"
                )
                ctx.emit(msg, to=found.spec.id)
        ctx.emit(StepInterrupted(step=step, attempt=attempt.number, reason="its step moved on"))


def held(state: RunState, work: Work) -> bool:
    """Whether the work's agent is busy with it."""
    agent = state.agents.get(work.agent)
    return (
        agent is not None
        and agent.status == "busy"
        and agent.step == work.step
        and agent.attempt == work.attempt
    )


def timer_of(state: RunState, work: Work) -> TimerState | None:
    """The pending heartbeat timer of a piece of work, if any."""
    for timer in state.timers.values():
        if (
            timer.purpose == "heartbeat"
            and timer.step == work.step
            and timer.attempt == work.attempt
            and timer.agent == work.agent
        ):
            return timer
    return None


def set_deadline(ctx: PolicyContext, work: Work, due_us: int, *, first: bool = False) -> None:
    """Arm a heartbeat deadline for a piece of work."""
    seq = 0 if first and work.kind == "implement" else ctx.cause
    timer = heartbeat_timer(work.step, work.attempt, kind=work.kind, seq=seq)
    ctx.emit(
        TimerSet(
            timer=timer,
            due_us=due_us,
            purpose="heartbeat",
            step=work.step,
            attempt=work.attempt,
            agent=work.agent,
        ),
        to="supervisor",
    )


def stalled(agent: str, window_s: float) -> Failure:
    """The failure of work whose agent showed no sign of progress for ``window_s``."""
    return Failure(
        failure_class="transient",
        kind=STALLED,
        detail=f"{agent} showed no sign of progress for {window_s:g} s",
    )


def check_deadlines(ctx: PolicyContext) -> list[tuple[Work, Failure]]:
    """On a timer firing: held work left without a deadline had its deadline come.

    An agent that sent a heartbeat within its stall window gets a new
    deadline from that heartbeat; one that did not has stalled: it is declared
    unresponsive (``heartbeat_missed``) and its work is cancelled, which stops
    its process. An attempt it made fails ``transient``/``stalled``. Returns
    the stalled work and its failure, for the caller to decide its fate
    (attempts are retried; reviews and verifications are simply asked of
    someone else by the strategy).
    """
    missed: list[tuple[Work, Failure]] = []
    for work in claimed_work(ctx.state):
        if not held(ctx.state, work) or timer_of(ctx.state, work) is not None:
            continue
        window = stall_window_us(ctx.state, work.agent)
        last = ctx.state.agents[work.agent].last_heartbeat_us
        if last is not None and ctx.now_us - last < window:
            set_deadline(ctx, work, last + window)
            continue
        failure = stalled(work.agent, stall_window_s(ctx.state, work.agent))
        ctx.emit(HeartbeatMissed(agent=work.agent, step=work.step, attempt=work.attempt))
        reason = clip(f"stalled: {failure.detail}")
        ctx.emit(
            AttemptCancelled(step=work.step, attempt=work.attempt, agent=work.agent, reason=reason),
            to=work.agent,
        )
        if work.kind == "implement":
            ctx.emit(StepFailed(step=work.step, attempt=work.attempt, failure=failure))
        missed.append((work, failure))
    return missed


def arm_missing_deadlines(ctx: PolicyContext) -> None:
    """Held work without a deadline (assigned by someone else) gets one now."""
    armed = {
        (t.step, t.attempt, t.agent) for t in ctx.state.timers.values() if t.purpose == "heartbeat"
    }  # what ``timer_of`` finds, kept up to date as deadlines are set below
    for work in claimed_work(ctx.state):
        key = (work.step, work.attempt, work.agent)
        if key not in armed and held(ctx.state, work):
            set_deadline(ctx, work, ctx.now_us + stall_window_us(ctx.state, work.agent))
            armed.add(key)


def cancel(ctx: PolicyContext, work: Work, reason: str) -> None:
    """Stop a piece of work; implementation work also ends its attempt."""
    ctx.emit(
        AttemptCancelled(step=work.step, attempt=work.attempt, agent=work.agent, reason=reason),
        to=work.agent,
    )
    if work.kind == "implement":
        ctx.emit(StepInterrupted(step=work.step, attempt=work.attempt, reason=reason))


def cancel_step_work(ctx: PolicyContext, step: str, reason: str) -> None:
    """Stop every piece of work on a step."""
    for work in claimed_work(ctx.state):
        if work.step == step:
            cancel(ctx, work, reason)


def collect_timers(ctx: PolicyContext) -> None:
    """Cancel the policy's timers whose reason went away.

    A heartbeat timer of work no longer held, a backoff timer of a step that
    is no longer waiting for it. Timers the policy did not set (no step, or
    another purpose) are left alone.
    """
    state = ctx.state
    live = {(w.step, w.attempt, w.agent) for w in claimed_work(state) if held(state, w)}
    for timer in list(state.timers.values()):
        if timer.step is None or timer.attempt is None:
            continue
        if timer.purpose == "heartbeat":
            stale = (timer.step, timer.attempt, timer.agent) not in live
        elif timer.purpose == "backoff":
            step = state.steps.get(timer.step)
            stale = (
                step is None or step.status != "pending" or timer.attempt != len(step.attempts) + 1
            )
        else:
            continue
        if stale:
            ctx.emit(TimerCancelled(timer=timer.timer), to="supervisor")


def free_stuck_agents(ctx: PolicyContext) -> None:
    """Tell agents busy with work nobody claims any more to stop.

    A step skipped or completed from outside, a review no longer wanted.
    """
    state = ctx.state
    claimed = {(w.agent, w.step, w.attempt) for w in claimed_work(state)}
    for agent in list(state.agents.values()):
        if agent.status != "busy" or agent.step is None or agent.attempt is None:
            continue
        if (agent.spec.id, agent.step, agent.attempt) in claimed:
            continue
        step = state.steps.get(agent.step)
        if step is None or step.attempt(agent.attempt) is None:
            continue  # nothing the journal could name: leave it
        ctx.emit(
            AttemptCancelled(
                step=agent.step, attempt=agent.attempt, agent=agent.spec.id, reason="not needed"
            ),
            to=agent.spec.id,
        )


def wind_down(ctx: PolicyContext, reason: str) -> None:
    """The run is over: cancel all work in flight and every pending timer."""
    for work in claimed_work(ctx.state):
        cancel(ctx, work, reason)
    for timer in list(ctx.state.timers):
        ctx.emit(TimerCancelled(timer=timer), to="supervisor")


def fail_run(ctx: PolicyContext, reason: str, failure_class: FailureClass | None) -> None:
    """End the run as failed, then stop everything still going."""
    if ctx.state.is_terminal:
        return
    ctx.emit(RunFailed(reason=reason, failure_class=failure_class))
    wind_down(ctx, f"run failed: {reason}")
