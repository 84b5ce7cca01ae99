"""A ``playbill demo`` killed with SIGKILL: ``resume`` finishes it, ``cancel`` ends it.

Issue 17, items 13 and 14. The demo has no plan file (its team is built
in), and its run could never be resumed or cancelled. Here the demo's plan
runs with a ``retries`` budget of 2 (what the run never killed uses): after
a kill while its verifier runs pytest, the resumed run must still complete,
the lost work charged to no budget.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import invoke, read_entries
from click.testing import CliRunner
from test_run_real import run_state

from playbill.runtime import VerificationRequested
from process_helpers import running, wait_until

pytestmark = pytest.mark.slow

RUN = "demo-0001"
SAFETY_TIMEOUT_S = 120.0

DEMO_WITH_TWO_RETRIES = """\
import sys
import msgspec
import playbill.demo._run as demo_run
demo_run.BUDGET = msgspec.structs.replace(demo_run.BUDGET, retries=2)
from playbill.cli import main
sys.argv[0] = "playbill"
main()
"""


def demo_killed_while_verifying(tmp_path: Path, *, verifications: int) -> Path:
    """Run the demo in a process of its own; SIGKILL it once that many verifications were asked."""
    journal = tmp_path / "journal.db"
    (tmp_path / "repo").mkdir()
    argv = [sys.executable, "-c", DEMO_WITH_TWO_RETRIES, "--journal", str(journal), "demo"]
    argv += ["--dir", str(tmp_path / "repo"), "--worktrees", str(tmp_path / "wt")]
    process = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    deadline = time.monotonic() + SAFETY_TIMEOUT_S
    try:
        while True:
            if process.poll() is not None:
                out, err = process.communicate()
                raise AssertionError(f"the demo ended before the kill: {out!r} {err!r}")
            asked = 0
            if journal.exists():
                try:
                    entries = read_entries(journal, RUN)
                except Exception:  # not written yet
                    entries = []
                asked = sum(isinstance(e.msg, VerificationRequested) for e in entries)
            if asked >= verifications:
                break
            assert time.monotonic() < deadline, "the demo never asked for the verifications"
            time.sleep(0.02)
        process.kill()  # SIGKILL: no cleanup at all
        process.communicate(timeout=SAFETY_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL
    return journal


@pytest.fixture(autouse=True)
def _no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_a_killed_demo_is_resumed_to_completion_within_its_retries_budget(
    runner: CliRunner, tmp_path: Path
) -> None:
    journal = demo_killed_while_verifying(tmp_path, verifications=2)
    before = run_state(journal, RUN)
    assert not before.is_terminal and before.budget.retries == 2
    resumed = invoke(runner, journal, "resume", RUN, "--quiet")
    assert resumed.exit_code == 0, resumed.output
    after = run_state(journal, RUN)
    assert after.status == "completed", after.reason
    runs = invoke(runner, journal, "runs")
    assert any(RUN in s and "completed" in s for s in runs.stdout.splitlines()), runs.stdout


def test_a_killed_demo_is_cancelled_for_good(runner: CliRunner, tmp_path: Path) -> None:
    journal = demo_killed_while_verifying(tmp_path, verifications=1)
    pids = [p.process.pid for p in run_state(journal, RUN).processes]
    cancelled = invoke(runner, journal, "cancel", RUN, "--reason", "enough")
    assert cancelled.exit_code == 0, cancelled.output
    assert "cancelled" in cancelled.stdout
    assert run_state(journal, RUN).status == "cancelled"
    runs = invoke(runner, journal, "runs")
    assert any(RUN in s and "cancelled" in s for s in runs.stdout.splitlines()), runs.stdout
    for pid in pids:  # what the dead runner's verifier left running was ended
        wait_until(lambda pid=pid: not running(pid), f"process {pid} outlived the cancel")
    again = invoke(runner, journal, "resume", RUN, "--quiet")
    assert again.exit_code == 2
