"""Plan files: the competitive strategy's keys (competitors, arbitration) and a run of them."""

from __future__ import annotations

import pytest
import trio

from playbill.plans import PlanError, parse_plan
from playbill.runtime import (
    DEFAULT_POLICY,
    STRATEGIES,
    ArbitrationDecided,
    ArbitrationPolicy,
    MemoryJournal,
    PolicySettings,
    StepAssigned,
    StepCompleted,
    StepSpec,
)
from playbill.simulation import simulate

ARBITRATIONS = ("first_passing", "best_score", "lowest_cost", "reviewer_vote")

TEAM = """
[[agents]]
id = "ex1"
roles = ["executor"]
[[agents]]
id = "ex2"
roles = ["executor"]
[[agents]]
id = "ex3"
roles = ["executor"]
[[agents]]
id = "rev"
roles = ["reviewer"]
edits_files = false
[[agents]]
id = "ver"
roles = ["verifier"]
edits_files = false
"""


def plan_text(*, run: str = "", policy: str = "", step: str = "") -> str:
    """A plan of one step, ``s``, with the given lines in [run], [run.policy] and the step."""
    return (
        f'[run]\ngoal = "g"\n{run}\n[run.policy]\n{policy}\n{TEAM}\n'
        f'[[steps]]\nid = "s"\ngoal = "do s"\nscope = ["src/**"]\n{step}\n'
    )


def problems_of(text: str, **kwargs: object) -> dict[str, str]:
    """The problems of a plan, by location (fails if it loads)."""
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plan.toml", **kwargs)  # type: ignore[arg-type]
    return {p.location: p.detail for p in caught.value.problems}


# ------------------------------------------------------------- round trip


@pytest.mark.parametrize("arbitration", ARBITRATIONS)
def test_the_keys_become_the_kernels_values(arbitration: ArbitrationPolicy) -> None:
    text = plan_text(
        run='strategy = "competitive"',
        policy=f'competitors = 3\narbitration = "{arbitration}"',
        step="competitors = 5",
    )
    spec = parse_plan(text).to_run_spec()
    assert spec.policy == PolicySettings(competitors=3, arbitration=arbitration)
    assert spec.plan.steps == (StepSpec(id="s", goal="do s", scope=("src/**",), competitors=5),)
    assert spec.strategy == "competitive"


def test_left_out_they_are_the_policys_defaults_and_the_step_sets_none() -> None:
    spec = parse_plan(plan_text()).to_run_spec()
    assert spec.policy == DEFAULT_POLICY
    assert (spec.policy.competitors, spec.policy.arbitration) == (2, "best_score")
    assert spec.plan.steps[0].competitors is None


def test_one_competitor_is_allowed_under_any_strategy() -> None:
    text = plan_text(policy="competitors = 1", step='strategy = "pipeline"\ncompetitors = 1')
    spec = parse_plan(text).to_run_spec()
    assert (spec.policy.competitors, spec.plan.steps[0].competitors) == (1, 1)


# ----------------------------------------------------------------- problems

KNOWN = "known: first_passing, best_score, lowest_cost, reviewer_vote"


@pytest.mark.parametrize(
    ("policy", "step", "location", "detail"),
    [
        (
            "competitors = 0",
            "",
            "run.policy.competitors",
            "expected a whole number, at least 1, got 0",
        ),
        (
            "competitors = 2.5",
            "",
            "run.policy.competitors",
            "expected a whole number, at least 1, got 2.5 (a float)",
        ),
        (
            'competitors = "3"',
            "",
            "run.policy.competitors",
            "expected a whole number, at least 1, got '3' (a string)",
        ),
        (
            "competitors = true",
            "",
            "run.policy.competitors",
            "expected a whole number, at least 1, got True (a boolean)",
        ),
        (
            'arbitration = "best_scor"',
            "",
            "run.policy.arbitration",
            f"unknown arbitration policy 'best_scor' ({KNOWN}) (did you mean 'best_score'?)",
        ),
        (
            'arbitration = "majority"',
            "",
            "run.policy.arbitration",
            f"unknown arbitration policy 'majority' ({KNOWN})",
        ),
        (
            "arbitration = 1",
            "",
            "run.policy.arbitration",
            "expected an arbitration policy (first_passing, best_score, lowest_cost, "
            "reviewer_vote), got 1 (an integer)",
        ),
        (
            "",
            "competitors = -2",
            "steps[0].competitors",
            "expected a whole number, at least 1, got -2",
        ),
        (
            "",
            'competitors = "many"',
            "steps[0].competitors",
            "expected a whole number, at least 1, got 'many' (a string)",
        ),
        (
            "",
            "competitors = [2]",
            "steps[0].competitors",
            "expected a whole number, at least 1, got [2] (an array)",
        ),
        (
            "",
            "competitor = 2",
            "steps[0].competitor",
            "unknown key (expected one of id, goal, role, depends_on, scope, validators, "
            "strategy, max_attempts, competitors, budget, on_exhausted, decompose_into) "
            "(did you mean 'competitors'?)",
        ),
    ],
)
def test_bad_values_name_the_file_path_and_what_was_expected(
    policy: str, step: str, location: str, detail: str
) -> None:
    text = plan_text(run='strategy = "competitive"', policy=policy, step=step)
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plan.toml")
    assert [str(p) for p in caught.value.problems] == [f"{location}: {detail}"]
    assert str(caught.value).startswith(f"plan.toml:{location}: ")


