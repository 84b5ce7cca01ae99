"""Inline SVG: the timeline (a Gantt chart, one lane per agent) and the step DAG.

Both are drawn from data already at hand (the run's state and its
``RunIndex``), in one pass each; every label is escaped text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from playbill.runtime import AttemptState, RunState

from ._html import Html, html, join
from ._index import Mark, RunIndex
from ._links import Links

MAX_BARS = 2000
"""Attempts drawn at most: a longer run shows its latest ones."""

MAX_MARKS = 1500
"""Marks drawn at most: a longer run shows its latest stretch."""

MAX_DAG_STEPS = 150
"""Steps drawn as a graph at most: a larger plan is shown as a table only."""

LANE_H = 26
LEFT = 130
WIDTH = 1000

OUTCOME_CLASS = {
    "passed": "ok",
    "failed": "bad",
    "interrupted": "lost",
    "assigned": "wait",
    "running": "run",
    "proposed": "wait",
}
"""The CSS class of an attempt's bar, by its status."""


def _fmt_us(span_us: int) -> str:
    seconds = span_us / 1e6
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def bars(state: RunState) -> list[tuple[str, AttemptState]]:
    """Every attempt of the run with its step, in the order they were assigned."""
    found = [(step_id, a) for step_id, step in state.steps.items() for a in step.attempts]
    found.sort(key=lambda pair: (pair[1].assigned_seq, pair[0]))
    return found


def timeline(state: RunState, index: RunIndex, links: Links) -> Html:
    """The run's timeline: a bar per attempt on its agent's lane, and the marks.

    Bars are coloured by outcome and link to the attempt; reviews,
    verifications, merges, budget events, human waits and pauses are marks
    that link to their entry.
    """
    attempts = bars(state)
    shown = attempts[-MAX_BARS:]
    now = max(index.last_us, state.updated_us)
    t0 = index.first_us or state.created_us
    if len(shown) < len(attempts) and shown:
        t0 = shown[0][1].assigned_us
    marks = [m for m in index.marks if (m.until_us or m.at_us) >= t0]
    cut = len(shown) < len(attempts)
    if len(marks) > MAX_MARKS:  # a long run: draw its latest stretch
        marks = marks[-MAX_MARKS:]
        t0 = max(t0, marks[0].at_us)
        shown = [(s, a) for s, a in shown if a.ended_us is None or a.ended_us >= t0]
        cut = True
    span = max(now - t0, 1)
    lanes: dict[str, None] = {}
    if any(m.lane == "run" for m in marks):
        lanes["run"] = None
    for agent in state.agents:
        lanes[agent] = None
    for _, attempt in shown:
        lanes.setdefault(attempt.agent, None)
    for mark in marks:
        lanes.setdefault(mark.lane, None)
    row = {lane: i for i, lane in enumerate(lanes)}
    height = LANE_H * len(lanes) + 30

    def x(t: int) -> float:
        return LEFT + (min(max(t, t0), now) - t0) / span * WIDTH

    parts: list[Html] = []
    for lane, i in row.items():
        y = i * LANE_H
        parts.append(
            html(
                '<rect class="lane" x="0" y="{}" width="{}" height="{}"/>'
                '<text class="lane-name" x="4" y="{}">{}</text>',
                str(y),
                str(LEFT + WIDTH + 10),
                str(LANE_H),
                str(y + 17),
                lane,
            )
        )
    for step_id, attempt in shown:
        start = attempt.started_us or attempt.assigned_us
        end = attempt.ended_us if attempt.ended_us is not None else now
        x0, x1 = x(start), x(end)
        status = "lost" if attempt.lost else OUTCOME_CLASS.get(attempt.status, "wait")
        spent = f", ${attempt.usage.cost_usd:.2f}" if attempt.usage.cost_usd else ""
        title = (
            f"{step_id}#{attempt.number} by {attempt.agent}: {attempt.status}"
            f" ({_fmt_us(end - start)}{spent})"
        )
        parts.append(
            html(
                '<a href="{}" class="bar-link"><rect class="bar {}" data-step="{}" '
                'data-attempt="{}" x="{}" y="{}" width="{}" height="{}" rx="2">'
                "<title>{}</title></rect></a>",
                links.attempt(state.run_id, step_id, attempt.number),
                status,
                step_id,
                str(attempt.number),
                f"{x0:.1f}",
                str(row[attempt.agent] * LANE_H + 5),
                f"{max(x1 - x0, 2.0):.1f}",
                str(LANE_H - 10),
                title,
            )
        )
    parts.extend(_mark(mark, row[mark.lane], x, state.run_id, links) for mark in marks)
    axis_y = len(lanes) * LANE_H + 16
    for k in range(5):
        t = t0 + span * k // 4
        parts.append(
            html(
                '<text class="axis" x="{}" y="{}">+{}</text>',
                f"{x(t) - (34 if k == 4 else 0):.1f}",
                str(axis_y),
                _fmt_us(t - (index.first_us or t0)),
            )
        )
    note = (
        html(
            '<p class="note">Showing the run from +{} on: {} of its {} attempts, {} of its {} '
            "marks.</p>",
            _fmt_us(t0 - (index.first_us or t0)),
            str(len(shown)),
            str(len(attempts)),
            str(len(marks)),
            str(len(index.marks)),
        )
        if cut
        else Html("")
    )
    return html(
        '<svg class="timeline" role="img" aria-label="timeline" viewBox="0 0 {} {}" '
        'width="{}" height="{}">{}</svg>{}',
        str(LEFT + WIDTH + 10),
        str(height),
        str(LEFT + WIDTH + 10),
        str(height),
        join(parts),
        note,
    )


