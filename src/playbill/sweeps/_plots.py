"""The plots of a sweep (PNG): success rates, cost against success, makespans.

matplotlib is imported only here, and only when plots are drawn: a sweep
without it still writes its rows, summary and report. Figures are drawn with
matplotlib's object API (``matplotlib.figure.Figure``) on the Agg canvas,
never through ``pyplot``: nothing global is changed, no window is opened, and
it works without a display.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._cells import Row
from ._errors import PlotsUnavailableError
from ._summary import Summary, group

SUCCESS_PNG = "success_rate.png"
"""Success rate per strategy and profile, with 95 % intervals."""

COST_PNG = "cost_vs_success.png"
"""Mean cost against success rate, one point per strategy and profile, with intervals."""

MAKESPAN_PNG = "makespan.png"
"""The distribution of makespans of completed runs, per strategy and profile."""

PLOTS = (SUCCESS_PNG, COST_PNG, MAKESPAN_PNG)
"""Every plot a sweep draws, in the order of the report."""


def write_plots(out: Path, summaries: Sequence[Summary], rows: Sequence[Row]) -> tuple[str, ...]:
    """Draw the plots into ``out``.

    Returns:
        The file names written (``PLOTS``).

    Raises:
        PlotsUnavailableError: matplotlib is not installed.
    """
    figure_class = _figure_class()
    _success(figure_class, summaries).savefig(out / SUCCESS_PNG, dpi=110)
    _cost(figure_class, summaries).savefig(out / COST_PNG, dpi=110)
    _makespan(figure_class, rows).savefig(out / MAKESPAN_PNG, dpi=110)
    return PLOTS


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotsUnavailableError() from None
    return Figure


def _success(figure_class: Any, summaries: Sequence[Summary]) -> Any:
    strategies = sorted({s.strategy for s in summaries})
    profiles = sorted({s.profile for s in summaries})
    figure = figure_class(figsize=(max(5.0, 1.6 * len(strategies) * len(profiles) ** 0.5), 4.0))
    axes = figure.subplots()
    width = 0.8 / max(1, len(profiles))
    by_key = {(s.strategy, s.profile): s for s in summaries}
    for index, profile in enumerate(profiles):
        xs: list[float] = []
        ys: list[float] = []
        errors: tuple[list[float], list[float]] = ([], [])
        for position, strategy in enumerate(strategies):
            found = by_key.get((strategy, profile))
            if found is None or found.success_rate.mean is None:
                continue
            rate = found.success_rate
            assert rate.mean is not None and rate.low is not None and rate.high is not None
            xs.append(position - 0.4 + width * (index + 0.5))
            ys.append(rate.mean)
            errors[0].append(rate.mean - rate.low)
            errors[1].append(rate.high - rate.mean)
        axes.bar(xs, ys, width=width, yerr=errors, capsize=3, label=profile)
    axes.set_xticks(range(len(strategies)), strategies)
    axes.set_ylim(0.0, 1.05)
    axes.set_ylabel("success rate (95 % CI)")
    axes.set_title("Runs that completed")
    axes.legend(title="profile", fontsize="small")
    figure.tight_layout()
    return figure


def _cost(figure_class: Any, summaries: Sequence[Summary]) -> Any:
    figure = figure_class(figsize=(6.0, 4.5))
    axes = figure.subplots()
    for summary in summaries:
        cost, rate = summary.cost_usd, summary.success_rate
        if cost.mean is None or rate.mean is None:
            continue
        assert cost.low is not None and cost.high is not None
        assert rate.low is not None and rate.high is not None
        axes.errorbar(
            [cost.mean],
            [rate.mean],
            xerr=[[cost.mean - cost.low], [cost.high - cost.mean]],
            yerr=[[rate.mean - rate.low], [rate.high - rate.mean]],
            fmt="o",
            capsize=3,
            label=f"{summary.strategy} / {summary.profile}",
        )
    axes.set_xlabel("mean cost per run, USD (95 % CI)")
    axes.set_ylabel("success rate (95 % CI)")
    axes.set_title("Cost against success")
    axes.legend(fontsize="small")
    figure.tight_layout()
    return figure


def _makespan(figure_class: Any, rows: Sequence[Row]) -> Any:
    groups = group(rows)
    labels = [f"{strategy}\n{profile}" for strategy, profile in groups]
    data = [
        [row.makespan_s / 60.0 for row in members if row.succeeded] for members in groups.values()
    ]
    figure = figure_class(figsize=(max(5.0, 1.1 * len(labels)), 4.0))
    axes = figure.subplots()
    shown = [(label, values) for label, values in zip(labels, data, strict=True) if values]
    if shown:
        axes.boxplot([values for _, values in shown], showmeans=True)
        axes.set_xticks(range(1, len(shown) + 1), [label for label, _ in shown], fontsize="small")
    else:
        axes.text(0.5, 0.5, "no run completed", ha="center", va="center", transform=axes.transAxes)
    axes.set_ylabel("virtual minutes")
    axes.set_title("Makespan of completed runs (box: quartiles, triangle: mean)")
    figure.tight_layout()
    return figure
