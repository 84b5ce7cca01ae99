"""The one check every backend's usage passes before it is journaled.

Budgets sum what agents report, so a negative or absurd figure would lower
what was used (or overflow the sum): usage must be finite and non-negative,
within reason. The role actor checks each report, each result's and each
failure's usage here, whatever backend sent it, and fails the work as
``agent``/``bad_usage`` naming the figure; nothing of such usage is journaled.
"""

from __future__ import annotations

import math
from typing import Final

from playbill.runtime import Failure, Usage

MAX_TOKENS: Final = 10**12
"""The most tokens one piece of work may report (in or out)."""

MAX_COST_USD: Final = 1e6
"""The most dollars one piece of work may report."""

MAX_WALL_S: Final = 10**8
"""The most seconds one piece of work may report."""


def usage_problem(usage: Usage) -> str | None:
    """What is wrong with ``usage`` (``None``: nothing).

    Each figure must be a finite number from 0 up to its limit
    (``MAX_TOKENS``, ``MAX_COST_USD``, ``MAX_WALL_S``).
    """
    limits: tuple[tuple[str, float, float], ...] = (
        ("tokens_in", usage.tokens_in, MAX_TOKENS),
        ("tokens_out", usage.tokens_out, MAX_TOKENS),
        ("cost_usd", usage.cost_usd, MAX_COST_USD),
        ("wall_s", usage.wall_s, MAX_WALL_S),
    )
    for name, value, limit in limits:
        if isinstance(value, float) and not math.isfinite(value):
            return f"{name} = {value}, which is not a finite number"
        if not 0 <= value <= limit:
            shown = f"{value:.6g}" if isinstance(value, float) else str(value)
            if len(shown) > 40:
                shown = f"{shown[:20]}... ({len(shown)} digits)"
            return f"{name} = {shown}, which is not a figure from 0 to {limit:g}"
    return None


def bad_usage(agent: str, problem: str) -> Failure:
    """The failure of work whose agent reported usage that cannot be true."""
    detail = f"agent {agent!r} reported a usage that cannot be trusted: {problem}"
    return Failure(failure_class="agent", kind="bad_usage", detail=detail)