_SHAPES = {
    "review": "M{x},{y0} l5,8 l-5,8 l-5,-8 z",
    "verification": "M{x},{y0} l6,14 l-12,0 z",
    "merge": "M{xl},{y0} h10 v14 h-10 z",
    "budget": "M{x},{y0} l6,14 l-12,0 z",
}


def _mark(mark: Mark, lane: int, x: Callable[[int], float], run_id: str, links: Links) -> Html:
    y = lane * LANE_H
    goodness = "" if mark.good is None else (" good" if mark.good else " bad")
    title = html("<title>{} (seq {})</title>", mark.label, str(mark.seq))
    if mark.kind in ("human", "pause"):
        x0 = x(mark.at_us)
        x1 = x(mark.until_us) if mark.until_us is not None else x(2**62)
        shape = html(
            '<rect class="span {}{}" x="{}" y="{}" width="{}" height="{}">{}</rect>',
            mark.kind,
            goodness,
            f"{x0:.1f}",
            str(y + 3),
            f"{max(x1 - x0, 3.0):.1f}",
            str(LANE_H - 6),
            title,
        )
    else:
        cx = x(mark.at_us)
        d = _SHAPES[mark.kind].format(x=f"{cx:.1f}", xl=f"{cx - 5:.1f}", y0=str(y + 5))
        shape = html('<path class="mark {}{}" d="{}">{}</path>', mark.kind, goodness, d, title)
    return html(
        '<a href="{}" class="mark-link" data-kind="{}">{}</a>',
        links.entry(run_id, mark.seq),
        mark.kind,
        shape,
    )


def layers(state: RunState) -> list[list[str]]:
    """The steps in layers: each step one layer below the deepest step it depends on."""
    depth: dict[str, int] = {}
    for step_id, step in state.steps.items():  # plan order: dependencies come first
        deps = [depth[d] for d in step.spec.depends_on if d in depth]
        depth[step_id] = 1 + max(deps) if deps else 0
    grouped: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for step_id, d in depth.items():
        grouped[d].append(step_id)
    return grouped


def dag(state: RunState) -> Html:
    """The step DAG as a layered SVG, each box coloured by the step's status.

    Empty for a plan of more than ``MAX_DAG_STEPS`` steps (the steps table
    says it all).
    """
    if not state.steps or len(state.steps) > MAX_DAG_STEPS:
        return Html("")
    grouped = layers(state)
    box_w, box_h, gap_x, gap_y = 150, 30, 40, 14
    where: dict[str, tuple[float, float]] = {}
    for col, members in enumerate(grouped):
        for r, step_id in enumerate(members):
            where[step_id] = (10 + col * (box_w + gap_x), 10 + r * (box_h + gap_y))
    width = 20 + len(grouped) * (box_w + gap_x)
    height = 20 + max(len(m) for m in grouped) * (box_h + gap_y)
    edges: list[Html] = []
    boxes: list[Html] = []
    for step_id, step in state.steps.items():
        x, y = where[step_id]
        for dep in step.spec.depends_on:
            if dep in where:
                dx, dy = where[dep]
                edges.append(
                    html(
                        '<line class="edge" x1="{}" y1="{}" x2="{}" y2="{}"/>',
                        str(dx + box_w),
                        str(dy + box_h / 2),
                        str(x),
                        str(y + box_h / 2),
                    )
                )
        boxes.append(
            html(
                '<g class="node {}"><rect x="{}" y="{}" width="{}" height="{}" rx="4">'
                "<title>{}: {}</title></rect>"
                '<text x="{}" y="{}">{}</text></g>',
                step.status,
                str(x),
                str(y),
                str(box_w),
                str(box_h),
                step_id,
                step.status,
                str(x + 6),
                str(y + 19),
                _clip(step_id, 20),
            )
        )
    return html(
        '<svg class="dag" role="img" aria-label="step graph" viewBox="0 0 {} {}" '
        'width="{}" height="{}">{}{}</svg>',
        str(width),
        str(height),
        str(width),
        str(height),
        join(edges),
        join(boxes),
    )


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def legend(kinds: Sequence[tuple[str, str]]) -> Html:
    """A row of coloured swatches with their meaning."""
    return join(html('<span class="swatch {}"></span>{} ', cls, label) for cls, label in kinds)
