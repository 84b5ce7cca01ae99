"""Wall-time budgets, enforced while work runs: their deadlines are journaled timers.

Agents report the wall time of their work when it ends (``usage.wall_s``), so
a wall budget checked only against reported usage stops work long after it
ran over (a 3 s budget would let a 20 s attempt finish). The policy therefore
counts the wall time work in flight is using, from the journal alone:

* A budget's wall time *in use* at time ``t`` is what was reported, plus,
  for every busy agent it covers (all of them for the run's budget, the
  agent itself for an agent's, those working on the step for a step's),
  the time since it took its work in hand (``AgentState.busy_since_us``)
  less what it already reported of that work (``AgentState.busy_wall_s``,
  so that nothing counts twice).
* Between entries that grows linearly, so the instant it reaches the limit
  is known: the budget's *deadline*. For every wall budget that covers work
  in flight, the policy keeps one pending ``deadline`` timer at that instant
  (``wall@SEQ`` for the run's budget, ``wall:AGENT@SEQ`` for an agent's,
  ``wall/STEP@SEQ`` for a step's, ``SEQ`` the seq of the entry decided on),
  and sets it again whenever work starting or ending moves the deadline:
  once per decision, after everything else (``arm_wall_deadlines``).
* When a timer fires, every budget whose wall time in use reached its limit
  is used up (``wall_overruns``): the policy journals ``budget_exhausted``
  (``action="cancelled"``, ``deadline_us`` set, a ``reason`` saying the work
  was cancelled at the deadline) and stops the work it covers, as it does for
  any budget that runs out.

Time enters only as entries' ``at_us``: replay is exact. A plan without a wall
budget gets no such timer, so its journals are what they always were.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ..model._messages import TimerCancelled, TimerSet
from ..model._state import AgentState, RunState, TimerState
from ._budgets import Overrun, journaled, step_budgets, step_usage
from ._policy_context import PolicyContext

_US = 1_000_000
_SLACK_US = 1.0  # float rounding: a deadline is reached within a microsecond
_LATEST_US = float(2**62)  # any limit, however large, still gives an exact JSON integer


Whose = tuple[str | None, str | None]
"""Whose wall budget: ``(agent, step)``; the run's is ``(None, None)``."""

RUN: Whose = (None, None)


def wall_key(whose: Whose) -> str:
    """The id of a wall budget's deadline timers, without the seq (see ``wall_timer``)."""
    agent, step = whose
    if step is not None:
        return f"wall/{step}"
    return "wall" if agent is None else f"wall:{agent}"


def wall_timer(whose: Whose, seq: int) -> str:
    """The id of a wall budget's deadline.

    ``wall@SEQ`` (the run's), ``wall:AGENT@SEQ`` (an agent's), ``wall/STEP@SEQ``
    (a step's); ``SEQ`` is the seq of the entry decided on.
    """
    return f"{wall_key(whose)}@{seq}"


def wall_budgets(state: RunState) -> list[tuple[Whose, float]]:
    """The wall budgets not yet used up, as ``(whose, limit)``.

    The run's first, then each agent's, then each working step's.
    """
    out: list[tuple[Whose, float]] = []
    if state.budget.wall_s is not None and not journaled(state, "wall", None):
        out.append((RUN, state.budget.wall_s))
    for agent in state.agents.values():
        limit = agent.spec.budget.wall_s
        if limit is not None and not journaled(state, "wall", agent.spec.id):
            out.append(((agent.spec.id, None), limit))
    for step, budget in step_budgets(state):
        sid = step.spec.id
        if budget.wall_s is not None and not journaled(state, "wall", None, sid):
            out.append(((None, sid), budget.wall_s))
    return out


def in_hand(state: RunState, whose: Whose) -> list[AgentState]:
    """The busy agents a budget covers: all (the run's), that agent, or those on that step."""
    agent, step = whose
    if step is not None:
        agents: Iterable[AgentState] = (a for a in state.agents.values() if a.step == step)
    elif agent is None:
        agents = state.agents.values()
    else:
        agents = [state.agents[agent]]
    return [a for a in agents if a.status == "busy" and a.busy_since_us is not None]


