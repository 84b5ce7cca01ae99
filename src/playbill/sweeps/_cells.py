"""A sweep's cells and rows: one seeded simulated run per ``(seed, strategy, profile)``.

A row holds what the run came to, read from its final state:

* ``outcome``: ``completed``, ``failed``, ``cancelled``, ``waiting`` (on a
  person), ``killed`` (by a ``kill=@N`` fault), ``running`` (not settled
  within the virtual-time guard) or ``error`` (the simulation raised: a bug,
  recorded rather than stopping the sweep; ``error`` names the exception);
* ``makespan_s``: virtual seconds from the run's first entry to its last;
* ``tokens`` (in and out) and ``cost_usd``: what the whole run consumed;
* ``attempts`` and ``retries``: over the whole run;
* ``reassignments``: attempts given to another agent than the step's previous
  attempt (competing attempts of the ``competitive`` strategy excepted);
* ``budget_stops``: budgets that ran out (work refused or cancelled);
* ``arbitration_margin``: the mean margin of the run's arbitrations (the last
  per step), or ``None`` when nothing was arbitrated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

import attrs
import msgspec

from playbill.runtime import RunState
from playbill.simulation import simulate

from ._setup import SweepSetup

ROW_FIELDS = (
    "seed",
    "strategy",
    "profile",
    "outcome",
    "makespan_s",
    "tokens",
    "cost_usd",
    "attempts",
    "retries",
    "reassignments",
    "budget_stops",
    "arbitration_margin",
    "error",
)
"""The columns of ``rows.csv``, in order (the fields of ``Row``)."""


@final
@attrs.frozen(order=True)
class Cell:
    """One run of a sweep. Cells sort by seed, then strategy, then profile.

    Attributes:
        seed: The run's seed.
        strategy: The run's coordination strategy.
        profile: The swept profile its agents play.
    """

    seed: int
    strategy: str
    profile: str


@final
class Row(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What one run of a sweep came to (a line of ``rows.jsonl``; see the module doc).

    Attributes:
        seed: The run's seed.
        strategy: Its coordination strategy.
        profile: The swept profile.
        outcome: How it ended.
        makespan_s: Virtual seconds from its first entry to its last.
        tokens: Tokens in and out, over the whole run.
        cost_usd: US dollars, over the whole run.
        attempts: Attempts assigned.
        retries: Retries scheduled.
        reassignments: Attempts given to another agent than the step's previous one.
        budget_stops: Budgets that ran out.
        arbitration_margin: The mean arbitration margin, or ``None`` without arbitration.
        error: The exception a failed simulation raised (``outcome`` ``error``), else empty.
    """

    seed: int
    strategy: str
    profile: str
    outcome: str
    makespan_s: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0
    attempts: int = 0
    retries: int = 0
    reassignments: int = 0
    budget_stops: int = 0
    arbitration_margin: float | None = None
    error: str = ""

    @property
    def cell(self) -> Cell:
        """The row's cell."""
        return Cell(self.seed, self.strategy, self.profile)

    @property
    def succeeded(self) -> bool:
        """Whether the run completed."""
        return self.outcome == "completed"


def run_cell(setup: SweepSetup, cell: Cell) -> Row:
    """Simulate one cell and return its row. Deterministic: the same cell gives the same row.

    Args:
        setup: What the sweep simulates.
        cell: The run to simulate.

    Returns:
        Its row; a simulation that raises gives a row of outcome ``error``.
    """
    try:
        result = simulate(
            cell.seed,
            plan=setup.plan,
            goal=setup.goal,
            budget=setup.budget,
            policy=setup.policy,
            strategy=cell.strategy,
            strategies=setup.strategies,
            profiles=setup.cell_profiles(cell.profile),
            faults=setup.faults,
            max_virtual_s=setup.max_virtual_s,
        )
    except Exception as error:  # a bug of one run must not lose the others' hours
        return Row(
            seed=cell.seed,
            strategy=cell.strategy,
            profile=cell.profile,
            outcome="error",
            error=f"{type(error).__name__}: {error}"[:500],
        )
    return row_of(cell, result.outcome, result.virtual_s, result.state)


def run_cells(setup: SweepSetup, cells: Sequence[Cell]) -> list[Row]:
    """Simulate several cells in a row (a worker's batch)."""
    return [run_cell(setup, cell) for cell in cells]


def row_of(cell: Cell, outcome: str, makespan_s: float, state: RunState) -> Row:
    """The row of a run of ``cell`` that ended in ``state``."""
    margins = [record.margin for record in state.arbitrations.values()]
    return Row(
        seed=cell.seed,
        strategy=cell.strategy,
        profile=cell.profile,
        outcome=outcome,
        makespan_s=makespan_s,
        tokens=state.usage.tokens,
        cost_usd=state.usage.cost_usd,
        attempts=state.attempts,
        retries=state.retries,
        reassignments=reassignments(state),
        budget_stops=state.budget_event_count,
        arbitration_margin=sum(margins) / len(margins) if margins else None,
    )


def reassignments(state: RunState) -> int:
    """Attempts given to another agent than their step's previous attempt.

    An attempt that competes with others (``competition`` set) is no
    reassignment: its strategy runs several agents at once by design.
    """
    count = 0
    for step in state.steps.values():
        previous: str | None = None
        for attempt in sorted(step.attempts, key=lambda a: a.number):
            if attempt.competition is None and previous is not None and attempt.agent != previous:
                count += 1
            previous = attempt.agent
    return count
