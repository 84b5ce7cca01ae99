"""Planner, verifier, cooperative and competitive steps in real runs (``playbill run``).

Real git repositories, real subprocess agents (``command`` backends running
``tests/fixtures/agents/role_agent.py``) and real pytest in the ``checks``
verifier, as a user would run them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from cli_helpers import invoke, run_state
from click.testing import CliRunner, Result

from git_helpers import BUGGY, FIXED, calc_project, git
from playbill.runtime import ImplementationPayload

pytestmark = pytest.mark.slow

AGENT = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "role_agent.py"
TWO_TESTS = (
    "from calc import add\n\n\ndef test_twice():\n    assert add(2, 2) == 4\n\n\n"
    "def test_sum():\n    assert add(2, 3) == 5\n"
)
"""Two tests: ``a * b`` passes one of them (score 0.5), ``a - b`` none, ``a + b`` both."""


def toml(value: object) -> str:
    return json.dumps(value)  # JSON strings and arrays of strings are TOML


def agent(agent_id: str, role: str, mode: str, state: Path, *extra: str) -> str:
    argv = [sys.executable, str(AGENT), mode, "{prompt_file}", str(state), *extra]
    edits = "true" if role == "executor" else "false"
    return (
        f'[[agents]]\nid = "{agent_id}"\nroles = ["{role}"]\nbackend = "command"\n'
        f"edits_files = {edits}\n[agents.options]\nargv = {toml(argv)}\nheartbeat_s = 0.5\n"
        'env_allow = ["PYTHONPATH"]\n'
    )


CHECKS = (
    '[[agents]]\nid = "tests"\nroles = ["verifier"]\nbackend = "checks"\n'
    '[agents.options]\nheartbeat_s = 0.5\nenv_allow = ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]\n'
)
TESTS_PASS = (
    '[[steps.validators]]\nkind = "tests_pass"\n'
    f"argv = {toml([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider'])}\n"
)


def header(max_attempts: int = 2, strategy: str | None = None) -> str:
    run = '[run]\ngoal = "make add add"\n'
    if strategy is not None:
        run += f'strategy = "{strategy}"\n'
    return (
        run + "[run.policy]\nbackoff_base_s = 0.01\nbackoff_max_s = 0.05\n"
        f'on_exhausted = "abort"\nmax_attempts = {max_attempts}\n'
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    extra = {".gitignore": "__pycache__/\n.pytest_cache/\n", "test_calc.py": TWO_TESTS}
    return calc_project(tmp_path / "project", extra)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    found = tmp_path / "agent-state"
    found.mkdir()
    return found


def run_plan(runner: CliRunner, journal: Path, project: Path, text: str, run_id: str) -> Result:
    plan = journal.parent / f"{run_id}.toml"
    plan.write_text(text, encoding="utf-8")
    return invoke(runner, journal, "run", str(plan), "--repo", str(project), "--run-id", run_id)


def integrated(project: Path, run_id: str, path: str) -> str:
    return git(project, "show", f"playbill/{run_id}/integration:{path}")


# ------------------------------------------------------------------- planners


def test_a_planner_reads_the_repository_at_the_base_commit_and_cannot_change_it(
    runner: CliRunner, journal_path: Path, project: Path, state_dir: Path
) -> None:
    start = git(project, "rev-parse", "HEAD")
    text = "\n".join(
        [
            header(),
            agent("boss", "planner", "plan", state_dir),
            agent("ex", "executor", "fix", state_dir),
            CHECKS,
            '[[steps]]\nid = "plan"\ngoal = "plan the fix"\nrole = "planner"\n',
        ]
    )
    result = run_plan(runner, journal_path, project, text, "p1")
    assert result.exit_code == 0, result.output
    seen = json.loads((state_dir / "planner-1.json").read_text(encoding="utf-8"))
    # it sees the repository's files as the run found them
    assert seen["files"] == [".gitignore", "calc.py", "test_calc.py"]
    assert seen["calc"] == BUGGY
    # a view it cannot change or commit from, outside the repository
    assert seen["modes"] == [0o444, 0o555] and not seen["git"]
    if os.geteuid() != 0:  # root writes whatever the modes say
        assert not seen["wrote_calc"] and not seen["wrote_new"]
    view = Path(seen["cwd"])
    assert not view.is_relative_to(project)
    # the prompt names it, and what it holds
    assert f"`{view}` (your working directory)" in seen["prompt"]
    assert f"read-only copy of the repository at the run's base commit `{start}`" in seen["prompt"]
    assert not view.exists(), "the view is removed once the attempt ended"
    # its proposal ran
    state = run_state(journal_path, "p1")
    assert state.status == "completed"
    assert list(state.steps) == ["plan", "fix2"]
    assert integrated(project, "p1", "calc.py") == FIXED.rstrip("\n")
    assert (project / "calc.py").read_text() == BUGGY
    assert git(project, "status", "--porcelain") == ""


def test_a_bad_proposal_fails_only_that_planner_attempt_with_its_problems_as_feedback(
    runner: CliRunner, journal_path: Path, project: Path, state_dir: Path
) -> None:
    text = "\n".join(
        [
            header(),
            agent("boss", "planner", "bad-then-plan", state_dir),
            agent("ex", "executor", "fix", state_dir),
            CHECKS,
            '[[steps]]\nid = "plan"\ngoal = "plan the fix"\nrole = "planner"\n',
            '[[steps]]\nid = "fix"\ngoal = "already planned"\nscope = ["calc.py"]\n',
            TESTS_PASS,
        ]
    )
    result = run_plan(runner, journal_path, project, text, "p2")
    assert result.exit_code == 0, result.output
    state = run_state(journal_path, "p2")
    assert state.status == "completed"
    first = state.steps["plan"].attempts[0]
    assert first.failure is not None
    assert (first.failure.failure_class, first.failure.kind) == ("validation", "bad_plan")
    problems = (
        "steps[0].id: step 'fix' is already in the plan",
        "steps[1].depends_on[0]: unknown step 'nope'",
        "got '/etc/**' (an absolute path)",
        "got '../x/**' (a '..' segment)",
    )
    for problem in problems:
        assert problem in first.failure.detail
    # the retry was told what was wrong, and its proposal joined the plan
    retry = json.loads((state_dir / "planner-2.json").read_text(encoding="utf-8"))
    assert "- Kind: bad_plan" in retry["prompt"]
    for problem in problems:
        assert problem in retry["prompt"]
    assert list(state.steps) == ["plan", "fix", "fix2"]
    assert state.steps["fix"].spec.goal == "already planned"


# ------------------------------------------------------------------ verifiers


def verifier_plan(mode: str, state_dir: Path) -> str:
    return "\n".join(
        [
            header(max_attempts=1),
            agent("ex", "executor", mode, state_dir),
            CHECKS,
            '[[steps]]\nid = "fix"\ngoal = "make add add"\nscope = ["calc.py"]\n',
            '[[steps]]\nid = "verify"\ngoal = "the tests pass"\nrole = "verifier"\n'
            'depends_on = ["fix"]\n',
            TESTS_PASS,
        ]
    )


def test_a_verifier_step_checks_the_integration_branch_broken_then_fixed(
    runner: CliRunner, journal_path: Path, project: Path, state_dir: Path
) -> None:
    broken = run_plan(runner, journal_path, project, verifier_plan("break", state_dir), "v1")
    assert broken.exit_code == 1, broken.output
    state = run_state(journal_path, "v1")
    assert state.steps["fix"].status == "completed"
    verify = state.steps["verify"]
    assert verify.status == "failed"
    failure = verify.attempts[0].failure
    assert failure is not None and (failure.failure_class, failure.kind) == (
        "validation",
        "tests_failed",
    )
    (record,) = verify.attempts[0].validations
    assert not record.passed and record.score == 0.5  # a * b passes one test of two

    fixed = run_plan(runner, journal_path, project, verifier_plan("fix", state_dir), "v2")
    assert fixed.exit_code == 0, fixed.output
    state = run_state(journal_path, "v2")
    assert state.status == "completed"
    (record,) = state.steps["verify"].attempts[0].validations
    assert record.passed and record.score == 1.0
    assert "v2" not in git(project, "branch", "--list", "playbill/v2/verify/*")


# --------------------------------------------------------- cooperative steps


def test_a_handed_on_attempt_starts_from_the_previous_attempts_commit(
    runner: CliRunner, journal_path: Path, project: Path, state_dir: Path
) -> None:
    text = "\n".join(
        [
            header(max_attempts=2, strategy="cooperative"),
            agent("ex1", "executor", "coop", state_dir),
            agent("ex2", "executor", "coop", state_dir),
            CHECKS,
            '[[steps]]\nid = "fix"\ngoal = "make add add"\nscope = ["calc.py", "NOTES.md"]\n',
            TESTS_PASS,
        ]
    )
    result = run_plan(runner, journal_path, project, text, "c1")
    assert result.exit_code == 0, result.output
    state = run_state(journal_path, "c1")
    assert state.status == "completed"
    first, second = state.steps["fix"].attempts
    assert first.failure is not None and first.failure.kind == "gaps"
    assert second.agent != first.agent
    # the next agent found the work the handoff describes
    assert (state_dir / "saw-notes").read_text(encoding="utf-8") == "half done\n"
    payload = first.result.payload if first.result is not None else None
    assert isinstance(payload, ImplementationPayload) and payload.commit is not None
    assert git(project, "merge-base", "--is-ancestor", payload.commit, "playbill/c1/fix/2") == ""
    # both agents' work is integrated, and checked against the scope as one
    assert state.workspaces["fix#2"].base_commit == state.workspaces["fix#1"].base_commit
    assert integrated(project, "c1", "NOTES.md") == "half done\nfinished"
    assert integrated(project, "c1", "calc.py") == FIXED.rstrip("\n")


# --------------------------------------------------------- competitive steps


def test_the_score_table_shows_the_failing_competitors_own_score(
    runner: CliRunner, journal_path: Path, project: Path, state_dir: Path
) -> None:
    text = "\n".join(
        [
            header(max_attempts=2, strategy="competitive"),
            agent("ex1", "executor", "break", state_dir),
            agent("ex2", "executor", "fix-after-verdict", state_dir, str(journal_path)),
            CHECKS,
            '[[steps]]\nid = "fix"\ngoal = "make add add"\nscope = ["calc.py"]\ncompetitors = 2\n',
            TESTS_PASS,
        ]
    )
    result = run_plan(runner, journal_path, project, text, "k1")
    assert result.exit_code == 0, result.output
    state = run_state(journal_path, "k1")
    arbitration = state.arbitrations["fix"]
    rows = {row.agent: row for row in arbitration.scores}
    assert arbitration.winner_attempt == next(
        a.number for a in state.steps["fix"].attempts if a.agent == "ex2"
    )
    assert (rows["ex2"].passed, rows["ex2"].score) == (True, 1.0)
    assert (rows["ex1"].passed, rows["ex1"].score) == (False, 0.5)
