"""Arbitration among competing attempts at one step: named, pure, order-free policies.

``arbitrate(policy, entrants)`` ranks what is known of each competitor and
says whether a winner is already *certain*: whether no competitor still at
work (or still being reviewed and verified) could end up ranked above the
best attempt that passed. The ``competitive`` strategy calls it after every
entry and cancels the losers as soon as it is.

Every policy ranks passing attempts by a total key, smallest first, whose
last parts are the arrival seq of the result and the agent id, so there are
no ties and the outcome never depends on the order the entrants are given in:

* ``first_passing``: arrival seq (the first result that passes wins);
* ``best_score``: validator score (higher first), then cost, arrival, agent;
* ``lowest_cost``: cost (lower first), then score, arrival, agent;
* ``reviewer_vote``: the review's vote (higher first), then score, cost,
  arrival, agent.

A competitor not finished yet is ranked by its best possible key: the
highest score and vote, the cost it has used so far (cost only grows), and,
when its result has not arrived, an arrival after every one that has. The
winner is certain when its key is below every such bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Literal, TypeAlias, assert_never, final

import attrs

from ..model._values import ArbitrationPolicy, Finding, Score

Standing: TypeAlias = Literal["passed", "failed", "pending"]
"""Where a competitor stands: passed every check, failed (or stopped), or not done."""

Key: TypeAlias = tuple[float, ...]
"""A competitor's rank under a policy, smaller first (see ``rank_key``)."""

SEVERITY_WEIGHTS: Final[Mapping[str, float]] = {
    "info": 0.25,
    "minor": 1.0,
    "major": 3.0,
    "critical": 9.0,
}
"""How much each finding of an approving review lowers its vote."""


def _unit(value: float | None) -> float | None:
    """A score or vote made safe to order: in ``[0, 1]``, ``NaN`` as 0."""
    if value is None:
        return None
    return 0.0 if math.isnan(value) else min(max(value, 0.0), 1.0)


def _cost(value: float) -> float:
    """A cost made safe to order: ``NaN`` (never reported sanely) as the worst."""
    return math.inf if math.isnan(value) else value


@final
@attrs.frozen
class Entrant:
    """One competitor, as far as it is known.

    Attributes:
        agent: The agent.
        attempt: Its attempt number.
        standing: Whether it passed, failed, or is not done.
        score: Its validators' mean score in ``[0, 1]``, when known.
        cost_usd: What it cost so far (its final cost once it proposed).
        tokens: Tokens it used so far.
        arrival_seq: The seq of its result, once it arrived.
        vote: Its review's vote in ``(0, 1]``, once reviewed.
    """

    agent: str
    attempt: int
    standing: Standing
    score: float | None = attrs.field(default=None, converter=_unit)
    cost_usd: float = attrs.field(default=0.0, converter=_cost)
    tokens: int = 0
    arrival_seq: int | None = None
    vote: float | None = attrs.field(default=None, converter=_unit)


@final
@attrs.frozen
class Arbitration:
    """The outcome of ``arbitrate``.

    Attributes:
        policy: The policy that ranked.
        winner: The best passing entrant's row, if any passed.
        certain: Whether no entrant still pending could rank above ``winner``.
        table: Every entrant's row: passing ones in rank order, then the
            others by attempt number.
        margin: How far ahead the winner is of the runner-up among passing
            entrants, in the policy's first measure (score, cost saved, vote,
            or seqs of arrival); 0 without a runner-up.
        tie_break: When the winner and the runner-up are equal in the first
            measure, the measure that parted them (``score``, ``cost``,
            ``arrival``, ``agent``); empty otherwise.
    """

    policy: ArbitrationPolicy
    winner: Score | None
    certain: bool
    table: tuple[Score, ...]
    margin: float
    tie_break: str


def vote_of(findings: Iterable[Finding]) -> float:
    """The vote of an approving review: 1 without findings, less the graver they are."""
    return 1.0 / (1.0 + sum(SEVERITY_WEIGHTS.get(f.severity, 1.0) for f in findings))


_FOREVER = math.inf


def _arrival(e: Entrant, *, bound: bool) -> float:
    if e.arrival_seq is not None:
        return float(e.arrival_seq)
    return _FOREVER if bound else 0.0


