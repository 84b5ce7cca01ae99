"""A person's decisions about a step of a real run: skip, change-agent, change-validator,
decompose.

Each run is ``playbill run`` on a real git repository with ``command`` agents
running ``tests/fixtures/agents/fix_agent.py`` and a ``checks`` verifier
running real pytest. A step out of attempts is escalated, so the run exits 4
waiting for a person; the person's decision closes the escalation, and
``playbill resume`` carries the run to its end.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, invoke, read_entries
from click.testing import CliRunner
from test_run_real import make_project, plan_text, run_plan, run_state, toml

from git_helpers import FIXED, git
from playbill.runtime import (
    HumanApprovalGiven,
    HumanApprovalRequested,
    NoteWritten,
    PolicyDecisionApplied,
    StepAssigned,
)

pytestmark = pytest.mark.slow


def escalating(*executors: str, tests: str = "test_calc.py") -> str:
    """The real-run plan, one attempt per step, escalating a step out of attempts."""
    text = plan_text(*executors, tests=tests, max_attempts=1)
    return text.replace('on_exhausted = "abort"', 'on_exhausted = "escalate"')


def escalated(runner: CliRunner, journal: Path, project: Path, text: str, run_id: str) -> None:
    """Run the plan until it waits for a person about step ``fix``."""
    result = run_plan(runner, journal, project, text, "--run-id", run_id, "--quiet")
    assert result.exit_code == 4, result.output
    pending = run_state(journal, run_id).pending_approvals()
    assert [(a.step, a.request.split(":")[0]) for a in pending] == [("fix", "escalate")]


def resume(runner: CliRunner, journal: Path, run_id: str) -> None:
    """Resume the run to its end; today's policy replays the whole journal, decision included."""
    resumed = invoke(runner, journal, "resume", run_id, "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert "outcome: completed" in resumed.stdout
    replayed = invoke(runner, journal, "replay", run_id, "--check")
    assert replayed.exit_code == 0, replayed.output


def closed_by(journal: Path, run_id: str, action: str) -> HumanApprovalGiven:
    """The one answer to the escalation, which the decision gave; nothing is left pending."""
    state = run_state(journal, run_id)
    assert not state.pending_approvals()
    answers = [
        e.msg for e in read_entries(journal, run_id) if isinstance(e.msg, HumanApprovalGiven)
    ]
    assert len(answers) == 1
    assert answers[0].request.startswith("escalate:fix#")
    assert f"answered by the decision {action}" in answers[0].reason
    decisions = [
        e.msg
        for e in read_entries(journal, run_id)
        if isinstance(e.msg, PolicyDecisionApplied) and e.msg.step == "fix"
    ]
    assert [d.action for d in decisions] == ["escalate", action]
    assert "by " in decisions[-1].reason
    return answers[0]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return make_project(tmp_path / "project")


def test_change_agent_gives_an_escalated_step_to_another_agent_and_the_run_completes(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    escalated(runner, journal_path, project, escalating("garbage", "fix"), "ca")

    unknown = invoke(runner, journal_path, "change-agent", "ca", "fix", "nobody")
    assert unknown.exit_code == 0, unknown.output  # queued; the run refuses it
    queued = invoke(
        runner, journal_path, "change-agent", "ca", "fix", "ex2", "--reason", "ex1 is broken"
    )
    assert queued.exit_code == 0, queued.output
    assert "Queued request" in queued.stdout
    resume(runner, journal_path, "ca")

    entries = read_entries(journal_path, "ca")
    notes = [e.msg.text for e in entries if isinstance(e.msg, NoteWritten)]
    assert any("refused: the run has no agent 'nobody'" in n for n in notes), notes
    assigned = [(e.msg.attempt, e.recipient) for e in entries if isinstance(e.msg, StepAssigned)]
    assert assigned[-1][1] == "ex2"
    assert closed_by(journal_path, "ca", "change_agent").approved
    assert git(project, "show", "playbill/ca/integration:calc.py") + "\n" == FIXED


def test_skip_ends_an_escalated_step_and_the_run_completes_without_it(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    escalated(runner, journal_path, project, escalating("garbage"), "sk")
    queued = invoke(runner, journal_path, "skip", "sk", "fix", "--reason", "not worth it")
    assert queued.exit_code == 0, queued.output
    resume(runner, journal_path, "sk")

    assert run_state(journal_path, "sk").steps["fix"].status == "skipped"
    assert not closed_by(journal_path, "sk", "skip").approved
    # a decision about a run that ended is refused at once
    late = invoke(runner, journal_path, "skip", "sk", "fix")
    assert_one_line_error(late, "it already completed")


def test_change_validator_retries_an_escalated_step_against_the_new_check(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    # the step's check runs a test file that does not exist: pytest fails, the step is escalated
    escalated(runner, journal_path, project, escalating("fix", tests="test_missing.py"), "cv")

    bad = invoke(
        runner,
        journal_path,
        "change-validator",
        "cv",
        "fix",
        "--validator",
        '{kind = "tests_passs"}',
    )
    assert_one_line_error(bad, "--validator", "unknown validator kind 'tests_passs'")
    pytest_argv = [sys.executable, "-m", "pytest", "-q", "test_calc.py"]
    table = f'{{kind = "tests_pass", argv = {toml(pytest_argv)}, timeout_s = 120}}'
    queued = invoke(runner, journal_path, "change-validator", "cv", "fix", "--validator", table)
    assert queued.exit_code == 0, queued.output
    resume(runner, journal_path, "cv")

    state = run_state(journal_path, "cv")
    (validator,) = state.steps["fix"].spec.validators
    assert "test_calc.py" in getattr(validator, "argv", ())
    assert closed_by(journal_path, "cv", "change_validator").approved
    assert git(project, "show", "playbill/cv/integration:calc.py") + "\n" == FIXED


FRAGMENT = """\
[[steps]]
id = "fix-add"
goal = "make add add, from another angle"
scope = ["calc.py"]
max_attempts = 2
[[steps.validators]]
kind = "tests_pass"
argv = {argv}
timeout_s = 120
"""


def test_decompose_replaces_an_escalated_step_by_a_plan_fragment(
    runner: CliRunner, journal_path: Path, project: Path, tmp_path: Path
) -> None:
    escalated(runner, journal_path, project, escalating("garbage", "fix"), "dc")

    bad = tmp_path / "bad.toml"
    bad.write_text('[[steps]]\nid = "fix"\ngoal = "again"\nscope = ["../x/**"]\n', encoding="utf-8")
    refused = invoke(runner, journal_path, "decompose", "dc", "fix", "--into", str(bad))
    assert refused.exit_code == 2, refused.output
    assert "steps[0].id: step 'fix' already exists" in refused.output
    assert "steps[0].scope[0]" in refused.output
    assert "Traceback" not in refused.output

    fragment = tmp_path / "fragment.toml"
    argv = [sys.executable, "-m", "pytest", "-q", "test_calc.py"]
    fragment.write_text(FRAGMENT.format(argv=toml(argv)), encoding="utf-8")
    queued = invoke(runner, journal_path, "decompose", "dc", "fix", "--into", str(fragment))
    assert queued.exit_code == 0, queued.output
    assert "into fix-add" in queued.stdout
    resume(runner, journal_path, "dc")

    state = run_state(journal_path, "dc")
    assert state.steps["fix"].status == "skipped"
    assert state.steps["fix-add"].status == "completed"
    assert state.plan is not None and [s.id for s in state.plan.steps] == ["fix", "fix-add"]
    assert closed_by(journal_path, "dc", "decompose").approved
    asked = [
        e for e in read_entries(journal_path, "dc") if isinstance(e.msg, HumanApprovalRequested)
    ]
    assert len(asked) == 1  # the new step needed nobody
    assert git(project, "show", "playbill/dc/integration:calc.py") + "\n" == FIXED


def test_a_plan_step_out_of_attempts_is_decomposed_into_its_fragment(
    runner: CliRunner, journal_path: Path, project: Path
) -> None:
    fragment = journal_path.parent / "fragment.toml"
    argv = [sys.executable, "-m", "pytest", "-q", "test_calc.py"]
    fragment.write_text(FRAGMENT.format(argv=toml(argv)), encoding="utf-8")
    text = plan_text("garbage", "fix", max_attempts=1).replace(
        '[[steps]]\nid = "fix"\n',
        '[[steps]]\nid = "fix"\non_exhausted = "decompose"\ndecompose_into = "fragment.toml"\n',
    )
    result = run_plan(runner, journal_path, project, text, "--run-id", "pd", "--quiet")
    assert result.exit_code == 0, result.output
    state = run_state(journal_path, "pd")
    assert state.steps["fix"].status == "skipped"
    assert state.steps["fix-add"].status == "completed"
    assert not state.approvals  # nobody was asked
    decisions = [
        e.msg for e in read_entries(journal_path, "pd") if isinstance(e.msg, PolicyDecisionApplied)
    ]
    assert (decisions[0].action, decisions[0].step) == ("decompose", "fix")
    assert [s.id for s in decisions[0].new_steps] == ["fix-add"]
    assert git(project, "show", "playbill/pd/integration:calc.py") + "\n" == FIXED


def test_decompose_in_a_plan_needs_a_fragment_that_checks(
    runner: CliRunner, journal_path: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.toml"
    base = plan_text("fix")
    plan.write_text(
        base.replace(
            '[[steps]]\nid = "fix"\n', '[[steps]]\nid = "fix"\non_exhausted = "decompose"\n'
        ),
        encoding="utf-8",
    )
    missing = invoke(runner, journal_path, "validate", str(plan))
    assert missing.exit_code == 2, missing.output
    assert "steps[0].on_exhausted: decompose needs decompose_into" in missing.output
    (tmp_path / "bad.toml").write_text('[[steps]]\nid = "fix"\ngoal = "again"\n', encoding="utf-8")
    plan.write_text(
        base.replace(
            '[[steps]]\nid = "fix"\n',
            '[[steps]]\nid = "fix"\non_exhausted = "decompose"\ndecompose_into = "bad.toml"\n',
        ),
        encoding="utf-8",
    )
    clash = invoke(runner, journal_path, "validate", str(plan))
    assert clash.exit_code == 2, clash.output
    assert "steps[0].decompose_into:" in clash.output
    assert "step 'fix' already exists" in clash.output
    assert "Traceback" not in clash.output
