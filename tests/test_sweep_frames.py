"""A sweep's rows as Parquet (where pyarrow is installed) and as a pandas DataFrame."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from needs import need
from playbill._extras import MissingExtraError
from playbill.sweeps import ROW_FIELDS, ROWS_JSONL, ROWS_PARQUET, load_setup, load_sweep, run_sweep

pandas = need("pandas")
parquet = need("pyarrow.parquet")


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sweep")
    run_sweep(load_setup(), out, strategies=["pipeline", "competitive"], seeds=range(3))
    return out


def test_rows_are_written_as_parquet_too(sweep_dir: Path) -> None:
    table = parquet.read_table(sweep_dir / ROWS_PARQUET)
    assert table.column_names == list(ROW_FIELDS)
    assert str(table.schema.field("tokens").type) == "int64"
    assert table.num_rows == 12
    assert table.column("seed").to_pylist() == [0] * 4 + [1] * 4 + [2] * 4


def test_parquet_rows_are_reproducible(sweep_dir: Path, tmp_path: Path) -> None:
    run_sweep(load_setup(), tmp_path, strategies=["pipeline", "competitive"], seeds=range(3))
    assert (tmp_path / ROWS_PARQUET).read_bytes() == (sweep_dir / ROWS_PARQUET).read_bytes()
    assert (tmp_path / ROWS_JSONL).read_bytes() == (sweep_dir / ROWS_JSONL).read_bytes()


def test_without_pyarrow_a_stale_parquet_file_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_sweep(load_setup(), tmp_path, strategies=["pipeline"], seeds=[0])
    assert (tmp_path / ROWS_PARQUET).exists()
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setattr("playbill.sweeps._rows.available", lambda module: False)
    run_sweep(load_setup(), tmp_path, strategies=["pipeline"], seeds=[0, 1])
    assert not (tmp_path / ROWS_PARQUET).exists()
    assert len((tmp_path / ROWS_JSONL).read_bytes().splitlines()) == 4


def test_load_sweep_gives_a_typed_data_frame(sweep_dir: Path) -> None:
    frame = load_sweep(sweep_dir)
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == list(ROW_FIELDS)
    assert len(frame) == 12
    assert str(frame["tokens"].dtype) == "int64" and str(frame["cost_usd"].dtype) == "float64"
    assert sorted(set(frame["strategy"])) == ["competitive", "pipeline"]
    pipeline = frame[frame["strategy"] == "pipeline"]
    assert pipeline["arbitration_margin"].isna().all()  # nothing arbitrated


def test_without_pandas_load_sweep_names_the_extra(
    sweep_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingExtraError) as caught:
        load_sweep(sweep_dir)
    assert str(caught.value) == (
        "load_sweep needs pandas, which is not installed: pip install 'playbill[dataframe]'"
    )
