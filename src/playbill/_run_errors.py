"""What a run handle raises when a run settles short of what was awaited.

``RunHandle.result`` awaits a completed run and ``RunHandle.wait_for`` a
state of the caller's choosing; a run that settles first (it ended, or only
a person can move it) raises one of these, carrying the state it settled
in, rather than leaving the caller waiting for ever.
"""

from __future__ import annotations

from playbill.runtime import ApprovalState, PlaybillError, RunState, waiting_for


class RunSettledError(PlaybillError):
    """The run settled before what was awaited came about.

    Settled: it ended (completed, failed, cancelled), or it waits for a
    person (an approval, a decision, a resume) with nothing in flight. The
    subclasses say which; this class itself is raised by ``wait_for`` for a
    run that completed without its predicate ever holding.

    Attributes:
        state: The run's state when it settled.
        run_id: The run.
        reason: Why it stopped: the run's own reason (failed, cancelled,
            paused), or what it waits for.
    """

    def __init__(self, state: RunState, detail: str) -> None:
        super().__init__(f"run {state.run_id!r} {detail}")
        self.state = state
        self.run_id = state.run_id
        self.reason = state.reason


class RunFailedError(RunSettledError):
    """The run failed; ``reason`` says why (``state.reason``)."""

    def __init__(self, state: RunState) -> None:
        super().__init__(state, f"failed: {state.reason or 'no reason given'}")


class RunCancelledError(RunSettledError):
    """The run was cancelled; ``reason`` says why (``state.reason``)."""

    def __init__(self, state: RunState) -> None:
        super().__init__(state, f"was cancelled: {state.reason or 'no reason given'}")


class RunNeedsAttentionError(RunSettledError):
    """Only a person can move the run on: it waits for approvals, or is paused.

    Answer with ``approve``/``reject`` (or a decision about the step,
    ``RunHandle.request``) or ``resume``, then await again.

    Attributes:
        approvals: The approval requests it waits for (an approval of a
            step's ``human_approval`` validator, a blocked step to unblock,
            a step out of attempts to decide about, a criterion to confirm).
        waiting_for: The same, readable: ``approve:build#1:human_approval
            (step build)``.
        paused: Whether the run is paused (``reason`` says why).
    """

    def __init__(self, state: RunState) -> None:
        self.approvals: tuple[ApprovalState, ...] = state.pending_approvals()
        self.waiting_for: tuple[str, ...] = waiting_for(state) or tuple(
            a.request if a.step is None else f"{a.request} (step {a.step})" for a in self.approvals
        )
        self.paused = state.status == "paused"
        if self.paused:
            detail = f"is paused ({state.reason or 'no reason given'}); resume it to go on"
        else:
            detail = "waits for a person: " + (", ".join(self.waiting_for) or "nothing named")
        super().__init__(state, detail)
        if not self.paused:
            self.reason = ", ".join(self.waiting_for)


def settled_error(state: RunState) -> RunSettledError:
    """The error that says how a settled run stopped short (its status decides)."""
    if state.status == "failed":
        return RunFailedError(state)
    if state.status == "cancelled":
        return RunCancelledError(state)
    if state.status == "completed":
        return RunSettledError(state, "completed before the awaited state came about")
    return RunNeedsAttentionError(state)
