"""Running, steering and recovering runs from the command line, in real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import invoke, read_entries
from click.testing import CliRunner

from playbill.runtime import (
    ControlRequested,
    Entry,
    RunCancelled,
    RunPaused,
    RunResumed,
    encode_entry,
    fold,
)

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).parent / "playbill"
SAFETY_TIMEOUT_S = 120.0
"""Only so that a broken build cannot hang the suite; nothing is timed."""


def playbill(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PLAYBILL_JOURNAL"}
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT_S,
        check=False,
    )


def wait_for(journal: Path, run_id: str, found: Callable[[list[Entry]], bool]) -> list[Entry]:
    """Poll the journal until ``found(entries)`` (a guard against hangs, not a timing test)."""
    deadline = time.monotonic() + SAFETY_TIMEOUT_S
    while time.monotonic() < deadline:
        if journal.exists():
            try:
                entries = read_entries(journal, run_id)
            except Exception:  # the run's first commit may not be there yet
                entries = []
            if found(entries):
                return entries
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting on run {run_id}")


def has(kind: type) -> Callable[[list[Entry]], bool]:
    return lambda entries: any(isinstance(e.msg, kind) for e in entries)


def test_sim_is_reproducible_and_replays_cleanly(runner: CliRunner, tmp_path: Path) -> None:
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    for journal in (first, second):
        result = invoke(runner, journal, "sim", "--seed", "4", "--faults", "crash=0.1,hang=0.05")
        assert result.exit_code == 0, result.output
        assert "outcome:" in result.output
    assert [encode_entry(e) for e in read_entries(first, "sim-4")] == [
        encode_entry(e) for e in read_entries(second, "sim-4")
    ]
    check = invoke(runner, first, "replay", "sim-4", "--check")
    assert check.exit_code == 0, check.output
    assert "replay-check: the policy reproduces every recorded command" in check.output
    plan = invoke(runner, first, "retry-plan", "sim-4")
    assert plan.exit_code == 0 and "Retry plan for run sim-4" in plan.output


def test_bad_fault_specs_are_one_line_errors(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, tmp_path / "j.db", "sim", "--seed", "1", "--faults", "crash=2")
    assert result.exit_code == 2
    assert "--faults" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "j.db").exists()


def test_the_simulated_demo_completes(runner: CliRunner, tmp_path: Path) -> None:
    journal = tmp_path / "j.db"
    result = invoke(runner, journal, "demo", "--speed", "0")
    assert result.exit_code == 0, result.output
    assert "outcome: completed" in result.output
    assert fold(read_entries(journal, "demo-0001")).status == "completed"


def test_a_killed_run_is_resumed_by_another_process(tmp_path: Path) -> None:
    killed = playbill("sim", "--seed", "5", "--faults", "crash=0.05,kill=@120", cwd=tmp_path)
    assert killed.returncode == -9  # SIGKILL: no cleanup ran
    journal = tmp_path / ".playbill" / "journal.db"
    before = read_entries(journal, "sim-5")
    assert not fold(before).is_terminal

    resumed = playbill("resume", "sim-5", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    after = read_entries(journal, "sim-5")
    assert [encode_entry(e) for e in after[: len(before)]] == [encode_entry(e) for e in before]
    state = fold(after)
    assert state.is_terminal or state.pending_approvals()
    assert state.anomaly_count == 0
    assert any(isinstance(e.msg, RunResumed) for e in after[len(before) :])
    assert playbill("replay", "sim-5", "--check", cwd=tmp_path).returncode == 0


def test_pause_resume_and_cancel_reach_a_live_run(tmp_path: Path) -> None:
    journal = tmp_path / ".playbill" / "journal.db"
    with subprocess.Popen(
        [str(SCRIPT), "sim", "--seed", "8", "--speed", "20"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as live:
        try:
            wait_for(journal, "sim-8", lambda entries: len(entries) > 3)
            assert playbill("pause", "sim-8", "--reason", "coffee", cwd=tmp_path).returncode == 0
            entries = wait_for(journal, "sim-8", has(RunPaused))
            paused = next(e for e in entries if isinstance(e.msg, RunPaused))
            assert paused.msg.reason == "coffee"
            assert isinstance(entries[paused.seq - 2].msg, ControlRequested)

            assert playbill("resume", "sim-8", cwd=tmp_path).returncode == 0

            def resumed_after_pause(entries: list[Entry]) -> bool:
                return any(isinstance(e.msg, RunResumed) and e.seq > paused.seq for e in entries)

            wait_for(journal, "sim-8", resumed_after_pause)
            assert playbill("cancel", "sim-8", "--reason", "enough", cwd=tmp_path).returncode == 0
            wait_for(journal, "sim-8", has(RunCancelled))
            assert live.wait(timeout=SAFETY_TIMEOUT_S) == 0
        finally:
            if live.poll() is None:
                live.kill()
    state = fold(read_entries(journal, "sim-8"))
    assert state.status == "cancelled" and state.last_request_id == 3
    # an ended run refuses to be resumed, paused or cancelled
    for command in ("resume", "pause", "cancel"):
        refused = playbill(command, "sim-8", cwd=tmp_path)
        assert refused.returncode == 2 and "already cancelled" in refused.stderr


def test_control_commands_refuse_unknown_runs(runner: CliRunner, demo_journal: Path) -> None:
    for args in (("pause", "nope"), ("cancel", "nope"), ("approve", "nope", "s1")):
        result = invoke(runner, demo_journal, *args)
        assert result.exit_code == 2 and "unknown run 'nope'" in result.output


def test_sim_runs_a_plan_file_and_resume_keeps_its_agents(tmp_path: Path) -> None:
    assert playbill("init", "--simulated", cwd=tmp_path).returncode == 0
    killed = playbill(
        "sim", "--seed", "2", "--plan", "playbill.toml", "--faults", "kill=@90", cwd=tmp_path
    )
    assert killed.returncode == -9
    journal = tmp_path / ".playbill" / "journal.db"
    state = fold(read_entries(journal, "sim-2"))
    assert [step.spec.id for step in state.steps.values()][:2] == ["design", "writer"]
    assert any(label.startswith("profile:") for label in state.labels)
    resumed = playbill("resume", "sim-2", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    final = fold(read_entries(journal, "sim-2"))
    assert final.anomaly_count == 0 and (final.is_terminal or final.pending_approvals())
    assert playbill("replay", "sim-2", "--check", cwd=tmp_path).returncode == 0
