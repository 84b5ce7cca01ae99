"""The plot of a suite run: throughput and overhead per step, playbill against its peers.

``python -m bench --plot docs/performance.png`` draws it at the end of a run;
``python -m bench._plot results.json docs/performance.png`` redraws it from
the figures ``--json`` wrote. Both axes are logarithmic: the figures span
five orders of magnitude.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import msgspec

from bench._report import Figure

THROUGHPUT_TOPICS = ("one-way tell", "round trip", "fan-in", "journaled delivery")
COLOURS = {
    "playbill": "#1f77b4",
    "reference": "#9e9e9e",
    "trio": "#bdbdbd",
    "pykka": "#ff7f0e",
    "autogen-core": "#2ca02c",
    "ray": "#d62728",
    "langgraph": "#9467bd",
}


def _label(fig: Figure) -> str:
    name = re.sub(r"^\([a-z0-9]+\) ", "", fig.name)
    return textwrap.fill(f"{fig.topic}: {name}", 58)


def _bars(axis: object, figures: list[Figure], unit: str) -> None:
    ax = axis  # a matplotlib Axes
    labels = [_label(f) for f in figures]
    values = [f.value or 0.0 for f in figures]
    colours = [COLOURS.get(f.subject, "#8c564b") for f in figures]
    positions = range(len(figures))
    ax.barh(positions, values, color=colours)  # type: ignore[attr-defined]
    ax.set_yticks(list(positions), labels, fontsize=7)  # type: ignore[attr-defined]
    ax.invert_yaxis()  # type: ignore[attr-defined]
    ax.set_xscale("log")  # type: ignore[attr-defined]
    ax.set_xlabel(unit)  # type: ignore[attr-defined]
    ax.grid(axis="x", which="both", alpha=0.3)  # type: ignore[attr-defined]
    for y, value in zip(positions, values, strict=True):
        ax.text(value, y, f" {value:,.0f}", va="center", fontsize=6)  # type: ignore[attr-defined]


def plot(figures: list[Figure], path: Path, *, title: str = "") -> None:
    """Draw throughput (msgs or round trips per second) and overhead per step, log scale.

    A panel with no figures (a run of some topics only) is left out.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    # Each figure once (a topic prints it again beside each of its references).
    seen: set[tuple[str, str]] = set()
    plain = []
    for f in figures:
        if f.skipped is None and f.value and (f.topic, f.name) not in seen:
            seen.add((f.topic, f.name))
            plain.append(f)
    throughput = [f for f in plain if f.topic in THROUGHPUT_TOPICS and f.unit != "ms"]
    overhead = [f for f in plain if f.unit == "us/step"]
    panels = [
        (
            throughput,
            "Throughput, measured side by side in one run",
            "messages or round trips per second (log scale; longer is better)",
        ),
        (
            overhead,
            "Orchestration overhead per step, agents that return at once",
            "wall microseconds per step (log scale; shorter is better)",
        ),
    ]
    panels = [panel for panel in panels if panel[0]]
    if not panels:
        return
    heights = [max(2.0, 0.28 * len(figs)) for figs, _, _ in panels]
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(11, sum(heights) + 1.6),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for axis, (figs, heading, unit) in zip(axes[:, 0], panels, strict=True):
        _bars(axis, figs, unit)
        axis.set_title(heading, fontsize=10)
    subjects = sorted({f.subject for f in throughput + overhead})
    handles = [Patch(color=COLOURS.get(s, "#8c564b"), label=s) for s in subjects]
    fig.legend(handles=handles, loc="upper right", fontsize=7, ncols=len(handles), frameon=False)
    if title:
        fig.suptitle(title, fontsize=8, x=0.01, y=0.995, ha="left", va="top")
    fig.tight_layout(rect=(0, 0, 1, 0.975))
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    from bench.__main__ import Results

    results = msgspec.json.decode(Path(sys.argv[1]).read_bytes(), type=Results)
    plot(results.figures, Path(sys.argv[2]), title=f"{results.date[:10]}, {results.machine}")


if __name__ == "__main__":
    main()
