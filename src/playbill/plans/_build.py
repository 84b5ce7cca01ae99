"""Building a loaded plan's backends: one per agent, for ``open_run``.

``make_backend`` builds one agent's backend; ``plan_backends`` the
``BackendFactory`` of a whole plan. A plan that ``load_plan`` accepted
builds (``playbill.plans._backend_checks`` checked every option), but for
simulated agents, which play only under ``playbill sim``.
"""

from __future__ import annotations

from collections.abc import Sequence

from playbill._problems import Problem
from playbill.backends import AgentBackend, BackendConfigError, BackendFactory
from playbill.runtime import AgentSpec

from ._load import PlanError
from ._model import AgentTable, PlanFile, SimulatedOptions


def make_backend(agent: AgentTable) -> AgentBackend:
    """The backend of one agent of a loaded plan, with the agent's roles.

    Raises:
        BackendConfigError: The agent is simulated (simulated agents play
            only under ``playbill sim``), or its options cannot work (never
            for a plan that ``load_plan`` accepted).
    """
    options = agent.options
    if isinstance(options, SimulatedOptions):
        raise BackendConfigError(
            "simulated", "backend", "a simulated agent plays only in `playbill sim`"
        )
    return options.build(agent.roles, agent.edits)


def plan_backends(
    plan: PlanFile, *, source: str = "<plan>", agents: Sequence[AgentSpec] | None = None
) -> BackendFactory:
    """The factory of a plan's backends, for ``open_run``: one backend per agent id.

    Every backend is built at once, so that a problem shows before the run
    starts; the factory hands out the same backend for the same agent.

    Args:
        plan: The loaded plan.
        source: The plan's file, for errors.
        agents: The agents the run has (a resumed run's journaled plan);
            those of ``plan`` by default. Each must be in ``plan``, with the
            same backend.

    Raises:
        PlanError: An agent is simulated, or a run's agent is not in the
            plan (or has another backend there), each at its path.
    """
    problems = []
    built: dict[str, AgentBackend] = {}
    by_id = {agent.id: (i, agent) for i, agent in enumerate(plan.agents)}
    wanted = [a.id for a in plan.agents] if agents is None else [a.id for a in agents]
    backends = {a.id: a.backend for a in agents} if agents is not None else {}
    for agent_id in wanted:
        if agent_id not in by_id:
            detail = f"the run has an agent {agent_id!r} that the plan no longer has"
            problems.append(Problem("agents", detail))
            continue
        i, agent = by_id[agent_id]
        if agent_id in backends and backends[agent_id] != agent.backend:
            detail = (
                f"the run's agent {agent_id!r} had backend {backends[agent_id]!r}, "
                f"the plan gives it {agent.backend!r}"
            )
            problems.append(Problem(f"agents[{i}].backend", detail))
            continue
        try:
            built[agent_id] = make_backend(agent)
        except BackendConfigError as error:
            where = f"agents[{i}].{'backend' if error.option == 'backend' else 'options'}"
            problems.append(Problem(where, error.detail))
    if problems:
        raise PlanError(source, problems)

    def factory(spec: AgentSpec) -> AgentBackend:
        return built[spec.id]

    return factory
