"""Dependency cycles among a plan's steps, each named from the first step on it."""

from __future__ import annotations

from collections.abc import Sequence

from playbill._problems import Problem

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
    for component in _strongly_connected(graph):
        first = min(component, key=index.__getitem__)
        if len(component) == 1 and first not in graph[first]:
            continue
        cycle = _cycle_through(first, set(component), graph)
        detail = f"dependency cycle: {' -> '.join(cycle)} (each step depends on the next)"
        if len(cycle) == 2:
            detail = f"step {first!r} depends on itself"
        problems.append(Problem(f"steps[{index[first]}].depends_on", detail))
    return problems


def _strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (plans may be long)."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in order:
            continue
        work = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                order[node] = low[node] = len(order)
                stack.append(node)
                on_stack.add(node)
            edges = graph[node]
            if child < len(edges):
                work.append((node, child + 1))
                nxt = edges[child]
                if nxt not in order:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], order[nxt])
                continue
            if low[node] == order[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def _cycle_through(start: str, members: set[str], graph: dict[str, list[str]]) -> list[str]:
    """The shortest dependency path from ``start`` back to itself inside its component."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in graph[node]:
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if nxt not in previous:
                    previous[nxt] = node
                    following.append(nxt)
        frontier = following
    raise AssertionError("a strongly connected component always has a cycle")
