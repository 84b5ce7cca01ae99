"""Real runs that settle only when nothing is in flight, and kills that change no outcome.

Issue 17, items 4, 5 and 13: a run waiting for a person exits 4 only once
the work beside it (an integrator's merge included) is done; ``status`` then
says ``waiting`` and for what; a runner killed while a reviewer works
resumes to completion with ``max_attempts = 1`` and no retry to spare.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_helpers import invoke, read_entries
from click.testing import CliRunner
from test_run_real import agent, make_project, plan_text, run_plan, run_state, toml
from test_run_resume import run_until_then_kill

from git_helpers import FIXED, git
from playbill.runtime import ReviewRequested, StepInterrupted, WorkspaceMerged

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return make_project(tmp_path / "project")


SIGN_OFF = (
    '\n[[steps]]\nid = "sign-off"\ngoal = "a person signs the release off"\n'
    'role = "reviewer"\n[[steps.validators]]\nkind = "human_approval"\n'
)


def test_a_run_waiting_for_a_person_exits_4_only_once_the_work_beside_it_is_merged(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    text = plan_text("fix") + SIGN_OFF
    result = run_plan(runner, journal_path, project, text, "--run-id", "w1", "--quiet")
    assert result.exit_code == 4, result.output
    state = run_state(journal_path, "w1")
    # the step beside the approval was merged before the run settled
    assert state.steps["fix"].status == "completed"
    assert state.workspaces["fix#1"].merge_status == "applied"
    assert git(project, "show", "playbill/w1/integration:calc.py") + "\n" == FIXED
    assert state.steps["sign-off"].status != "completed"
    assert state.pending_approvals()

    status = invoke(runner, journal_path, "status", "w1")
    assert status.exit_code == 0, status.output
    line = next(s for s in status.stdout.splitlines() if s.startswith("status"))
    assert "waiting" in line and "sign-off" in line, line
    runs = invoke(runner, journal_path, "runs")
    assert any("w1" in s and "waiting" in s for s in runs.stdout.splitlines()), runs.stdout

    approved = invoke(runner, journal_path, "approve", "w1", "sign-off")
    assert approved.exit_code == 0, approved.output
    resumed = invoke(runner, journal_path, "resume", "w1", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert run_state(journal_path, "w1").status == "completed"
    merged = [
        e.msg.step for e in read_entries(journal_path, "w1") if isinstance(e.msg, WorkspaceMerged)
    ]
    assert merged == ["fix"]


SLOW_REVIEWER = """\
import json, os, pathlib, sys, time
state = pathlib.Path(sys.argv[1])
with (state / "calls").open("a") as calls:
    calls.write(f"{os.environ['PLAYBILL_ROLE']} {os.environ['PLAYBILL_STEP']}\\n")
if not (state / "reviewed").exists():
    (state / "reviewed").write_text("")
    (state / "reviewing").write_text(str(os.getpid()))
    time.sleep(60)
print(json.dumps({"payload": {"kind": "review", "verdict": "pass", "findings": []}}))
"""


def test_a_run_killed_while_its_reviewer_works_resumes_to_completion_with_one_attempt(
    runner: CliRunner, tmp_path: Path, project: Path
) -> None:
    journal = tmp_path / "journal.db"
    state_dir = tmp_path / "agent-state"
    state_dir.mkdir()
    reviewer = tmp_path / "reviewer.py"
    reviewer.write_text(SLOW_REVIEWER, encoding="utf-8")
    slow = [sys.executable, str(reviewer), str(state_dir)]
    text = plan_text("fix", state=state_dir, max_attempts=1).replace(
        agent("rev", "reviewer", "review", state_dir),
        '[[agents]]\nid = "rev"\nroles = ["reviewer"]\nbackend = "command"\n'
        f"edits_files = false\n[agents.options]\nargv = {toml(slow)}\nheartbeat_s = 0.5\n",
    )
    # no retry to spare for the run: work lost to the kill must cost none
    text = text.replace("[run.policy]", "[run.budget]\nretries = 0\n\n[run.policy]")
    plan = tmp_path / "plan.toml"
    plan.write_text(text, encoding="utf-8")
    run_until_then_kill(journal, plan, project, "r1", state_dir / "reviewing")

    resumed = invoke(runner, journal, "resume", "r1", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    state = run_state(journal, "r1")
    assert state.status == "completed", state.reason
    entries = read_entries(journal, "r1")
    reviews = [(e.msg.step, e.msg.attempt) for e in entries if isinstance(e.msg, ReviewRequested)]
    assert reviews == [("fix", 1), ("fix", 1)]  # asked again, on the same attempt
    assert not any(isinstance(e.msg, StepInterrupted) for e in entries)
    assert git(project, "show", "playbill/r1/integration:calc.py") + "\n" == FIXED


def test_an_attempt_lost_to_a_kill_costs_no_retry_of_the_run(
    runner: CliRunner, tmp_path: Path, project: Path
) -> None:
    journal = tmp_path / "journal.db"
    state_dir = tmp_path / "agent-state"
    state_dir.mkdir()
    text = plan_text("sleep-then-fix", state=state_dir, max_attempts=1)
    # no retry to spare: the retry that gives the lost attempt's work out is free
    text = text.replace("[run.policy]", "[run.budget]\nretries = 0\nattempts = 1\n\n[run.policy]")
    plan = tmp_path / "plan.toml"
    plan.write_text(text, encoding="utf-8")
    run_until_then_kill(journal, plan, project, "l1", state_dir / "sleeping")

    resumed = invoke(runner, journal, "resume", "l1", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    state = run_state(journal, "l1")
    assert state.status == "completed", state.reason
    attempts = state.steps["fix"].attempts
    assert [(a.number, a.lost) for a in attempts] == [(1, True), (2, False)]
    assert git(project, "show", "playbill/l1/integration:calc.py") + "\n" == FIXED
