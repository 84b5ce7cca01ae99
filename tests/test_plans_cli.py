"""``playbill validate`` and ``playbill init``: exit codes, messages, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from playbill.cli import cli
from playbill.plans import STARTER_PLAN, PlanError, starter_plan

BAD = """
[run]
goal = "g"
[[agents]]
id = "a"
roles = ["executer"]
[[steps]]
id = "models"
goal = "x"
depends_on = ["desing"]
scope = ["/etc/**"]
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args))


def assert_problems(result: Result, *lines: str) -> None:
    """Exit status 2, no traceback, one problem per line on stderr."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    got = result.stderr.strip().splitlines()
    assert got[0].startswith("playbill: error: ")
    got[0] = got[0].removeprefix("playbill: error: ")
    assert got == list(lines)


def test_init_writes_a_starter_that_validates(runner: CliRunner, in_tmp: Path) -> None:
    result = run(runner, "init")
    assert result.exit_code == 0, result.output
    assert (in_tmp / "playbill.toml").read_text(encoding="utf-8") == starter_plan()
    assert "Wrote playbill.toml" in result.stdout
    assert "playbill validate playbill.toml" in result.stdout
    checked = run(runner, "validate")
    assert checked.exit_code == 0, checked.output
    assert checked.stdout.startswith("playbill.toml: a valid plan\n")


def test_init_simulated_writes_the_simulated_starter(runner: CliRunner, in_tmp: Path) -> None:
    result = run(runner, "init", "--simulated")
    assert result.exit_code == 0, result.output
    assert (in_tmp / "playbill.toml").read_text(encoding="utf-8") == STARTER_PLAN
    assert "simulated agents" in result.stdout
    assert run(runner, "validate").exit_code == 0


def test_init_guesses_the_test_command(runner: CliRunner, in_tmp: Path) -> None:
    (in_tmp / "Cargo.toml").write_text("[package]\nname = 'x'\n", encoding="utf-8")
    assert run(runner, "init").exit_code == 0
    assert '"cargo", "test"' in (in_tmp / "playbill.toml").read_text(encoding="utf-8")


def test_init_never_overwrites_without_force(runner: CliRunner, in_tmp: Path) -> None:
    plan = in_tmp / "playbill.toml"
    plan.write_text("# mine\n", encoding="utf-8")
    result = run(runner, "init")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr == (
        "playbill: error: playbill.toml already exists; nothing was written "
        "(use --force to overwrite it)\n"
    )
    assert plan.read_text(encoding="utf-8") == "# mine\n"
    forced = run(runner, "init", "--force")
    assert forced.exit_code == 0, forced.output
    assert plan.read_text(encoding="utf-8") == starter_plan()


def test_init_and_validate_take_a_file_or_a_directory(runner: CliRunner, tmp_path: Path) -> None:
    assert run(runner, "init", str(tmp_path)).exit_code == 0
    assert (tmp_path / "playbill.toml").exists()
    assert run(runner, "validate", str(tmp_path)).exit_code == 0
    other = tmp_path / "other.toml"
    assert run(runner, "init", str(other)).exit_code == 0
    assert run(runner, "validate", str(other)).exit_code == 0


def test_init_into_a_missing_directory(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "init", str(tmp_path / "nope" / "plan.toml"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "cannot write the plan: No such file or directory" in result.stderr


def test_validate_summarises_a_valid_plan(runner: CliRunner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(STARTER_PLAN, encoding="utf-8")
    result = run(runner, "validate", str(plan))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"{plan}: a valid plan"
    assert lines[1:] == [
        "  goal:      Add CSV export to the ledger tool",
        "  strategy:  pipeline",
        "  steps:     5 (design, writer, command, docs, check); 3 change files, 3 with validators",
        "  agents:    5 (planner, executor-1, executor-2, reviewer, verifier)",
        "  roles:     planner 1 step/1 agent, executor 3 steps/2 agents, "
        "reviewer 0 steps/1 agent, verifier 1 step/1 agent",
        "  criteria:  1 (suite-green)",
        "  budget:    400,000 tokens, $5.00, 3600 s of agent work, 12 attempts, 3 retries",
        "  policy:    heartbeat within 300 s, 3 attempts per step, on exhausted: escalate",
    ]


def test_validate_says_unlimited_for_no_budget(runner: CliRunner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[run]\ngoal = "g"\n[[agents]]\nid = "a"\nroles = ["executor"]\n'
        '[[steps]]\nid = "s"\ngoal = "x"\n',
        encoding="utf-8",
    )
    result = run(runner, "validate", str(plan))
    assert result.exit_code == 0, result.output
    assert "  budget:    unlimited" in result.stdout.splitlines()
    assert "  criteria:  0" in result.stdout.splitlines()


def test_validate_reports_every_problem_one_per_line(runner: CliRunner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(BAD, encoding="utf-8")
    result = run(runner, "validate", str(plan))
    assert result.stdout == ""
    assert_problems(
        result,
        f"{plan}:agents[0].roles[0]: unknown role 'executer' "
        "(known: planner, executor, reviewer, verifier) (did you mean 'executor'?)",
        f"{plan}:steps[0].depends_on[0]: unknown step 'desing'",
        f"{plan}:steps[0].scope[0]: expected a glob inside the repository, got '/etc/**' "
        "(an absolute path)",
    )


def test_validate_a_file_that_is_not_toml(runner: CliRunner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text("[run\ngoal = 1\n", encoding="utf-8")
    result = run(runner, "validate", str(plan))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.startswith(f"playbill: error: {plan}:line 1, column ")
    assert "not valid TOML" in result.stderr


def test_validate_a_missing_plan(runner: CliRunner, in_tmp: Path) -> None:
    result = run(runner, "validate")
    assert_problems(
        result,
        "playbill.toml: cannot read the plan: No such file or directory "
        "(`playbill init` writes a starter plan)",
    )


def test_debug_shows_the_error_itself(runner: CliRunner, tmp_path: Path) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(BAD, encoding="utf-8")
    result = run(runner, "--debug", "validate", str(plan))
    assert result.exit_code != 0
    assert isinstance(result.exception, PlanError)
    assert len(result.exception.problems) == 3


def test_validate_checks_profile_names_against_a_profile_file(
    runner: CliRunner, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.toml"
    plan.write_text(
        '[run]\ngoal = "g"\n[[agents]]\nid = "a"\nroles = ["executor"]\n'
        '[agents.options]\nprofile = "careful"\n[[steps]]\nid = "s"\ngoal = "x"\n',
        encoding="utf-8",
    )
    result = run(runner, "validate", str(plan))
    assert result.exit_code == 2
    assert "unknown profile 'careful'" in result.stderr
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[profiles.careful]\nextends = "reliable"\n', encoding="utf-8")
    result = run(runner, "validate", str(plan), "--profile", str(profiles))
    assert result.exit_code == 0, result.output
    profiles.write_text("[profiles.careful]\nslow_factor = -1\n", encoding="utf-8")
    result = run(runner, "validate", str(plan), "--profile", str(profiles))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert f"{profiles}:profiles.careful.slow_factor" in result.stderr


def test_validate_names_an_agent_that_cannot_show_progress_within_the_stall_window(
    runner: CliRunner, in_tmp: Path
) -> None:
    plan = in_tmp / "plan.toml"
    plan.write_text(
        '[run]\ngoal = "g"\n[run.policy]\nheartbeat_timeout_s = 20\n'
        '[[agents]]\nid = "cc"\nroles = ["executor"]\nbackend = "claude_code"\n'
        "[agents.options]\nheartbeat_s = 30\n"
        '[[agents]]\nid = "slow"\nroles = ["reviewer"]\nbackend = "openai"\n'
        "heartbeat_timeout_s = 90\n"
        '[agents.options]\nmodel = "m"\n'
        '[[steps]]\nid = "a"\ngoal = "x"\n',
        encoding="utf-8",
    )
    assert_problems(
        run(runner, "validate", str(plan)),
        f"{plan}:agents[0].options.heartbeat_s: expected less than the stall window, "
        "run.policy.heartbeat_timeout_s (20 s), got 30: it sends a heartbeat at most this "
        "often, when it shows progress, so it would be declared stalled while it works",
        f"{plan}:agents[1].options.timeout_s: expected less than the stall window, "
        "agents[1].heartbeat_timeout_s (90 s), got 120: a request shows no progress until "
        "its answer, so it would be declared stalled while it works",
    )
