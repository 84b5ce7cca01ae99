"""The starter plans: the simulated one ``playbill init`` writes, and the real team's."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import attrs
import pytest

from playbill.plans import (
    PYTEST,
    STARTER_PLAN,
    AgentTable,
    BudgetTable,
    PlanFile,
    PolicyTable,
    RunTable,
    SimulatedOptions,
    StepTable,
    TestsPassTable,
    check_plan,
    guess_test_command,
    parse_plan,
    plan_backends,
    starter_plan,
)
from playbill.simulation import ProfileSet, simulate

REAL = starter_plan()


def shows_every_key(document: dict[str, Any]) -> None:
    """Every section, every run-level key, every step key but the optional strategy ones."""
    assert set(document) == {"run", "agents", "steps", "criteria"}
    run = document["run"]
    assert set(run) == {a.name for a in attrs.fields(RunTable)}
    assert set(run["budget"]) == {a.name for a in attrs.fields(BudgetTable)}
    policy_keys = {a.name for a in attrs.fields(PolicyTable)}
    assert set(run["policy"]) == policy_keys
    agent_keys = {key for agent in document["agents"] for key in agent}
    assert agent_keys == {a.name for a in attrs.fields(AgentTable)}
    step_keys = {key for step in document["steps"] for key in step}
    # decompose_into names a fragment file, which a starter does not write (the comment shows it)
    optional = {"strategy", "competitors", "decompose_into"}
    assert step_keys == {a.name for a in attrs.fields(StepTable)} - optional


def test_the_starter_is_a_valid_plan() -> None:
    plan = parse_plan(STARTER_PLAN, source="playbill.toml")
    assert check_plan(plan) == []
    assert len(plan.steps) >= 4
    roles = {role for agent in plan.agents for role in agent.roles}
    assert roles == {"planner", "executor", "reviewer", "verifier"}
    assert all(agent.backend == "simulated" for agent in plan.agents)


STARTERS = pytest.mark.parametrize("text", [STARTER_PLAN, REAL], ids=["simulated", "real"])


@STARTERS
def test_a_starter_shows_every_section_and_every_run_level_key(text: str) -> None:
    shows_every_key(tomllib.loads(text))


@STARTERS
def test_every_section_and_run_key_of_a_starter_is_explained_by_a_comment(text: str) -> None:
    lines = text.splitlines()
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
    assert {c.id: c.met for c in result.state.criteria.values()} == {"suite-green": True}


def test_the_real_starter_is_a_valid_plan_whose_backends_build() -> None:
    plan = parse_plan(REAL, source="playbill.toml")
    assert check_plan(plan) == []
    assert "@TESTS@" not in REAL
    assert [s.id for s in plan.steps] == ["fix", "docs"]
    roles = {role for agent in plan.agents for role in agent.roles}
    assert roles == {"executor", "reviewer", "verifier"}
    assert {agent.backend for agent in plan.agents} == {"claude_code", "checks"}
    # every agent's backend can be built, as `playbill run` builds it
    factory = plan_backends(plan)
    built = {spec.id: factory(spec) for spec in plan.to_plan().agents}
    assert built["tests"].name == "checks"
    assert built["claude"].capabilities.edits_files


def test_the_commented_alternatives_are_valid_agents_too() -> None:
    """Uncommenting the command executor and the openai reviewer gives a valid plan."""
    lines = REAL.splitlines()
    blocks, current = [], []
    for line in lines:
        if line.startswith("# [") or (current and line.startswith("# ") and "=" in line):
            current.append(line.removeprefix("# "))
        elif current:
            blocks.append("\n".join(current))
            current = []
    assert len(blocks) == 2
    text = REAL.replace('id = "reviewer"\nroles', 'id = "reviewer-0"\nroles', 1)
    plan = parse_plan(text + "\n" + "\n".join(blocks))
    assert {a.backend for a in plan.agents} >= {"command", "openai"}
    assert plan_backends(plan)


@pytest.mark.parametrize(
    ("marker", "argv"),
    [
        ("pyproject.toml", PYTEST),
        ("Cargo.toml", ("cargo", "test")),
        ("go.mod", ("go", "test", "./...")),
        ("package.json", ("npm", "test")),
        ("Makefile", ("make", "test")),
        (None, PYTEST),
    ],
)
def test_the_test_command_is_guessed_from_the_repository(
    tmp_path: Path, marker: str | None, argv: tuple[str, ...]
) -> None:
    if marker is not None:
        (tmp_path / marker).write_text("test:\n\ttrue\n" if marker == "Makefile" else "")
    assert guess_test_command(tmp_path) == argv
    plan = parse_plan(starter_plan(argv))
    validator = plan.steps[0].validators[0]
    assert isinstance(validator, TestsPassTable) and validator.argv == argv
    criterion = plan.criteria[0].validator
    assert criterion == validator  # the criterion is met by the step that runs the suite


def test_a_makefile_without_a_test_target_says_nothing(tmp_path: Path) -> None:
    (tmp_path / "Makefile").write_text("build:\n\ttrue\n")
    assert guess_test_command(tmp_path) == PYTEST
