"""Fixtures for the CLI tests: a journal path, a demo-filled journal, a click runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import invoke
from click.testing import CliRunner


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.db"


@pytest.fixture
def demo_journal(runner: CliRunner, journal_path: Path) -> Path:
    """A journal holding the demo run ``demo-0001``, written by ``playbill demo``."""
    result = invoke(runner, journal_path, "demo", "--scripted")
    assert result.exit_code == 0, result.output
    return journal_path