def _score(e: Entrant, *, bound: bool) -> float:
    # a pending entrant may still get any score: its bound is the best one
    if (bound and e.standing == "pending") or e.score is None:
        return 1.0
    return e.score


def _vote(e: Entrant, *, bound: bool) -> float:
    if (bound and e.standing == "pending") or e.vote is None:
        return 1.0
    return e.vote


_KEYS: Final[Mapping[ArbitrationPolicy, Callable[[Entrant, bool], Key]]] = {
    "first_passing": lambda e, b: (_arrival(e, bound=b),),
    "best_score": lambda e, b: (-_score(e, bound=b), e.cost_usd, _arrival(e, bound=b)),
    "lowest_cost": lambda e, b: (e.cost_usd, -_score(e, bound=b), _arrival(e, bound=b)),
    "reviewer_vote": lambda e, b: (
        -_vote(e, bound=b),
        -_score(e, bound=b),
        e.cost_usd,
        _arrival(e, bound=b),
    ),
}

_PARTS: Final[Mapping[ArbitrationPolicy, tuple[str, ...]]] = {
    "first_passing": ("arrival",),
    "best_score": ("score", "cost", "arrival"),
    "lowest_cost": ("cost", "score", "arrival"),
    "reviewer_vote": ("vote", "score", "cost", "arrival"),
}


def rank_key(policy: ArbitrationPolicy, entrant: Entrant) -> tuple[tuple[float, ...], str, int]:
    """The key a passing entrant is ranked by (smaller ranks first), ties broken by agent."""
    return (_KEYS[policy](entrant, False), entrant.agent, entrant.attempt)


def bound_key(policy: ArbitrationPolicy, entrant: Entrant) -> tuple[float, ...]:
    """The best key a pending entrant could still reach (see the module)."""
    return _KEYS[policy](entrant, True)


def _row(e: Entrant) -> Score:
    return Score(
        agent=e.agent,
        attempt=e.attempt,
        passed=e.standing == "passed",
        score=e.score if e.score is not None else 1.0 if e.standing == "passed" else 0.0,
        cost_usd=e.cost_usd,
        tokens=e.tokens,
        arrival_seq=e.arrival_seq or 0,
        vote=e.vote,
    )


def _margin(policy: ArbitrationPolicy, winner: Entrant, runner_up: Entrant) -> float:
    match policy:
        case "first_passing":
            return _arrival(runner_up, bound=False) - _arrival(winner, bound=False)
        case "best_score":
            return _score(winner, bound=False) - _score(runner_up, bound=False)
        case "lowest_cost":
            return runner_up.cost_usd - winner.cost_usd
        case "reviewer_vote":
            return _vote(winner, bound=False) - _vote(runner_up, bound=False)
        case _:
            assert_never(policy)


def _tie_break(policy: ArbitrationPolicy, winner: Entrant, runner_up: Entrant) -> str:
    ours, theirs = rank_key(policy, winner), rank_key(policy, runner_up)
    if ours[0][0] != theirs[0][0]:
        return ""
    for name, a, b in zip(_PARTS[policy][1:], ours[0][1:], theirs[0][1:], strict=True):
        if a != b:
            return name
    return "agent"


def arbitrate(policy: ArbitrationPolicy, entrants: Iterable[Entrant]) -> Arbitration:
    """Rank competitors and say whether the best passing one has won (see the module).

    Pure, and independent of the order of ``entrants``.

    Args:
        policy: How to rank.
        entrants: Every competitor of one competition (attempt numbers unique).

    Returns:
        The winner so far (``None`` when nobody passed), whether it is
        certain, the score table, the margin and the tie-break.
    """
    everyone = sorted(entrants, key=lambda e: e.attempt)
    passing = sorted(
        (e for e in everyone if e.standing == "passed"), key=lambda e: rank_key(policy, e)
    )
    others = [e for e in everyone if e.standing != "passed"]
    table = tuple(_row(e) for e in (*passing, *others))
    if not passing:
        return Arbitration(policy, None, False, table, 0.0, "")
    best = passing[0]
    best_key = rank_key(policy, best)[0]
    certain = all(best_key < bound_key(policy, e) for e in others if e.standing == "pending")
    margin, tie_break = 0.0, ""
    if len(passing) > 1:
        margin = _margin(policy, best, passing[1])
        tie_break = _tie_break(policy, best, passing[1])
    return Arbitration(policy, _row(best), certain, table, margin, tie_break)
