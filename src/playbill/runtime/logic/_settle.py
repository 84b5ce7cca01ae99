"""Whether a run can move on its own, and what a settled run waits for.

A run is settled when it ended, or when nothing is in flight and only a
person can move it: an approval it asked for, or a pause. In flight means an
agent at work (an attempt, a review, a verification), a timer pending (a
backoff, a deadline), or a merge request the integrator has not answered.
``playbill run`` and ``resume`` return when the run settles (exit 4 when it
waits for a person), and ``status`` and ``runs`` show such a run as
``waiting``, naming what it waits for.
"""

from __future__ import annotations

from ..model._state import RunState


def in_flight(state: RunState) -> tuple[str, ...]:
    """What the run is doing that will journal something without a person, readable."""
    out = [
        f"{agent.spec.id} works on {agent.step}#{agent.attempt}"
        for agent in state.agents.values()
        if agent.status == "busy"
    ]
    out += [f"timer {name}" for name in state.timers]
    out += [
        f"merge of {w.step}#{w.attempt}"
        for w in state.workspaces.values()
        if w.merge_requested_seq is not None and w.merge_status == "pending"
    ]
    return tuple(out)


def is_settled(state: RunState) -> bool:
    """Whether a run can go no further on its own.

    True when it ended, or when it waits for a person (a pending approval)
    or is paused, with nothing in flight (``in_flight``).
    """
    if state.is_terminal:
        return True
    if in_flight(state):
        return False
    return bool(state.pending_approvals()) or state.status == "paused"


def waiting_for(state: RunState) -> tuple[str, ...]:
    """What a running run that only a person can move waits for (empty otherwise).

    Each item names an approval request, its step if it has one, e.g.
    ``approval:build#1:human_approval (step build)``.
    """
    if state.status != "running" or in_flight(state):
        return ()
    return tuple(
        a.request if a.step is None else f"{a.request} (step {a.step})"
        for a in state.pending_approvals()
    )


def shown_status(state: RunState) -> str:
    """The run's status for people: ``waiting`` when only a person can move it."""
    return "waiting" if waiting_for(state) else state.status
