"""Plan files: the semantic checks (ids, dependencies, cycles, roles, confinement...)."""

from __future__ import annotations

import attrs
import pytest

from playbill.lowlevel import outside_repository
from playbill.plans import (
    AgentTable,
    CommandPassesTable,
    PlanError,
    PlanFile,
    RunTable,
    StepTable,
    check_plan,
    parse_plan,
)
from playbill.runtime import STRATEGIES
from playbill.simulation import BUILTIN_PROFILES, AgentProfile, ProfileSet

HEAD = '[run]\ngoal = "g"\n'

TEAM = """
[[agents]]
id = "exec"
roles = ["executor"]
[[agents]]
id = "check"
roles = ["reviewer", "verifier"]
edits_files = false
"""


def step(sid: str, *lines: str) -> str:
    body = "\n".join(lines)
    return f'\n[[steps]]\nid = "{sid}"\ngoal = "do {sid}"\n{body}\n'


def problems_of(text: str, **kwargs: object) -> dict[str, str]:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plan.toml", **kwargs)  # type: ignore[arg-type]
    found: dict[str, str] = {}
    for p in caught.value.problems:
        assert p.location not in found, f"two problems at {p.location}"
        found[p.location] = p.detail
    return found


def test_a_good_plan_has_no_problem() -> None:
    plan = parse_plan(HEAD + TEAM + step("a") + step("b", 'depends_on = ["a"]'))
    assert check_plan(plan) == []


# ------------------------------------------------------------------ ids


def test_duplicate_ids_name_the_first() -> None:
    text = (
        HEAD
        + TEAM
        + '[[agents]]\nid = "exec"\nroles = ["executor"]\n'
        + step("a")
        + step("b")
        + step("a")
        + '[[criteria]]\nid = "c"\ndescription = "d"\n[[criteria]]\nid = "c"\ndescription = "e"\n'
    )
    found = problems_of(text)
    assert found == {
        "agents[2].id": "duplicate agent id 'exec' (first at agents[0])",
        "steps[2].id": "duplicate step id 'a' (first at steps[0])",
        "criteria[1].id": "duplicate criterion id 'c' (first at criteria[0])",
    }


@pytest.mark.parametrize("reserved", ["supervisor", "reducer", "timers", "control", "api"])
def test_agents_may_not_take_an_address_of_the_runtime(reserved: str) -> None:
    text = HEAD + TEAM + f'[[agents]]\nid = "{reserved}"\nroles = ["executor"]\n' + step("a")
    assert "address of the runtime" in problems_of(text)["agents[2].id"]


# ---------------------------------------------------------- dependencies


def test_unknown_dependencies_suggest_the_closest_step() -> None:
    text = HEAD + TEAM + step("design") + step("models", 'depends_on = ["desing", "nothing"]')
    found = problems_of(text)
    assert found == {
        "steps[1].depends_on[0]": "unknown step 'desing' (did you mean 'design'?)",
        "steps[1].depends_on[1]": "unknown step 'nothing'",
    }


def test_a_dependency_listed_twice() -> None:
    text = HEAD + TEAM + step("a") + step("b", 'depends_on = ["a", "a"]')
    assert problems_of(text) == {"steps[1].depends_on[1]": "step 'a' is listed twice"}


def test_a_dependency_on_a_step_with_problems_of_its_own_is_not_unknown() -> None:
    text = HEAD + TEAM + step("a", "max_attempts = 0") + step("b", 'depends_on = ["a"]')
    assert list(problems_of(text)) == ["steps[0].max_attempts"]


def test_a_cycle_is_named_in_dependency_order_from_its_first_step() -> None:
    text = (
        HEAD
        + TEAM
        + step("a", 'depends_on = ["c"]')
        + step("b", 'depends_on = ["a"]')
        + step("c", 'depends_on = ["b"]')
        + step("d", 'depends_on = ["a"]')
    )
    assert problems_of(text) == {
        "steps[0].depends_on": "dependency cycle: a -> c -> b -> a (each step depends on the next)"
    }


def test_every_cycle_is_reported_once() -> None:
    text = (
        HEAD
        + TEAM
        + step("a", 'depends_on = ["b"]')
        + step("b", 'depends_on = ["a", "c"]')
        + step("c", 'depends_on = ["b"]')
        + step("x", 'depends_on = ["x"]')
        + step("p", 'depends_on = ["q"]')
        + step("q", 'depends_on = ["p"]')
    )
    found = problems_of(text)
    assert found == {
        "steps[0].depends_on": "dependency cycle: a -> b -> a (each step depends on the next)",
        "steps[3].depends_on": "step 'x' depends on itself",
        "steps[4].depends_on": "dependency cycle: p -> q -> p (each step depends on the next)",
    }


