"""Agents never outlive their run: ``playbill run`` stopped by SIGINT, SIGTERM or SIGKILL.

The executor is a real command agent (``fix_agent.py spawn-then-fix``): the
first time, it starts a child in its process group, writes both pids and
sleeps; the second time (after ``playbill resume``) it does the fix at once.
Everything is real: the git repository, the processes, the signals. Last,
``playbill demo`` stops the tests its verifier runs the same way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import invoke, read_entries
from click.testing import CliRunner
from test_run_real import make_project, plan_text, run_state

from git_helpers import FIXED, git
from playbill.runtime import (
    Entry,
    NoteWritten,
    PlaybillError,
    ProcessEnded,
    ProcessStarted,
    RunPaused,
    RunResumed,
    StepAssigned,
    StepInterrupted,
)
from process_helpers import (
    BOUND_S,
    cmdline,
    kill_all,
    linux_only,
    members,
    pids_in,
    running,
    wait_until,
)

pytestmark = [linux_only, pytest.mark.slow]


class Setup:
    """A project, a journal, a plan whose executor spawns a child and sleeps the first time."""

    def __init__(self, root: Path) -> None:
        self.project = make_project(root / "project")
        self.journal = root / "journal.db"
        self.state = root / "agent-state"
        self.state.mkdir()
        self.plan = root / "plan.toml"
        self.plan.write_text(plan_text("spawn-then-fix", state=self.state), encoding="utf-8")
        self.pids = self.state / "pids"

    def start(self, run_id: str) -> subprocess.Popen[bytes]:
        """``playbill run`` in a process of its own (so that it can be signalled)."""
        argv = [sys.executable, "-m", "playbill", "--journal", str(self.journal), "run"]
        return subprocess.Popen(
            [*argv, str(self.plan), "--repo", str(self.project), "--run-id", run_id, "--quiet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )

    def agent_and_child(self, runner: subprocess.Popen[bytes]) -> tuple[int, int]:
        """The sleeping agent's pid and its child's, once both run."""
        deadline = time.monotonic() + BOUND_S
        while len(pids_in(self.pids)) < 2:
            if runner.poll() is not None:
                out, err = runner.communicate()
                raise AssertionError(f"playbill run ended early: {out!r} {err!r}")
            assert time.monotonic() < deadline, "the agent never started"
            time.sleep(0.02)
        agent, child = pids_in(self.pids)
        return agent, child


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    made = Setup(tmp_path)
    yield made
    kill_all(pids_in(made.pids))  # should a test fail half-way


def resume_completes(runner: CliRunner, setup: Setup, run_id: str) -> list[Entry]:
    resumed = invoke(runner, setup.journal, "resume", run_id, "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert "outcome: completed" in resumed.stdout
    assert git(setup.project, "show", f"playbill/{run_id}/integration:calc.py") + "\n" == FIXED
    entries = read_entries(setup.journal, run_id)
    # the fix was made by a second attempt, once: the first was lost, not failed
    assigned = [(e.msg.step, e.msg.attempt) for e in entries if isinstance(e.msg, StepAssigned)]
    assert assigned == [("fix", 1), ("fix", 2)]
    notes = [e.msg.text for e in entries if isinstance(e.msg, NoteWritten)]
    assert not any("refused" in note for note in notes), notes
    assert run_state(setup.journal, run_id).processes == ()
    return entries


def the_process_journaled(entries: list[Entry], agent: int) -> ProcessStarted:
    [started] = [
        e.msg for e in entries if isinstance(e.msg, ProcessStarted) and e.msg.process.pid == agent
    ]
    return started


def test_sigkill_of_the_runner_leaves_no_agent_and_resume_finishes_the_work(
    runner: CliRunner, setup: Setup
) -> None:
    run = setup.start("k1")
    agent, child = setup.agent_and_child(run)
    run.kill()  # SIGKILL: no handler runs, nothing is journaled
    run.communicate(timeout=BOUND_S)
    assert run.returncode == -signal.SIGKILL
    took = wait_until(lambda: not running(agent) and not running(child), "the agents are gone")
    print(f"\nSIGKILL: agent and child gone {took:.3f} s after the runner was reaped")
    wait_until(lambda: not members(agent), "nothing is left of the agent's process group")

    entries = read_entries(setup.journal, "k1")
    started = the_process_journaled(entries, agent)
    assert (started.agent, started.step, started.attempt) == ("ex1", "fix", 1)
    assert started.process.pgid == agent and started.process.start_ticks is not None

    entries = resume_completes(runner, setup, "k1")
    assert not running(agent) and not running(child)
    # the resumed run found the journaled agent gone, before it started anything
    [ended] = [e for e in entries if isinstance(e.msg, ProcessEnded)]
    assert (ended.msg.pid, ended.msg.how) == (agent, "gone")
    resumed = next(e for e in entries if isinstance(e.msg, RunResumed))
    assert ended.seq < resumed.seq


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sigint_and_sigterm_stop_the_agents_pause_the_run_and_resume_finishes_it(
    runner: CliRunner, setup: Setup, sig: signal.Signals
) -> None:
    run = setup.start("s1")
    agent, child = setup.agent_and_child(run)
    signalled = time.monotonic()
    run.send_signal(sig)
    _, err = run.communicate(timeout=BOUND_S)
    exited = time.monotonic() - signalled
    assert run.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143}[sig], err
    # the runner waited for its agent before it exited; the child got its group's signal
    assert not running(agent)
    took = wait_until(lambda: not running(child), "the agent's child is gone")
    print(f"\n{sig.name}: runner exited {exited:.3f} s after it; the child {took:.3f} s later")
    assert not members(agent), "something of the agent's group outlived the runner"
    lines = err.decode().strip().splitlines()
    assert lines[-1] == (
        f"playbill: interrupted by {sig.name}: run s1 is paused and its agents are stopped; "
        f"continue it with `playbill --journal {setup.journal} resume s1`"
    )
    assert "Traceback" not in err.decode()

    entries = read_entries(setup.journal, "s1")
    [paused] = [e for e in entries if isinstance(e.msg, RunPaused)]
    assert paused.msg.reason == f"interrupted by {sig.name}"
    assert paused.msg.stopped == ("ex1", "rev", "tests")
    [interrupted] = [e for e in entries if isinstance(e.msg, StepInterrupted)]
    assert (interrupted.msg.step, interrupted.msg.attempt) == ("fix", 1)
    assert interrupted.seq > paused.seq
    state = run_state(setup.journal, "s1")
    assert state.status == "paused"
    assert state.steps["fix"].attempts[0].status == "interrupted"
    assert state.steps["fix"].attempts[0].lost  # lost work: not counted against the step
    assert state.processes == ()

    entries = resume_completes(runner, setup, "s1")
    assert not any(isinstance(e.msg, ProcessEnded) for e in entries)  # nothing was left


def guards(pgid: int) -> list[int]:
    """The guards in a process group (what the launcher leaves behind)."""
    return [pid for pid in members(pgid) if any(a.endswith("_guard.py") for a in cmdline(pid))]


def test_resume_reaps_an_agent_that_outlived_its_runner_and_its_guard(
    runner: CliRunner, setup: Setup
) -> None:
    run = setup.start("g1")
    agent, child = setup.agent_and_child(run)
    [guard] = guards(agent)
    os.kill(guard, signal.SIGKILL)  # the parent-death mechanism, bypassed
    wait_until(lambda: not running(guard), "the guard is gone")
    run.kill()
    run.communicate(timeout=BOUND_S)
    # nothing ends them now: the runner and the guard are dead
    assert running(agent) and running(child)

    entries = resume_completes(runner, setup, "g1")
    assert not running(agent) and not running(child)
    [ended] = [e for e in entries if isinstance(e.msg, ProcessEnded)]
    assert (ended.msg.agent, ended.msg.pid, ended.msg.how) == ("ex1", agent, "reaped")
    # reaped before the resumed run gave out any work
    second = next(e for e in entries if isinstance(e.msg, StepAssigned) and e.msg.attempt == 2)
    assert ended.seq < second.seq


def test_sigterm_stops_the_demo_and_its_test_runs(tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    argv = [sys.executable, "-m", "playbill", "--journal", str(journal), "demo", "--dir"]
    demo = subprocess.Popen(
        [*argv, str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )

    def verifying() -> list[int]:
        try:
            entries = read_entries(journal, "demo-0001")
        except PlaybillError:
            return []  # no journal, or no run in it, yet
        return [e.msg.process.pid for e in entries if isinstance(e.msg, ProcessStarted)]

    try:
        wait_until(lambda: bool(verifying()), "the demo's verifier runs pytest")
        pytest_runs = verifying()
        demo.send_signal(signal.SIGTERM)
        _, err = demo.communicate(timeout=BOUND_S)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert demo.returncode == 143, err
    assert "interrupted by SIGTERM: run demo-0001 is paused" in err.decode()
    assert not any(running(pid) for pid in pytest_runs)
    assert any(isinstance(e.msg, RunPaused) for e in read_entries(journal, "demo-0001"))


def test_a_second_sigint_kills_the_agents_at_once(runner: CliRunner, setup: Setup) -> None:
    # an agent that shrugs off SIGTERM, with a minute of grace: the first
    # Ctrl-C would wait that minute for it; the second does not wait
    text = plan_text("stubborn-then-fix", state=setup.state)
    text = text.replace("heartbeat_s = 0.5\n", "heartbeat_s = 0.5\nkill_grace_s = 60\n", 1)
    setup.plan.write_text(text, encoding="utf-8")
    run = setup.start("f1")
    agent, child = setup.agent_and_child(run)
    run.send_signal(signal.SIGINT)
    wait_until(lambda: (setup.state / "signals").exists(), "the agent got its group's SIGTERM")
    assert running(agent) and running(child)  # it shrugged it off
    run.send_signal(signal.SIGINT)
    _, err = run.communicate(timeout=BOUND_S)
    assert run.returncode == 130, err
    assert "playbill: SIGINT again: killed 1 process group(s) and stopped at once" in err.decode()
    wait_until(lambda: not running(agent) and not running(child), "the agents are gone")
    # it did not wait for the agents to stop: the run was never journaled paused
    entries = read_entries(setup.journal, "f1")
    assert not any(isinstance(e.msg, RunPaused) for e in entries)
    entries = resume_completes(runner, setup, "f1")
    [ended] = [e for e in entries if isinstance(e.msg, ProcessEnded)]
    assert (ended.msg.pid, ended.msg.how) == (agent, "gone")
