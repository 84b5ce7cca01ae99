"""The reducer: ``evolve(state, entry) -> state``, pure and total.

``evolve`` reads nothing but its arguments: no clock, randomness, environment
or disk (a test enforces the imports). It never raises on a well-typed entry:
an entry that makes no sense in the state it meets (a heartbeat for an unknown
step, a completion of a run that already failed) is recorded as an anomaly and
otherwise ignored, so that a journal can always be folded and inspected.

Cases are ordered by how often they occur in real journals, because ``match``
tries them in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypeVar, assert_never

from msgspec.structs import replace

from ..model._entry import Entry
from ..model._messages import (
    AgentFailed,
    AgentRestarted,
    ArbitrationDecided,
    AttemptCancelled,
    BudgetExhausted,
    ControlRequested,
    CriterionMet,
    HandoffRecorded,
    Heartbeat,
    HeartbeatMissed,
    HumanApprovalGiven,
    HumanApprovalRequested,
    MergeRequested,
    NoteWritten,
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
    TimerCancelled,
    TimerFired,
    TimerSet,
    UsageReported,
    ValidationFailed,
    ValidationPassed,
    VerificationRequested,
    WorkspaceCreated,
    WorkspaceMerged,
)
from ..model._state import (
    HISTORY_LIMIT,
    WORK_LOST,
    AgentState,
    ApprovalState,
    ArbitrationRecord,
    AttemptState,
    AttemptStatus,
    BudgetRecord,
    CriterionState,
    DecisionRecord,
    ExhaustedBudget,
    HandoffRecord,
    NoteRecord,
    ProcessRecord,
    RunState,
    RunStatus,
    StepState,
    StepStatus,
    TimerState,
    ValidationRecord,
    WorkspaceRecord,
    initial_state,
)
from ..model._values import AgentSpec, Failure, Plan, StepSpec
from ._step_index import put_step, step_map

_T = TypeVar("_T")

_LIVE_ATTEMPT: frozenset[AttemptStatus] = frozenset({"assigned", "running", "proposed"})
_MOVED_ON: frozenset[StepStatus] = frozenset({"completed", "skipped", "blocked", "pending"})


def fold(entries: Iterable[Entry], state: RunState | None = None) -> RunState:
    """Fold entries into a state, starting from ``state`` (or the empty state)."""
    current = initial_state() if state is None else state
    for entry in entries:
        current = evolve(current, entry)
    return current


def evolve(state: RunState, entry: Entry) -> RunState:
    """The state after one more entry. Pure and total."""
    if entry.seq != state.last_seq + 1 or (state.run_id and entry.run_id != state.run_id):
        return _anomaly(
            state,
            entry,
            f"entry of run {entry.run_id!r} seq {entry.seq} does not follow "
            f"run {state.run_id!r} seq {state.last_seq}",
        )
    msg = entry.msg
    if type(msg) is Heartbeat:
        # the most frequent entry, in one step: what _apply's first case does
        agents = state.agents
        found = agents.get(msg.agent)
        if found is None:
            found = AgentState(spec=AgentSpec(id=msg.agent, roles=()))
        beat = replace(found, last_heartbeat_us=entry.at_us)
        return replace(
            state,
            agents={**agents, beat.spec.id: beat},
            last_seq=entry.seq,
            updated_us=entry.at_us,
        )
    state = _apply(state, entry)
    return replace(state, last_seq=entry.seq, updated_us=entry.at_us)


def _apply(state: RunState, entry: Entry) -> RunState:
    msg = entry.msg
    match msg:
        case Heartbeat(agent=agent):
            # Liveness is tracked per agent: an agent works on one attempt at a
            # time, and heartbeats are the most frequent entry, so they touch
            # as little state as possible.
            return _update_agent(state, agent, last_heartbeat_us=entry.at_us)
        case UsageReported(agent=agent, usage=usage, step=step, attempt=number):
            agent_state = _agent(state, agent)
            agent_state = replace(agent_state, usage=agent_state.usage + usage)
            if usage.wall_s and _in_hand(agent_state, step, number):
                in_hand_s = (agent_state.busy_wall_s or 0.0) + usage.wall_s
                agent_state = replace(agent_state, busy_wall_s=in_hand_s)
            state = replace(
                state,
                agents={**state.agents, agent_state.spec.id: agent_state},
                usage=state.usage + usage,
            )
            if step is not None and number is not None:
                found = _find_attempt(state, step, number)
                if found is not None:
                    state = _put_attempt(state, step, replace(found, usage=found.usage + usage))
            return state
        case TimerSet():
            timer = TimerState(
                timer=msg.timer,
                due_us=msg.due_us,
                purpose=msg.purpose,
                set_seq=entry.seq,
                step=msg.step,
                attempt=msg.attempt,
                agent=msg.agent,
            )
            return replace(state, timers={**state.timers, msg.timer: timer})
        case TimerFired(timer=timer) | TimerCancelled(timer=timer):
            if timer not in state.timers:
                return _anomaly(state, entry, f"timer {timer!r} is not pending")
            timers = dict(state.timers)
            del timers[timer]
            return replace(state, timers=timers)
        case StepAssigned():
            return _assign(state, entry, msg)
        case StepStarted(step=step, attempt=number):
            found = _find_attempt(state, step, number)
            if found is None:
                return _anomaly(state, entry, f"start of unknown attempt {step}#{number}")
            started = replace(found, status="running", started_us=entry.at_us)
            return _put_attempt(state, step, started)
        case ResultProposed(result=result):
            found = _find_attempt(state, result.step, result.attempt)
            if found is None:
                return _anomaly(
                    state, entry, f"result for unknown attempt {result.step}#{result.attempt}"
                )
            if result.agent != found.agent:
                # a reviewer's or verifier's report about the attempt
                kept = tuple(
                    r for r in found.reports if (r.agent, r.role) != (result.agent, result.role)
                )
                reported = replace(found, reports=(*kept, result))
                state = _put_attempt(state, result.step, reported)
                return _release_agent(state, result.agent, result.step, result.attempt)
            if found.status not in ("assigned", "running"):
                # The result raced with the end of its attempt (cancelled, timed
                # out): it is in the journal, and changes nothing but a count.
                state = _release_agent(state, result.agent, result.step, result.attempt)
                return replace(state, late_results=state.late_results + 1)
            # only competitions need the arrival seq: other attempts' states
            # stay as they always were (their digests with them)
            arrival = entry.seq if found.competition is not None else None
            proposed = replace(
                found, status="proposed", result=result, ended_us=entry.at_us, proposed_seq=arrival
            )
            step_state = _with_attempt(state.steps[result.step], proposed)
            if step_state.status == "in_progress":
                step_state = replace(step_state, status="verify_pending")
            state = _put_step(state, step_state)  # one copy of the steps, not two
            return _release_agent(state, result.agent, result.step, result.attempt)
        case ReviewGiven(step=step, attempt=number):
            found = _find_attempt(state, step, number)
            if found is None:
                return _anomaly(state, entry, f"review of unknown attempt {step}#{number}")
            reviewed = replace(
                found,
                review=msg.outcome,
                review_rounds=found.review_rounds + 1,
                findings=msg.findings,
            )
            return _put_attempt(state, step, reviewed)
        case ValidationPassed(step=step, attempt=number):
            record = ValidationRecord(
                validator=msg.validator, passed=True, score=msg.score, evidence=msg.evidence
            )
            return _record_validation(state, entry, step, number, record)
        case ValidationFailed(step=step, attempt=number):
            record = ValidationRecord(
                validator=msg.validator, passed=False, failure=msg.failure, score=msg.score
            )
            return _record_validation(state, entry, step, number, record)
        case StepCompleted(step=step, attempt=number):
            return _end_attempt(state, entry, step, number, "passed", "completed")
        case StepFailed(step=step, attempt=number, failure=failure):
            state = _end_attempt(state, entry, step, number, "failed", "failed", failure)
            if step in state.steps:
                state = _put_step(state, replace(state.steps[step], last_failure=failure))
            return state
        case StepInterrupted(step=step, attempt=number, reason=reason):
            state = _end_attempt(state, entry, step, number, "interrupted", "interrupted")
            found = _find_attempt(state, step, number) if reason == WORK_LOST else None
            return state if found is None else _put_attempt(state, step, replace(found, lost=True))
        case StepRetried(step=step):
            if step not in state.steps:
                return _anomaly(state, entry, f"retry of unknown step {step!r}")
            step_state = state.steps[step]
            retried = replace(
                step_state, status="pending", retries=step_state.retries + 1, feedback=msg.feedback
            )
            return replace(_put_step(state, retried), retries=state.retries + 1)
        case AttemptCancelled(step=step, attempt=number):
            found = _find_attempt(state, step, number)
            if found is None:
                return _anomaly(state, entry, f"cancel of unknown attempt {step}#{number}")
            state = _put_attempt(state, step, replace(found, cancel_requested=True))
            # the agent stops now: it is no longer busy with the attempt
            return _release_agent(state, msg.agent, step, number)
        case ReviewRequested(step=step, attempt=number, reviewer=agent):
            return _request_report(state, entry, step, number, agent, "reviewer")
        case VerificationRequested(step=step, attempt=number, verifier=agent):
            return _request_report(state, entry, step, number, agent, "verifier")
        case StepBlocked(step=step):
            if step not in state.steps:
                return _anomaly(state, entry, f"block of unknown step {step!r}")
            blocked = replace(
                state.steps[step],
                status="blocked",
                owner=None,
                blocked_reason=msg.reason,
                blockers=msg.blockers,
            )
            return _put_step(state, blocked)
        case StepSkipped(step=step):
            if step not in state.steps:
                return _anomaly(state, entry, f"skip of unknown step {step!r}")
            return _put_step(state, replace(state.steps[step], status="skipped", owner=None))
        case HeartbeatMissed(agent=agent):
            agent_state = _agent(state, agent)
            missed = replace(
                agent_state,
                status="unresponsive",
                missed_heartbeats=agent_state.missed_heartbeats + 1,
            )
            return _put_agent(state, missed)
        case ArbitrationDecided(step=step):
            arbitration = ArbitrationRecord(
                policy=msg.policy,
                winner_attempt=msg.winner_attempt,
                scores=msg.scores,
                margin=msg.margin,
                tie_break=msg.tie_break,
                seq=entry.seq,
            )
            return replace(state, arbitrations={**state.arbitrations, step: arbitration})
        case HandoffRecorded(step=step):
            handoff = HandoffRecord(
                step=step,
                from_agent=msg.from_agent,
                to_agent=msg.to_agent,
                done=msg.done,
                open_items=msg.open_items,
                seq=entry.seq,
            )
            state = replace(
                state,
                handoffs=_bounded(state.handoffs, handoff),
                handoff_count=state.handoff_count + 1,
            )
            if step in state.steps:
                step_state = state.steps[step]
                owner = msg.to_agent if step_state.owner is not None else None
                state = _put_step(
                    state, replace(step_state, handoffs=step_state.handoffs + 1, owner=owner)
                )
            return state
        case CriterionMet(criterion=criterion):
            met = state.criteria.get(criterion)
            if met is None:
                return _anomaly(state, entry, f"unknown criterion {criterion!r}")
            met = replace(met, met=True, met_seq=entry.seq, evidence=msg.evidence)
            return replace(state, criteria={**state.criteria, criterion: met})
        case BudgetExhausted():
            budget_record = BudgetRecord(
                resource=msg.resource,
                limit=msg.limit,
                used=msg.used,
                action=msg.action,
                agent=msg.agent,
                step=msg.step,
                seq=entry.seq,
            )
            state = replace(
                state,
                budget_events=_bounded(state.budget_events, budget_record),
                budget_event_count=state.budget_event_count + 1,
            )
            if msg.agent is not None:
                state = _update_agent(state, msg.agent, budget_exhausted=True)
            exhausted = ExhaustedBudget(
                resource=msg.resource, agent=msg.agent, step=msg.step if msg.of_step else None
            )
            if exhausted not in state.exhausted:
                state = replace(state, exhausted=(*state.exhausted, exhausted))
            return state
        case PolicyDecisionApplied():
            return _apply_decision(state, entry, msg)
        case AgentFailed(agent=agent, failure=failure):
            agent_state = _agent(state, agent)
            failed = replace(
                agent_state,
                status="failed",
                failures=agent_state.failures + 1,
                last_failure=failure,
            )
            return _put_agent(state, failed)
        case AgentRestarted(agent=agent, restarts=restarts):
            restarted = replace(
                _agent(state, agent),
                status="idle",
                step=None,
                attempt=None,
                restarts=restarts,
                busy_since_us=None,
                busy_wall_s=None,
            )
            return _put_agent(state, restarted)
        case WorkspaceCreated(step=step, attempt=number):
            workspace = WorkspaceRecord(
                step=step,
                attempt=number,
                path=msg.path,
                branch=msg.branch,
                base_commit=msg.base_commit,
            )
            return replace(state, workspaces={**state.workspaces, f"{step}#{number}": workspace})
        case MergeRequested(step=step, attempt=number):
            key = f"{step}#{number}"
            created = state.workspaces.get(key)
            if created is None:
                return _anomaly(state, entry, f"merge request for unknown workspace {key}")
            requested = replace(created, merge_requested_seq=entry.seq)
            return replace(state, workspaces={**state.workspaces, key: requested})
        case WorkspaceMerged(step=step, attempt=number):
            key = f"{step}#{number}"
            created = state.workspaces.get(key)
            if created is None:
                return _anomaly(state, entry, f"merge of unknown workspace {key}")
            merged = replace(
                created, merge_status=msg.status, merge_commit=msg.commit, merge_detail=msg.detail
            )
            return replace(state, workspaces={**state.workspaces, key: merged})
        case ProcessStarted():
            return _record_process(state, entry, msg)
        case ProcessEnded(pid=pid, host=host):
            running = tuple(
                p for p in state.processes if (p.process.pid, p.process.host) != (pid, host)
            )
            if len(running) == len(state.processes):
                return _anomaly(state, entry, f"end of unknown process {pid} on {host!r}")
            return replace(state, processes=running)
        case NoteWritten(author=author, text=text):
            note = NoteRecord(author=author, text=text, seq=entry.seq)
            return replace(
                state, notes=_bounded(state.notes, note), note_count=state.note_count + 1
            )
        case HumanApprovalRequested(request=request):
            approval = ApprovalState(request=request, prompt=msg.prompt, step=msg.step)
            return replace(state, approvals={**state.approvals, request: approval})
        case HumanApprovalGiven(request=request):
            pending = state.approvals.get(request)
            if pending is None or pending.status != "pending":
                return _anomaly(state, entry, f"answer to unknown or closed request {request!r}")
            answered = replace(
                pending,
                status="approved" if msg.approved else "rejected",
                by=msg.by,
                reason=msg.reason,
            )
            return replace(state, approvals={**state.approvals, request: answered})
        case ControlRequested(request_id=request_id):
            if request_id <= state.last_request_id:
                return _anomaly(state, entry, f"control request {request_id} journaled twice")
            return replace(state, last_request_id=request_id)
        case RunCreated():
            if state.status != "new":
                return _anomaly(state, entry, "run created twice")
            return replace(
                state,
                run_id=entry.run_id,
                status="created",
                goal=msg.goal,
                strategy=msg.strategy,
                budget=msg.budget,
                seed=msg.seed,
                labels=msg.labels,
                created_us=entry.at_us,
                # the default is kept as the very default object, so that the
                # state encodes (and digests) the same however it was written
                policy=msg.policy,
            )
        case PlanAttached(plan=plan):
            return _attach_plan(state, plan)
        case RunPaused(reason=reason, stopped=stopped):
            state = _set_status(state, entry, "paused", reason=reason)
            return _restarting(state, stopped)
        case RunResumed(restarting=restarting):
            state = _set_status(state, entry, "running", reason="")
            return _restarting(state, restarting)
        case RunCancelled(reason=reason):
            return _set_status(state, entry, "cancelled", reason=reason)
        case RunCompleted(summary=summary):
            return _set_status(state, entry, "completed", summary=summary)
        case RunFailed(reason=reason):
            return _set_status(state, entry, "failed", reason=reason)
        case _:
            assert_never(msg)


# ------------------------------------------------------------------ helpers


def _anomaly(state: RunState, entry: Entry, what: str) -> RunState:
    note = f"seq {entry.seq}: {what}"
    return replace(
        state,
        anomalies=_bounded(state.anomalies, note),
        anomaly_count=state.anomaly_count + 1,
    )


def _bounded(items: tuple[_T, ...], item: _T) -> tuple[_T, ...]:
    if len(items) < HISTORY_LIMIT:
        return (*items, item)
    return (*items[1 - HISTORY_LIMIT :], item)


def _set_status(state: RunState, entry: Entry, status: RunStatus, **changes: str) -> RunState:
    if state.is_terminal or state.status == "new":
        return _anomaly(state, entry, f"run cannot become {status} from {state.status}")
    return replace(state, status=status, **changes)


def _attach_plan(state: RunState, plan: Plan) -> RunState:
    steps = {spec.id: _step_with_spec(state.steps.get(spec.id), spec) for spec in plan.steps}
    agents = {spec.id: _agent_with_spec(state.agents.get(spec.id), spec) for spec in plan.agents}
    for agent_id, agent_state in state.agents.items():
        agents.setdefault(agent_id, agent_state)
    criteria = {
        c.id: state.criteria.get(c.id) or CriterionState(id=c.id, description=c.description)
        for c in plan.criteria
    }
    status = "running" if state.status == "created" else state.status
    return replace(
        state, plan=plan, steps=step_map(steps), agents=agents, criteria=criteria, status=status
    )


def _step_with_spec(existing: StepState | None, spec: StepSpec) -> StepState:
    return StepState(spec=spec) if existing is None else replace(existing, spec=spec)


def _agent_with_spec(existing: AgentState | None, spec: AgentSpec) -> AgentState:
    return AgentState(spec=spec) if existing is None else replace(existing, spec=spec)


def _apply_decision(state: RunState, entry: Entry, msg: PolicyDecisionApplied) -> RunState:
    record = DecisionRecord(
        action=msg.action,
        reason=msg.reason,
        step=msg.step,
        seq=entry.seq,
        new_agent=msg.new_agent,
        new_validator=msg.new_validator,
    )
    state = replace(
        state,
        decisions=_bounded(state.decisions, record),
        decision_count=state.decision_count + 1,
    )
    step = state.steps.get(msg.step) if msg.step is not None else None
    if msg.action == "change_agent" and step is not None:
        state = _put_step(state, replace(step, agent_override=msg.new_agent))
    elif msg.action == "change_validator" and step is not None and msg.new_validator is not None:
        spec = replace(step.spec, validators=(msg.new_validator,))
        state = _put_step(state, replace(step, spec=spec))
    elif msg.action == "decompose" and msg.new_steps:
        steps = dict(state.steps)
        for spec in msg.new_steps:
            if spec.id not in steps:
                steps[spec.id] = StepState(spec=spec)
        state = replace(state, steps=step_map(steps))
    return state


def _assign(state: RunState, entry: Entry, msg: StepAssigned) -> RunState:
    step_state = state.steps.get(msg.step)
    if step_state is None:
        return _anomaly(state, entry, f"assignment of unknown step {msg.step!r}")
    if msg.attempt != len(step_state.attempts) + 1:
        return _anomaly(
            state,
            entry,
            f"assignment of attempt {msg.attempt} to step {msg.step!r}, "
            f"expected attempt {len(step_state.attempts) + 1}",
        )
    attempt = AttemptState(
        number=msg.attempt,
        agent=msg.agent,
        assigned_seq=entry.seq,
        assigned_us=entry.at_us,
        feedback=msg.feedback,
        competition=msg.competition,
    )
    step_state = replace(
        step_state,
        status="in_progress",
        owner=msg.agent,
        attempts=(*step_state.attempts, attempt),
    )
    agent_state = _agent(state, msg.agent)
    agent_state = replace(
        agent_state,
        status="busy",
        step=msg.step,
        attempt=msg.attempt,
        attempts=agent_state.attempts + 1,
        busy_since_us=entry.at_us,
        busy_wall_s=None,
    )
    state = _put_agent(_put_step(state, step_state), agent_state)
    return replace(state, attempts=state.attempts + 1)


def _end_attempt(
    state: RunState,
    entry: Entry,
    step: str,
    number: int,
    attempt_status: AttemptStatus,
    step_status: StepStatus,
    failure: Failure | None = None,
) -> RunState:
    found = _find_attempt(state, step, number)
    if found is None:
        return _anomaly(state, entry, f"end of unknown attempt {step}#{number}")
    ended = replace(
        found,
        status=attempt_status,
        ended_us=found.ended_us if found.ended_us is not None else entry.at_us,
        failure=failure if failure is not None else found.failure,
    )
    step_state = _with_attempt(state.steps[step], ended)
    # A completion always completes the step. An attempt that fails or is
    # interrupted leaves the step alone when another attempt of it is still
    # live (a stale report, a loser of a competition), or when the step has
    # moved on without it (completed, skipped, blocked, or back to pending).
    other_live = any(a.number != number and a.status in _LIVE_ATTEMPT for a in step_state.attempts)
    moved_on = step_state.status in _MOVED_ON
    if step_status == "completed" or not (other_live or moved_on):
        completed = number if step_status == "completed" else step_state.completed_attempt
        step_state = replace(
            step_state, status=step_status, owner=None, completed_attempt=completed
        )
    state = _put_step(state, step_state)  # one copy of the steps, not two
    state = _release_agent(state, found.agent, step, number)
    # nobody goes on reviewing or verifying an attempt that has ended
    for helper in (found.reviewer, found.verifier):
        if helper is not None:
            state = _release_agent(state, helper, step, number)
    return state


def _request_report(
    state: RunState,
    entry: Entry,
    step: str,
    number: int,
    agent: str,
    role: Literal["reviewer", "verifier"],
) -> RunState:
    """A reviewer or verifier is asked about an attempt: it is busy with it."""
    found = _find_attempt(state, step, number)
    if found is None:
        return _anomaly(state, entry, f"report requested on unknown attempt {step}#{number}")
    if role == "reviewer":
        asked = replace(found, reviewer=agent, review_requests=found.review_requests + 1)
    else:
        asked = replace(found, verifier=agent, verify_requests=found.verify_requests + 1)
    state = _put_attempt(state, step, asked)
    return _update_agent(
        state,
        agent,
        status="busy",
        step=step,
        attempt=number,
        busy_since_us=entry.at_us,
        busy_wall_s=None,
    )


def _record_validation(
    state: RunState, entry: Entry, step: str, number: int, record: ValidationRecord
) -> RunState:
    found = _find_attempt(state, step, number)
    if found is None:
        return _anomaly(state, entry, f"validation of unknown attempt {step}#{number}")
    kept = tuple(v for v in found.validations if v.validator != record.validator)
    return _put_attempt(state, step, replace(found, validations=(*kept, record)))


def _find_attempt(state: RunState, step: str, number: int) -> AttemptState | None:
    step_state = state.steps.get(step)
    return None if step_state is None else step_state.attempt(number)


def _put_attempt(state: RunState, step: str, attempt: AttemptState) -> RunState:
    return _put_step(state, _with_attempt(state.steps[step], attempt))


def _with_attempt(step_state: StepState, attempt: AttemptState) -> StepState:
    attempts = tuple(attempt if a.number == attempt.number else a for a in step_state.attempts)
    return replace(step_state, attempts=attempts)


def _put_step(state: RunState, step_state: StepState) -> RunState:
    return replace(state, steps=put_step(state.steps, step_state))


def _agent(state: RunState, agent: str) -> AgentState:
    found = state.agents.get(agent)
    return found if found is not None else AgentState(spec=AgentSpec(id=agent, roles=()))


def _put_agent(state: RunState, agent_state: AgentState) -> RunState:
    return replace(state, agents={**state.agents, agent_state.spec.id: agent_state})


def _update_agent(state: RunState, agent: str, **changes: object) -> RunState:
    return _put_agent(state, replace(_agent(state, agent), **changes))


def _release_agent(state: RunState, agent: str, step: str, number: int) -> RunState:
    agent_state = state.agents.get(agent)
    if agent_state is None or agent_state.step != step or agent_state.attempt != number:
        return state
    status = "idle" if agent_state.status == "busy" else agent_state.status
    released = replace(
        agent_state, status=status, step=None, attempt=None, busy_since_us=None, busy_wall_s=None
    )
    state = _put_agent(state, released)
    if state.processes:
        # the work's processes end with it: its runner stops them
        work = (agent, step, number)
        kept = tuple(p for p in state.processes if (p.agent, p.step, p.attempt) != work)
        state = replace(state, processes=kept)
    return state


def _restarting(state: RunState, agents: Iterable[str]) -> RunState:
    """Agents whose actors are gone with their process: no work until ``agent_restarted``."""
    for agent in agents:
        known = state.agents.get(agent)
        if known is not None and known.status != "failed":
            if known.status == "busy":
                state = _lose_report(state, agent, known.step, known.attempt)
            state = _put_agent(state, replace(known, status="restarting"))
    return state


def _lose_report(state: RunState, agent: str, step: str | None, number: int | None) -> RunState:
    """A review or verification the agent was doing is lost with its process.

    Counted apart, so that the policy asks again without charging the lost
    request to the attempt (an attempt's own work lost is the policy's to
    interrupt: ``step_interrupted`` with ``work_lost``).
    """
    found = None if step is None or number is None else _find_attempt(state, step, number)
    if found is None or step is None or found.agent == agent:
        return state
    if found.reviewer == agent and found.review is None and not _reported(found, agent, "reviewer"):
        return _put_attempt(state, step, replace(found, reviews_lost=found.reviews_lost + 1))
    if found.verifier == agent and not _reported(found, agent, "verifier"):
        lost = replace(found, verifications_lost=found.verifications_lost + 1)
        return _put_attempt(state, step, lost)
    return state


def _reported(attempt: AttemptState, agent: str, role: str) -> bool:
    return any(r.agent == agent and r.role == role for r in attempt.reports)


def _record_process(state: RunState, entry: Entry, msg: ProcessStarted) -> RunState:
    """A process of work in flight; one of work that already ended is not kept."""
    agent = state.agents.get(msg.agent)
    if (
        msg.step is None
        or msg.attempt is None
        or agent is None
        or (agent.step, agent.attempt) != (msg.step, msg.attempt)
    ):
        return state  # its work ended while it was journaled: its runner stops it
    record = ProcessRecord(
        agent=msg.agent, step=msg.step, attempt=msg.attempt, process=msg.process, seq=entry.seq
    )
    return replace(state, processes=(*state.processes, record))


def _in_hand(agent_state: AgentState, step: str | None, number: int | None) -> bool:
    """Whether usage reported for ``step``/``number`` is of the work the agent has in hand."""
    if agent_state.status != "busy" or agent_state.busy_since_us is None:
        return False
    return step is None or (step, number) == (agent_state.step, agent_state.attempt)
