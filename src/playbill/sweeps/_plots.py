"""The plots of a sweep, as PNG and SVG: success rates, cost against success, makespans.

matplotlib is imported only here, and only when plots are drawn: a sweep
without it still writes its rows, summary and report. Figures are drawn with
matplotlib's object API (``matplotlib.figure.Figure``) on the Agg canvas,
never through ``pyplot``: nothing global is changed, no window is opened, and
it works without a display.

Every group shows its number of runs (``n``), and series differ by marker,
line style or hatching as well as colour (the Okabe-Ito palette, which
colour-blind readers tell apart), so a greyscale print still reads. The files
are reproducible byte for byte: no date in their metadata, and the SVG's
element ids hashed with a fixed salt.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._cells import Row
from ._errors import PlotsUnavailableError
from ._stats import LEVEL
from ._summary import Summary, group

SUCCESS_PNG = "success_rate.png"
"""Success rate per strategy and profile, with 95 % intervals."""

COST_PNG = "cost_vs_success.png"
"""Mean cost against success rate, one point per strategy and profile, with intervals."""

MAKESPAN_PNG = "makespan.png"
"""The distribution of makespans of completed runs, per strategy and profile."""

PLOTS = (SUCCESS_PNG, COST_PNG, MAKESPAN_PNG)
"""Every plot a sweep draws, in the order of the report (each also as SVG, beside it)."""

COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
"""The Okabe-Ito palette: told apart by readers with any common colour-vision deficiency."""

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
"""One marker per series, so series differ without colour."""

LINE_STYLES = ("-", "--", ":", "-.")
"""One line style per profile, so profiles differ without colour."""

HATCHES = ("", "//", "..", "xx", "\\\\", "++", "oo", "--")
"""One hatching per profile's bars."""

_SALT = "playbill-sweep"  # SVG element ids: hashed with this salt, not a random one


def svg_name(png: str) -> str:
    """The SVG file beside a plot's PNG."""
    return png.removesuffix(".png") + ".svg"


def write_plots(out: Path, summaries: Sequence[Summary], rows: Sequence[Row]) -> tuple[str, ...]:
    """Draw the plots into ``out``, each as PNG and as SVG.

    Returns:
        The PNG file names written (``PLOTS``); the SVGs are ``svg_name`` of each.

    Raises:
        PlotsUnavailableError: matplotlib is not installed.
    """
    figure_class, rc_context = _matplotlib()
    with rc_context({"svg.hashsalt": _SALT, "svg.fonttype": "path"}):
        for name, figure in (
            (SUCCESS_PNG, _success(figure_class, summaries)),
            (COST_PNG, _cost(figure_class, summaries)),
            (MAKESPAN_PNG, _makespan(figure_class, rows)),
        ):
            figure.savefig(out / name, dpi=110, metadata={"Software": None})
            figure.savefig(out / svg_name(name), format="svg", metadata={"Date": None})
    return PLOTS


def _matplotlib() -> tuple[Any, Any]:
    try:
        from matplotlib import rc_context
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotsUnavailableError() from None
    return Figure, rc_context


