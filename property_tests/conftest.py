"""Hypothesis profiles, chosen by the ``HYPOTHESIS_PROFILE`` environment variable.

* ``ci`` (default): fast enough for every run of the suite.
* ``dev``: a little more, for local work.
* ``thorough``: long runs, for before a release or after touching the kernel.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

HERE = Path(__file__).resolve().parent

# The property tests share the tests' helpers (``factories``, ``pg_server``, ``needs``).
if str(HERE.parent / "tests") not in sys.path:
    sys.path.insert(0, str(HERE.parent / "tests"))

from isolation import worktrees_in_tmp  # noqa: E402, F401 (the fixture, registered here)
from needs import mark_heavy  # noqa: E402 (importable once tests/ is on the path)

settings.register_profile(
    "ci",
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_heavy(item for item in items if item.path.is_relative_to(HERE))


def pytest_configure(config: pytest.Config) -> None:
    # Strategies for the whole message catalogue have reprs of tens of kB;
    # hypothesis prints them in its reports and warns about their size, which
    # ``filterwarnings = ["error"]`` would turn into a test failure.
    config.addinivalue_line(
        "filterwarnings", "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"
    )