def test_a_long_chain_is_not_a_cycle() -> None:
    chain = "".join(step(f"s{i}", f'depends_on = ["s{i - 1}"]' if i else "") for i in range(500))
    plan = parse_plan(HEAD + TEAM + chain)
    assert len(plan.steps) == 500


def test_a_long_cycle_is_found_without_recursion() -> None:
    n = 3000
    chain = "".join(step(f"s{i}", f'depends_on = ["s{(i - 1) % n}"]') for i in range(n))
    found = problems_of(HEAD + TEAM + chain)
    assert list(found) == ["steps[0].depends_on"]
    assert found["steps[0].depends_on"].startswith(f"dependency cycle: s0 -> s{n - 1} -> ")


# --------------------------------------------------------------- the team


def test_a_role_no_agent_plays() -> None:
    text = HEAD + TEAM + step("plan", 'role = "planner"')
    found = problems_of(text)
    assert found == {
        "steps[0].role": "no agent plays role 'planner', so step 'plan' could never start "
        '(give an agent roles = ["planner"])'
    }


def test_a_plan_with_no_agent_at_all() -> None:
    found = problems_of(HEAD + step("a") + step("b"))
    assert set(found) == {"steps[0].role", "steps[1].role"}


def test_a_mutating_step_needs_an_agent_of_its_role_that_edits_files() -> None:
    team = (
        '[[agents]]\nid = "exec"\nroles = ["executor"]\nedits_files = false\n'
        '[[agents]]\nid = "fixer"\nroles = ["reviewer"]\n'
    )
    text = HEAD + team + step("read") + step("write", 'scope = ["src/**"]')
    assert problems_of(text) == {
        "steps[1].scope": "step 'write' changes files, but no agent with role 'executor' edits "
        "files (set edits_files = true on one, or leave the scope empty)"
    }


def test_checked_validators_need_a_verifier_other_than_the_doer() -> None:
    validator = '[[steps.validators]]\nkind = "tests_pass"'
    alone = '[[agents]]\nid = "both"\nroles = ["executor", "verifier"]\n'
    found = problems_of(HEAD + alone + step("a", validator))
    detail = found["steps[0].validators"]
    assert "tests_pass must be run by a verifier other than the agent" in detail
    # a second agent that can verify is enough
    other = '[[agents]]\nid = "v"\nroles = ["verifier"]\n'
    parse_plan(HEAD + alone + other + step("a", validator))
    # a person's approval needs no verifier; a verifier step checks its own validators
    approval = '[[steps.validators]]\nkind = "human_approval"'
    parse_plan(HEAD + alone + step("a", approval))
    parse_plan(HEAD + alone + step("v", 'role = "verifier"', validator))


