"""The supervisor's policy: ``decide(state, entry) -> drafts``, pure and total.

``decide`` reads only the state folded up to and including ``entry``, and the
entry. Time enters as ``entry.at_us``. It returns the supervisor's drafts:
commands to agents (addressed to the agent), timers (to ``supervisor``) and
facts (to ``*``), each caused by ``entry``.

**Whole reactions.** The journal writer folds and reacts to a batch breadth
first, so when it hands ``decide`` the first of the drafts it returned, their
siblings are not folded yet. ``decide`` therefore works out every consequence
of an entry in one call (folding its own drafts into a scratch state as it
goes, see ``PolicyContext``) and returns nothing for entries the supervisor
sent: their consequences are already among the drafts that came with them.
A cascade is thus one level deep, whatever the writer's order.

**Level, not edge.** Apart from a few entries that carry news the state
cannot (a result to turn into validations, a person's answer, a control
request, a decision to carry out, a timer firing), ``decide`` does not ask
what happened: it looks at the state and issues what is due, until nothing
is (``settle``). On a state it left consistent that is nothing, so the same
rules also repair what others left half done: work assigned from outside
gets a deadline, an orphaned attempt is interrupted and retried, a blocked
step gets a person asked.

The order of one settling round: attempts whose step moved on without them
(closed), orphaned work, failed steps that wait for a decision, budgets,
stale timers (before anyone is given new work: a timer is known by its step,
attempt and agent), strategies advancing steps with results (reviews and
verifications before new work), scheduling ready steps, the end of the run,
then housekeeping (agents busy with dead work, stale timers, missing
deadlines). Once settled, the deadlines of wall budgets are set where the
work in hand puts them (``_wall``).

Heartbeats, starts of attempts, notes, workspace records and agents'
processes change nothing the policy reads, and usage matters only when it uses up a budget:
``decide`` returns nothing for them at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final, assert_never

from ..model._entry import Draft, Entry
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
from ..model._state import WORK_LOST, RunState
from ..model._values import Failure
from ._budget_stops import stop_for_budget
from ._budgets import crossed, refuse, run_overrun
from ._failures import NEEDS_DECISION, after_failure, apply_decision, request_replan
from ._humans import live_approvals, on_approval, on_control
from ._pipeline import PIPELINE
from ._policy_context import SUPERVISOR, PolicyContext, Strategy, stall_window_s
from ._run_end import check_end
from ._scheduling import can_play, is_free, is_ready, scope_free
from ._step_index import StepIndex, index_of, scan
from ._strategy_competitive import COMPETITIVE
from ._strategy_cooperative import COOPERATIVE
from ._strategy_parallel import PARALLEL
from ._strategy_review_loop import REVIEW_LOOP
from ._wall import arm_wall_deadlines, wall_overruns
from ._work import (
    arm_missing_deadlines,
    cancel,
    check_deadlines,
    claimed_work,
    close_dangling,
    collect_timers,
    fail_run,
    free_stuck_agents,
    held,
    stalled,
    wind_down,
)

STRATEGIES: Final[Mapping[str, Strategy]] = {
    "pipeline": PIPELINE,
    "parallel": PARALLEL,
    "competitive": COMPETITIVE,
    "cooperative": COOPERATIVE,
    "review_loop": REVIEW_LOOP,
}
"""The strategies ``decide`` knows by default, by name (see ``docs/strategies.md``)."""

SETTLE_ROUNDS: Final = 16
"""A bound on settling rounds per entry (the property tests' worlds never need
more than two: the second finds nothing more to do)."""

_QUIET = (Heartbeat, StepStarted, NoteWritten, WorkspaceCreated, ProcessStarted, ProcessEnded)

_BUILTIN: Final[tuple[Strategy, ...]] = (PIPELINE, PARALLEL, COMPETITIVE, COOPERATIVE, REVIEW_LOOP)


def _stuck(index: StepIndex) -> int:
    return index.of("blocked", "failed", "interrupted")


def _verifying(index: StepIndex) -> int:
    return index.of("verify_pending")


def decide(
    state: RunState, entry: Entry, *, strategies: Mapping[str, Strategy] | None = None
) -> list[Draft]:
    """The supervisor's commands after ``entry`` (see the module). Pure and total.

    Args:
        state: The run's state folded up to and including ``entry``.
        entry: The entry just folded.
        strategies: The strategies by name; ``STRATEGIES`` by default. A step
            whose strategy is not among them fails the run when it is ready.

    Returns:
        Drafts sent by ``supervisor``, caused by ``entry.seq``, in the order
        they are to be journaled. Empty for the supervisor's own entries.
        Usually a ``Decision``: the list also carries the entries and states
        the drafts were folded into, which ``cascade`` takes as they are.
    """
    if entry.sender == SUPERVISOR or state.status == "new" or isinstance(entry.msg, _QUIET):
        return []
    if isinstance(entry.msg, UsageReported) and not crossed(state):
        return []  # usage matters to budgets only: the most frequent entry after heartbeats
    ctx = PolicyContext(state, entry, STRATEGIES if strategies is None else strategies)
    _react(ctx, entry)
    if ctx.state.plan is not None and ctx.state.status in ("running", "paused"):
        settle(ctx)
        arm_wall_deadlines(ctx)  # once, with the work in hand settled (or the run over)
    return ctx.decision()


def _react(ctx: PolicyContext, entry: Entry) -> None:
    """What an entry says that the state alone does not."""
    msg = entry.msg
    match msg:
        case TimerFired():
            for overrun, due in wall_overruns(ctx):
                if not ctx.state.is_terminal:
                    stop_for_budget(ctx, overrun, deadline_us=due)
            for work, failure in check_deadlines(ctx):
                if work.kind == "implement":
                    after_failure(ctx, work.step, failure)
        case ResultProposed(result=result):
            strategy = ctx.strategy_for(result.step)
            if strategy is not None and not ctx.state.is_terminal:
                strategy.on_result(ctx, result)
        case HumanApprovalGiven(request=request):
            if not ctx.state.is_terminal:
                on_approval(ctx, request)
        case PolicyDecisionApplied():
            if not ctx.state.is_terminal:
                apply_decision(ctx, msg)
        case ControlRequested():
            on_control(ctx, msg)
        case RunCancelled() | RunFailed() | RunCompleted():
            if ctx.state.is_terminal:
                wind_down(ctx, f"run {ctx.state.status}")
        case (
            UsageReported()
            | StepFailed()
            | StepInterrupted()
            | StepCompleted()
            | StepSkipped()
            | StepBlocked()
            | StepRetried()
            | StepAssigned()
            | AttemptCancelled()
            | ReviewRequested()
            | VerificationRequested()
            | ReviewGiven()
            | ValidationPassed()
            | ValidationFailed()
            | AgentFailed()
            | AgentRestarted()
            | HeartbeatMissed()
            | BudgetExhausted()
            | RunCreated()
            | PlanAttached()
            | RunPaused()
            | RunResumed()
            | TimerSet()
            | TimerCancelled()
            | HumanApprovalRequested()
            | CriterionMet()
            | ArbitrationDecided()
            | HandoffRecorded()
            | WorkspaceMerged()
            | MergeRequested()
            | Heartbeat()
            | StepStarted()
            | NoteWritten()
            | WorkspaceCreated()
            | ProcessStarted()
            | ProcessEnded()
        ):
            pass  # the state says it all: ``settle`` does the rest
        case _:
            assert_never(msg)


def settle(ctx: PolicyContext) -> None:
    """Issue whatever the state makes due, until nothing is (see the module)."""
    # A rule is a function of the state (and of the entry's time and seq):
    # one that issued nothing need not run again on the very same state.
    idle: dict[Callable[[PolicyContext], None], RunState] = {}
    for _ in range(SETTLE_ROUNDS):
        before = len(ctx.drafts)
        for rule in _RULES:
            state = ctx.state
            if state.is_terminal:
                return
            if idle.get(rule) is state:
                continue
            issued = len(ctx.drafts)
            rule(ctx)
            if len(ctx.drafts) == issued:
                idle[rule] = state
        if len(ctx.drafts) == before:
            return


def _orphans(ctx: PolicyContext) -> None:
    """Implementation work whose agent no longer has it is interrupted and retried."""
    for work in claimed_work(ctx.state):
        if ctx.state.is_terminal:
            return  # a retry decision failed the run, which stopped all work
        if work.kind != "implement" or held(ctx.state, work):
            continue
        agent = ctx.state.agents.get(work.agent)
        status = agent.status if agent is not None else "failed"
        if status == "failed":
            failure = Failure(
                failure_class="agent", kind="agent_crashed", detail=f"{work.agent} is failed"
            )
        elif status == "unresponsive":
            failure = stalled(work.agent, stall_window_s(ctx.state, work.agent))
        else:
            failure = Failure(
                failure_class="transient",
                kind=WORK_LOST,
                detail=f"{work.agent} no longer works on attempt {work.attempt}",
            )
        cancel(ctx, work, failure.kind)
        after_failure(ctx, work.step, failure)


def _undecided(ctx: PolicyContext) -> None:
    """Failed or interrupted steps get a decision; blocked steps get a person asked."""
    if not _stuck(index_of(ctx.state.steps)):
        return  # nothing failed, interrupted or blocked: the common case
    asked = {a.step for a in live_approvals(ctx.state)}
    for sid in scan(lambda: ctx.state.steps, _stuck):
        step = ctx.state.steps[sid]
        if step.status == "blocked":
            request_replan(ctx, sid)
        elif (
            step.status in NEEDS_DECISION
            and sid not in asked
            and not any(a.status in ("assigned", "running", "proposed") for a in step.attempts)
        ):
            failure = step.last_failure if step.status == "failed" else None
            after_failure(
                ctx, sid, failure or Failure(failure_class="transient", kind="interrupted")
            )


def _budgets(ctx: PolicyContext) -> None:
    """Budgets that usage just used up: journal them and stop the work they cover."""
    for overrun in crossed(ctx.state):
        if ctx.state.is_terminal:
            return
        stop_for_budget(ctx, overrun)


def _advance(ctx: PolicyContext) -> None:
    """Steps with a proposed result move on (reviews and verifications come first)."""
    for sid in scan(lambda: ctx.state.steps, _verifying):
        if ctx.state.is_terminal:
            return
        strategy = ctx.strategy_for(sid)
        if strategy is not None:
            strategy.advance(ctx, sid)


def _schedule(ctx: PolicyContext) -> None:
    """Ready steps whose scope is free start, in plan order."""
    if not ctx.may_start_work:
        return
    for sid in scan(lambda: ctx.state.steps, lambda index: _startable(ctx, index)):
        if ctx.state.is_terminal:
            return
        step = ctx.state.steps[sid]
        if not is_ready(ctx.state, step) or not scope_free(ctx.state, step):
            continue
        strategy = ctx.strategy_for(sid)
        if strategy is None:
            name = step.spec.strategy or ctx.state.strategy
            fail_run(ctx, f"step {sid!r} asks for strategy {name!r}, which is unknown", "policy")
            return
        overrun = run_overrun(ctx.state, attempt=True)
        if overrun is not None:
            refuse(ctx, overrun, sid)
            reason = (
                f"step {sid!r} cannot start: the run's {overrun.resource} budget is used up "
                f"({overrun.used:g} of {overrun.limit:g})"
            )
            fail_run(ctx, reason, "budget")
            return
        strategy.start(ctx, sid)


def _startable(ctx: PolicyContext, index: StepIndex) -> int:
    """The steps ``_schedule`` may act on: ready ones, less those it would pass by.

    With every strategy a built-in one and the run's budget allowing an
    attempt, a ready step that no free agent can take is one ``_schedule``
    would pass without issuing anything (each built-in strategy starts work
    only with a free agent that can play the step's role): it is left out
    here, so that a wide plan whose agents are all busy costs nothing to
    look at. Otherwise every ready step is (an unknown strategy or a budget
    used up fails the run on the first one).
    """
    ready = index.ready
    if not ready or run_overrun(ctx.state, attempt=True) is not None:
        return ready
    state = ctx.state
    for name in index.layout.strategies:
        found = ctx.strategies.get(name or state.strategy)
        if not any(found is builtin for builtin in _BUILTIN):
            return ready
    free = [a for a in state.agents.values() if is_free(a)]
    if not free:
        return 0  # every agent busy: a wide plan's common case
    takers = [
        (role, edits)
        for role, edits in index.layout.needs
        if any(can_play(a, role, edits=edits) for a in free)
    ]
    return ready & index.needing(takers)


def _tidy(ctx: PolicyContext) -> None:
    free_stuck_agents(ctx)
    collect_timers(ctx)
    arm_missing_deadlines(ctx)


_RULES: Final[tuple[Callable[[PolicyContext], None], ...]] = (
    close_dangling,
    _orphans,
    _undecided,
    _budgets,
    collect_timers,
    _advance,
    _schedule,
    check_end,
    _tidy,
)
"""What ``settle`` applies, in order, each round."""
