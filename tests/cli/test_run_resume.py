"""A ``playbill run`` process killed with SIGKILL mid-run, continued by ``playbill resume``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, invoke, read_entries
from click.testing import CliRunner
from test_run_real import make_project, plan_text, run_state

from git_helpers import FIXED, git
from playbill.runtime import VerificationRequested, WorkspaceCreated, WorkspaceMerged
from process_helpers import running, wait_until

pytestmark = pytest.mark.slow

SAFETY_TIMEOUT_S = 60.0
"""How long the test waits for the agent to start sleeping before it gives up."""


def wait_for(path: Path, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SAFETY_TIMEOUT_S
    while not (path.exists() and path.read_text().strip()):  # written, pid and all
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"playbill run ended early: {out!r} {err!r}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def run_until_then_kill(
    journal: Path, plan: Path, project: Path, run_id: str, marker: Path
) -> None:
    """Start ``playbill run`` in a process of its own, SIGKILL it once ``marker`` appears,
    then wait until the process whose pid the marker holds (an agent, a test
    run by a validator) is gone too: its guard kills it with the run."""
    argv = [sys.executable, "-m", "playbill", "--journal", str(journal), "run", str(plan)]
    process = subprocess.Popen(
        [*argv, "--repo", str(project), "--run-id", run_id, "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        wait_for(marker, process)
        process.kill()  # SIGKILL: no cleanup at all
        process.communicate(timeout=SAFETY_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL
    orphan = int(marker.read_text())
    try:
        wait_until(lambda: not running(orphan), f"process {orphan} outlived the killed run")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(orphan, signal.SIGKILL)


def test_a_killed_run_is_resumed_from_its_journal_and_nothing_is_done_twice(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    project = make_project(tmp_path / "project")
    journal = tmp_path / "journal.db"
    state_dir = tmp_path / "agent-state"
    state_dir.mkdir()
    plan = tmp_path / "plan.toml"
    text = plan_text("sleep-then-fix", state=state_dir)
    plan.write_text(text, encoding="utf-8")
    run_until_then_kill(journal, plan, project, "k1", state_dir / "sleeping")

    before = run_state(journal, "k1")
    assert not before.is_terminal
    first = Path(before.workspaces["fix#1"].path)  # its worktree was journaled
    assert ".git" not in first.parts and not first.is_relative_to(project)
    assert first.is_relative_to(Path(before.labels["worktrees"]))

    # a changed plan file is refused; the same one resumes
    plan.write_text(text + "\n# edited\n", encoding="utf-8")
    changed = invoke(runner, journal, "resume", "k1", "--quiet")
    assert_one_line_error(
        changed, "the plan file changed since run k1 started", "--plan-changed-ok"
    )
    plan.write_text(text, encoding="utf-8")

    elsewhere = tmp_path / "resumed-wt"
    resumed = invoke(runner, journal, "resume", "k1", "--quiet", "--worktrees", str(elsewhere))
    assert resumed.exit_code == 0, resumed.output
    assert "outcome: completed" in resumed.stdout
    assert "integrate k1" in resumed.stdout
    # the interrupted attempt's retry works where the resume said; the run's worktrees are gone
    after = run_state(journal, "k1")
    assert Path(after.workspaces["fix#2"].path).is_relative_to(elsewhere)
    assert not first.exists() and "playbill/k1" not in git(project, "worktree", "list")

    entries = read_entries(journal, "k1")
    created = Counter(
        (e.msg.step, e.msg.attempt) for e in entries if isinstance(e.msg, WorkspaceCreated)
    )
    assert all(n == 1 for n in created.values()), created  # no worktree made twice
    merged = [(e.msg.step, e.msg.status) for e in entries if isinstance(e.msg, WorkspaceMerged)]
    assert merged == [("fix", "applied")]  # integrated once
    calls = Counter((state_dir / "calls").read_text().splitlines())
    assert all(n == 1 for n in calls.values()), calls  # no piece of work was given twice
    assert git(project, "show", "playbill/k1/integration:calc.py") + "\n" == FIXED
    assert git(project, "status", "--porcelain") == ""


GATE_TEST = """\
import os
import pathlib
import time


def test_gate():
    state = pathlib.Path(os.environ["GATE_DIR"])
    if not (state / "waited").exists():
        (state / "waited").write_text("")
        (state / "verifying").write_text(str(os.getpid()))
        time.sleep(60)
"""


def test_a_run_killed_while_verifying_reuses_the_attempts_worktree(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    project = make_project(tmp_path / "project")
    (project / "test_gate.py").write_text(GATE_TEST)
    git(project, "add", "test_gate.py")
    git(project, "commit", "-q", "-m", "gate")
    journal = tmp_path / "journal.db"
    gate = tmp_path / "gate"
    gate.mkdir()
    plan = tmp_path / "plan.toml"
    text = plan_text("fix", state=gate, tests="test_gate.py").replace(
        'backend = "checks"\n[agents.options]\n',
        f'backend = "checks"\n[agents.options]\nenv = {{ GATE_DIR = "{gate}" }}\n',
    )
    plan.write_text(text, encoding="utf-8")
    run_until_then_kill(journal, plan, project, "v1", gate / "verifying")
    resumed = invoke(runner, journal, "resume", "v1", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    entries = read_entries(journal, "v1")
    created = [e.msg for e in entries if isinstance(e.msg, WorkspaceCreated)]
    # the resumed verifier re-acquired the journaled worktree of attempt 1: none was made
    assert [(c.step, c.attempt) for c in created] == [("fix", 1)]
    verifications = [e.msg for e in entries if isinstance(e.msg, VerificationRequested)]
    assert [(v.step, v.attempt) for v in verifications] == [("fix", 1), ("fix", 1)]
    merged = [(e.msg.step, e.msg.attempt) for e in entries if isinstance(e.msg, WorkspaceMerged)]
    assert merged == [("fix", 1)]
    # the executor and the reviewer were not asked again
    assert (gate / "calls").read_text().splitlines() == ["executor fix 1", "reviewer fix 1"]
    assert run_state(journal, "v1").status == "completed"
