"""Workloads shared by the benchmarks: realistic journals of any length.

``long_run(n)`` is the journal of one long run: a plan of ``steps`` steps and
``agents`` agents, where every attempt is assigned, started, sends heartbeats
and usage while it works (the bulk of any real journal), proposes a result,
is reviewed and validated, and completes; one attempt in twenty fails and is
retried with backoff. When every step is done, a replan adds more steps, so
the state stays the size of a plan however long the journal grows.

``InPlaceReducer`` is the reference the replay benchmark compares against: the
same bookkeeping over the same entries, but on mutable dicts updated in place
(what a reducer does when it gives up purity, snapshots and replay safety).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from playbill.runtime.model._entry import FORMAT_VERSION, Entry
from playbill.runtime.model._messages import (
    Heartbeat,
    Message,
    NoteWritten,
    PlanAttached,
    ResultProposed,
    ReviewGiven,
    RunCompleted,
    RunCreated,
    StepAssigned,
    StepCompleted,
    StepFailed,
    StepRetried,
    StepStarted,
    TimerCancelled,
    TimerFired,
    TimerSet,
    UsageReported,
    ValidationPassed,
)
from playbill.runtime.model._values import (
    AgentSpec,
    Budget,
    Failure,
    ImplementationPayload,
    Plan,
    ResultEnvelope,
    StepSpec,
    Usage,
)

BASE_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z


def _plan(wave: int, steps: int, agents: int) -> Plan:
    return Plan(
        steps=tuple(
            StepSpec(
                id=f"w{wave}s{i}",
                goal=f"wave {wave} step {i}",
                depends_on=(f"w{wave}s{i - 1}",) if i % 4 else (),
                scope=(f"src/mod{i}/**",),
            )
            for i in range(steps)
        ),
        agents=tuple(AgentSpec(id=f"agent{i}", roles=("executor",)) for i in range(agents)),
    )


def long_run_messages(
    n: int, *, steps: int = 40, agents: int = 6, heartbeats: int = 12
) -> Iterator[Message]:
    """The first ``n`` messages of a long, realistic run."""
    produced = 0

    def emit(msgs: list[Message]) -> Iterator[Message]:
        nonlocal produced
        for msg in msgs:
            if produced >= n:
                return
            produced += 1
            yield msg

    yield from emit([RunCreated(goal="benchmark run", budget=Budget(tokens=10**12))])
    wave = 0
    counter = 0
    while produced < n:
        yield from emit([PlanAttached(plan=_plan(wave, steps, agents))])
        for i in range(steps):
            step = f"w{wave}s{i}"
            attempt = 1
            while produced < n:
                counter += 1
                agent = f"agent{counter % agents}"
                timer = f"hb-{step}-{attempt}"
                work: list[Message] = [
                    StepAssigned(step=step, agent=agent, attempt=attempt, heartbeat_timeout_s=30.0),
                    TimerSet(timer=timer, due_us=BASE_US, purpose="heartbeat", step=step),
                    StepStarted(step=step, agent=agent, attempt=attempt),
                ]
                for beat in range(heartbeats):
                    work.append(Heartbeat(agent=agent, step=step, attempt=attempt))
                    if beat % 4 == 3:
                        usage = Usage(tokens_in=900, tokens_out=300, cost_usd=0.0123, wall_s=40.0)
                        work.append(
                            UsageReported(agent=agent, usage=usage, step=step, attempt=attempt)
                        )
                failed = counter % 20 == 0
                if failed:
                    failure = Failure(failure_class="transient", kind="rate_limited")
                    work += [
                        TimerFired(timer=timer),
                        StepFailed(step=step, attempt=attempt, failure=failure),
                        StepRetried(
                            step=step,
                            next_attempt=attempt + 1,
                            failure_class="transient",
                            backoff_s=2.0,
                            feedback=failure,
                        ),
                    ]
                else:
                    result = ResultEnvelope(
                        agent=agent,
                        role="executor",
                        step=step,
                        attempt=attempt,
                        exit_status="ok",
                        payload=ImplementationPayload(
                            summary="implemented", changed_files=(f"src/mod{i}/x.py",)
                        ),
                    )
                    work += [
                        TimerCancelled(timer=timer),
                        ResultProposed(result=result),
                        ReviewGiven(
                            step=step,
                            attempt=attempt,
                            reviewer="agent0",
                            verdict="pass",
                            outcome="approved",
                        ),
                        ValidationPassed(step=step, attempt=attempt, validator="tests"),
                        StepCompleted(step=step, attempt=attempt),
                    ]
                    if counter % 50 == 0:
                        work.append(NoteWritten(author=agent, text="progress note"))
                yield from emit(work)
                if not failed:
                    break
                attempt += 1
        wave += 1
    yield from emit([RunCompleted(summary="done")])


def iter_long_run(n: int, run_id: str = "bench-run", **kwargs: int) -> Iterator[Entry]:
    """The first ``n`` entries of a long, realistic run, one at a time."""
    for seq, msg in enumerate(long_run_messages(n, **kwargs), start=1):
        yield Entry(
            v=FORMAT_VERSION,
            run_id=run_id,
            seq=seq,
            at_us=BASE_US + seq * 1000,
            sender="bench",
            recipient="*",
            cause=seq - 1 if seq > 1 else None,
            msg=msg,
        )


def long_run(n: int, run_id: str = "bench-run", **kwargs: int) -> list[Entry]:
    """The first ``n`` entries of a long, realistic run (see ``long_run_messages``)."""
    return list(iter_long_run(n, run_id, **kwargs))


class InPlaceReducer:
    """The reference fold: the same bookkeeping as ``evolve``, mutated in place."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {
            "status": "new",
            "steps": {},
            "agents": {},
            "timers": {},
            "usage": [0, 0, 0.0, 0.0],
            "notes": [],
            "attempts": 0,
            "retries": 0,
            "last_seq": 0,
        }

    def fold(self, entries: list[Entry]) -> dict[str, Any]:
        """Fold every entry into the mutable state and return it."""
        state = self.state
        steps, agents, timers = state["steps"], state["agents"], state["timers"]
        for entry in entries:
            msg = entry.msg
            match msg:
                case Heartbeat():
                    agents[msg.agent]["last_heartbeat_us"] = entry.at_us
                case UsageReported():
                    u = msg.usage
                    for target in (state["usage"], agents[msg.agent]["usage"]):
                        target[0] += u.tokens_in
                        target[1] += u.tokens_out
                        target[2] += u.cost_usd
                        target[3] += u.wall_s
                    if msg.step is not None:
                        attempt = steps[msg.step]["attempts"][-1]
                        attempt["tokens"] += u.tokens_in + u.tokens_out
                case TimerSet():
                    timers[msg.timer] = {"due_us": msg.due_us, "purpose": msg.purpose}
                case TimerFired() | TimerCancelled():
                    del timers[msg.timer]
                case StepAssigned():
                    step = steps[msg.step]
                    step["status"] = "in_progress"
                    step["owner"] = msg.agent
                    step["attempts"].append(
                        {
                            "number": msg.attempt,
                            "agent": msg.agent,
                            "status": "assigned",
                            "tokens": 0,
                        }
                    )
                    agent = agents[msg.agent]
                    agent["status"] = "busy"
                    agent["step"] = msg.step
                    state["attempts"] += 1
                case StepStarted():
                    steps[msg.step]["attempts"][-1]["status"] = "running"
                case ResultProposed():
                    r = msg.result
                    steps[r.step]["attempts"][-1].update(status="proposed", result=r)
                    steps[r.step]["status"] = "verify_pending"
                    agents[r.agent].update(status="idle", step=None)
                case ReviewGiven():
                    steps[msg.step]["attempts"][-1]["review"] = msg.outcome
                case ValidationPassed():
                    steps[msg.step]["attempts"][-1].setdefault("validations", []).append(
                        msg.validator
                    )
                case StepCompleted():
                    step = steps[msg.step]
                    step.update(status="completed", owner=None)
                    step["attempts"][-1]["status"] = "passed"
                case StepFailed():
                    step = steps[msg.step]
                    step.update(status="failed", owner=None, last_failure=msg.failure)
                    step["attempts"][-1]["status"] = "failed"
                case StepRetried():
                    steps[msg.step]["status"] = "pending"
                    state["retries"] += 1
                case NoteWritten():
                    state["notes"].append(msg.text)
                    del state["notes"][:-50]
                case PlanAttached():
                    # like evolve: the new plan's steps replace the old ones
                    kept = {
                        spec.id: steps.get(spec.id) or {"status": "pending", "attempts": []}
                        for spec in msg.plan.steps
                    }
                    steps.clear()
                    steps.update(kept)
                    for a in msg.plan.agents:
                        agents.setdefault(a.id, {"status": "idle", "usage": [0, 0, 0.0, 0.0]})
                    state["status"] = "running"
                case RunCreated():
                    state["status"] = "created"
                case RunCompleted():
                    state["status"] = "completed"
                case _:
                    raise AssertionError(f"workload has no {type(msg).__name__}")
            state["last_seq"] = entry.seq
        return state