# ------------------------------------------------------------ confinement


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/etc/**", "an absolute path"),
        ("../sibling/**", "a '..' segment"),
        ("src/../../x", "a '..' segment"),
        ("C:/Windows", "a drive letter"),
        ("c:relative", "a drive letter"),
        ("src\\win", "a backslash"),
        ("~/notes", "'~' is not expanded"),
        (".git/hooks/*", "the repository's .git directory"),
        ("sub/.git/config", "the repository's .git directory"),
        ("", "an empty path"),
        ("  ", "an empty path"),
        ("a\nb", "a control character"),
    ],
)
def test_paths_that_leave_the_repository(path: str, why: str) -> None:
    found = outside_repository(path, glob=True)
    assert found is not None
    assert found.startswith(why)


@pytest.mark.parametrize("path", ["src/**", "**", ".", "./src", "docs/*.md", "a..b/c", ".github"])
def test_paths_inside_the_repository(path: str) -> None:
    assert outside_repository(path, glob=True) is None


def test_a_working_directory_is_no_glob() -> None:
    assert outside_repository("src/*", glob=False) is not None
    assert outside_repository("src/app", glob=False) is None


def test_every_path_of_a_plan_is_confined() -> None:
    text = (
        HEAD
        + TEAM
        + step(
            "a",
            'scope = ["src/**", "/abs"]',
            '[[steps.validators]]\nkind = "command_passes"\nargv = ["make"]\ncwd = "../up"',
            '[[steps.validators]]\nkind = "tests_pass"\ncwd = "t*"',
            '[[steps.validators]]\nkind = "build_passes"\nargv = ["make"]\ncwd = "C:/b"',
            '[[steps.validators]]\nkind = "file_changed"\npath = "~/x"',
            '[[steps.validators]]\nkind = "artifact_exists"\npath = "dist\\\\x"',
        )
        + '[[criteria]]\nid = "c"\ndescription = "d"\n'
        + '[criteria.validator]\nkind = "artifact_exists"\npath = "/tmp/x"\n'
    )
    found = problems_of(text)
    assert set(found) == {
        "steps[0].scope[1]",
        "steps[0].validators[0].cwd",
        "steps[0].validators[1].cwd",
        "steps[0].validators[2].cwd",
        "steps[0].validators[3].path",
        "steps[0].validators[4].path",
        "criteria[0].validator.path",
    }
    assert found["steps[0].scope[1]"] == (
        "expected a glob inside the repository, got '/abs' (an absolute path)"
    )
    assert "a wildcard" in found["steps[0].validators[1].cwd"]


def test_shell_is_kept_only_when_the_plan_says_so() -> None:
    validator = '[[steps.validators]]\nkind = "command_passes"\nargv = ["make"]'
    plan = parse_plan(HEAD + TEAM + step("a", validator))
    assert plan.to_plan().steps[0].validators[0].shell is False  # type: ignore[union-attr]
    plan = parse_plan(HEAD + TEAM + step("a", validator + "\nshell = true"))
    assert plan.to_plan().steps[0].validators[0].shell is True  # type: ignore[union-attr]


# ------------------------------------------------- strategies, profiles, policy


def test_strategies_are_the_runtimes_unless_told() -> None:
    text = HEAD.replace('"g"', '"g"\nstrategy = "race"') + TEAM + step("a", 'strategy = "vote"')
    known = ", ".join(STRATEGIES)
    found = problems_of(text)
    assert found == {
        "run.strategy": f"unknown strategy 'race' (known: {known})",
        "steps[0].strategy": f"unknown strategy 'vote' (known: {known})",
    }
    plan = parse_plan(text, strategies=["race", "vote"])
    assert plan.run.strategy == "race"


def test_profiles_are_the_builtins_unless_told() -> None:
    agent = '[[agents]]\nid = "sim"\nroles = ["executor"]\n[agents.options]\nprofile = "flakey"\n'
    found = problems_of(HEAD + agent + step("a"))
    assert found["agents[0].options.profile"].startswith("unknown profile 'flakey' (known: ")
    assert "(did you mean 'flaky'?)" in found["agents[0].options.profile"]
    mine = ProfileSet(profiles={**BUILTIN_PROFILES, "flakey": AgentProfile(slow_factor=2.0)})
    plan = parse_plan(HEAD + agent + step("a"), profiles=mine)
    assert plan.profile_set(mine).profile_for("sim") == AgentProfile(slow_factor=2.0)


def test_a_profile_that_cannot_keep_up_with_the_heartbeat_timeout() -> None:
    head = HEAD + "[run.policy]\nheartbeat_timeout_s = 5\n"
    agent = '[[agents]]\nid = "sim"\nroles = ["executor"]\n[agents.options]\nprofile = "slow"\n'
    found = problems_of(head + agent + step("a"))
    assert "sends a heartbeat every 10 s" in found["agents[0].options.profile"]
    assert "heartbeat_timeout_s (5 s)" in found["agents[0].options.profile"]


def agent(backend: str, *options: str, own: str = "") -> str:
    head = f'[[agents]]\nid = "ag"\nroles = ["executor"]\nbackend = "{backend}"\n{own}'
    return head + "[agents.options]\n" + "\n".join(options) + "\n"


def test_an_agent_showing_progress_less_often_than_the_stall_window_is_refused() -> None:
    head = HEAD + "[run.policy]\nheartbeat_timeout_s = 30\n"
    found = problems_of(head + agent("command", 'argv = ["x"]', "heartbeat_s = 30") + step("a"))
    assert found == {
        "agents[0].options.heartbeat_s": (
            "expected less than the stall window, run.policy.heartbeat_timeout_s (30 s), "
            "got 30: it sends a heartbeat at most this often, when it shows progress, "
            "so it would be declared stalled while it works"
        )
    }
    for backend in ("claude_code", "codex", "aider"):
        found = problems_of(head + agent(backend, "heartbeat_s = 45") + step("a"))
        assert list(found) == ["agents[0].options.heartbeat_s"], backend
    ok = parse_plan(head + agent("command", 'argv = ["x"]', "heartbeat_s = 29") + step("a"))
    assert check_plan(ok) == []
    assert check_plan(parse_plan(head + agent("codex", "heartbeat_s = 29.5") + step("a"))) == []


def test_an_openai_request_longer_than_the_stall_window_is_refused() -> None:
    head = HEAD + "[run.policy]\nheartbeat_timeout_s = 100\n"
    text = agent("openai", 'model = "m"', "timeout_s = 120", "max_backoff_s = 100")
    text = text.replace('roles = ["executor"]', 'roles = ["reviewer"]') + TEAM
    found = problems_of(head + text + step("a"))
    assert set(found) == {"agents[0].options.timeout_s", "agents[0].options.max_backoff_s"}
    assert found["agents[0].options.timeout_s"].startswith(
        "expected less than the stall window, run.policy.heartbeat_timeout_s (100 s), got 120: "
        "a request shows no progress until its answer"
    )


def test_an_agents_own_stall_window_is_the_one_checked() -> None:
    own = "heartbeat_timeout_s = 5\n"  # and heartbeat_s is 5 by default
    found = problems_of(HEAD + agent("command", 'argv = ["x"]', own=own) + step("a"))
    assert found == {
        "agents[0].options.heartbeat_s": (
            "expected less than the stall window, agents[0].heartbeat_timeout_s (5 s), "
            "got 5: it sends a heartbeat at most this often, when it shows progress, "
            "so it would be declared stalled while it works"
        )
    }
    long = HEAD + "[run.policy]\nheartbeat_timeout_s = 4\n"
    own = "heartbeat_timeout_s = 600\n"  # replaces the run's 4 s, which heartbeat_s would not fit
    plan = parse_plan(long + agent("command", 'argv = ["x"]', own=own) + step("a"))
    assert plan.agents[0].to_agent_spec().heartbeat_timeout_s == 600.0
    own = "heartbeat_timeout_s = 0\n"
    found = problems_of(HEAD + agent("command", 'argv = ["x"]', own=own) + step("a"))
    assert found["agents[0].heartbeat_timeout_s"].startswith("expected a number of seconds above 0")


def test_a_checks_verifier_beats_on_a_timer_that_must_fit_the_window() -> None:
    head = HEAD + "[run.policy]\nheartbeat_timeout_s = 10\n"
    checks = '[[agents]]\nid = "ck"\nroles = ["verifier"]\nbackend = "checks"\n'
    found = problems_of(head + TEAM + checks + step("a"))
    assert list(found) == ["agents[2].options.heartbeat_s"]
    assert "got 10: it sends a heartbeat this often" in found["agents[2].options.heartbeat_s"]


def test_the_longest_backoff_is_at_least_the_first() -> None:
    head = HEAD + "[run.policy]\nbackoff_base_s = 60\nbackoff_max_s = 30\n"
    found = problems_of(head + TEAM + step("a"))
    assert found == {"run.policy.backoff_max_s": "expected at least backoff_base_s (60), got 30"}


# ------------------------------------------------------ problems together


def test_a_step_with_a_type_problem_is_still_checked_for_the_rest() -> None:
    text = (
        HEAD
        + TEAM
        + step("design")
        + step(
            "models",
            'depends_on = ["desing"]',
            'scope = ["../out"]',
            "max_attempts = -1",
            '[[steps.validators]]\nkind = "nope"',
            '[[steps.validators]]\nkind = "command_passes"\nargv = []',
        )
    )
    assert set(problems_of(text)) == {
        "steps[1].max_attempts",
        "steps[1].depends_on[0]",
        "steps[1].scope[0]",
        "steps[1].validators[0].kind",
        "steps[1].validators[1].argv",
    }


def test_no_made_up_problem_from_a_default_that_stood_in() -> None:
    # The bad role stands in as "executor", which only the planner could not
    # play: that must not be reported.
    team = '[[agents]]\nid = "r"\nroles = ["reviewer"]\n'
    found = problems_of(HEAD + team + step("a", 'role = "reviewr"'))
    assert list(found) == ["steps[0].role"]
    assert "did you mean 'reviewer'" in found["steps[0].role"]


def test_check_plan_checks_a_plan_built_in_code() -> None:
    plan = PlanFile(
        run=RunTable(goal="g"),
        agents=(AgentTable(id="a", roles=("executor",)),),
        steps=(
            StepTable(id="s", goal="x", scope=("/etc",), depends_on=("t",)),
            StepTable(
                id="t",
                goal="y",
                depends_on=("s",),
                validators=(CommandPassesTable(argv=()),),
            ),
        ),
    )
    found = {p.location: p.detail for p in check_plan(plan)}
    assert set(found) == {
        "steps[0].scope[0]",
        "steps[0].depends_on",
        "steps[1].validators[0].argv",
        "steps[1].validators",
    }
    fixed = attrs.evolve(
        plan,
        steps=(StepTable(id="s", goal="x", scope=("src/**",)),),
    )
    assert check_plan(fixed) == []
