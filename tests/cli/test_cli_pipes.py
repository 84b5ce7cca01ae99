"""Output to a pipe or a file is never cut to 80 columns; shell completion is produced.

Run as real processes (the ``playbill`` console script, stdout a pipe) and
in-process (click's runner, whose stdout is no terminal either).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import invoke
from click.testing import CliRunner

pytestmark = pytest.mark.slow

SCRIPT = Path(sys.executable).parent / "playbill"
SAFETY_TIMEOUT_S = 120
"""Only so that a broken build cannot hang the suite; nothing is timed."""

REASON = "the reviewer found " + "very " * 60 + "long trouble, END-OF-REASON"
"""A cancellation reason of 350 characters: far past any terminal's width."""


def playbill(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The console script, stdout and stderr to pipes, no COLUMNS and no journal set."""
    given = {k: v for k, v in os.environ.items() if k not in ("PLAYBILL_JOURNAL", "COLUMNS")}
    return subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env={**given, **env},
        capture_output=True,
        text=True,
        timeout=SAFETY_TIMEOUT_S,
        check=False,
    )


@pytest.fixture(scope="module")
def cancelled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A journal with ``sim-1``, killed at entry 40, then cancelled with a long reason."""
    where = tmp_path_factory.mktemp("pipes")
    journal = str(where / "j.db")
    killed = playbill("--journal", journal, "sim", "--seed", "1", "--faults", "kill=@40", cwd=where)
    assert killed.returncode != 0  # the fault killed it
    done = playbill("--journal", journal, "cancel", "sim-1", "--reason", REASON, cwd=where)
    assert done.returncode == 0, done.stderr
    return where / "j.db"


def test_status_to_a_pipe_keeps_a_long_reason_on_one_line(cancelled: Path) -> None:
    result = playbill("--journal", str(cancelled), "status", "sim-1", cwd=cancelled.parent)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("status")]
    assert line.rstrip() == f"status    cancelled ({REASON})"
    shown = playbill("--journal", str(cancelled), "show", "sim-1", cwd=cancelled.parent)
    assert f"cancelled ({REASON})" in shown.stdout


def test_status_in_process_keeps_a_long_reason_on_one_line(
    cancelled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    result = invoke(CliRunner(), cancelled, "status", "sim-1")
    assert result.exit_code == 0, result.output
    assert f"status    cancelled ({REASON})" in result.stdout
    assert "…" not in result.stdout


def test_columns_still_sets_the_width_when_asked_for(cancelled: Path) -> None:
    result = playbill(
        "--journal", str(cancelled), "status", "sim-1", cwd=cancelled.parent, COLUMNS="80"
    )
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    assert "END-OF-REASON" in result.stdout  # wrapped, not cut


def test_bash_completion_script_is_produced(tmp_path: Path) -> None:
    script = playbill(cwd=tmp_path, _PLAYBILL_COMPLETE="bash_source")
    assert script.returncode == 0, script.stderr
    assert "_playbill_completion()" in script.stdout
    assert "complete -o nosort -F _playbill_completion playbill" in script.stdout
    words = playbill(
        cwd=tmp_path, _PLAYBILL_COMPLETE="bash_complete", COMP_WORDS="playbill sh", COMP_CWORD="1"
    )
    assert words.stdout.split() == ["plain,show"]
    types = playbill(
        cwd=tmp_path,
        _PLAYBILL_COMPLETE="bash_complete",
        COMP_WORDS="playbill events RUN --type step_fa",
        COMP_CWORD="4",
    )
    assert types.stdout.split() == ["plain,step_failed"]
    for shell in ("zsh", "fish"):
        other = playbill(cwd=tmp_path, _PLAYBILL_COMPLETE=f"{shell}_source")
        assert other.returncode == 0 and "playbill" in other.stdout, shell