def _success(figure_class: Any, summaries: Sequence[Summary]) -> Any:
    strategies = sorted({s.strategy for s in summaries})
    profiles = sorted({s.profile for s in summaries})
    figure = figure_class(figsize=(max(5.0, 1.6 * len(strategies) * len(profiles) ** 0.5), 4.2))
    axes = figure.subplots()
    width = 0.8 / max(1, len(profiles))
    by_key = {(s.strategy, s.profile): s for s in summaries}
    for index, profile in enumerate(profiles):
        xs: list[float] = []
        ys: list[float] = []
        counts: list[str] = []
        errors: tuple[list[float], list[float]] = ([], [])
        for position, strategy in enumerate(strategies):
            found = by_key.get((strategy, profile))
            if found is None or found.success_rate.mean is None:
                continue
            rate = found.success_rate
            assert rate.mean is not None and rate.low is not None and rate.high is not None
            xs.append(position - 0.4 + width * (index + 0.5))
            ys.append(rate.mean)
            counts.append(f"n={rate.n:,}")
            errors[0].append(rate.mean - rate.low)
            errors[1].append(rate.high - rate.mean)
        bars = axes.bar(
            xs,
            ys,
            width=width,
            yerr=errors,
            capsize=3,
            label=profile,
            color=COLOURS[index % len(COLOURS)],
            edgecolor="black",
            linewidth=0.6,
            hatch=HATCHES[index % len(HATCHES)],
        )
        axes.bar_label(bars, labels=counts, label_type="center", fontsize="x-small", rotation=90)
    axes.set_xticks(range(len(strategies)), strategies)
    axes.set_ylim(0.0, 1.05)
    axes.set_ylabel(f"success rate ({LEVEL:.0%} CI, Wilson)")
    axes.set_title("Runs that completed (n: runs per bar)")
    axes.legend(title="profile", fontsize="small")
    figure.tight_layout()
    return figure


def _cost(figure_class: Any, summaries: Sequence[Summary]) -> Any:
    figure = figure_class(figsize=(6.5, 4.5))
    axes = figure.subplots()
    strategies = sorted({s.strategy for s in summaries})
    profiles = sorted({s.profile for s in summaries})
    for summary in summaries:
        cost, rate = summary.cost_usd, summary.success_rate
        if cost.mean is None or rate.mean is None:
            continue
        assert cost.low is not None and cost.high is not None
        assert rate.low is not None and rate.high is not None
        which = strategies.index(summary.strategy)
        style = LINE_STYLES[profiles.index(summary.profile) % len(LINE_STYLES)]
        container = axes.errorbar(
            [cost.mean],
            [rate.mean],
            xerr=[[cost.mean - cost.low], [cost.high - cost.mean]],
            yerr=[[rate.mean - rate.low], [rate.high - rate.mean]],
            fmt=MARKERS[which % len(MARKERS)],
            color=COLOURS[which % len(COLOURS)],
            markeredgecolor="black",
            capsize=3,
            label=f"{summary.strategy} / {summary.profile} (n={summary.runs:,})",
        )
        for line in container.lines[2]:
            line.set_linestyle(style)
    axes.set_xlabel(f"mean cost per run, USD ({LEVEL:.0%} CI, BCa bootstrap)")
    axes.set_ylabel(f"success rate ({LEVEL:.0%} CI, Wilson)")
    axes.set_title("Cost against success (marker: strategy; line: profile)")
    axes.legend(fontsize="x-small")
    figure.tight_layout()
    return figure


def _makespan(figure_class: Any, rows: Sequence[Row]) -> Any:
    groups = group(rows)
    data = [
        [row.makespan_s / 60.0 for row in members if row.succeeded] for members in groups.values()
    ]
    labels = [
        f"{strategy}\n{profile}\nn={len(values):,}"
        for (strategy, profile), values in zip(groups, data, strict=True)
    ]
    figure = figure_class(figsize=(max(5.0, 1.1 * len(labels)), 4.4))
    axes = figure.subplots()
    shown = [(label, values) for label, values in zip(labels, data, strict=True) if values]
    if shown:
        axes.boxplot(
            [values for _, values in shown],
            showmeans=True,
            meanprops={"marker": "^", "markerfacecolor": "white", "markeredgecolor": "black"},
            medianprops={"color": "black", "linestyle": "-", "linewidth": 1.5},
        )
        axes.set_xticks(range(1, len(shown) + 1), [label for label, _ in shown], fontsize="small")
    else:
        axes.text(0.5, 0.5, "no run completed", ha="center", va="center", transform=axes.transAxes)
    axes.set_ylabel("virtual minutes")
    axes.set_title("Makespan of completed runs\n(n: completed; box: quartiles; triangle: mean)")
    figure.tight_layout()
    return figure
