"""``playbill run`` and ``playbill integrate`` on real git repositories, driven through the CLI.

The agents are ``command`` backends running ``tests/fixtures/agents/fix_agent.py``
(a stand-in that edits files in its worktree and prints a JSON result); the
verifier is the ``checks`` backend running real pytest on a tiny project.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, invoke, list_runs, run_state
from click.testing import CliRunner, Result

from git_helpers import BUGGY, FIXED, calc_project, git
from playbill.actors import Workbench

ENV_ALLOW = ("PYTEST_DISABLE_PLUGIN_AUTOLOAD",)
"""What the verifier's pytest may see: without this venv's plugins it starts at once."""

FIX_AGENT = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "fix_agent.py"


def make_project(root: Path) -> Path:
    """The calc project, ignoring what the verifier's pytest leaves behind."""
    return calc_project(root, {".gitignore": "__pycache__/\n.pytest_cache/\n"})


def toml(value: object) -> str:
    return json.dumps(value)  # JSON strings and arrays of strings are TOML


def agent(agent_id: str, role: str, mode: str, state: Path | None) -> str:
    argv = [sys.executable, str(FIX_AGENT), mode, "{prompt_file}"]
    if state is not None:
        argv.append(str(state))
    edits = "true" if role == "executor" else "false"
    return (
        f'[[agents]]\nid = "{agent_id}"\nroles = ["{role}"]\nbackend = "command"\n'
        f"edits_files = {edits}\n[agents.options]\nargv = {toml(argv)}\nheartbeat_s = 0.5\n"
    )


def plan_text(
    *executors: str,
    state: Path | None = None,
    tests: str = "test_calc.py",
    timeout_s: float = 120,
    scope: tuple[str, ...] = ("calc.py",),
    max_attempts: int = 2,
) -> str:
    """A plan: command executors in the given modes, a command reviewer, a checks verifier."""
    pytest = [sys.executable, "-m", "pytest", "-q", tests]
    parts = [
        '[run]\ngoal = "make add add"\n',
        "[run.policy]\nbackoff_base_s = 0.01\nbackoff_max_s = 0.05\n"
        f'on_exhausted = "abort"\nmax_attempts = {max_attempts}\n',
        *(agent(f"ex{i + 1}", "executor", mode, state) for i, mode in enumerate(executors)),
        agent("rev", "reviewer", "review", state),
        '[[agents]]\nid = "tests"\nroles = ["verifier"]\nbackend = "checks"\n'
        f"[agents.options]\nheartbeat_s = 0.5\nenv_allow = {toml(list(ENV_ALLOW))}\n",
        f'[[steps]]\nid = "fix"\ngoal = "make add add"\nscope = {toml(list(scope))}\n',
        f'[[steps.validators]]\nkind = "tests_pass"\nargv = {toml(pytest)}\n'
        f"timeout_s = {timeout_s}\n",
    ]
    return "\n".join(parts)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return make_project(tmp_path / "project")


def run_plan(runner: CliRunner, journal: Path, project: Path, text: str, *args: str) -> Result:
    plan = journal.parent / "plan.toml"
    plan.write_text(text, encoding="utf-8")
    return invoke(runner, journal, "run", str(plan), "--repo", str(project), *args)


