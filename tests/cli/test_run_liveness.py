"""Liveness of real agents, through ``playbill run`` on real git repositories.

A hung agent (a real process that printed one line, then sleeps for ever) is
found out by the stall window, killed, and its work moved to another agent;
a wall-time budget smaller than an agent's work stops that work at the
deadline. Every assertion is on journaled facts, never on durations; the
durations are printed (``-s``) for the record.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import invoke, read_entries
from click.testing import CliRunner

from backend_helpers import alive
from git_helpers import FIXED, calc_project, git
from playbill.runtime import (
    AttemptCancelled,
    BudgetExhausted,
    Heartbeat,
    HeartbeatMissed,
    RunFailed,
    StepAssigned,
    StepFailed,
    StepStarted,
    TimerSet,
)
from playbill.runtime.model._entry import Entry

pytestmark = pytest.mark.slow

FIX_AGENT = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "fix_agent.py"
ENV_ALLOW = ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]


def toml(value: object) -> str:
    return json.dumps(value)  # JSON strings and arrays of strings are TOML


def agent(agent_id: str, role: str, mode: str, state: Path, extra: str = "") -> str:
    argv = [sys.executable, str(FIX_AGENT), mode, "{prompt_file}", str(state)]
    return (
        f'[[agents]]\nid = "{agent_id}"\nroles = ["{role}"]\nbackend = "command"\n{extra}'
        f"[agents.options]\nargv = {toml(argv)}\nheartbeat_s = 0.2\nkill_grace_s = 0.2\n"
    )


def plan(*agents: str, run: str = "") -> str:
    pytest_argv = [sys.executable, "-m", "pytest", "-q", "test_calc.py"]
    return "\n".join(
        [
            f'[run]\ngoal = "make add add"\n{run}',
            *agents,
            '[[agents]]\nid = "tests"\nroles = ["verifier"]\nbackend = "checks"\n'
            f"[agents.options]\nheartbeat_s = 0.2\nenv_allow = {toml(ENV_ALLOW)}\n",
            '[[steps]]\nid = "fix"\ngoal = "make add add"\nscope = ["calc.py"]\n',
            f'[[steps.validators]]\nkind = "tests_pass"\nargv = {toml(pytest_argv)}\n',
        ]
    )


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return calc_project(tmp_path / "project", {".gitignore": "__pycache__/\n.pytest_cache/\n"})


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "agents"
    path.mkdir()
    return path


def run(runner: CliRunner, journal: Path, project: Path, text: str, run_id: str) -> list[Entry]:
    plan_file = journal.parent / "plan.toml"
    plan_file.write_text(text, encoding="utf-8")
    result = invoke(
        runner, journal, "run", str(plan_file), "--repo", str(project), "--run-id", run_id
    )
    assert result.exit_code in (0, 1), result.output
    return read_entries(journal, run_id)


def first(entries: list[Entry], kind: type, **fields: object) -> Entry:
    return next(
        e
        for e in entries
        if isinstance(e.msg, kind) and all(getattr(e.msg, k) == v for k, v in fields.items())
    )


def gone(pid: int) -> bool:
    """Whether a process is gone (waits up to 10 s: a guard, not a measure)."""
    for _ in range(200):
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def seconds(later: Entry, earlier: Entry) -> float:
    return (later.at_us - earlier.at_us) / 1e6


def test_a_hung_agent_is_found_out_killed_and_its_work_done_by_another(
    runner: CliRunner, journal_path: Path, project: Path, state: Path
) -> None:
    text = plan(
        agent("ex1", "executor", "hang", state),
        agent("ex2", "executor", "fix", state),
        agent("rev", "reviewer", "review", state, "edits_files = false\n"),
        run="[run.policy]\nheartbeat_timeout_s = 2\nbackoff_base_s = 0.01\n",
    )
    entries = run(runner, journal_path, project, text, "hung")

    # ex1 was assigned, showed progress once (its line), then nothing: stalled
    assert first(entries, StepAssigned, attempt=1).msg.agent == "ex1"
    missed = first(entries, HeartbeatMissed)
    assert missed.msg == HeartbeatMissed(agent="ex1", step="fix", attempt=1)
    beats = [e for e in entries if isinstance(e.msg, Heartbeat) and e.msg.agent == "ex1"]
    assert beats[0].msg.progress.endswith(": started")
    assert [b.msg.progress.split(": ", 1)[1] for b in beats[1:]] == ["1 new line of output"]
    failed = first(entries, StepFailed, attempt=1)
    assert failed.msg.failure.failure_class == "transient"
    assert failed.msg.failure.kind == "stalled"
    assert failed.msg.failure.detail == "ex1 showed no sign of progress for 2 s"
    assert first(entries, AttemptCancelled, agent="ex1").seq < failed.seq
    # its process is gone: the cancel killed its process group
    pid = int((state / "hang").read_text())
    assert gone(pid), f"the hung agent {pid} survived"

    # the work went to ex2 at once, not back to ex1, and the run completed
    retry = first(entries, StepAssigned, attempt=2)
    assert retry.msg.agent == "ex2" and retry.cause == missed.cause
    assert [e.msg.agent for e in entries if isinstance(e.msg, StepAssigned)] == ["ex1", "ex2"]
    assert git(project, "show", "playbill/hung/integration:calc.py") + "\n" == FIXED
    started = first(entries, StepStarted, attempt=2)
    running = first(entries, Heartbeat, agent="ex2", attempt=2)  # its process started
    print(
        f"\nhung agent: last progress -> heartbeat_missed {seconds(missed, beats[-1]):.3f} s, "
        f"-> step_started on ex2 {seconds(started, beats[-1]):.3f} s, "
        f"-> ex2's process started (in its worktree) {seconds(running, beats[-1]):.3f} s "
        f"(stall window 2 s, heartbeat_s 0.2 s)"
    )


def test_a_wall_budget_stops_the_work_at_its_deadline(
    runner: CliRunner, journal_path: Path, project: Path, state: Path
) -> None:
    text = plan(
        agent("ex1", "executor", "slow", state),
        agent("rev", "reviewer", "review", state, "edits_files = false\n"),
        run="[run.budget]\nwall_s = 3\n",
    )
    entries = run(runner, journal_path, project, text, "wall")

    assigned = first(entries, StepAssigned, attempt=1)
    deadline = first(entries, TimerSet, purpose="deadline")
    assert deadline.msg.due_us == assigned.at_us + 3_000_000  # 3 s of work from its start
    exhausted = first(entries, BudgetExhausted)
    msg = exhausted.msg
    assert (msg.resource, msg.limit, msg.action, msg.agent, msg.step) == (
        "wall",
        3.0,
        "cancelled",
        None,
        "fix",
    )
    assert msg.deadline_us == deadline.msg.due_us
    # the figure is the time in use when the deadline's timer was journaled
    fired = entries[exhausted.cause - 1]
    assert msg.used >= 3.0
    assert msg.used == pytest.approx(3.0 + (fired.at_us - msg.deadline_us) / 1e6, abs=1e-6)
    assert msg.reason == (
        f"the run's wall time used up: {msg.used:.1f} of 3 s; "
        "the work in flight was cancelled at the deadline"
    )
    assert first(entries, AttemptCancelled, agent="ex1").cause == exhausted.cause
    ended = first(entries, RunFailed)
    assert ended.msg.failure_class == "budget"
    assert "at its deadline" in ended.msg.reason
    pid = int((state / "slow").read_text())
    assert gone(pid), f"the slow agent {pid} survived"
    print(
        f"\nwall budget: cancelled {(fired.at_us - msg.deadline_us) / 1e3:.1f} ms after "
        f"the deadline; the budget event says: {msg.reason}"
    )


def test_an_agents_wall_budget_moves_its_work_at_the_deadline(
    runner: CliRunner, journal_path: Path, project: Path, state: Path
) -> None:
    text = plan(
        agent("ex1", "executor", "slow", state, "[agents.budget]\nwall_s = 2\n"),
        agent("ex2", "executor", "fix", state),
        agent("rev", "reviewer", "review", state, "edits_files = false\n"),
    )
    entries = run(runner, journal_path, project, text, "agentwall")
    exhausted = first(entries, BudgetExhausted)
    assert (exhausted.msg.agent, exhausted.msg.limit, exhausted.msg.action) == (
        "ex1",
        2.0,
        "cancelled",
    )
    assert exhausted.msg.used >= 2.0
    assert exhausted.msg.reason.endswith("its work was cancelled at the deadline")
    assert [e.msg.agent for e in entries if isinstance(e.msg, StepAssigned)] == ["ex1", "ex2"]
    assert git(project, "show", "playbill/agentwall/integration:calc.py") + "\n" == FIXED
    assert gone(int((state / "slow").read_text()))


def test_a_steps_wall_budget_stops_its_work_at_the_deadline(
    runner: CliRunner, journal_path: Path, project: Path, state: Path
) -> None:
    text = plan(
        agent("ex1", "executor", "slow", state),
        agent("rev", "reviewer", "review", state, "edits_files = false\n"),
        run='[run.policy]\non_exhausted = "abort"\n',
    ).replace('scope = ["calc.py"]\n', 'scope = ["calc.py"]\n[steps.budget]\nwall_s = 2\n')
    entries = run(runner, journal_path, project, text, "stepwall")

    assigned = first(entries, StepAssigned, attempt=1)
    deadline = next(
        e for e in entries if isinstance(e.msg, TimerSet) and e.msg.timer.startswith("wall/fix@")
    )
    assert deadline.msg.timer == f"wall/fix@{assigned.cause}"
    assert deadline.msg.due_us == assigned.at_us + 2_000_000  # 2 s of the step's work
    exhausted = first(entries, BudgetExhausted)
    msg = exhausted.msg
    assert (msg.resource, msg.limit, msg.action, msg.agent, msg.step, msg.of_step) == (
        "wall",
        2.0,
        "cancelled",
        None,
        "fix",
        True,
    )
    assert msg.deadline_us == deadline.msg.due_us
    assert msg.used >= 2.0
    assert msg.reason == (
        f"step 'fix''s wall budget is used up ({msg.used:.1f} of 2 s); "
        "its work was cancelled at the deadline"
    )
    assert first(entries, AttemptCancelled, agent="ex1").cause == exhausted.cause
    # the step is out of attempts: on_exhausted = "abort" ends the run
    ended = first(entries, RunFailed)
    assert ended.msg.failure_class == "budget"
    assert "its budget is used up" in ended.msg.reason
    assert gone(int((state / "slow").read_text()))
    fired = entries[exhausted.cause - 1]
    print(f"\nstep wall budget: cancelled {(fired.at_us - msg.deadline_us) / 1e3:.1f} ms late")
