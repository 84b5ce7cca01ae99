"""Sweeps of strategies of one's own: their cells, and what their manifests say of them."""

from __future__ import annotations

import pickle
from pathlib import Path

import attrs
import msgspec
import pytest

from custom_strategy import NeverReviews, TestsFirst
from playbill.runtime import STRATEGIES
from playbill.simulation import simulate
from playbill.sweeps import (
    MANIFEST_FILE,
    ROWS_CSV,
    ROWS_JSONL,
    Manifest,
    SweepMismatchError,
    SweepSetup,
    UnknownStrategyError,
    load_setup,
    run_cell,
    run_sweep,
)
from playbill.sweeps._cells import Cell, row_of

SEEDS = range(3)
OWN = {**STRATEGIES, "tests_first": TestsFirst()}


def one_profile(setup: SweepSetup) -> SweepSetup:
    """The setup, sweeping only its first profile (fewer runs)."""
    return attrs.evolve(setup, profiles=setup.profiles[:1])


def test_a_setup_knows_the_builtins_by_default() -> None:
    assert dict(load_setup().strategies) == dict(STRATEGIES)
    assert load_setup().manifest().strategies == {}


def test_a_cell_of_a_custom_strategy_simulates_it() -> None:
    setup = load_setup(strategies=OWN)
    rows = [run_cell(setup, Cell(seed, "tests_first", "default")) for seed in SEEDS]
    for row in rows:
        # The row is that of simulating the strategy itself, not of a stand-in.
        run = simulate(row.seed, strategy="tests_first", strategies=OWN)
        assert row == row_of(row.cell, run.outcome, run.virtual_s, run.state)
        assert row.outcome in ("completed", "failed", "waiting")
    pipeline = [run_cell(setup, Cell(seed, "pipeline", "default")) for seed in SEEDS]
    assert [(r.attempts, r.cost_usd) for r in rows] != [(r.attempts, r.cost_usd) for r in pipeline]
    # Without it, the name means nothing: the policy fails the run.
    unknown = run_cell(load_setup(), Cell(0, "tests_first", "default"))
    assert unknown.outcome == "failed"


def test_the_manifest_names_each_strategy_of_ones_own_with_its_class() -> None:
    manifest = load_setup(strategies={**OWN, "pipeline": NeverReviews()}).manifest()
    assert manifest.strategies == {
        "pipeline": "custom_strategy.NeverReviews",
        "tests_first": "custom_strategy.TestsFirst",
    }
    assert manifest.strategy_class("tests_first") == "custom_strategy.TestsFirst"
    assert manifest.strategy_class("parallel") == "builtin"
    assert manifest.strategy_class("unheard_of") is None


def test_another_class_under_a_name_is_a_difference() -> None:
    builtin = load_setup().manifest()
    own = load_setup(strategies=OWN).manifest()
    other = load_setup(strategies={"tests_first": NeverReviews()}).manifest()
    overridden = load_setup(strategies={**STRATEGIES, "pipeline": NeverReviews()}).manifest()
    assert own.differences(other) == other.differences(own) == ["strategy tests_first"]
    assert own.differences(own) == []
    # A strategy only one side names extends the sweep, unless it is a built-in's name.
    assert builtin.differences(own) == own.differences(builtin) == []
    assert builtin.differences(overridden) == ["strategy pipeline"]
    merged = builtin.merged(own)
    assert merged.strategies == own.strategies
    assert merged.differences(other) == ["strategy tests_first"]


def test_a_builtin_name_given_another_object_is_refused(tmp_path: Path) -> None:
    run_sweep(one_profile(load_setup()), tmp_path, strategies=["pipeline"], seeds=range(1))
    mine = one_profile(load_setup(strategies={**STRATEGIES, "pipeline": NeverReviews()}))
    with pytest.raises(SweepMismatchError) as caught:
        run_sweep(mine, tmp_path, strategies=["pipeline"], seeds=range(1))
    assert caught.value.fields == ("strategy pipeline",)


def test_a_manifest_without_strategies_still_reads() -> None:
    manifest = load_setup().manifest()
    encoded = msgspec.json.decode(msgspec.json.encode(manifest))
    del encoded["strategies"]
    old = msgspec.json.decode(msgspec.json.encode(encoded), type=Manifest)
    assert old == manifest
    assert old.differences(load_setup(strategies=OWN).manifest()) == []


def test_a_setup_with_a_strategy_from_a_module_pickles_for_the_workers() -> None:
    setup = load_setup(strategies=OWN)
    copy = pickle.loads(pickle.dumps(setup))
    assert type(copy.strategies["tests_first"]) is TestsFirst
    assert copy.manifest().strategies == setup.manifest().strategies


