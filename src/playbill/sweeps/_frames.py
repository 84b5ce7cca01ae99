"""A finished sweep's rows as a pandas DataFrame (the ``dataframe`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from playbill._extras import require

from ._cells import ROW_FIELDS
from ._rows import read_rows

_DTYPES = {
    "seed": "int64",
    "makespan_s": "float64",
    "tokens": "int64",
    "cost_usd": "float64",
    "attempts": "int64",
    "retries": "int64",
    "reassignments": "int64",
    "budget_stops": "int64",
    "arbitration_margin": "float64",
}


def load_sweep(path: str | Path) -> Any:
    """The rows of a finished sweep directory as a ``pandas.DataFrame``.

    One line per run, sorted by seed, strategy and profile; the columns are
    ``ROW_FIELDS`` (``arbitration_margin`` is NaN where nothing was arbitrated).

    Raises:
        MissingExtraError: pandas is not installed (``pip install 'playbill[dataframe]'``).
        SweepFileError: ``path`` holds no finished sweep, or a corrupt one.
    """
    pandas: Any = require("pandas", "dataframe", "load_sweep")
    rows = read_rows(Path(path))
    records = [msgspec.structs.asdict(row) for row in rows]
    frame = pandas.DataFrame.from_records(records, columns=list(ROW_FIELDS))
    return frame.astype(_DTYPES)