def test_a_run_completes_and_integrate_moves_main(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    start = git(project, "rev-parse", "HEAD")
    git(project, "branch", "elsewhere")
    Workbench(project, "dead-run").workspaces.acquire("fix", 1)  # a run that died mid-attempt
    result = run_plan(runner, journal_path, project, plan_text("fix"), "--run-id", "r1")
    assert result.exit_code == 0, result.output
    assert "outcome: completed" in result.stdout
    assert "integration into playbill/r1/integration: 1 applied" in result.stdout
    assert "Next: playbill --journal" in result.stdout and "integrate r1" in result.stdout
    assert "1 worktree(s) of runs that are not running: dead-run (1)" in result.stderr
    assert "--clean-stale" in result.stderr
    state = run_state(journal_path, "r1")
    assert state.labels["repo"] == str(project.resolve())
    assert state.labels["base_commit"] == start
    assert state.labels["plan_sha256"] and state.labels["plan"].endswith("plan.toml")
    # the user's branch and work tree are untouched until integrate
    assert git(project, "rev-parse", "main") == start
    assert (project / "calc.py").read_text() == BUGGY

    # a branch that moved on is refused, in one line
    git(project, "commit", "-q", "--allow-empty", "-m", "moved on")
    git(project, "branch", "-f", "elsewhere", "HEAD")
    git(project, "reset", "-q", "--hard", start)
    moved = invoke(runner, journal_path, "integrate", "r1", "--branch", "elsewhere")
    assert_one_line_error(moved, "cannot be fast-forwarded", "git merge playbill/r1/integration")
    assert_one_line_error(invoke(runner, journal_path, "integrate", "nope"), "unknown run 'nope'")

    done = invoke(runner, journal_path, "integrate", "r1")
    assert done.exit_code == 0, done.output
    tip = git(project, "rev-parse", "playbill/r1/integration")
    assert git(project, "rev-parse", "main") == tip
    assert f"the checked-out branch is at {tip[:12]}" in done.stdout
    assert (project / "calc.py").read_text() == FIXED
    assert git(project, "status", "--porcelain") == ""


def test_a_dirty_tree_is_refused_unless_allowed(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    (project / "calc.py").write_text(BUGGY + "# wip\n")
    (project / "notes.txt").write_text("todo\n")
    Workbench(project, "dead-run").workspaces.acquire("fix", 1)
    text = plan_text("fix")
    refused = run_plan(runner, journal_path, project, text, "--run-id", "d1")
    assert_one_line_error(refused, "uncommitted changes: calc.py, notes.txt", "expected a clean")
    assert not list_runs(journal_path)  # nothing was started

    allowed = run_plan(
        runner, journal_path, project, text, "--run-id", "d2", "--allow-dirty", "--clean-stale"
    )
    assert allowed.exit_code == 0, allowed.output
    assert "2 uncommitted change(s) left out of the run" in allowed.stderr
    assert "removed 1 stale worktree(s) of dead-run" in allowed.stderr
    assert "playbill/dead-run/fix/1" in git(project, "branch", "--list", "playbill/*")
    # the run started from HEAD: the fix replaced the committed file, not the dirty one
    assert git(project, "show", "playbill/d2/integration:calc.py") + "\n" == FIXED
    assert (project / "calc.py").read_text() == BUGGY + "# wip\n"
    # integrate refuses to overwrite the dirty work tree, in one line
    dirty = invoke(runner, journal_path, "integrate", "d2")
    assert_one_line_error(dirty, "uncommitted changes", "calc.py")


@pytest.mark.slow
def test_a_validator_timeout_fails_the_attempt(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    text = plan_text(
        "sleepy-test",
        tests="test_sleepy.py",
        timeout_s=0.5,
        scope=("calc.py", "test_sleepy.py"),
        max_attempts=1,
    )
    result = run_plan(runner, journal_path, project, text, "--run-id", "t1")
    assert result.exit_code == 1, result.output
    assert "outcome: failed" in result.stdout
    state = run_state(journal_path, "t1")
    [attempt] = state.steps["fix"].attempts
    assert attempt.failure is not None
    assert (attempt.failure.failure_class, attempt.failure.kind) == (
        "transient",
        "validator_timeout",
    )
    assert git(project, "branch", "--list", "playbill/t1/integration") == ""


@pytest.mark.slow
def test_malformed_output_is_a_typed_failure_and_another_agent_retries(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    result = run_plan(runner, journal_path, project, plan_text("garbage", "fix"), "--run-id", "m1")
    assert result.exit_code == 0, result.output
    state = run_state(journal_path, "m1")
    first, second = state.steps["fix"].attempts
    assert first.failure is not None
    assert (first.failure.failure_class, first.failure.kind) == ("agent", "malformed_output")
    assert "printed no line holding a JSON object" in first.failure.detail
    assert (first.agent, second.agent, second.status) == ("ex1", "ex2", "passed")


def test_with_no_one_else_malformed_output_fails_the_run_from_the_default_plan(
    runner: CliRunner, journal_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the plan at the top of the repository is the default; untracked, it is not dirt
    (project / "playbill.toml").write_text(plan_text("garbage", max_attempts=1))
    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    result = invoke(runner, journal_path, "run", "--run-id", "m2", "--quiet")
    assert result.exit_code == 1, result.output
    state = run_state(journal_path, "m2")
    assert state.labels["plan"] == str(project.resolve() / "playbill.toml")
    assert state.status == "failed"
    assert state.reason and "fix" in state.reason
    [attempt] = state.steps["fix"].attempts
    assert attempt.failure is not None and attempt.failure.kind == "malformed_output"
    assert "integration: 0 applied, 0 conflicted, 0 blocked" in result.stdout
    # a failed run's work is partial: integrate refuses it, unless told
    refused = invoke(runner, journal_path, "integrate", "m2")
    assert_one_line_error(refused, "its work is partial (integrate it with --partial)")


def test_bad_plan_options_are_one_line_each(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    text = plan_text("fix").replace("heartbeat_s = 0.5\n", "heartbeat_s = 0\n", 1)
    text = text.replace('"{prompt_file}"', '"{prompt}"', 1)
    text += '\n[[agents]]\nid = "oa"\nroles = ["verifier"]\nbackend = "openai"\n'
    result = run_plan(runner, journal_path, project, text)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    plan = journal_path.parent / "plan.toml"
    lines = result.stderr.removeprefix("playbill: error: ").strip().splitlines()
    assert lines == [
        f"{plan}:agents[0].options.heartbeat_s: expected a number of seconds above 0, got 0",
        f"{plan}:agents[0].options.argv[3]: unknown placeholder {{prompt}} (known: agent, "
        "attempt, kind, prompt_file, result_file, role, run, schema_file, step, worktree)",
        f"{plan}:agents[3].options: required table missing: [agents.options], with model "
        "(backend 'openai' needs it)",
    ]
    assert not journal_path.exists()


def test_a_run_waiting_for_a_person_exits_4_and_resumes_once_approved(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    text = plan_text("fix") + '\n[[steps.validators]]\nkind = "human_approval"\n'
    result = run_plan(runner, journal_path, project, text, "--run-id", "h1")
    assert result.exit_code == 4, result.output
    assert "approve h1 fix" in result.stdout and "resume h1" in result.stdout
    assert run_state(journal_path, "h1").pending_approvals()

    approved = invoke(runner, journal_path, "approve", "h1", "fix", "--reason", "looks right")
    assert approved.exit_code == 0, approved.output
    # the plan file changed since: only --plan-changed-ok takes it as it is now
    plan = journal_path.parent / "plan.toml"
    plan.write_text(text + "# reviewed\n", encoding="utf-8")
    refused = invoke(runner, journal_path, "resume", "h1", "--quiet")
    assert_one_line_error(refused, "the plan file changed since run h1 started")
    resumed = invoke(runner, journal_path, "resume", "h1", "--quiet", "--plan-changed-ok")
    assert resumed.exit_code == 0, resumed.output
    assert run_state(journal_path, "h1").status == "completed"
    assert git(project, "show", "playbill/h1/integration:calc.py") + "\n" == FIXED


@pytest.mark.slow
def test_worktrees_go_where_the_plan_or_the_option_says_and_tool_files_stay_out(
    runner: CliRunner, journal_path: Path, project: Path, tmp_path: Path
) -> None:
    text = plan_text("litter").replace(
        '[run]\ngoal = "make add add"\n', '[run]\ngoal = "make add add"\nworktrees = "../plan-wt"\n'
    )
    text = text.replace("heartbeat_s = 0.5\n", 'heartbeat_s = 0.5\nignore = [".aider*"]\n', 1)
    planned = tmp_path / "plan-wt"
    dead = Workbench(project, "dead-run", worktrees=planned).workspaces.acquire("fix", 1)
    result = run_plan(runner, journal_path, project, text, "--run-id", "w1")
    assert result.exit_code == 0, result.output
    assert "1 worktree(s) of runs that are not running: dead-run (1)" in result.stderr
    state = run_state(journal_path, "w1")
    assert state.labels["worktrees"] == str(planned)
    made = Path(state.workspaces["fix#1"].path)
    assert made.is_relative_to(planned) and ".git" not in made.parts
    assert not made.exists()  # removed when the run ended
    # the agent's litter stayed out of its commit: no scope violation, only the fix
    assert git(project, "show", "--name-only", "--format=", "playbill/w1/fix/1") == "calc.py"
    assert git(project, "status", "--porcelain") == ""

    # --worktrees wins over the plan; stale worktrees are found wherever git has them
    chosen = tmp_path / "option-wt"
    again = run_plan(
        runner, journal_path, project, text, "--run-id", "w2", "--worktrees", str(chosen),
        "--clean-stale",
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "removed 1 stale worktree(s) of dead-run" in again.stderr
    assert not dead.path.exists()
    second = run_state(journal_path, "w2")
    assert second.labels["worktrees"] == str(chosen)
    assert Path(second.workspaces["fix#1"].path).is_relative_to(chosen)


def test_worktrees_in_the_repository_are_refused_before_anything_starts(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    inside = run_plan(
        runner, journal_path, project, plan_text("fix"), "--worktrees", str(project / "wt")
    )
    assert_one_line_error(inside, "cannot keep worktrees in", "inside the repository's work tree")
    assert not journal_path.exists()
    text = plan_text("fix").replace(
        '[run]\ngoal = "make add add"\n', '[run]\ngoal = "make add add"\nworktrees = "wt"\n'
    )
    in_plan = run_plan(runner, journal_path, project, text)
    assert_one_line_error(in_plan, "plan.toml:run.worktrees: expected a directory outside")
    assert not journal_path.exists()
