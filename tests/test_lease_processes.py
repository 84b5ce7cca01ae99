"""One live writer per run, across real processes, on every durable store.

A writer in another process holds a run: this process is refused with the
holder named; once the other exits cleanly, or is killed (reaped or still a
zombie), this process takes the run over at once, without waiting for the
lease to expire (the holder's pid is dead).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from playbill.runtime import WriterConflictError, open_journal
from playbill.runtime.model._entry import Draft
from playbill.runtime.model._messages import NoteWritten

# A writer in another process: it appends one entry, prints its lease holder,
# then waits for its stdin to close and exits cleanly (or is killed).
CHILD = """
import sys, trio
from playbill.runtime import open_journal
from playbill.runtime.model._entry import Draft
from playbill.runtime.model._messages import NoteWritten

async def main():
    with open_journal(sys.argv[1]) as journal:
        async with journal.writer("run-x") as w:
            await w.append([Draft(msg=NoteWritten(author="child", text="hi"), sender="child")])
            print(w.holder, flush=True)
            await trio.to_thread.run_sync(sys.stdin.read)

trio.run(main)
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh journal: a SQLite file, or a schema on the session's PostgreSQL server."""
    if request.param == "sqlite":
        yield str(tmp_path / "journal.db")
        return
    from pg_server import drop_schema  # psycopg: only for this parameter

    server = request.getfixturevalue("pg_server")
    url = server.new_schema()
    with open_journal(url):  # the schema, before two processes race to make it
        pass
    yield url
    drop_schema(url)


@pytest.fixture
def child(target: str) -> Iterator[tuple[subprocess.Popen[str], str, str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, target],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    holder = proc.stdout.readline().strip()
    if not holder:
        proc.kill()
        pytest.fail(f"the writer process failed: {proc.communicate()[1]}")
    try:
        yield proc, holder, target
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def append_one(target: str, text: str) -> int:
    async def main() -> int:
        with open_journal(target) as journal:
            async with journal.writer("run-x") as w:
                draft = Draft(msg=NoteWritten(author="parent", text=text), sender="parent")
                (entry,) = await w.append([draft])
                return entry.seq

    return trio.run(main)


def test_a_writer_in_another_process_is_refused_with_its_holder_named(
    child: tuple[subprocess.Popen[str], str, str],
) -> None:
    proc, holder, target = child
    assert holder.split(":")[1] == str(proc.pid)
    with pytest.raises(WriterConflictError) as info:
        append_one(target, "refused")
    assert (info.value.holder, info.value.run_id) == (holder, "run-x")
    proc.communicate("")  # the child exits cleanly and releases its lease
    assert proc.returncode == 0
    assert append_one(target, "after") == 2


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
def test_a_killed_writer_does_not_block_the_run(
    child: tuple[subprocess.Popen[str], str, str], reaped: bool
) -> None:
    proc, _, target = child
    proc.send_signal(signal.SIGKILL)
    if reaped:
        proc.wait()
    else:
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # dead, but still a zombie
    assert append_one(target, "taken over") == 2  # the lease has not expired; the pid is dead
