"""The seeds of a sweep (``--seeds``): ranges and single seeds, comma-separated.

``0:1000`` is the seeds 0 to 999 (half-open, as a Python range); ``7`` is
seed 7; ``0:100,500:600,42`` is all of those. Seeds are whole numbers >= 0;
the result is sorted, each seed once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._errors import SeedsError

MAX_SEEDS = 1_000_000
"""The most seeds one sweep may name (a guard against a typo such as ``0:10000000000``)."""

_ITEM = re.compile(r"(\d+)(?::(\d+))?", re.ASCII)


def parse_seeds(spec: str) -> tuple[int, ...]:
    """The seeds a specification names, sorted, each once.

    Args:
        spec: ``A:B`` (the seeds A to B-1), ``N`` (seed N), or several of
            those separated by commas.

    Returns:
        The seeds, in increasing order.

    Raises:
        SeedsError: The specification is empty, malformed, names an empty
            range, or names more than ``MAX_SEEDS`` seeds.
    """
    if not spec.strip():
        raise SeedsError(spec, "expected seeds such as 0:1000 (0 to 999), 7, or 0:10,42")
    seeds: set[int] = set()
    for item in spec.split(","):
        found = _ITEM.fullmatch(item.strip())
        if found is None:
            raise SeedsError(
                spec, f"{item.strip()!r} is not a seed (N) or a range of seeds (A:B, A < B)"
            )
        low = int(found[1])
        high = low + 1 if found[2] is None else int(found[2])
        if high <= low:
            raise SeedsError(spec, f"the range {item.strip()} is empty (A:B needs A < B)")
        if high - low > MAX_SEEDS or len(seeds) + (high - low) > MAX_SEEDS:
            raise SeedsError(spec, f"more than {MAX_SEEDS:,} seeds")
        seeds.update(range(low, high))
    return tuple(sorted(seeds))


def format_seeds(seeds: Iterable[int]) -> str:
    """The shortest specification ``parse_seeds`` reads back as these seeds (``0:1000,2000``)."""
    ordered = sorted(set(seeds))
    items: list[str] = []
    start = 0
    for index in range(1, len(ordered) + 1):
        if index == len(ordered) or ordered[index] != ordered[index - 1] + 1:
            low, high = ordered[start], ordered[index - 1] + 1
            items.append(str(low) if high == low + 1 else f"{low}:{high}")
            start = index
    return ",".join(items)
