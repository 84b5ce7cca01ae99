"""Research sweeps: many seeded simulated runs, their statistics, plots and comparisons.

A sweep simulates one run per cell ``(seed, strategy, profile)`` in worker
processes, appends each row as it finishes (so an interrupted sweep
resumes), and writes sorted rows, a summary with confidence intervals
(Wilson for rates, seeded BCa bootstrap otherwise), its strategies compared
paired by seed (Holm-adjusted), plots and a report. ``compare`` says which
differences between two sweeps are significant; ``load_sweep`` reads a
sweep's rows into pandas. See docs/sweeps.md; ``playbill sweep`` is the command.

Builds on :mod:`playbill.simulation` (``simulate``) and :mod:`playbill.plans`.
"""

from __future__ import annotations

from ._cells import ROW_FIELDS, Cell, Row, run_cell
from ._compare import Comparison, Difference, compare, compare_strategies
from ._errors import (
    PlotsUnavailableError,
    SeedsError,
    SweepBusyError,
    SweepError,
    SweepFileError,
    SweepMismatchError,
    SweepWorkersError,
    UnknownStrategyError,
)
from ._frames import load_sweep
from ._plots import PLOTS
from ._ray import RayClusterError, RayUnavailableError
from ._report import COMPARISONS_CSV, REPORT_MD, Outputs, write_outputs
from ._rows import PROGRESS_FILE, ROWS_CSV, ROWS_JSONL, ROWS_PARQUET, read_rows
from ._runner import MANIFEST_FILE, SweepResult, check_strategies, run_sweep
from ._seeds import format_seeds, parse_seeds
from ._setup import EXAMPLE_PROFILES, MAX_VIRTUAL_S, CellProfiles, Manifest, SweepSetup, load_setup
from ._stats import LEVEL, RESAMPLES, Estimate
from ._summary import METRICS, SUMMARY_CSV, Summary, summarise

__all__ = [
    "COMPARISONS_CSV",
    "EXAMPLE_PROFILES",
    "LEVEL",
    "MANIFEST_FILE",
    "MAX_VIRTUAL_S",
    "METRICS",
    "PLOTS",
    "PROGRESS_FILE",
    "REPORT_MD",
    "RESAMPLES",
    "ROWS_CSV",
    "ROWS_JSONL",
    "ROWS_PARQUET",
    "ROW_FIELDS",
    "SUMMARY_CSV",
    "Cell",
    "CellProfiles",
    "Comparison",
    "Difference",
    "Estimate",
    "Manifest",
    "Outputs",
    "PlotsUnavailableError",
    "RayClusterError",
    "RayUnavailableError",
    "Row",
    "SeedsError",
    "Summary",
    "SweepBusyError",
    "SweepError",
    "SweepFileError",
    "SweepMismatchError",
    "SweepResult",
    "SweepSetup",
    "SweepWorkersError",
    "UnknownStrategyError",
    "check_strategies",
    "compare",
    "compare_strategies",
    "format_seeds",
    "load_setup",
    "load_sweep",
    "parse_seeds",
    "read_rows",
    "run_cell",
    "run_sweep",
    "summarise",
    "write_outputs",
]
