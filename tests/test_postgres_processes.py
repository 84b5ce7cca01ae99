"""The PostgreSQL journal shared by real processes: leases, handoffs, a killed runner resumed."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from pg_server import PgServer, drop_schema
from playbill.runtime import (
    Entry,
    PostgresJournal,
    SqliteJournal,
    encode_entry,
    fold,
)
from playbill.runtime.model._messages import NoteWritten

pytestmark = pytest.mark.postgres

PLAYBILL = Path(sys.executable).with_name("playbill")

# A process that takes turns on one shared run: ROUNDS times it becomes the
# run's writer (waiting while another process holds it), appends a batch and
# lets go; its own run, meanwhile, gets a batch per round too.
TAKER = """
import sys, trio
from playbill.runtime import PostgresJournal, WriterConflictError
from playbill.runtime.model._entry import Draft
from playbill.runtime.model._messages import NoteWritten

url, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])

def notes(i):
    texts = [f"{name}/{i}/{k}" for k in range(3)]
    return [Draft(msg=NoteWritten(author=name, text=t), sender=name) for t in texts]

async def main():
    with PostgresJournal(url) as journal:
        for i in range(rounds):
            async with journal.writer(f"own-{name}") as own:
                await own.append(notes(i))
            while True:
                try:
                    async with journal.writer("shared") as w:
                        await w.append(notes(i))
                    break
                except WriterConflictError:
                    await trio.sleep(0.002)

trio.run(main)
"""


def read(url: str, run_id: str) -> list[Entry]:
    async def main() -> list[Entry]:
        with PostgresJournal(url, create=False) as journal:
            return await journal.read(run_id)

    return trio.run(main)


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    url = pg_server.new_schema()
    yield url
    drop_schema(url)


def test_processes_taking_turns_on_one_run_keep_its_seqs_dense(pg_url: str) -> None:
    PostgresJournal(pg_url).close()
    names, rounds = ["a", "b", "c", "d"], 6
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", TAKER, pg_url, name, str(rounds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    shared = read(pg_url, "shared")
    assert [e.seq for e in shared] == list(range(1, 3 * rounds * len(names) + 1))
    texts = [e.msg.text for e in shared if isinstance(e.msg, NoteWritten)]
    expected = {f"{n}/{i}/{k}" for n in names for i in range(rounds) for k in range(3)}
    assert sorted(texts) == sorted(expected)  # each batch once, none lost
    for batch in range(0, len(texts), 3):  # and each batch whole, in order
        assert [t.rsplit("/", 1)[1] for t in texts[batch : batch + 3]] == ["0", "1", "2"]
    for name in names:
        own = read(pg_url, f"own-{name}")
        assert [e.seq for e in own] == list(range(1, 3 * rounds + 1))


def test_runners_share_a_journal_and_a_killed_one_is_resumed_elsewhere(
    pg_url: str, tmp_path: Path
) -> None:
    def playbill(journal: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(PLAYBILL), "--journal", journal, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )

    done = playbill(pg_url, "migrate")
    assert done.communicate()[0].startswith("Migrated ")
    kill = ("--faults", "kill=@50")
    runners = {
        "k2": playbill(pg_url, "sim", "--seed", "2", "--run-id", "k2"),
        "k3": playbill(pg_url, "sim", "--seed", "3", "--run-id", "k3", *kill),
        "k4": playbill(pg_url, "sim", "--seed", "4", "--run-id", "k4"),
    }
    codes = {}
    for run_id, proc in runners.items():
        _, err = proc.communicate(timeout=120)
        codes[run_id] = proc.returncode
        assert proc.returncode in (0, -signal.SIGKILL), err
    assert codes == {"k2": 0, "k3": -signal.SIGKILL, "k4": 0}
    killed = read(pg_url, "k3")
    assert len(killed) >= 50 and not fold(killed).is_terminal  # killed mid-run

    resumed = playbill(pg_url, "resume", "k3")  # another process takes the dead one's lease
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    for run_id in runners:
        entries = read(pg_url, run_id)
        assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
        state = fold(entries)
        assert state.anomaly_count == 0
        assert state.status == "completed", (run_id, state.status)
    assert read(pg_url, "k3")[: len(killed)] == killed  # nothing before the kill rewritten

    # The same kill and resume, alone, in a SQLite journal: the same run, byte for byte.
    reference = str(tmp_path / "reference.db")
    playbill(reference, "sim", "--seed", "3", "--run-id", "k3", *kill).communicate(timeout=120)
    playbill(reference, "resume", "k3").communicate(timeout=120)
    expected = trio.run(_read_sqlite, reference, "k3")
    assert [encode_entry(e) for e in read(pg_url, "k3")] == [encode_entry(e) for e in expected]


async def _read_sqlite(path: str, run_id: str) -> list[Entry]:
    with SqliteJournal(path, create=False) as journal:
        return await journal.read(run_id)
