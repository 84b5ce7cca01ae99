"""``playbill retry-plan`` and ``playbill resume`` agree, on real runs.

A real ``playbill run`` on a git repository with ``command`` agents running
``tests/fixtures/agents/fix_agent.py``: a run that failed cannot be
resumed, and its retry plan says so (and what to do instead); a run killed
while its agent works resumes with the attempt number its retry plan gave.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from cli_helpers import assert_one_line_error, invoke
from click.testing import CliRunner
from test_run_real import make_project, plan_text, run_plan, run_state
from test_run_resume import run_until_then_kill

from playbill.runtime import RetryPlan

KEYS = {field.name for field in msgspec.structs.fields(RetryPlan)}
"""What ``--json`` must always hold: every field of the plan, empty sections too."""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return make_project(tmp_path / "project")


def test_a_failed_run_cannot_be_resumed_and_its_retry_plan_says_so(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    result = run_plan(runner, journal_path, project, plan_text("garbage"), "--run-id", "f1")
    assert result.exit_code == 1, result.output
    refused = invoke(runner, journal_path, "resume", "f1")
    assert_one_line_error(refused, "it already failed")

    text = invoke(runner, journal_path, "retry-plan", "f1")
    assert text.exit_code == 0, text.output
    assert "the run failed, so it cannot be resumed" in text.stdout
    assert "next: attempt" not in text.stdout  # nothing will be attempted in this run
    plan_file = journal_path.parent / "plan.toml"
    assert f"instead: start a new run of its plan: `playbill run {plan_file}" in text.stdout
    assert "the steps not done: fix" in text.stdout

    as_json = invoke(runner, journal_path, "retry-plan", "f1", "--json")
    data = msgspec.json.decode(as_json.stdout)
    assert set(data) == KEYS  # every key, the empty sections too
    assert data["resumable"] is False and data["resume_from"] == []
    assert data["invalidated"] == data["human_inputs_blocking"] == []


@pytest.mark.slow
def test_a_killed_run_resumes_with_the_attempt_its_retry_plan_names(
    runner: CliRunner, journal_path: Path, project: Path, tmp_path: Path
) -> None:
    state_dir = tmp_path / "agent-state"
    state_dir.mkdir()
    plan = tmp_path / "plan.toml"
    plan.write_text(plan_text("sleep-then-fix", state=state_dir), encoding="utf-8")
    run_until_then_kill(journal_path, plan, project, "k1", state_dir / "sleeping")

    as_json = invoke(runner, journal_path, "retry-plan", "k1", "--json")
    data = msgspec.json.decode(as_json.stdout)
    assert set(data) == KEYS and data["resumable"] is True
    (point,) = data["resume_from"]
    assert (point["step"], point["stage"], point["attempt"]) == ("fix", "implement", 2)
    text = invoke(runner, journal_path, "retry-plan", "k1").stdout
    assert "attempt 1 in flight is interrupted; next: attempt 2" in text

    resumed = invoke(runner, journal_path, "resume", "k1", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    state = run_state(journal_path, "k1")
    assert [a.number for a in state.steps["fix"].attempts] == [1, 2]
    assert state.steps["fix"].completed_attempt == 2
    assert "fix#2" in state.workspaces  # attempt 2 worked in a worktree of its own
