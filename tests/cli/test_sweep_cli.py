"""``playbill sweep``: a first sweep, resuming, comparing, and one-line errors."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import invoke
from click.testing import CliRunner

from playbill.runtime import STRATEGIES
from playbill.sweeps import (
    MANIFEST_FILE,
    PROGRESS_FILE,
    REPORT_MD,
    ROWS_CSV,
    ROWS_JSONL,
    SUMMARY_CSV,
)
from process_helpers import running, wait_until


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def sweep(runner: CliRunner, tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    return invoke(runner, tmp_path / "journal.db", "sweep", *args)


def test_a_first_sweep_needs_strategies_seeds_and_out(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "s"
    args = ("--strategies", "pipeline", "--seeds", "0:2", "--out", str(out), "--workers", "1")
    result = sweep(runner, tmp_path, *args, "--no-plots")
    assert result.exit_code == 0, result.output
    for name in (ROWS_CSV, ROWS_JSONL, SUMMARY_CSV, REPORT_MD, MANIFEST_FILE):
        assert (out / name).is_file(), name
    assert "pipeline" in result.output and "reliable" in result.output
    assert "4 runs simulated, 0 reused" in result.output
    rows = (out / ROWS_CSV).read_bytes()
    again = sweep(runner, tmp_path, *args, "--no-plots")
    assert again.exit_code == 0, again.output
    assert "0 runs simulated, 4 reused" in again.output
    assert (out / ROWS_CSV).read_bytes() == rows
    assert not (tmp_path / "journal.db").exists()  # a sweep journals into memory only


def test_a_sweep_with_files_and_faults(runner: CliRunner, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('[profiles.mine]\nextends = "perfect"\n')
    out = tmp_path / "s"
    args = ("--strategies", "pipeline", "--seeds", "1", "--out", str(out), "--no-plots")
    result = sweep(
        runner, tmp_path, *args, "--profiles", str(profiles), "--faults", "transient=0.1"
    )
    assert result.exit_code == 0, result.output
    lines = (out / ROWS_CSV).read_text().splitlines()
    assert len(lines) == 2 and lines[1].startswith("1,pipeline,mine,")
    report = (out / REPORT_MD).read_text()
    assert f"--profiles {profiles.resolve()}" in report and "--faults transient=0.1" in report


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--seeds", "5:1"), "--seeds: '5:1': the range 5:1 is empty"),
        (("--strategies", "pipeline,mob"), "unknown strategy 'mob' (known: "),
        (("--plan", "missing.toml"), "cannot read the plan"),
        (("--profiles", "missing.toml"), "cannot read the file"),
        (("--faults", "crash=2"), "crash"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    runner: CliRunner, tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    given = {"--strategies": "pipeline", "--seeds": "0:1", "--out": str(tmp_path / "s")}
    given.update(dict(zip(args[::2], args[1::2], strict=True)))
    flat = [part for pair in given.items() for part in pair]
    result = sweep(runner, tmp_path, *flat, "--no-plots")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("playbill: error: ")
    assert says in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_an_out_of_another_sweep_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    out = str(tmp_path / "s")
    base = ("--strategies", "pipeline", "--seeds", "0", "--out", out, "--no-plots")
    assert sweep(runner, tmp_path, *base).exit_code == 0
    result = sweep(runner, tmp_path, *base, "--faults", "crash=0.1")
    assert result.exit_code == 2
    assert result.output == (
        f"playbill: error: {out} holds a different sweep (faults differ); rows of "
        "different sweeps are never mixed: choose another --out\n"
    )


def test_without_scipy_a_sweep_stops_before_running_in_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("playbill.cli._cmd_sweep.available", lambda module: module != "scipy")
    out = tmp_path / "s"
    result = sweep(runner, tmp_path, "--strategies", "pipeline", "--seeds", "0", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert result.output == (
        "playbill: error: sweep statistics need scipy, which is not installed: "
        "pip install 'playbill[sweeps]'\n"
    )
    assert not out.exists()


def test_missing_options_are_usage_errors(runner: CliRunner, tmp_path: Path) -> None:
    result = sweep(runner, tmp_path, "--strategies", "pipeline")
    assert result.exit_code == 2
    assert "missing --seeds, --out" in result.output


@pytest.mark.slow
def test_compare_prints_the_significant_differences(runner: CliRunner, tmp_path: Path) -> None:
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    common = ("--strategies", "pipeline", "--seeds", "0:3", "--no-plots", "--workers", "1")
    assert sweep(runner, tmp_path, *common, "--out", a).exit_code == 0
    assert sweep(runner, tmp_path, *common, "--out", b, "--faults", "crash=0.3").exit_code == 0
    result = sweep(runner, tmp_path, "--compare", a, b)
    assert result.exit_code == 0, result.output
    assert "The sweeps differ in: faults" in result.output
    assert "success_rate" in result.output and "cost_usd" in result.output
    assert "McNemar" in result.output and " 3p " in result.output
    assert "differences significant (Holm-adjusted p < 0.05)" in result.output
    same = sweep(runner, tmp_path, "--compare", a, a)
    assert "0 of 8 differences significant (Holm-adjusted p < 0.05)" in same.output
    mixed = sweep(runner, tmp_path, "--compare", a, b, "--seeds", "0")
    assert mixed.exit_code == 2 and "--compare takes no other sweep option" in mixed.output


@pytest.mark.skipif(len(STRATEGIES) < 2, reason="only one strategy is registered")
def test_a_sweep_of_every_registered_strategy(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "s"
    names = ",".join(sorted(STRATEGIES))
    args = ("--strategies", names, "--seeds", "0", "--out", str(out), "--no-plots")
    result = sweep(runner, tmp_path, *args, "--workers", "1")
    assert result.exit_code == 0, result.output
    lines = (out / ROWS_CSV).read_text().splitlines()[1:]
    assert [line.split(",")[1] for line in lines] == [s for s in sorted(STRATEGIES) for _ in "ab"]


@pytest.mark.slow
def test_a_killed_sweep_resumes_to_the_rows_of_a_whole_one(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "killed"
    args = ["sweep", "--strategies", "pipeline", "--seeds", "0:8", "--no-plots"]
    process = subprocess.Popen(
        [sys.executable, "-m", "playbill", *args, "--out", str(out), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        log = out / PROGRESS_FILE
        for _ in range(3000):  # until the first rows are durable (at most a minute)
            if log.exists() and log.stat().st_size > 0:
                break
            time.sleep(0.02)
        helpers = descendants(process.pid)  # the forkserver and the workers
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert helpers
    # the workers see their sweep die and end
    wait_until(lambda: not any(running(pid) for pid in helpers), "workers outlived their sweep")
    resumed = sweep(runner, tmp_path, *args[1:], "--out", str(out), "--workers", "1")
    assert resumed.exit_code == 0, resumed.output
    reused = int(resumed.output.split(" reused")[0].rsplit(", ", 1)[1])
    assert 0 < reused < 16
    whole = sweep(runner, tmp_path, *args[1:], "--out", str(tmp_path / "whole"), "--workers", "1")
    assert whole.exit_code == 0, whole.output
    assert (out / ROWS_JSONL).read_bytes() == (tmp_path / "whole" / ROWS_JSONL).read_bytes()


@pytest.mark.slow
def test_ctrl_c_stops_a_sweep_keeping_its_finished_runs(tmp_path: Path) -> None:
    out = tmp_path / "s"
    process = subprocess.Popen(
        [sys.executable, "-m", "playbill", "sweep", "--strategies", "pipeline", "--seeds", "0:30",
         "--no-plots", "--out", str(out), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # a shell without job control starts background commands with SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        log = out / PROGRESS_FILE
        for _ in range(3000):  # until the first rows are durable (at most a minute)
            if log.exists() and log.stat().st_size > 0:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
    finally:
        _, err = process.communicate()
    assert process.returncode == 130, err
    saved = int(err.split("interrupted: ")[1].split(" runs are saved")[0])
    # A batch whose rows were being written as Ctrl-C came may be logged twice: count cells.
    logged = {
        line[: line.index(b',"outcome"')]
        for line in (out / PROGRESS_FILE).read_bytes().splitlines()
    }
    assert saved == len(logged) > 0
    assert "Traceback" not in err