def jsonl_lines(directory: Path) -> list[bytes]:
    return (directory / ROWS_JSONL).read_bytes().splitlines()


def test_a_custom_strategy_sweeps_in_process(tmp_path: Path) -> None:
    setup = one_profile(load_setup(strategies=OWN))
    result = run_sweep(setup, tmp_path, strategies=["pipeline", "tests_first"], seeds=SEEDS)
    own = [row for row in result.rows if row.strategy == "tests_first"]
    assert [row.seed for row in own] == list(SEEDS)
    for row in own:
        assert row == run_cell(setup, row.cell)
    assert result.manifest.strategies == {"tests_first": "custom_strategy.TestsFirst"}
    on_disk = msgspec.json.decode((tmp_path / MANIFEST_FILE).read_bytes(), type=Manifest)
    assert on_disk == result.manifest


def test_builtin_rows_are_those_of_a_sweep_without_the_custom_strategy(tmp_path: Path) -> None:
    names = ["pipeline", "parallel"]
    run_sweep(one_profile(load_setup()), tmp_path / "plain", strategies=names, seeds=SEEDS)
    mixed = one_profile(load_setup(strategies=OWN))
    run_sweep(mixed, tmp_path / "mixed", strategies=[*names, "tests_first"], seeds=SEEDS)
    builtin = [line for line in jsonl_lines(tmp_path / "mixed") if b'"tests_first"' not in line]
    assert builtin == jsonl_lines(tmp_path / "plain")
    mixed_csv = (tmp_path / "mixed" / ROWS_CSV).read_bytes().splitlines()
    plain_csv = (tmp_path / "plain" / ROWS_CSV).read_bytes().splitlines()
    assert [line for line in mixed_csv if b",tests_first," not in line] == plain_csv


def test_worker_processes_give_the_rows_of_one_process(tmp_path: Path) -> None:
    setup = one_profile(load_setup(strategies=OWN))
    names = ["pipeline", "tests_first"]
    here = run_sweep(setup, tmp_path / "here", strategies=names, seeds=SEEDS, workers=1)
    there = run_sweep(setup, tmp_path / "there", strategies=names, seeds=SEEDS, workers=2)
    assert there.rows == here.rows
    assert jsonl_lines(tmp_path / "there") == jsonl_lines(tmp_path / "here")


def test_a_name_the_setup_does_not_know_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnknownStrategyError):
        run_sweep(load_setup(), tmp_path, strategies=["tests_first"], seeds=SEEDS)
    alone = load_setup(strategies={"tests_first": TestsFirst()})
    with pytest.raises(UnknownStrategyError) as caught:
        run_sweep(alone, tmp_path, strategies=["pipeline"], seeds=SEEDS)
    assert caught.value.known == ("tests_first",)
    assert not (tmp_path / MANIFEST_FILE).exists()


def test_another_class_under_a_swept_name_is_refused(tmp_path: Path) -> None:
    setup = one_profile(load_setup(strategies=OWN))
    run_sweep(setup, tmp_path, strategies=["tests_first"], seeds=range(1))
    other = attrs.evolve(setup, strategies={**STRATEGIES, "tests_first": NeverReviews()})
    with pytest.raises(SweepMismatchError) as caught:
        run_sweep(other, tmp_path, strategies=["tests_first"], seeds=range(1))
    assert caught.value.fields == ("strategy tests_first",)
    # The same class again resumes: nothing is simulated twice.
    again = run_sweep(setup, tmp_path, strategies=["tests_first"], seeds=range(2))
    assert (again.ran, again.reused) == (1, 1)


def test_extending_a_sweep_with_a_strategy_records_it(tmp_path: Path) -> None:
    run_sweep(one_profile(load_setup()), tmp_path, strategies=["pipeline"], seeds=range(1))
    setup = one_profile(load_setup(strategies=OWN))
    result = run_sweep(setup, tmp_path, strategies=["pipeline", "tests_first"], seeds=range(1))
    assert (result.ran, result.reused) == (1, 1)
    on_disk = msgspec.json.decode((tmp_path / MANIFEST_FILE).read_bytes(), type=Manifest)
    assert on_disk.strategies == {"tests_first": "custom_strategy.TestsFirst"}
    # Now the directory knows which tests_first its rows are of.
    other = attrs.evolve(setup, strategies={"tests_first": NeverReviews()})
    with pytest.raises(SweepMismatchError):
        run_sweep(other, tmp_path, strategies=["tests_first"], seeds=range(1))
