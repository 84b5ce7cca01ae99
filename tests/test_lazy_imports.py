"""Importing playbill is quick: the heavy libraries load when first used.

``import playbill``, the other tiers (``import playbill.lowlevel``, ``import
playbill.testing``) and ``import playbill.runtime`` load no HTTP client, git
library, plotting library, test framework, database driver or Ray; neither
does ``playbill --help``, whose commands load when they run. Each check runs
in a fresh interpreter, where nothing was imported before.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from types import ModuleType

import click
import pytest

import playbill
import playbill.lowlevel
import playbill.testing
from playbill._lazy import type_checking_imports
from playbill.cli import cli

TIERS = [playbill, playbill.lowlevel, playbill.testing]
"""The three tiers of the public API."""

HEAVY = frozenset(
    {
        "httpx",
        "git",
        "matplotlib",
        "pytest",
        "_pytest",
        "psycopg",
        "ray",
        "hypothesis",
        "opentelemetry",
    }
)
"""Top-level packages that nothing loads before it needs them."""


def loaded_after(code: str, packages: frozenset[str] = HEAVY) -> list[str]:
    """The modules of ``packages`` loaded once ``code`` has run in a fresh interpreter."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"wanted = {sorted(packages)!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in wanted)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_the_probe_sees_what_is_imported() -> None:
    """The probe really sees imports (a check that cannot fail proves nothing)."""
    assert "httpx" in loaded_after("import httpx")
    # git loads with the first repository opened, not before
    code = "from playbill.workspaces._git import open_repo"
    assert "git" not in loaded_after(code)
    assert "git" in loaded_after(
        f"import contextlib\n{code}\nwith contextlib.suppress(Exception): open_repo('/')"
    )


@pytest.mark.parametrize(
    "code",
    [
        "import playbill",
        "import playbill.lowlevel",
        "import playbill.testing",
        "import playbill.runtime",
    ],
)
def test_importing_playbill_loads_no_heavy_library(code: str) -> None:
    assert loaded_after(code) == []


def test_reading_a_name_of_the_kernel_loads_no_heavy_library() -> None:
    assert loaded_after("import playbill; playbill.Entry; playbill.open_journal") == []


def test_the_testing_tools_load_no_test_framework() -> None:
    """The fault store and the invariant checker run outside pytest too."""
    code = (
        "import playbill.testing as t\n"
        "t.FaultyStore; t.JournalChecker; t.VirtualClock; t.parse_faults('journal_fail=@3')"
    )
    assert loaded_after(code) == []


def test_a_simulation_loads_no_http_client_or_git_library() -> None:
    code = "import playbill; playbill.simulate(1)"
    assert loaded_after(code, frozenset({"httpx", "git", "matplotlib", "psycopg", "ray"})) == []


def test_help_loads_neither_the_commands_nor_the_kernel() -> None:
    code = (
        "import contextlib, io\n"
        "from playbill.cli import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    cli(['--help'], prog_name='playbill')"
    )
    mine = frozenset(
        {
            "playbill._run",
            "playbill.actors",
            "playbill.backends",
            "playbill.plans",
            "playbill.runtime",
            "playbill.simulation",
            "playbill.sweeps",
        }
    )
    loaded = loaded_after(code, HEAVY | {"trio", "playbill"})
    assert [m for m in loaded if m in mine or m.split(".")[0] in HEAVY | {"trio"}] == []
    assert "playbill.cli._app" in loaded  # the probe saw the CLI itself


@pytest.mark.parametrize(
    ("tier", "name"), [(tier, name) for tier in TIERS for name in tier.__all__]
)
def test_every_exported_name_resolves(tier: object, name: str) -> None:
    assert getattr(tier, name) is not None
    assert name in dir(tier)


@pytest.mark.parametrize("tier", TIERS, ids=lambda tier: tier.__name__)
def test_type_checkers_see_every_lazy_name_where_it_is_loaded_from(tier: ModuleType) -> None:
    """mypy reads the TYPE_CHECKING imports; at run time the same names load from there."""
    source = tier.__loader__.get_source(tier.__name__)
    assert source is not None
    homes = type_checking_imports(source)
    eager = {"__version__"}  # imported at once: it is a string
    assert set(homes) == set(tier.__all__) - eager
    for name, (home, original) in homes.items():
        value = getattr(tier, name)
        assert getattr(importlib.import_module(home, "playbill"), original) is value, name


@pytest.mark.parametrize("name", sorted(cli.lazy_commands))  # type: ignore[attr-defined]
def test_the_help_shows_each_command_by_its_own_summary(name: str) -> None:
    summary = cli.lazy_commands[name].summary  # type: ignore[attr-defined]
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert command.name == name
    for limit in (30, 45, 80, 10_000):
        assert click.Command(name, help=summary).get_short_help_str(limit) == (
            command.get_short_help_str(limit)
        )


def test_a_package_finds_its_names_in_its_type_checking_imports() -> None:
    source = (
        "import typing as _typing\n"
        "from .eager import now\n"
        "if _typing.TYPE_CHECKING:\n"
        "    from ._run import Run, open_run\n"
        "    from .backends import claude_code as preset\n"
        "if TYPE_CHECKING:\n"
        "    from playbill.runtime import Entry\n"
    )
    assert type_checking_imports(source) == {
        "Run": ("._run", "Run"),
        "open_run": ("._run", "open_run"),
        "preset": (".backends", "claude_code"),
        "Entry": ("playbill.runtime", "Entry"),
    }
