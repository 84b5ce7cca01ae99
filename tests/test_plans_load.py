"""Plan files: loading into the model, the RunSpec they make, and type-level problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from playbill import RunSpec
from playbill.plans import PlanError, PlanFile, load_plan, parse_plan
from playbill.runtime import (
    AgentSpec,
    ArtifactExists,
    Budget,
    BuildPasses,
    CommandPasses,
    Criterion,
    FileChanged,
    HumanApproval,
    InputError,
    Plan,
    PlaybillError,
    PolicySettings,
    StepSpec,
    TestsPass,
)

FULL = """
[run]
goal = "Add CSV export to the ledger tool"
strategy = "pipeline"
[run.budget]
tokens = 400000
cost_usd = 5
wall_s = 3600
attempts = 12
retries = 0
[run.policy]
heartbeat_timeout_s = 120
backoff_base_s = 0
backoff_multiplier = 1.5
backoff_max_s = 60
max_attempts = 4
max_review_rounds = 2
on_exhausted = "escalate"
competitors = 4
arbitration = "reviewer_vote"
[run.labels]
team = "blue"

[[agents]]
id = "planner"
roles = ["planner"]
edits_files = false

[[agents]]
id = "executor-1"
roles = ["executor"]
backend = "simulated"
edits_files = true
[agents.budget]
tokens = 100000
[agents.options]
profile = "flaky"

[[agents]]
id = "checker"
roles = ["reviewer", "verifier"]
edits_files = false

[[steps]]
id = "design"
goal = "Sketch the layout"
role = "planner"

[[steps]]
id = "models"
goal = "Add the data models"
depends_on = ["design"]
scope = ["src/models/**", "tests/test_models.py"]
max_attempts = 3
strategy = "pipeline"
[[steps.validators]]
kind = "tests_pass"
argv = ["python", "-m", "pytest", "-q"]
[[steps.validators]]
kind = "command_passes"
argv = ["make", "lint"]
cwd = "tools"
timeout_s = 30
expect_exit = 1
shell = true
[[steps.validators]]
kind = "build_passes"
argv = ["make"]
[[steps.validators]]
kind = "file_changed"
path = "src/models/*.py"
[[steps.validators]]
kind = "artifact_exists"
path = "dist/ledger.whl"
[[steps.validators]]
kind = "human_approval"
prompt = "Do the models look right?"

[[criteria]]
id = "suite-green"
description = "The whole suite passes"
[criteria.validator]
kind = "tests_pass"
argv = ["python", "-m", "pytest", "-q"]

[[criteria]]
id = "readable"
description = "A person can read the code"
"""

EXPECTED_PLAN = Plan(
    steps=(
        StepSpec(id="design", goal="Sketch the layout", role="planner"),
        StepSpec(
            id="models",
            goal="Add the data models",
            depends_on=("design",),
            scope=("src/models/**", "tests/test_models.py"),
            max_attempts=3,
            strategy="pipeline",
            validators=(
                TestsPass(argv=("python", "-m", "pytest", "-q")),
                CommandPasses(
                    argv=("make", "lint"), cwd="tools", timeout_s=30.0, expect_exit=1, shell=True
                ),
                BuildPasses(argv=("make",)),
                FileChanged(path="src/models/*.py"),
                ArtifactExists(path="dist/ledger.whl"),
                HumanApproval(prompt="Do the models look right?"),
            ),
        ),
    ),
    agents=(
        AgentSpec(id="planner", roles=("planner",), edits_files=False),
        AgentSpec(id="executor-1", roles=("executor",), budget=Budget(tokens=100000)),
        AgentSpec(id="checker", roles=("reviewer", "verifier"), edits_files=False),
    ),
    criteria=(
        Criterion(
            id="suite-green",
            description="The whole suite passes",
            validator=TestsPass(argv=("python", "-m", "pytest", "-q")),
        ),
        Criterion(id="readable", description="A person can read the code"),
    ),
)

MINIMAL = """
[run]
goal = "Fix the bug"

