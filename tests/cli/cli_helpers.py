"""Helpers for the CLI tests: invoke the CLI, read a journal back, check errors."""

from __future__ import annotations

from pathlib import Path

import trio
from click.testing import CliRunner, Result

from playbill.cli import cli
from playbill.runtime import RunState, SqliteJournal
from playbill.runtime.journal._store import RunInfo
from playbill.runtime.model._entry import Entry

DEMO_RUN = "demo-0001"
DEMO_LAST_SEQ = 147
"""Entries of the scripted demo run (``playbill demo --scripted``)."""


def invoke(runner: CliRunner, journal: Path, *args: str) -> Result:
    """Run ``playbill --journal JOURNAL ARGS...`` in-process."""
    return runner.invoke(cli, ["--journal", str(journal), *args])


def read_entries(path: Path, run_id: str = DEMO_RUN) -> list[Entry]:
    """Every entry of a run, read back through the journal (from sync tests)."""

    async def read() -> list[Entry]:
        with SqliteJournal(path, create=False) as journal:
            return await journal.read(run_id)

    return trio.run(read)


def list_runs(path: Path) -> list[RunInfo]:
    """The runs of a journal file (from sync tests)."""

    async def runs() -> list[RunInfo]:
        with SqliteJournal(path, create=False) as journal:
            return await journal.list_runs()

    return trio.run(runs)


def run_state(path: Path, run_id: str) -> RunState:
    """A run's state, folded from a journal file (from sync tests)."""

    async def read() -> RunState:
        with SqliteJournal(path, create=False) as journal:
            return await journal.state_at(run_id)

    return trio.run(read)


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """Exit status 2, one ``playbill: error:`` line on stderr naming every fragment."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("playbill: error: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line
