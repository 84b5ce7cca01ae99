"""Sweep statistics, summaries, comparisons, plots and the report."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from playbill.sweeps import (
    COMPARISONS_CSV,
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
from playbill.sweeps._plots import svg_name
from playbill.sweeps._rows import replace_file, write_rows
from playbill.sweeps._stats import BCA, WILSON, label_seed


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
    assert pipeline.success_rate.method == WILSON and pipeline.cost_usd.method == BCA
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
    assert (success.test, success.paired, success.pairs) == ("McNemar exact", True, 200)
    assert success.p is not None and success.p_holm is not None and success.p_holm >= success.p
    assert not by_metric["cost_usd"].significant  # the same costs
    assert by_metric["cost_usd"].p == 1.0 and by_metric["cost_usd"].test == "Wilcoxon signed-rank"
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
    assert "95% CI (Wilson)" in report and "BCa bootstrap, 10,000 resamples" in report
    assert "Wilson score" in (out / SUMMARY_CSV).read_text()


def test_strategies_of_a_sweep_are_compared_paired_by_seed(tmp_path: Path) -> None:
    rows = _rows("pipeline", "default", 3, 40, 0.5) + _rows("parallel", "default", 30, 40, 0.5)
    out = _sweep_dir(tmp_path / "s", rows)
    outputs = write_outputs(out, rows, load_setup().manifest(), plots=False)
    by_metric = {d.metric: d for d in outputs.comparisons}
    assert len(outputs.comparisons) == 4
    success = by_metric["success_rate"]
    assert (success.baseline, success.strategy, success.test) == (
        "parallel",
        "pipeline",
        "McNemar exact",
    )
    # seeds 3 to 29 succeed with parallel only: 27 discordant pairs, all one way
    assert success.p == pytest.approx(2 / 2**27)
    assert success.difference == pytest.approx(-27 / 40) and success.significant
    assert not by_metric["cost_usd"].significant  # the same cost, seed by seed
    assert by_metric["makespan_s"].pairs == 3  # both completed
    table = (out / COMPARISONS_CSV).read_text().splitlines()
    assert table[0].startswith("profile,baseline,strategy,metric,test,paired,pairs")
    assert table[1].startswith("default,parallel,pipeline,success_rate,McNemar exact,True,40")
    report = (out / REPORT_MD).read_text()
    assert "## Strategies compared" in report
    assert (
        "95 % CI: BCa bootstrap, 10,000 resamples, paired; Newcombe hybrid score, paired." in report
    )
    assert "| default | parallel | pipeline | success_rate | McNemar exact | 40 |" in report


def test_compare_tests_unpaired_when_the_sweeps_share_no_seed(tmp_path: Path) -> None:
    before = _rows("pipeline", "default", 10, 20, 0.5)
    after = [
        msgspec.structs.replace(row, seed=row.seed + 100, cost_usd=row.cost_usd + 1.0)
        for row in _rows("pipeline", "default", 10, 20, 0.5)
    ]
    comparison = compare(_sweep_dir(tmp_path / "a", before), _sweep_dir(tmp_path / "b", after))
    by_metric = {d.metric: d for d in comparison.differences}
    assert by_metric["success_rate"].test == "Fisher exact"
    assert by_metric["success_rate"].p == 1.0 and not by_metric["success_rate"].paired
    assert by_metric["success_rate"].interval == "Newcombe hybrid score"
    assert by_metric["cost_usd"].test == "Mann-Whitney U" and by_metric["cost_usd"].significant
    holm_ps = [d.p_holm for d in comparison.differences]
    assert all(p is not None for p in holm_ps)


def test_compare_pairs_shared_seeds_and_counts_the_others(tmp_path: Path) -> None:
    a = _sweep_dir(tmp_path / "a", _rows("pipeline", "default", 5, 30, 0.5))
    b = _sweep_dir(tmp_path / "b", _rows("pipeline", "default", 5, 20, 0.5))
    comparison = compare(a, b)
    success = comparison.differences[0]
    assert (success.paired, success.pairs, success.unshared) == (True, 20, 10)


@pytest.mark.slow
def test_plots_are_reproducible_pngs_and_svgs_linked_from_the_report(tmp_path: Path) -> None:
    rows = _rows("pipeline", "default", 3, 10, 0.5) + _rows("pipeline", "flaky", 0, 5, 0.4)
    rows += _rows("parallel", "default", 6, 10, 0.3)
    out = _sweep_dir(tmp_path / "s", rows)
    outputs = write_outputs(out, rows, load_setup().manifest())
    assert outputs.plots == PLOTS
    report = (out / REPORT_MD).read_text()
    drawn = {}
    for name in PLOTS:
        drawn[name] = (out / name).read_bytes()
        drawn[svg_name(name)] = (out / svg_name(name)).read_bytes()
        assert drawn[name][:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in drawn[svg_name(name)][:500]
        assert f"![{name}]({name})" in report and f"({svg_name(name)})" in report
    svg = drawn["success_rate.svg"].decode()
    assert "<dc:date>" not in svg  # no date: the same rows draw the same files
    assert "n=10" in svg or "n=10" in drawn["cost_vs_success.svg"].decode()
    write_outputs(out, rows, load_setup().manifest())
    for name, data in drawn.items():
        assert (out / name).read_bytes() == data, name


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
