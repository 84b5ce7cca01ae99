"""A hypothesis strategy for plausible journals: runs that follow the protocol.

Random messages alone mostly hit unknown steps and agents, so they exercise
the reducer's anomaly paths and little else. This strategy drives a small
model of a run (plan, steps, attempts, timers, approvals) and draws only
actions that make sense in it, so folding reaches deep, realistic states.
"""

from __future__ import annotations

from hypothesis import strategies as st

from factories import entries
from playbill.runtime.model._entry import Entry
from playbill.runtime.model._messages import (
    AgentFailed,
    AgentRestarted,
    ArbitrationDecided,
    AttemptCancelled,
    BudgetExhausted,
    CriterionMet,
    HandoffRecorded,
    Heartbeat,
    HeartbeatMissed,
    HumanApprovalGiven,
    HumanApprovalRequested,
    Message,
    NoteWritten,
    PlanAttached,
    PolicyDecisionApplied,
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
    TimerCancelled,
    TimerFired,
    TimerSet,
    UsageReported,
    ValidationFailed,
    ValidationPassed,
    WorkspaceCreated,
    WorkspaceMerged,
)
from playbill.runtime.model._values import (
    AgentSpec,
    Budget,
    Criterion,
    Failure,
    Finding,
    ImplementationPayload,
    Plan,
    ResultEnvelope,
    ReviewPayload,
    Score,
    StepSpec,
    Usage,
    VerificationPayload,
)

text = st.text(alphabet="abcdefghijklmnopqrstuvwxyz ._-/", max_size=12)
small_floats = st.floats(min_value=0, max_value=50, allow_nan=False, allow_infinity=False)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """A plan of 1-6 steps (a DAG) and 2-5 agents."""
    n_steps = draw(st.integers(1, 6))
    steps = []
    for i in range(n_steps):
        deps = draw(st.lists(st.sampled_from(range(i)), unique=True, max_size=2)) if i else []
        steps.append(
            StepSpec(
                id=f"s{(i * 7) % 10}{i}",
                goal=draw(text),
                role=draw(st.sampled_from(["executor", "executor", "reviewer", "verifier"])),
                depends_on=tuple(f"s{(d * 7) % 10}{d}" for d in sorted(deps)),
                scope=tuple(draw(st.lists(st.sampled_from(["src/**", "docs/*.md"]), max_size=1))),
            )
        )
    agents = tuple(
        AgentSpec(id=f"a{(i * 3) % 5}{i}", roles=("executor", "reviewer", "verifier"))
        for i in range(draw(st.integers(2, 5)))
    )
    criteria = tuple(Criterion(id=f"c{i}", description="d") for i in range(draw(st.integers(0, 2))))
    return Plan(steps=tuple(steps), agents=agents, criteria=criteria)