[[agents]]
id = "solo"
roles = ["executor"]

[[steps]]
id = "fix"
goal = "Fix it"
scope = ["src/**"]
"""


def test_a_full_plan_becomes_the_expected_run_spec() -> None:
    plan = parse_plan(FULL, source="plan.toml")
    spec = plan.to_run_spec(seed=7, labels={"sweep": "a"})
    assert spec == RunSpec(
        goal="Add CSV export to the ledger tool",
        plan=EXPECTED_PLAN,
        budget=Budget(tokens=400000, cost_usd=5.0, wall_s=3600.0, attempts=12, retries=0),
        policy=PolicySettings(
            heartbeat_timeout_s=120.0,
            backoff_base_s=0.0,
            backoff_multiplier=1.5,
            backoff_max_s=60.0,
            max_attempts=4,
            max_review_rounds=2,
            on_exhausted="escalate",
            competitors=4,
            arbitration="reviewer_vote",
        ),
        strategy="pipeline",
        seed=7,
        labels={"team": "blue", "sweep": "a"},
    )
    # numbers are canonical: a float field holds a float, even when written as 5
    assert isinstance(spec.budget.cost_usd, float)
    assert isinstance(spec.plan.steps[1].validators[1].timeout_s, float)  # type: ignore[union-attr]


def test_the_arguments_labels_win_over_the_files() -> None:
    spec = parse_plan(FULL).to_run_spec(labels={"team": "red"})
    assert spec.labels == {"team": "red"}
    assert spec.seed is None


def test_the_worktrees_directory_is_taken_from_the_repository_or_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    repo = tmp_path / "repo"

    def chosen(value: str) -> Path | None:
        text = MINIMAL.replace("[run]\n", f'[run]\nworktrees = "{value}"\n', 1)
        return parse_plan(text).run.worktrees_dir(repo)

    assert parse_plan(MINIMAL).run.worktrees_dir(repo) is None  # the default, chosen later
    assert chosen("../wt") == repo / "../wt"
    assert chosen("~/wt") == tmp_path / "home" / "wt"
    assert chosen("/srv/wt") == Path("/srv/wt")
    assert (
        parse_plan(MINIMAL).to_run_spec()
        == parse_plan(MINIMAL.replace("[run]\n", '[run]\nworktrees = "../wt"\n', 1)).to_run_spec()
    )  # where worktrees live is no part of what the run journals as its plan


def test_a_minimal_plan_takes_every_default() -> None:
    spec = parse_plan(MINIMAL).to_run_spec()
    assert spec == RunSpec(
        goal="Fix the bug",
        plan=Plan(
            steps=(StepSpec(id="fix", goal="Fix it", scope=("src/**",)),),
            agents=(AgentSpec(id="solo", roles=("executor",)),),
        ),
    )


def test_the_simulated_profiles_come_from_the_agents_options() -> None:
    plan = parse_plan(FULL)
    profiles = plan.profile_set()
    assert dict(profiles.agents) == {"executor-1": "flaky"}
    assert profiles.profile_for("executor-1") == profiles.profiles["flaky"]


def test_load_plan_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    assert load_plan(path) == parse_plan(MINIMAL)
    assert isinstance(load_plan(str(path)), PlanFile)


def test_a_missing_file_is_a_plan_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    assert str(caught.value).startswith(f"{path}: cannot read the plan: ")
    assert "playbill init" in str(caught.value)


def test_a_file_that_is_not_utf8_is_a_plan_error(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_bytes(b"\xff\xfe[run]")
    with pytest.raises(PlanError, match="cannot read the plan"):
        load_plan(path)


def test_a_toml_syntax_error_names_its_line() -> None:
    text = '[run]\ngoal = "x"\n\n[[steps]\nid = "a"\n'
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plan.toml")
    error = caught.value
    assert error.location.startswith("line 4")
    assert str(error).startswith("plan.toml:line 4, column")
    assert "not valid TOML" in str(error)


def test_plan_errors_are_input_errors_with_every_problem() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan('[run]\ngoal = ""\n[[steps]]\nid = "a"\n', source="p.toml")
    error = caught.value
    assert isinstance(error, InputError)
    assert isinstance(error, PlaybillError)
    assert error.source == "p.toml"
    assert [p.location for p in error.problems] == ["run.goal", "steps[0].goal"]
    assert (error.location, error.detail) == (error.problems[0].location, error.problems[0].detail)
    assert str(error).splitlines() == [f"p.toml:{p}" for p in error.problems]


def problems_of(text: str) -> dict[str, str]:
    """The problems of a plan, by location (fails if it loads)."""
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plan.toml")
    return {p.location: p.detail for p in caught.value.problems}


GOOD_TAIL = """
[[agents]]
id = "a"
roles = ["executor", "verifier"]
[[agents]]
id = "b"
roles = ["verifier"]
[[steps]]
id = "s"
goal = "do it"
"""


@pytest.mark.parametrize(
    ("run", "location", "fragment"),
    [
        ("", "run.goal", "required key missing"),
        ("goal = 5", "run.goal", "expected a non-empty string, got 5 (an integer)"),
        ('goal = "  "', "run.goal", "expected a non-empty string"),
        ('goal = "x"\ngaol = 1', "run.gaol", "unknown key (expected one of goal,"),
        ('goal = "x"\ngaol = 1', "run.gaol", "(did you mean 'goal'?)"),
        ('goal = "x"\nbudget = 5', "run.budget", "expected a table, got 5"),
        ('goal = "x"\nbudget.tokens = -1', "run.budget.tokens", "at least 1, got -1"),
        ('goal = "x"\nbudget.tokens = 1.5', "run.budget.tokens", "whole number of tokens"),
        ('goal = "x"\nbudget.tokens = true', "run.budget.tokens", "got True (a boolean)"),
        ('goal = "x"\nbudget.cost_usd = -0.5', "run.budget.cost_usd", "above 0"),
        ('goal = "x"\nbudget.cost_usd = nan', "run.budget.cost_usd", "above 0, got nan"),
        ('goal = "x"\nbudget.wall_s = inf', "run.budget.wall_s", "got inf"),
        ('goal = "x"\nbudget.retries = -1', "run.budget.retries", "0 or more"),
        ('goal = "x"\nbudget.attempts = 0', "run.budget.attempts", "at least 1"),
        ('goal = "x"\nbudget.money = 1', "run.budget.money", "unknown key"),
        ('goal = "x"\npolicy.heartbeat_timeout_s = 0', "run.policy.heartbeat_timeout_s", ""),
        ('goal = "x"\npolicy.backoff_multiplier = 0.5', "run.policy.backoff_multiplier", ""),
        ('goal = "x"\npolicy.max_attempts = 0', "run.policy.max_attempts", "at least 1"),
        ('goal = "x"\npolicy.on_exhausted = "retry"', "run.policy.on_exhausted", "abort, "),
        ('goal = "x"\npolicy.on_exhausted = 1', "run.policy.on_exhausted", "expected an action"),
        ('goal = "x"\nlabels = { a = 1 }', "run.labels.a", "expected a string, got 1"),
        ('goal = "x"\nlabels = []', "run.labels", "expected a table of strings"),
        ('goal = "x"\nstrategy = 3', "run.strategy", "expected a string"),
        ('goal = "x"\nworktrees = 3', "run.worktrees", "expected a directory path, got 3"),
        ('goal = "x"\nworktrees = " "', "run.worktrees", "expected a directory path"),
        ('goal = "x"\nworktrees = "wt"', "run.worktrees", "outside the repository"),
        ('goal = "x"\nworktrees = "./a/../wt"', "run.worktrees", "'../wt', or '~/...'"),
        ('goal = "x"\nworktrees = "/srv/.git/wt"', "run.worktrees", "outside any .git"),
        ('goal = "x"\nworktrees = "../.git"', "run.worktrees", "agent tools refuse"),
        ('goal = "x"\nworktrees = "~/wt\\u0007"', "run.worktrees", "a control character"),
    ],
)
def test_run_table_problems(run: str, location: str, fragment: str) -> None:
    found = problems_of(f"[run]\n{run}\n{GOOD_TAIL}")
    assert location in found, found
    assert fragment in found[location]


@pytest.mark.parametrize(
    ("agent", "location", "fragment"),
    [
        ('roles = ["executor"]', "agents[1].id", "required key missing"),
        ('id = "b c"\nroles = ["executor"]', "agents[1].id", "expected an id"),
        ('id = ""\nroles = ["executor"]', "agents[1].id", "expected an id"),
        ('id = "x"', "agents[1].roles", "required key missing"),
        ('id = "x"\nroles = "executor"', "agents[1].roles", "expected an array"),
        ('id = "x"\nroles = ["executer"]', "agents[1].roles[0]", "unknown role 'executer'"),
        ('id = "x"\nroles = ["executer"]', "agents[1].roles[0]", "did you mean 'executor'"),
        ('id = "x"\nroles = [1]', "agents[1].roles[0]", "expected a role"),
        ('id = "x"\nroles = []', "agents[1].roles", "at least one role"),
        ('id = "x"\nroles = ["executor", "executor"]', "agents[1].roles[1]", "listed twice"),
        ('id = "x"\nroles = ["executor"]\nbackend = "codx"', "agents[1].backend", "'codex'?"),
        ('id = "x"\nroles = ["executor"]\nbackend = 1', "agents[1].backend", "a string"),
        ('id = "x"\nroles = ["executor"]\nedits_files = 1', "agents[1].edits_files", "true or"),
        ('id = "x"\nroles = ["executor"]\nedit_files = true', "agents[1].edit_files", "did you"),
        ('id = "x"\nroles = ["executor"]\noptions.color = 1', "agents[1].options.color", ""),
        ('id = "x"\nroles = ["executor"]\noptions = 1', "agents[1].options", "a table"),
        ('id = "x"\nroles = ["executor"]\nbudget.tokens = 0', "agents[1].budget.tokens", ""),
    ],
)
def test_agent_table_problems(agent: str, location: str, fragment: str) -> None:
    # the agent under test is the third [[agents]] table
    found = problems_of(f'[run]\ngoal = "x"\n{GOOD_TAIL}\n[[agents]]\n{agent}\n')
    location = location.replace("agents[1]", "agents[2]")
    assert location in found, found
    assert fragment in found[location]


@pytest.mark.parametrize(
    ("step", "location", "fragment"),
    [
        ('goal = "x"', "steps[1].id", "required key missing"),
        ('id = "t"', "steps[1].goal", "required key missing"),
        ('id = "t"\ngoal = "x"\nrole = "boss"', "steps[1].role", "unknown role 'boss'"),
        ('id = "t"\ngoal = "x"\ndepends_on = "s"', "steps[1].depends_on", "expected an array"),
        ('id = "t"\ngoal = "x"\ndepends_on = [1]', "steps[1].depends_on[0]", "a string"),
        ('id = "t"\ngoal = "x"\nscope = [1]', "steps[1].scope[0]", "a string"),
        ('id = "t"\ngoal = "x"\nmax_attempts = 0', "steps[1].max_attempts", "at least 1"),
        ('id = "t"\ngoal = "x"\nstrategy = 1', "steps[1].strategy", "a string"),
        ('id = "t"\ngoal = "x"\nvalidators = {}', "steps[1].validators", "an array"),
        ('id = "t"\ngoal = "x"\nvalidators = [1]', "steps[1].validators[0]", "a table"),
        ('id = "t"\ngoal = "x"\ndepend_on = []', "steps[1].depend_on", "did you mean"),
    ],
)
def test_step_table_problems(step: str, location: str, fragment: str) -> None:
    found = problems_of(f'[run]\ngoal = "x"\n{GOOD_TAIL}\n[[steps]]\n{step}\n')
    assert location in found, found
    assert fragment in found[location]


@pytest.mark.parametrize(
    ("validator", "location", "fragment"),
    [
        ('argv = ["x"]', ".kind", "required key missing (one of command_passes"),
        ('kind = "test_pass"', ".kind", "unknown validator kind 'test_pass'"),
        ('kind = "test_pass"', ".kind", "(did you mean 'tests_pass'?)"),
        ("kind = 1", ".kind", "expected a validator kind"),
        ('kind = "command_passes"', ".argv", "required key missing"),
        ('kind = "command_passes"\nargv = "make check"', ".argv", "expected an array"),
        ('kind = "command_passes"\nargv = []', ".argv", "expected a command"),
        ('kind = "command_passes"\nargv = [""]', ".argv", "expected a command"),
        ('kind = "build_passes"\nargv = []', ".argv", "expected a command"),
        ('kind = "tests_pass"\nargv = []', ".argv", "expected a command"),
        ('kind = "command_passes"\nargv = ["x"]\nshell = "yes"', ".shell", "true or false"),
        ('kind = "command_passes"\nargv = ["x"]\nexpect_exit = 256', ".expect_exit", "0 to 255"),
        ('kind = "command_passes"\nargv = ["x"]\ntimeout_s = 0', ".timeout_s", "above 0"),
        ('kind = "tests_pass"\nmin_passed = -1', ".min_passed", "0 or more"),
        ('kind = "tests_pass"\nshell = true', ".shell", "unknown key (expected one of kind,"),
        ('kind = "file_changed"', ".path", "required key missing"),
        ('kind = "human_approval"\nprompt = 3', ".prompt", "expected a string"),
    ],
)
def test_validator_problems(validator: str, location: str, fragment: str) -> None:
    text = f'[run]\ngoal = "x"\n{GOOD_TAIL}\n[[steps.validators]]\n{validator}\n'
    found = problems_of(text)
    where = "steps[0].validators[0]" + location
    assert where in found, found
    assert fragment in found[where]


@pytest.mark.parametrize(
    ("text", "location", "fragment"),
    [
        (GOOD_TAIL, "run", "required table missing: [run]"),
        ('run = "x"\n' + GOOD_TAIL, "run", "expected a table"),
        ('steps = 3\n[run]\ngoal = "x"\n', "steps", "expected an array of tables ([[steps]])"),
        ('[run]\ngoal = "x"\n[steps]\nid = "a"\n', "steps", "expected an array of tables"),
        ('agents = [1]\n[run]\ngoal = "x"\n[[steps]]\nid = "s"\ngoal = "g"\n', "agents", ""),
        ('[run]\ngoal = "x"\n[[step]]\nid = "a"\n', "step", "(did you mean 'steps'?)"),
        ('[run]\ngoal = "x"\n', "steps", "a plan needs at least one step"),
        ('[run]\ngoal = "x"\n[[criteria]]\nid = "c"\n' + GOOD_TAIL, "criteria[0].description", ""),
        (
            '[run]\ngoal = "x"\n[[criteria]]\nid = "c"\ndescription = "d"\nvalidator = 1\n'
            + GOOD_TAIL,
            "criteria[0].validator",
            "expected a table",
        ),
    ],
)
def test_top_level_problems(text: str, location: str, fragment: str) -> None:
    found = problems_of(text)
    assert location in found, found
    assert fragment in found[location]


EVERYTHING_WRONG = """
stepz = 1
[run]
goal = ""
strategy = "pipelin"
[run.budget]
tokens = -5
cost_usd = "lots"
[run.policy]
on_exhausted = "esclate"
backoff_base_s = 10
backoff_max_s = 1

