"""The installed ``playbill`` console script, run as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from cli_helpers import DEMO_LAST_SEQ, DEMO_RUN, read_entries

from playbill.runtime.logic._reducer import fold
from playbill.runtime.model._state import state_digest

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).parent / "playbill"
SAFETY_TIMEOUT_S = 120
"""Only so that a broken build cannot hang the suite; nothing is timed."""


def playbill(*args: str, cwd: Path, module: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "playbill"] if module else [str(SCRIPT)]
    env = {k: v for k, v in os.environ.items() if k != "PLAYBILL_JOURNAL"}
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT_S,
        check=False,
    )


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    result = playbill("demo", "--scripted", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_the_console_script_is_installed() -> None:
    assert SCRIPT.exists(), f"pip install -e . should have made {SCRIPT}"


def test_demo_runs_and_replay_in_real_processes(demo_dir: Path) -> None:
    journal = demo_dir / ".playbill" / "journal.db"
    assert journal.exists()
    entries = read_entries(journal)
    state = fold(entries)
    assert state.anomaly_count == 0

    runs = playbill("runs", "--json", cwd=demo_dir)
    assert runs.returncode == 0, runs.stderr
    (row,) = [msgspec.json.decode(line) for line in runs.stdout.splitlines()]
    assert (row["run_id"], row["status"], row["anomalies"]) == (DEMO_RUN, "completed", 0)

    replay = playbill("replay", DEMO_RUN, cwd=demo_dir)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.splitlines()[-1] == f"state-digest: {state_digest(state)}"


def test_python_dash_m_playbill(demo_dir: Path) -> None:
    result = playbill("runs", cwd=demo_dir, module=True)
    assert result.returncode == 0, result.stderr
    assert DEMO_RUN in result.stdout


def test_errors_are_one_line_and_debug_shows_the_traceback(demo_dir: Path) -> None:
    plain = playbill("status", "no-such-run", cwd=demo_dir)
    assert plain.returncode == 2
    assert plain.stderr == "playbill: error: unknown run 'no-such-run' in .playbill/journal.db\n"
    debug = playbill("--debug", "status", "no-such-run", cwd=demo_dir)
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    assert "UnknownRunError" in debug.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT semantics differ on Windows")
def test_ctrl_c_stops_follow_with_status_zero(demo_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PLAYBILL_JOURNAL"}
    with subprocess.Popen(
        [str(SCRIPT), "events", DEMO_RUN, "--follow"],
        cwd=demo_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        # The backlog: it is following now.
        seen = [proc.stdout.readline() for _ in range(DEMO_LAST_SEQ)]
        assert seen[-1].split()[0] == str(DEMO_LAST_SEQ)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=SAFETY_TIMEOUT_S)
    assert proc.returncode == 0, err
    assert rest == ""
    assert "Traceback" not in err
