"""Sweep statistics, summaries, comparisons, plots and the report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from playbill.sweeps import (
    MANIFEST_FILE,
    PLOTS,
    REPORT_MD,
    SUMMARY_CSV,
    PlotsUnavailableError,
    Row,
    SweepFileError,
    compare,
    load_setup,
    summarise,
    write_outputs,
)
from playbill.sweeps._rows import replace_file, write_rows
from playbill.sweeps._stats import difference_interval, estimate, label_seed


def _rows(strategy: str, profile: str, successes: int, runs: int, cost: float) -> list[Row]:
    return [
        Row(
            seed=seed,
            strategy=strategy,
            profile=profile,
            outcome="completed" if seed < successes else "failed",
            makespan_s=600.0 + 10 * seed,
            tokens=1000 + seed,
            cost_usd=cost + 0.001 * (seed % 7),
        )
        for seed in range(runs)
    ]


def _sweep_dir(path: Path, rows: list[Row], faults: str = "") -> Path:
    path.mkdir()
    manifest = load_setup().manifest()
    manifest = msgspec.structs.replace(manifest, faults=faults)
    replace_file(path / MANIFEST_FILE, msgspec.json.encode(manifest))
    write_rows(path, rows)
    return path


def test_an_estimate_is_seeded_and_its_interval_holds_the_mean() -> None:
    values = [float(v % 13) for v in range(200)]
    first = estimate(values, seed=5)
    assert first == estimate(values, seed=5)
    assert first.n == 200 and first.mean == sum(values) / 200 and first.median == 6.0
    assert first.low is not None and first.high is not None
    assert first.low < first.mean < first.high
    assert estimate(values, seed=6) != first  # another seed, other resamples


def test_degenerate_estimates() -> None:
    assert estimate([], seed=1).n == 0 and estimate([], seed=1).mean is None
    constant = estimate([2.0, 2.0, 2.0], seed=1)
    assert (constant.low, constant.mean, constant.high) == (2.0, 2.0, 2.0)


def test_a_difference_interval_excludes_zero_only_for_a_real_difference() -> None:
    a = [float(v % 10) for v in range(300)]
    shifted = [v + 3.0 for v in a]
    low, high = difference_interval(a, shifted, seed=1) or (0.0, 0.0)
    assert 2.0 < low < 3.0 < high < 4.0
    low, high = difference_interval(a, list(reversed(a)), seed=1) or (1.0, 1.0)
    assert low < 0.0 < high
    assert difference_interval([], a, seed=1) is None


def test_label_seeds_are_stable_across_processes() -> None:
    code = "from playbill.sweeps._stats import label_seed; print(label_seed('p', 'd', 'cost'))"
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    assert int(other.stdout) == label_seed("p", "d", "cost")
    assert label_seed("a", "b") != label_seed("ab") != label_seed("a", "c")


def test_the_summary_groups_by_strategy_and_profile() -> None:
    rows = _rows("pipeline", "default", 3, 10, 0.5) + _rows("parallel", "default", 0, 4, 0.2)
    parallel, pipeline = summarise(rows)
    assert (pipeline.strategy, pipeline.runs) == ("pipeline", 10)
    assert pipeline.success_rate.mean == pytest.approx(0.3)
    assert pipeline.outcomes == {"completed": 3, "failed": 7}
    assert pipeline.makespan_s.n == 3  # completed runs only
    assert pipeline.makespan_s.mean == pytest.approx(610.0)
    assert pipeline.cost_usd.n == 10
    assert parallel.makespan_s.n == 0 and parallel.makespan_s.mean is None


def test_compare_says_what_differs_significantly(tmp_path: Path) -> None:
    a = _sweep_dir(tmp_path / "a", _rows("pipeline", "default", 20, 200, 0.5))
    b = _sweep_dir(
        tmp_path / "b",
        _rows("pipeline", "default", 180, 200, 0.5) + _rows("parallel", "default", 1, 5, 1.0),
        faults="crash=0.1",
    )
    comparison = compare(a, b)
    by_metric = {d.metric: d for d in comparison.differences}
    assert set(by_metric) == {"success_rate", "makespan_s", "cost_usd", "tokens"}
    success = by_metric["success_rate"]
    assert success.difference == pytest.approx(0.8)
    assert success.significant and success.low is not None and success.low > 0
    assert not by_metric["cost_usd"].significant  # the same costs
    assert by_metric["cost_usd"].low is not None and by_metric["cost_usd"].low <= 0
    assert comparison.only_b == (("parallel", "default"),)
    assert comparison.setup_differences == ("faults",)
    assert compare(a, b) == comparison  # seeded: the same every time


def test_compare_needs_finished_sweeps(tmp_path: Path) -> None:
    with pytest.raises(SweepFileError, match="is it a finished sweep"):
        compare(tmp_path, tmp_path)


def test_the_report_ties_the_outputs_together(tmp_path: Path) -> None:
    rows = _rows("pipeline", "default", 3, 10, 0.5)
    out = _sweep_dir(tmp_path / "s", rows)
    outputs = write_outputs(out, rows, load_setup().manifest(), plots=False)
    assert outputs.plots == ()
    assert outputs.command == f"playbill sweep --strategies pipeline --seeds 0:10 --out {out}"
    report = (out / REPORT_MD).read_text()
    assert outputs.command in report
    assert "| pipeline | default | 10 | 30.0% [" in report
    assert "playbill 0." in report and "![" not in report
    header = (out / SUMMARY_CSV).read_text().splitlines()[0].split(",")
    assert header[:3] == ["strategy", "profile", "runs"]
    assert "success_rate_low" in header and "tokens_median" in header


@pytest.mark.slow
def test_plots_are_pngs_linked_from_the_report(tmp_path: Path) -> None:
    rows = _rows("pipeline", "default", 3, 10, 0.5) + _rows("pipeline", "flaky", 0, 5, 0.4)
    out = _sweep_dir(tmp_path / "s", rows)
    outputs = write_outputs(out, rows, load_setup().manifest())
    assert outputs.plots == PLOTS
    for name in PLOTS:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"![{name}]({name})" in (out / REPORT_MD).read_text()


def test_without_matplotlib_plots_fail_in_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    rows = _rows("pipeline", "default", 1, 2, 0.5)
    out = _sweep_dir(tmp_path / "s", rows)
    with pytest.raises(PlotsUnavailableError, match="matplotlib") as caught:
        write_outputs(out, rows, load_setup().manifest())
    assert "\n" not in str(caught.value)
    assert not (out / REPORT_MD).exists()