def test_every_bad_value_is_reported_at_once() -> None:
    text = plan_text(
        policy='competitors = 0\narbitration = "vote"\non_exhausted = "retry"',
        step='competitors = 0\nstrategy = "pipelin"',
    )
    found = problems_of(text)
    assert list(found) == [
        "run.policy.on_exhausted",
        "run.policy.competitors",
        "run.policy.arbitration",
        "steps[0].competitors",
        "steps[0].strategy",
    ]
    assert "did you mean 'pipeline'" in found["steps[0].strategy"]


# ------------------------------------------------------------ cross-check


@pytest.mark.parametrize("strategy", [s for s in STRATEGIES if s != "competitive"])
def test_competitors_on_a_step_that_names_another_builtin_strategy(strategy: str) -> None:
    found = problems_of(plan_text(step=f'strategy = "{strategy}"\ncompetitors = 3'))
    assert found == {
        "steps[0].competitors": (
            f"competitors only matter for the competitive strategy, and step 's' uses "
            f'{strategy!r} (remove competitors, or set strategy = "competitive")'
        )
    }


def test_competitors_on_a_step_that_uses_the_runs_strategy_load_whatever_it_is() -> None:
    # The run's strategy may be replaced when the plan runs (a sweep's cells),
    # so competitors under a non-competitive run strategy are kept, unused.
    for run in ("", 'strategy = "pipeline"', 'strategy = "review_loop"'):
        plan = parse_plan(plan_text(run=run, step="competitors = 3"))
        assert plan.to_run_spec().plan.steps[0].competitors == 3


def test_competitors_on_a_competitive_step_or_a_strategy_of_ones_own_load() -> None:
    plan = parse_plan(plan_text(step='strategy = "competitive"\ncompetitors = 3'))
    assert plan.steps[0].competitors == 3
    mine = [*STRATEGIES, "tournament"]
    plan = parse_plan(plan_text(step='strategy = "tournament"\ncompetitors = 3'), strategies=mine)
    assert plan.steps[0].competitors == 3


def test_an_unknown_strategy_is_the_only_problem_of_a_step_with_competitors() -> None:
    found = problems_of(plan_text(step='strategy = "tournament"\ncompetitors = 3'))
    assert list(found) == ["steps[0].strategy"]


# -------------------------------------------------------------- simulation

COMPETITIVE_PLAN = """
[run]
goal = "Add CSV export"
strategy = "competitive"

[run.policy]
competitors = 3
arbitration = "best_score"
backoff_base_s = 0

[[agents]]
id = "ex1"
roles = ["executor"]
[agents.options]
profile = "perfect"
[[agents]]
id = "ex2"
roles = ["executor"]
[agents.options]
profile = "perfect"
[[agents]]
id = "ex3"
roles = ["executor"]
[agents.options]
profile = "perfect"
[[agents]]
id = "rev"
roles = ["reviewer"]
edits_files = false
[agents.options]
profile = "perfect"
[[agents]]
id = "ver"
roles = ["verifier"]
edits_files = false
[agents.options]
profile = "perfect"

[[steps]]
id = "export"
goal = "Write the CSV writer"
scope = ["src/export/**"]
[[steps.validators]]
kind = "tests_pass"
argv = ["python", "-m", "pytest", "-q"]
"""


def test_a_competitive_plan_runs_to_completion_with_an_arbitration() -> None:
    loaded = parse_plan(COMPETITIVE_PLAN, source="playbill.toml")
    spec = loaded.to_run_spec(seed=5)
    journal = MemoryJournal()
    result = simulate(
        5,
        plan=spec.plan,
        goal=spec.goal,
        budget=spec.budget,
        policy=spec.policy,
        strategy=spec.strategy,
        profiles=loaded.profile_set(),
        journal=journal,
    )
    assert result.outcome == "completed"
    msgs = [entry.msg for entry in trio.run(journal.read, result.run_id)]
    competition = [m for m in msgs if isinstance(m, StepAssigned) and m.step == "export"]
    assert sorted(m.agent for m in competition[:3]) == ["ex1", "ex2", "ex3"]
    assert {m.competition for m in competition[:3]} == {competition[0].attempt}
    assert len(competition) == 3  # one competition of three, won at once
    decided = [m for m in msgs if isinstance(m, ArbitrationDecided)]
    assert len(decided) == 1
    assert (decided[0].step, decided[0].policy) == ("export", "best_score")
    # the whole score table: every competitor, all passing, the winner first
    assert sorted(row.agent for row in decided[0].scores) == ["ex1", "ex2", "ex3"]
    assert all(row.passed for row in decided[0].scores)
    assert decided[0].winner_attempt == decided[0].scores[0].attempt
    completed = [m for m in msgs if isinstance(m, StepCompleted)]
    assert [m.step for m in completed] == ["export"]
    assert msgs.index(decided[0]) < msgs.index(completed[0])