[[agents]]
id = "supervisor"
roles = ["executor"]
edits_files = false
[[agents]]
id = "rev"
roles = ["reviewer"]
backend = "claud"
[[agents]]
id = "rev"
roles = ["executer"]

[[steps]]
id = "design"
goal = "x"
role = "planner"

[[steps]]
id = "models"
goal = "y"
depends_on = ["desing", "models"]
scope = ["/etc/**", "../up", "src\\\\win", ".git/config"]
[[steps.validators]]
kind = "tests_pas"
[[steps.validators]]
kind = "command_passes"
argv = []
cwd = "../out"

[[steps]]
id = "a"
goal = "a"
depends_on = ["c"]
[[steps]]
id = "b"
goal = "b"
depends_on = ["a"]
[[steps]]
id = "c"
goal = "c"
depends_on = ["b"]
[[steps]]
id = "a"
goal = "again"

[[criteria]]
id = "c1"
description = "d"
[criteria.validator]
kind = "artifact_exists"
path = "/abs"
[[criteria]]
id = "c1"
description = "twice"
"""


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    found = problems_of(EVERYTHING_WRONG)
    expected = {
        "stepz": "did you mean 'steps'",
        "run.goal": "non-empty string",
        "run.strategy": "unknown strategy 'pipelin'",
        "run.budget.tokens": "at least 1",
        "run.budget.cost_usd": "'lots' (a string)",
        "run.policy.on_exhausted": "did you mean 'escalate'",
        "agents[0].id": "address of the runtime",
        "agents[1].backend": "unknown backend 'claud' (known: simulated, command, "
        "claude_code, codex, aider, openai, checks) (did you mean 'claude_code'?)",
        "agents[2].roles[0]": "unknown role 'executer'",
        "steps[1].depends_on[0]": "unknown step 'desing' (did you mean 'design'?)",
        "steps[1].depends_on": "step 'models' depends on itself",
        "steps[1].scope[0]": "absolute path",
        "steps[1].scope[1]": "'..' segment",
        "steps[1].scope[2]": "backslash",
        "steps[1].scope[3]": ".git directory",
        "steps[1].validators[0].kind": "did you mean 'tests_pass'",
        "steps[1].validators[1].argv": "expected a command",
        "steps[1].validators[1].cwd": "'..' segment",
        "steps[2].depends_on": "dependency cycle: a -> c -> b -> a",
        "steps[5].id": "duplicate step id 'a' (first at steps[2])",
        "criteria[0].validator.path": "absolute path",
        "criteria[1].id": "duplicate criterion id 'c1'",
    }
    for location, fragment in expected.items():
        assert location in found, (location, sorted(found))
        assert fragment in found[location], (location, found[location])
    # An agent table did not load: whether a role is played cannot be known.
    assert "steps[0].role" not in found
    # [run] loaded only in part: its cross-checks could be misled by defaults.
    assert "run.policy.backoff_max_s" not in found


def test_problems_are_in_file_order() -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(EVERYTHING_WRONG, source="plan.toml")
    sections = [p.location.split("[")[0].split(".")[0] for p in caught.value.problems]
    order = {"stepz": 0, "run": 1, "agents": 2, "steps": 3, "criteria": 4}
    assert sections == sorted(sections, key=order.__getitem__)
    lines = str(caught.value).splitlines()
    assert len(lines) == len(caught.value.problems)
    assert all(line.startswith("plan.toml:") for line in lines)


def test_strings_are_never_numbers_and_numbers_never_strings() -> None:
    found = problems_of(
        '[run]\ngoal = "x"\nbudget.tokens = "100"\n[[agents]]\nid = "a"\nroles = ["executor"]\n'
        '[[steps]]\nid = "s"\ngoal = 7\n'
    )
    assert "got '100' (a string)" in found["run.budget.tokens"]
    assert "got 7 (an integer)" in found["steps[0].goal"]


def test_a_strange_key_is_quoted_and_escaped_so_each_problem_stays_on_one_line() -> None:
    text = '"a\\nb" = 1\n"c d" = 2\n[run]\ngoal = "x"\nlabels = { "x\\ty" = 3 }\n' + GOOD_TAIL
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plan.toml")
    assert [p.location for p in caught.value.problems] == [
        '"a\\nb"',
        '"c d"',
        'run.labels."x\\ty"',
    ]
    assert len(str(caught.value).splitlines()) == 3
