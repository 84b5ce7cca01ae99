"""Optional test dependencies, and the markers that heavy tests carry.

Packages of the ``test`` extra that a developer may lack (psycopg for the
PostgreSQL journal, ray for Ray sweeps) are imported with ``need``: where one
is missing its tests skip and the rest of the suite still collects and runs;
under CI (``CI`` set, or ``PLAYBILL_REQUIRE_TEST_DEPS=1``, which ``.ci/run``
sets) they fail instead, so a broken install never passes as a row of skips.

``mark_heavy`` gives the heavy tests their markers (see ``pyproject.toml`` and
docs/testing.md): a test that uses the ``pg_server`` fixture is ``postgres``,
and every ``postgres``, ``ray`` or ``agent_clis`` test is ``slow`` too, so
``pytest -m "not slow"`` leaves them all out.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable
from types import ModuleType

import pytest

REQUIRE_ENV = "PLAYBILL_REQUIRE_TEST_DEPS"
"""Set to 1 to fail, not skip, the tests of a missing optional package (CI does)."""

HEAVY_MARKERS = ("postgres", "ray", "agent_clis", "browser")
"""Markers of tests that need a service or a program beyond Python: each implies ``slow``."""


def required() -> bool:
    """Whether a missing optional package fails its tests (under CI) instead of skipping them."""
    return bool(os.environ.get("CI")) or os.environ.get(REQUIRE_ENV) == "1"


def need(module: str) -> ModuleType:
    """Import ``module`` for a test; skip (fail under CI) where it is not installed.

    Called at a test module's top level it skips the whole module; in a
    fixture or a test, that test.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        why = f"{module} is not installed (pip install -e '.[test]'): {exc}"
        if required():
            pytest.fail(f"{why} ({REQUIRE_ENV}=1 or CI: required)", pytrace=False)
        pytest.skip(why, allow_module_level=True)


def mark_heavy(items: Iterable[pytest.Item]) -> None:
    """Mark ``postgres`` the tests that use the PostgreSQL server, and ``slow`` every heavy one."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if any(item.get_closest_marker(name) for name in HEAVY_MARKERS) and not (
            item.get_closest_marker("slow")
        ):
            item.add_marker(pytest.mark.slow)
