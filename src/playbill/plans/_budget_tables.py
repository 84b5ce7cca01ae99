"""The budget tables of a plan: ``[run.budget]``, ``[agents.budget]``, ``[steps.budget]``.

A key left out is unlimited. A step's budget limits only what its work
consumes (tokens, cost, wall time): how many attempts it gets is its
``max_attempts``.
"""

# No ``from __future__ import annotations``: the loader reads the
# ``Annotated`` metadata of each attribute's type, which must not be a string.

from typing import final

import attrs

from playbill.runtime import Budget

from ._types import AtLeastOne, Count, Dollars, Seconds, TokenCount


def optional_float(value: float | None) -> float | None:
    """A number TOML may give as an integer, as a float (``None`` stays ``None``)."""
    return None if value is None else float(value)


@final
@attrs.frozen
class BudgetTable:
    """``[run.budget]`` and ``[agents.budget]``: limits; a key left out is unlimited.

    Attributes:
        tokens: Tokens in and out together.
        cost_usd: Money, in US dollars.
        wall_s: Seconds of agent work.
        attempts: Attempts started.
        retries: Retries scheduled (0: none).
    """

    tokens: TokenCount | None = None
    cost_usd: Dollars | None = None
    wall_s: Seconds | None = None
    attempts: AtLeastOne | None = None
    retries: Count | None = None

    def to_budget(self) -> Budget:
        """The kernel's ``Budget``."""
        return Budget(
            tokens=self.tokens,
            cost_usd=optional_float(self.cost_usd),
            wall_s=optional_float(self.wall_s),
            attempts=self.attempts,
            retries=self.retries,
        )


@final
@attrs.frozen
class StepBudgetTable:
    """``[steps.budget]``: what one step's work may consume; a key left out is unlimited.

    It covers all the step's attempts, reviews and verifications.

    Attributes:
        tokens: Tokens in and out together.
        cost_usd: Money, in US dollars.
        wall_s: Seconds of agent work (enforced while the work runs).
    """

    tokens: TokenCount | None = None
    cost_usd: Dollars | None = None
    wall_s: Seconds | None = None

    def to_budget(self) -> Budget:
        """The kernel's ``Budget``."""
        return Budget(
            tokens=self.tokens,
            cost_usd=optional_float(self.cost_usd),
            wall_s=optional_float(self.wall_s),
        )
