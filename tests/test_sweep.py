"""Sweeps: seeds, setups and profile axes, rows, resuming, manifests and errors."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from playbill.plans import PlanError
from playbill.runtime import STRATEGIES, InputError, PlaybillError, StepSpec, parse_faults
from playbill.runtime.model._state import AttemptState, RunState, StepState
from playbill.simulation import BUILTIN_PROFILES, default_plan
from playbill.simulation._profile_file import ProfileError
from playbill.sweeps import (
    EXAMPLE_PROFILES,
    PROGRESS_FILE,
    ROW_FIELDS,
    ROWS_CSV,
    ROWS_JSONL,
    Cell,
    Row,
    SeedsError,
    SweepBusyError,
    SweepFileError,
    SweepMismatchError,
    UnknownStrategyError,
    format_seeds,
    load_setup,
    parse_seeds,
    read_rows,
    run_cell,
    run_sweep,
)
from playbill.sweeps._cells import reassignments
from playbill.sweeps._rows import locked

PROFILES = """
[agents]
reviewer = "slow"

[profiles.steady]
extends = "reliable"

[profiles.shaky]
extends = "flaky"
"""


@pytest.mark.parametrize(
    ("spec", "seeds"),
    [
        ("0:3", (0, 1, 2)),
        ("7", (7,)),
        (" 5:7 , 1 ", (1, 5, 6)),
        ("0:2,1:3", (0, 1, 2)),
    ],
)
def test_seeds_are_ranges_and_single_seeds(spec: str, seeds: tuple[int, ...]) -> None:
    assert parse_seeds(spec) == seeds
    assert parse_seeds(format_seeds(seeds)) == seeds


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("", "expected seeds"),
        ("3:1", "empty"),
        ("4:4", "empty"),
        ("a:3", "not a seed"),
        ("-1:3", "not a seed"),
        ("0:1.5", "not a seed"),
        ("0:2000000", "more than 1,000,000 seeds"),
    ],
)
def test_bad_seeds_are_input_errors_that_say_why(spec: str, says: str) -> None:
    with pytest.raises(SeedsError, match=says) as caught:
        parse_seeds(spec)
    assert isinstance(caught.value, InputError)
    assert caught.value.spec == spec
    assert "\n" not in str(caught.value)


def test_format_seeds_writes_ranges() -> None:
    assert format_seeds([3, 0, 1, 2, 9, 11, 10]) == "0:4,9:12"


def test_without_files_the_example_profiles_are_swept_on_the_default_plan() -> None:
    setup = load_setup()
    assert setup.profile_names == EXAMPLE_PROFILES
    assert setup.plan == default_plan()
    for name in EXAMPLE_PROFILES:
        assert setup.cell_profiles(name).profile_for("executor-1") == BUILTIN_PROFILES[name]


def test_a_profile_file_sweeps_its_own_profiles_and_keeps_pinned_agents(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(PROFILES)
    setup = load_setup(profiles=path)
    assert setup.profile_names == ("steady", "shaky")
    shaky = setup.cell_profiles("shaky")
    assert shaky.profile_for("executor-1") == BUILTIN_PROFILES["flaky"]
    assert shaky.profile_for("reviewer") == BUILTIN_PROFILES["slow"]  # pinned by [agents]
    assert setup.cell_profiles("steady").profile_for("executor-2") == BUILTIN_PROFILES["reliable"]


def test_a_profile_file_without_profiles_sweeps_its_default(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text('default = "perfect"\n')
    assert load_setup(profiles=path).profile_names == ("perfect",)


def test_unreadable_or_invalid_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_setup(profiles=tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[profiles.x]\nslow_factor = -1\n")
    with pytest.raises(ProfileError, match="slow_factor"):
        load_setup(profiles=bad)
    with pytest.raises(PlanError, match="cannot read the plan"):
        load_setup(plan=tmp_path / "missing.toml")


def test_a_cell_gives_the_same_row_every_time() -> None:
    setup = load_setup()
    cell = Cell(3, "pipeline", "default")
    row = run_cell(setup, cell)
    assert row == run_cell(setup, cell)
    assert row.cell == cell
    assert row.outcome in ("completed", "failed", "waiting", "running")
    assert row.tokens > 0 and row.cost_usd > 0 and row.attempts >= 10
    assert row.arbitration_margin is None  # the pipeline never arbitrates


def test_a_sweep_writes_one_sorted_row_per_cell(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    result = run_sweep(
        load_setup(),
        tmp_path,
        strategies=["pipeline"],
        seeds=[2, 0],
        progress=lambda done, total: seen.append((done, total)),
    )
    cells = [row.cell for row in result.rows]
    assert cells == sorted(Cell(s, "pipeline", p) for s in (0, 2) for p in EXAMPLE_PROFILES)
    assert (result.ran, result.reused) == (4, 0)
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    assert read_rows(tmp_path) == list(result.rows)
    csv_lines = (tmp_path / ROWS_CSV).read_text().splitlines()
    assert csv_lines[0].split(",") == list(ROW_FIELDS)
    assert [line.split(",")[:3] for line in csv_lines[1:]] == [
        [str(c.seed), c.strategy, c.profile] for c in cells
    ]
    # Every row is exactly the row of its cell.
    setup = load_setup()
    assert all(row == run_cell(setup, row.cell) for row in result.rows[:2])


def test_a_resumed_sweep_skips_finished_cells_and_redoes_a_torn_line(tmp_path: Path) -> None:
    setup = load_setup()
    whole = run_sweep(setup, tmp_path / "whole", strategies=["pipeline"], seeds=[0, 1, 2])
    part = tmp_path / "part"
    run_sweep(setup, part, strategies=["pipeline"], seeds=[0, 1])
    log = part / PROGRESS_FILE
    with log.open("ab") as f:
        f.write(msgspec.json.encode(whole.rows[-1])[:25])  # a kill mid-write
    resumed = run_sweep(setup, part, strategies=["pipeline"], seeds=[0, 1, 2])
    assert (resumed.ran, resumed.reused) == (2, 4)
    assert resumed.rows == whole.rows
    assert (part / ROWS_JSONL).read_bytes() == (tmp_path / "whole" / ROWS_JSONL).read_bytes()
    decoder = msgspec.json.Decoder(Row)
    assert len([decoder.decode(line) for line in log.read_bytes().splitlines()]) == 6


def test_a_corrupt_line_before_the_last_is_an_error(tmp_path: Path) -> None:
    setup = load_setup()
    run_sweep(setup, tmp_path, strategies=["pipeline"], seeds=[0])
    log = tmp_path / PROGRESS_FILE
    log.write_bytes(b"{not json}\n" + log.read_bytes())
    with pytest.raises(SweepFileError, match="line 1 is corrupt") as caught:
        run_sweep(setup, tmp_path, strategies=["pipeline"], seeds=[0])
    assert caught.value.path == str(log)


def test_a_directory_never_mixes_rows_of_different_sweeps(tmp_path: Path) -> None:
    run_sweep(load_setup(), tmp_path, strategies=["pipeline"], seeds=[0])
    other = load_setup(faults=parse_faults("crash=0.1"))
    with pytest.raises(SweepMismatchError) as caught:
        run_sweep(other, tmp_path, strategies=["pipeline"], seeds=[0])
    assert caught.value.fields == ("faults",)
    profiles = tmp_path / "p.toml"
    profiles.write_text(PROFILES)
    with pytest.raises(SweepMismatchError, match="profiles differ"):
        run_sweep(load_setup(profiles=profiles), tmp_path, strategies=["pipeline"], seeds=[0])
    # More seeds of the same sweep are welcome.
    more = run_sweep(load_setup(), tmp_path, strategies=["pipeline"], seeds=[0, 1])
    assert (more.ran, more.reused) == (2, 2)


def test_rows_without_a_manifest_are_refused(tmp_path: Path) -> None:
    (tmp_path / PROGRESS_FILE).write_text("")
    with pytest.raises(SweepFileError, match="missing, but the directory holds rows"):
        run_sweep(load_setup(), tmp_path, strategies=["pipeline"], seeds=[0])


def test_unknown_strategies_are_refused_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownStrategyError) as caught:
        run_sweep(load_setup(), tmp_path, strategies=["pipeline", "mob"], seeds=[0])
    assert caught.value.name == "mob"
    assert caught.value.known == tuple(sorted(STRATEGIES))
    assert "known: " in str(caught.value) and "pipeline" in str(caught.value)
    assert not (tmp_path / PROGRESS_FILE).exists()


def test_one_sweep_writes_a_directory_at_a_time(tmp_path: Path) -> None:
    with locked(tmp_path), pytest.raises(SweepBusyError):
        run_sweep(load_setup(), tmp_path, strategies=["pipeline"], seeds=[0])


def test_errors_are_playbill_errors() -> None:
    for error in (SeedsError, UnknownStrategyError, SweepMismatchError, SweepFileError):
        assert issubclass(error, PlaybillError)


def _step(*attempts: AttemptState) -> StepState:
    return StepState(spec=StepSpec(id="s", goal="g"), attempts=attempts)


def test_reassignments_count_changes_of_agent_but_not_competitors() -> None:
    same = _step(AttemptState(number=1, agent="a"), AttemptState(number=2, agent="a"))
    moved = _step(
        AttemptState(number=1, agent="a"),
        AttemptState(number=2, agent="b"),
        AttemptState(number=3, agent="a"),
    )
    competing = _step(
        AttemptState(number=1, agent="a", competition=1),
        AttemptState(number=2, agent="b", competition=1),
    )
    assert reassignments(RunState(steps={"s": same})) == 0
    assert reassignments(RunState(steps={"s": moved})) == 2
    assert reassignments(RunState(steps={"s": competing})) == 0


@pytest.mark.skipif("competitive" not in STRATEGIES, reason="competitive is not registered")
def test_competitive_runs_have_an_arbitration_margin() -> None:
    setup = load_setup()
    rows = [run_cell(setup, Cell(seed, "competitive", "default")) for seed in range(3)]
    assert any(row.arbitration_margin is not None for row in rows)
