"""The starter plan ``playbill init`` writes: valid, commented, and it runs."""

from __future__ import annotations

import tomllib

import attrs

from playbill.actors import ProfileSet, simulate
from playbill.plans import (
    STARTER_PLAN,
    AgentTable,
    BudgetTable,
    PlanFile,
    PolicyTable,
    RunTable,
    SimulatedOptions,
    StepTable,
    check_plan,
    parse_plan,
)


def test_the_starter_is_a_valid_plan() -> None:
    plan = parse_plan(STARTER_PLAN, source="playbill.toml")
    assert check_plan(plan) == []
    assert len(plan.steps) >= 4
    roles = {role for agent in plan.agents for role in agent.roles}
    assert roles == {"planner", "executor", "reviewer", "verifier"}
    assert all(agent.backend == "simulated" for agent in plan.agents)


def test_the_starter_shows_every_section_and_every_run_level_key() -> None:
    document = tomllib.loads(STARTER_PLAN)
    assert set(document) == {"run", "agents", "steps", "criteria"}
    run = document["run"]
    assert set(run) == {a.name for a in attrs.fields(RunTable)}
    assert set(run["budget"]) == {a.name for a in attrs.fields(BudgetTable)}
    assert set(run["policy"]) == {a.name for a in attrs.fields(PolicyTable)}
    agent_keys = {key for agent in document["agents"] for key in agent}
    assert agent_keys == {a.name for a in attrs.fields(AgentTable)}
    step_keys = {key for step in document["steps"] for key in step}
    assert step_keys == {a.name for a in attrs.fields(StepTable)} - {"strategy"}


def test_every_section_and_run_key_of_the_starter_is_explained_by_a_comment() -> None:
    lines = STARTER_PLAN.splitlines()
    seen: set[str] = set()
    section = ""
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
            if section not in seen:  # the first of each kind of table is explained
                seen.add(section)
                nearby = lines[max(0, number - 3) : number + 3]
                assert any(n.strip().startswith("#") for n in nearby), line
        elif section in ("[run.budget]", "[run.policy]") and "=" in stripped:
            assert "#" in stripped, line  # each knob has its own comment
    assert {"[run]", "[[agents]]", "[[steps]]", "[[steps.validators]]", "[[criteria]]"} <= seen


def test_the_starter_runs_to_its_end_in_simulation() -> None:
    plan = parse_plan(STARTER_PLAN)
    spec = plan.to_run_spec(seed=0)
    for seed in (0, 1):
        result = simulate(
            seed,
            plan=spec.plan,
            goal=spec.goal,
            budget=spec.budget,
            policy=spec.policy,
            strategy=spec.strategy,
            profiles=plan.profile_set(),
        )
        assert result.outcome in ("completed", "failed", "waiting"), result.outcome
        assert not result.state.anomalies


def test_the_starter_completes_with_a_perfect_team() -> None:
    plan = parse_plan(STARTER_PLAN)
    perfect = attrs.evolve(
        plan,
        agents=tuple(
            attrs.evolve(a, options=SimulatedOptions(profile="perfect")) for a in plan.agents
        ),
    )
    assert isinstance(perfect, PlanFile)
    spec = perfect.to_run_spec()
    result = simulate(
        3,
        plan=spec.plan,
        goal=spec.goal,
        budget=spec.budget,
        policy=spec.policy,
        profiles=perfect.profile_set(ProfileSet()),
    )
    assert result.outcome == "completed"
    # the run's criterion is met by the step with the very same validator
    assert all(c.met for c in result.state.criteria.values())