def reported_s(state: RunState, whose: Whose) -> float:
    """The wall time reported against a budget so far."""
    agent, step = whose
    if step is not None:
        return step_usage(state.steps[step]).wall_s
    return (state.usage if agent is None else state.agents[agent].usage).wall_s


def _accruing_from_us(busy: AgentState) -> float:
    """From when the work in hand uses wall time not yet reported."""
    assert busy.busy_since_us is not None
    return busy.busy_since_us + (busy.busy_wall_s or 0.0) * _US


def in_use_s(state: RunState, whose: Whose, now_us: int) -> float:
    """A budget's wall time in use at ``now_us``: reported, plus what work in hand adds."""
    extra_us = sum(max(0.0, now_us - _accruing_from_us(a)) for a in in_hand(state, whose))
    return reported_s(state, whose) + extra_us / _US


def deadline_us(state: RunState, whose: Whose, limit_s: float) -> int | None:
    """When the wall time in use reaches ``limit_s``, with the work now in hand.

    ``None`` when no work is in hand. The in-use time is piecewise linear in
    time (each piece of work adds from when it accrues), so the instant is
    found by going through the pieces in the order they start to count.
    """
    starts = sorted(_accruing_from_us(a) for a in in_hand(state, whose))
    if not starts:
        return None
    remaining_us = (limit_s - reported_s(state, whose)) * _US
    total = 0.0
    for k, start in enumerate(starts, 1):
        total += start
        at = (remaining_us + total) / k  # sum over the first k of (at - start) == remaining
        if at >= start and (k == len(starts) or at <= starts[k]):
            return _instant(at)
    return _instant(starts[0])  # already past the limit (or figures that make no sense)


def _instant(at_us: float) -> int:
    """A time in whole microseconds, later rather than earlier, whatever the float."""
    if math.isnan(at_us):
        return int(_LATEST_US)
    return math.ceil(min(max(at_us, 0.0), _LATEST_US))


def wall_overruns(ctx: PolicyContext) -> list[tuple[Overrun, int]]:
    """Wall budgets whose time in use reached their limit by now, with their deadline."""
    out: list[tuple[Overrun, int]] = []
    state = ctx.state
    for whose, limit in wall_budgets(state):
        due = deadline_us(state, whose, limit)
        if due is None or ctx.now_us < due:
            continue
        used = in_use_s(state, whose, ctx.now_us)
        if used * _US >= limit * _US - _SLACK_US:
            out.append((Overrun("wall", limit, used, whose[0], whose[1]), due))
    return out


def arm_wall_deadlines(ctx: PolicyContext) -> None:
    """Keep one pending deadline timer per wall budget that covers work in hand, at its deadline.

    Timers of budgets with no work in hand, or used up, are cancelled (all
    of them once the run is over); a timer whose deadline moved is replaced.
    """
    wanted: dict[str, tuple[Whose, int]] = {}
    for whose, limit in [] if ctx.state.is_terminal else wall_budgets(ctx.state):
        due = deadline_us(ctx.state, whose, limit)
        if due is not None:
            wanted[wall_key(whose)] = (whose, due)
    pending = [t for t in ctx.state.timers.values() if _is_wall(t)]
    kept: set[str] = set()
    for timer in pending:
        key = timer.timer.rsplit("@", 1)[0]
        if key in wanted and wanted[key][1] == timer.due_us and key not in kept:
            kept.add(key)
        else:
            ctx.emit(TimerCancelled(timer=timer.timer), to="supervisor")
    for key, (whose, due) in wanted.items():
        if key not in kept:
            ctx.emit(
                TimerSet(
                    timer=wall_timer(whose, ctx.cause),
                    due_us=due,
                    purpose="deadline",
                    agent=whose[0],
                ),
                to="supervisor",
            )


def _is_wall(timer: TimerState) -> bool:
    return timer.purpose == "deadline" and timer.step is None and timer.timer.startswith("wall")
