"""Rules every plan keeps, whoever wrote it: pure checks shared by ``validate`` and the policy.

A plan file is checked by ``playbill validate`` (``playbill.plans``) before
a run starts; a planner's proposal is checked by the policy when it arrives
(``proposal_problems``), against the plan it would join. Both use the same
rules, kept here because the policy may import nothing outside the kernel:

* ``outside_repository``: a path of a plan stays inside the repository;
* ``strongly_connected`` and ``cycle_through``: dependency cycles.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import assert_never

from ..model._state import AgentState, RunState
from ..model._values import (
    ArtifactExists,
    BuildPasses,
    CommandPasses,
    FileChanged,
    HumanApproval,
    PlanPayload,
    StepSpec,
    TestsPass,
    Validator,
)
from ._scheduling import can_play


def outside_repository(path: str, *, glob: bool) -> str | None:
    """Why ``path`` may reach outside the repository, or ``None`` when it cannot.

    Paths of a plan are relative to the repository, written with ``/``.
    Absolute paths, drive letters, ``~``, backslashes and ``..`` segments are
    refused whatever the platform, and so is the repository's ``.git``
    directory; ``glob=False`` (a working directory) also refuses wildcards.
    """
    if not path.strip():
        return "an empty path"
    if any(ord(c) < 32 for c in path):
        return "a control character"
    if "\\" in path:
        return "a backslash; separate directories with '/'"
    if path.startswith("/"):
        return "an absolute path"
    if re.match(r"[A-Za-z]:", path):
        return "a drive letter"
    if path.startswith("~"):
        return "'~' is not expanded; paths are relative to the repository"
    segments = path.split("/")
    if ".." in segments:
        return "a '..' segment"
    if ".git" in segments:
        return "the repository's .git directory"
    if not glob and any(c in path for c in "*?["):
        return "a wildcard; a directory is expected, not a glob"
    return None


def strongly_connected(graph: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (plans may be long).

    Args:
        graph: Each node's successors; every successor is a node of the graph.
    """
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


def cycle_through(start: str, members: set[str], graph: Mapping[str, Sequence[str]]) -> list[str]:
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


def proposal_problems(state: RunState, proposal: PlanPayload) -> list[str]:
    """Every problem of a planner's proposal, against the plan it would join (empty if none).

    The rules of ``playbill validate`` that a proposal can break: ids new and
    unique, dependencies on steps of the plan or of the proposal, no cycle,
    scopes and validators' paths inside the repository, validators' commands
    given, and for each step an agent of the plan
    that plays its role (and edits files, for a step with a scope). Each
    problem names where it is (``steps[1].scope[0]: ...``).
    """
    problems: list[str] = []
    planned = {sid for sid in state.steps}
    proposed: dict[str, int] = {}
    for i, spec in enumerate(proposal.steps):
        here = f"steps[{i}]"
        if not spec.id.strip():
            problems.append(f"{here}.id: expected a step id, got an empty one")
        elif spec.id in planned:
            problems.append(f"{here}.id: step {spec.id!r} is already in the plan")
        elif spec.id in proposed:
            problems.append(f"{here}.id: step {spec.id!r} is proposed twice")
        else:
            proposed[spec.id] = i
        if not spec.goal.strip():
            problems.append(f"{here}.goal: expected what the step must achieve, got nothing")
    known = planned | set(proposed)
    for i, spec in enumerate(proposal.steps):
        problems.extend(_step_problems(f"steps[{i}]", spec, known, state.agents))
    problems.extend(_cycles(state, proposal, proposed))
    criteria = {c.id for c in state.plan.criteria} if state.plan is not None else set()
    for i, criterion in enumerate(proposal.criteria):
        if criterion.id in criteria:
            problems.append(f"criteria[{i}].id: criterion {criterion.id!r} is already in the plan")
        criteria.add(criterion.id)
    return problems


def _step_problems(
    here: str, spec: StepSpec, known: set[str], agents: Mapping[str, AgentState]
) -> list[str]:
    problems = []
    for j, dep in enumerate(spec.depends_on):
        if dep not in known:
            problems.append(f"{here}.depends_on[{j}]: unknown step {dep!r}")
    for j, glob in enumerate(spec.scope):
        why = outside_repository(glob, glob=True)
        if why is not None:
            problems.append(
                f"{here}.scope[{j}]: expected a glob inside the repository, got {glob!r} ({why})"
            )
    for j, validator in enumerate(spec.validators):
        problems.extend(validator_problems(f"{here}.validators[{j}]", validator))
    edits = bool(spec.scope)
    if not any(can_play(a, spec.role, edits=edits) for a in agents.values()):
        need = f"{spec.role} that edits files" if edits else spec.role
        problems.append(f"{here}.role: no agent of the plan is a {need}")
    return problems


def validator_problems(here: str, validator: Validator) -> list[str]:
    """A validator's problems: a command to run, and paths that stay inside the repository."""
    problems = []
    match validator:
        case CommandPasses() | TestsPass() | BuildPasses():
            if not validator.argv or not validator.argv[0].strip():
                problems.append(f"{here}.argv: expected a command, as a list of arguments")
            why = outside_repository(validator.cwd, glob=False)
            if why is not None:
                problems.append(
                    f"{here}.cwd: expected a directory inside the repository, "
                    f"got {validator.cwd!r} ({why})"
                )
        case FileChanged() | ArtifactExists():
            glob = isinstance(validator, FileChanged)
            why = outside_repository(validator.path, glob=glob)
            if why is not None:
                noun = "a glob" if glob else "a path"
                problems.append(
                    f"{here}.path: expected {noun} inside the repository, "
                    f"got {validator.path!r} ({why})"
                )
        case HumanApproval():
            pass
        case _:
            assert_never(validator)
    return problems


def _cycles(state: RunState, proposal: PlanPayload, proposed: Mapping[str, int]) -> list[str]:
    graph: dict[str, list[str]] = {
        sid: list(step.spec.depends_on) for sid, step in state.steps.items()
    }
    for sid, i in proposed.items():
        graph[sid] = list(dict.fromkeys(proposal.steps[i].depends_on))
    for sid, deps in graph.items():
        graph[sid] = [d for d in deps if d in graph]
    problems = []
    for component in strongly_connected(graph):
        members = [m for m in component if m in proposed]
        if not members:
            continue  # the plan's own cycles are not the proposal's fault
        first = min(members, key=proposed.__getitem__)
        if len(component) == 1 and first not in graph[first]:
            continue
        cycle = cycle_through(first, set(component), graph)
        where = f"steps[{proposed[first]}].depends_on"
        problems.append(f"{where}: dependency cycle: {' -> '.join(cycle)}")
    return problems