@st.composite
def plausible_messages(draw: st.DrawFn, max_actions: int = 60) -> list[Message]:
    """The messages of a plausible run, in order."""
    plan = draw(plans())
    msgs: list[Message] = [
        RunCreated(goal=draw(text), budget=Budget(tokens=draw(st.integers(100, 10_000)))),
        PlanAttached(plan=plan),
    ]
    agents = [a.id for a in plan.agents]
    status = {s.id: "pending" for s in plan.steps}
    attempts = {s.id: 0 for s in plan.steps}
    owner: dict[str, str] = {}
    timers: list[str] = []
    approvals: list[str] = []
    workspaces: list[tuple[str, int]] = []
    paused = False
    timer_seq = 0

    for _ in range(draw(st.integers(0, max_actions))):
        pending = [s for s, v in status.items() if v in ("pending",)]
        active = [s for s, v in status.items() if v in ("in_progress", "verify_pending")]
        kind = draw(
            st.sampled_from(
                [
                    "assign",
                    "assign",
                    "progress",
                    "progress",
                    "progress",
                    "finish",
                    "finish",
                    "timer",
                    "misc",
                    "pause",
                ]
            )
        )
        if kind == "assign" and pending and not paused:
            step = draw(st.sampled_from(pending))
            agent = draw(st.sampled_from(agents))
            attempts[step] += 1
            status[step] = "in_progress"
            owner[step] = agent
            msgs.append(StepAssigned(step=step, agent=agent, attempt=attempts[step]))
            msgs.append(StepStarted(step=step, agent=agent, attempt=attempts[step]))
        elif kind == "progress" and active:
            step = draw(st.sampled_from(active))
            agent, n = owner.get(step, agents[0]), attempts[step]
            choice = draw(st.integers(0, 4))
            if choice == 0:
                msgs.append(Heartbeat(agent=agent, step=step, attempt=n, progress=draw(text)))
            elif choice == 1:
                usage = Usage(
                    tokens_in=draw(st.integers(0, 500)),
                    tokens_out=draw(st.integers(0, 500)),
                    cost_usd=draw(small_floats),
                    wall_s=draw(small_floats),
                )
                msgs.append(UsageReported(agent=agent, usage=usage, step=step, attempt=n))
            elif choice == 2 and status[step] == "in_progress":
                payload = draw(
                    st.sampled_from(
                        [
                            ImplementationPayload(summary="did it", changed_files=("src/a.py",)),
                            ReviewPayload(verdict="pass"),
                            VerificationPayload(),
                        ]
                    )
                )
                msgs.append(
                    ResultProposed(
                        result=ResultEnvelope(
                            agent=agent,
                            role="executor",
                            step=step,
                            attempt=n,
                            exit_status="ok",
                            payload=payload,
                        )
                    )
                )
                status[step] = "verify_pending"
            elif choice == 3:
                verdict = draw(st.sampled_from(["pass", "fail", "request_changes", "blocked"]))
                outcome = {
                    "pass": "approved",
                    "fail": "rejected",
                    "request_changes": "changes_requested",
                    "blocked": "replan_required",
                }[verdict]
                reviewer = draw(st.sampled_from([a for a in agents if a != agent] or agents))
                findings = tuple(
                    Finding(severity=severity, message=draw(text))
                    for severity in draw(
                        st.lists(st.sampled_from(["info", "minor", "major"]), max_size=2)
                    )
                )
                msgs.append(ReviewRequested(step=step, attempt=n, reviewer=reviewer))
                if reviewer != agent:
                    report = ResultEnvelope(
                        agent=reviewer,
                        role="reviewer",
                        step=step,
                        attempt=n,
                        exit_status="ok",
                        payload=ReviewPayload(verdict=verdict, findings=findings),
                    )
                    msgs.append(ResultProposed(result=report))
                msgs.append(
                    ReviewGiven(
                        step=step,
                        attempt=n,
                        reviewer=reviewer,
                        verdict=verdict,
                        outcome=outcome,
                        findings=findings,
                    )
                )
            else:
                if draw(st.booleans()):
                    msgs.append(ValidationPassed(step=step, attempt=n, validator="tests"))
                else:
                    failure = Failure(failure_class="validation", kind="tests_failed")
                    msgs.append(
                        ValidationFailed(step=step, attempt=n, validator="tests", failure=failure)
                    )
        elif kind == "finish" and active:
            step = draw(st.sampled_from(active))
            n = attempts[step]
            outcome = draw(st.integers(0, 5))
            if outcome <= 1:
                msgs.append(StepCompleted(step=step, attempt=n))
                status[step] = "completed"
            elif outcome == 2:
                failure = Failure(
                    failure_class=draw(st.sampled_from(["transient", "agent", "validation"])),
                    kind="x",
                )
                msgs.append(StepFailed(step=step, attempt=n, failure=failure))
                msgs.append(
                    StepRetried(
                        step=step,
                        next_attempt=n + 1,
                        failure_class=failure.failure_class,
                        feedback=failure,
                    )
                )
                status[step] = "pending"
            elif outcome == 3:
                msgs.append(
                    AttemptCancelled(step=step, attempt=n, agent=owner.get(step, "a0"), reason="x")
                )
                msgs.append(StepInterrupted(step=step, attempt=n, reason="cancelled"))
                msgs.append(StepRetried(step=step, next_attempt=n + 1, failure_class="transient"))
                status[step] = "pending"
            elif outcome == 4:
                msgs.append(StepBlocked(step=step, reason="needs a human"))
                status[step] = "blocked"
            else:
                msgs.append(
                    ArbitrationDecided(
                        step=step,
                        policy="first_passing",
                        winner_attempt=n,
                        scores=(
                            Score(agent=owner.get(step, "a0"), attempt=n, passed=True, score=1.0),
                        ),
                        margin=1.0,
                    )
                )
                msgs.append(StepCompleted(step=step, attempt=n))
                status[step] = "completed"
        elif kind == "timer":
            if timers and draw(st.booleans()):
                timer = timers.pop(draw(st.integers(0, len(timers) - 1)))
                msgs.append(
                    TimerFired(timer=timer) if draw(st.booleans()) else TimerCancelled(timer=timer)
                )
            else:
                timer_seq += 1
                timers.append(f"t{timer_seq}")
                msgs.append(
                    TimerSet(
                        timer=f"t{timer_seq}",
                        due_us=draw(st.integers(0, 10**12)),
                        purpose=draw(st.sampled_from(["heartbeat", "backoff", "deadline"])),
                    )
                )
        elif kind == "misc":
            choice = draw(st.integers(0, 9))
            agent = draw(st.sampled_from(agents))
            step = draw(st.sampled_from(sorted(status)))
            if choice == 0:
                msgs.append(NoteWritten(author=agent, text=draw(text)))
            elif choice == 1 and plan.criteria:
                msgs.append(CriterionMet(criterion=draw(st.sampled_from(plan.criteria)).id))
            elif choice == 2:
                request = f"h{len(approvals)}"
                approvals.append(request)
                msgs.append(HumanApprovalRequested(request=request, prompt="ok?", step=step))
            elif choice == 3 and approvals:
                msgs.append(
                    HumanApprovalGiven(request=approvals.pop(0), approved=draw(st.booleans()))
                )
            elif choice == 4:
                msgs.append(
                    BudgetExhausted(
                        resource="tokens", limit=100.0, used=120.0, action="refused", agent=agent
                    )
                )
            elif choice == 5:
                failure = Failure(failure_class="agent", kind="crash")
                msgs.append(AgentFailed(agent=agent, failure=failure))
                msgs.append(AgentRestarted(agent=agent, restarts=1))
            elif choice == 6:
                msgs.append(HeartbeatMissed(agent=agent, step=step, attempt=max(1, attempts[step])))
            elif choice == 7 and attempts[step]:
                msgs.append(
                    WorkspaceCreated(
                        step=step, attempt=attempts[step], path="/w", branch="b", base_commit="c"
                    )
                )
                workspaces.append((step, attempts[step]))
            elif choice == 8 and workspaces:
                ws_step, ws_attempt = workspaces.pop(0)
                msgs.append(
                    WorkspaceMerged(
                        step=ws_step,
                        attempt=ws_attempt,
                        status=draw(st.sampled_from(["applied", "conflicted", "blocked"])),
                        into="playbill/integration",
                    )
                )
            elif choice == 9:
                if step in owner:
                    msgs.append(
                        HandoffRecorded(
                            step=step, from_agent=owner[step], to_agent=agent, done="half"
                        )
                    )
                else:
                    msgs.append(
                        PolicyDecisionApplied(
                            action=draw(st.sampled_from(["change_agent", "skip", "escalate"])),
                            reason="r",
                            step=step,
                            new_agent=agent,
                        )
                    )
                    if status[step] == "pending" and draw(st.booleans()):
                        msgs.append(StepSkipped(step=step, reason="policy"))
                        status[step] = "skipped"
        elif kind == "pause":
            msgs.append(RunResumed(by="t") if paused else RunPaused(reason="p", by="t"))
            paused = not paused

    end = draw(st.integers(0, 4))
    if end == 0:
        msgs.append(RunCompleted(summary="done"))
    elif end == 1:
        msgs.append(RunFailed(reason="gave up"))
    elif end == 2:
        msgs.append(RunCancelled(reason="user"))
    return msgs


def as_entries(msgs: list[Message], run_id: str = "run-1", start_us: int = 10**15) -> list[Entry]:
    """Wrap messages into dense entries of one run, 1 ms apart, each caused by the one before."""
    return entries(*msgs, run_id=run_id, start_us=start_us, sender="test", chained=True)


@st.composite
def plausible_journals(draw: st.DrawFn, max_actions: int = 60) -> list[Entry]:
    """The entries of a plausible run."""
    return as_entries(draw(plausible_messages(max_actions)))
