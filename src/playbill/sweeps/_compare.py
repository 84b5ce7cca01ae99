"""Comparing two sweeps: which differences of which metrics are significant.

For every strategy and profile the two sweeps share, and every metric of the
summary, the difference is ``mean(B) - mean(A)`` with a seeded percentile
bootstrap interval (each sweep resampled on its own, ``RESAMPLES`` times).
A difference is *significant at 95 %* exactly when its interval excludes 0.
With many strategies, profiles and metrics some differences will look
significant by chance (one in twenty of the true nulls): read the report as
a screen, and confirm a finding on new seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import final

import attrs
import msgspec

from ._errors import SweepFileError
from ._rows import read_rows
from ._runner import MANIFEST_FILE, read_manifest
from ._setup import Manifest
from ._stats import Estimate, difference_interval, estimate, label_seed
from ._summary import METRICS, group


@final
class Difference(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How one metric of one strategy and profile differs from sweep A to sweep B.

    Attributes:
        strategy: The strategy.
        profile: The profile.
        metric: The metric (a key of ``METRICS``).
        a: The metric in sweep A.
        b: The metric in sweep B.
        difference: ``mean(B) - mean(A)``, or ``None`` when a side has no values.
        low: The interval's lower end (``None`` likewise).
        high: The interval's upper end.
        significant: Whether the 95 % interval excludes 0.
    """

    strategy: str
    profile: str
    metric: str
    a: Estimate
    b: Estimate
    difference: float | None = None
    low: float | None = None
    high: float | None = None
    significant: bool = False


@final
@attrs.frozen
class Comparison:
    """Two sweeps compared.

    Attributes:
        differences: One per shared strategy and profile and metric, sorted.
        only_a: ``(strategy, profile)`` pairs only sweep A ran.
        only_b: Pairs only sweep B ran.
        setup_differences: What differs between the sweeps' setups (plan,
            profiles, faults...), from their manifests; empty when nothing does.
    """

    differences: tuple[Difference, ...]
    only_a: tuple[tuple[str, str], ...]
    only_b: tuple[tuple[str, str], ...]
    setup_differences: tuple[str, ...]

    @property
    def significant(self) -> tuple[Difference, ...]:
        """The differences significant at 95 %."""
        return tuple(d for d in self.differences if d.significant)


def compare(a: str | Path, b: str | Path) -> Comparison:
    """Compare the rows of two finished sweep directories.

    Args:
        a: Sweep A (the baseline).
        b: Sweep B.

    Raises:
        SweepFileError: A directory holds no finished sweep, or a corrupt one.
    """
    groups_a, groups_b = group(read_rows(Path(a))), group(read_rows(Path(b)))
    differences = []
    for key in sorted(groups_a.keys() & groups_b.keys()):
        strategy, profile = key
        for metric, values in METRICS.items():
            values_a, values_b = values(groups_a[key]), values(groups_b[key])
            seed = label_seed(strategy, profile, metric)
            interval = difference_interval(
                values_a, values_b, seed=label_seed("compare", str(seed))
            )
            found_a, found_b = estimate(values_a, seed=seed), estimate(values_b, seed=seed)
            if interval is None or found_a.mean is None or found_b.mean is None:
                differences.append(
                    Difference(
                        strategy=strategy, profile=profile, metric=metric, a=found_a, b=found_b
                    )
                )
                continue
            low, high = interval
            differences.append(
                Difference(
                    strategy=strategy,
                    profile=profile,
                    metric=metric,
                    a=found_a,
                    b=found_b,
                    difference=found_b.mean - found_a.mean,
                    low=low,
                    high=high,
                    significant=low > 0.0 or high < 0.0,
                )
            )
    return Comparison(
        differences=tuple(differences),
        only_a=tuple(sorted(groups_a.keys() - groups_b.keys())),
        only_b=tuple(sorted(groups_b.keys() - groups_a.keys())),
        setup_differences=tuple(_manifest(Path(a)).differences(_manifest(Path(b)))),
    )


def _manifest(directory: Path) -> Manifest:
    found = read_manifest(directory)
    if found is None:
        raise SweepFileError(str(directory / MANIFEST_FILE), "missing: is it a sweep directory?")
    return found
