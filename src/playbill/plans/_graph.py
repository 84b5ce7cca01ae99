"""Dependency cycles among a plan's steps, each named from the first step on it."""

from __future__ import annotations

from collections.abc import Sequence

from playbill._problems import Problem
from playbill.runtime import cycle_through, strongly_connected

from ._model import StepTable


def dependency_cycles(steps: Sequence[StepTable | None]) -> list[Problem]:
    """One problem per dependency cycle, at the ``depends_on`` of its first step in the plan.

    Steps that did not load (``None``) and dependencies on unknown steps are
    left out; of steps with the same id, the first counts.
    """
    index: dict[str, int] = {}
    graph: dict[str, list[str]] = {}
    for i, step in enumerate(steps):
        if step is not None and step.id not in index:  # a duplicate is reported on its own
            index[step.id] = i
            graph[step.id] = list(dict.fromkeys(step.depends_on))
    for sid, deps in graph.items():
        graph[sid] = [d for d in deps if d in index]
    problems = []
    for component in strongly_connected(graph):
        first = min(component, key=index.__getitem__)
        if len(component) == 1 and first not in graph[first]:
            continue
        cycle = cycle_through(first, set(component), graph)
        detail = f"dependency cycle: {' -> '.join(cycle)} (each step depends on the next)"
        if len(cycle) == 2:
            detail = f"step {first!r} depends on itself"
        problems.append(Problem(f"steps[{index[first]}].depends_on", detail))
    return problems
