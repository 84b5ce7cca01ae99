"""``events --follow``: entries committed after the follower started reach it, in order.

The tests run on trio's autojump clock: a follower that never sees what it
waits for fails after a few virtual minutes, at once, instead of hanging.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import trio
import trio.testing

from playbill.cli._cmd_events import stream_events
from playbill.cli._demo import demo_run
from playbill.runtime import Journal, MemoryJournal, SqliteJournal
from playbill.runtime.model._entry import Entry, encode_entry

RUN = "demo-0001"
PATIENCE_S = 600.0
"""Virtual seconds a follower waits before the test fails."""


async def append_demo(journal: Journal, count: int, *, start: int = 0) -> list[Entry]:
    """Append the demo's drafts ``start:start+count`` one by one, at their scripted times."""
    demo = demo_run()
    drafts = demo.drafts[start : start + count]
    times = demo.times_us[start : start + count]
    now = times[0]
    written: list[Entry] = []
    async with journal.writer(RUN, clock=lambda: now) as writer:
        for draft, at_us in zip(drafts, times, strict=True):
            now = at_us
            written.extend(await writer.append([draft]))
    return written


class Follower:
    """Follows a run in a nursery task until it has seen ``count`` entries."""

    def __init__(self, journal: Journal, count: int, *, since: int = 1) -> None:
        self.journal = journal
        self.count = count
        self.since = since
        self.seen: list[Entry] = []
        self.done = trio.Event()

    def emit(self, entries: Sequence[Entry]) -> None:
        self.seen.extend(entries)
        if len(self.seen) >= self.count:
            self.done.set()

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with trio.fail_after(PATIENCE_S), trio.CancelScope() as scope:
            task_status.started()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._cancel_when_done, scope)
                await stream_events(self.journal, RUN, self.emit, since=self.since, follow=True)

    async def _cancel_when_done(self, scope: trio.CancelScope) -> None:
        await self.done.wait()
        scope.cancel()


async def test_follow_sees_entries_appended_after_it_started(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = MemoryJournal()
    written = await append_demo(journal, 10)
    follower = Follower(journal, 30)
    async with trio.open_nursery() as nursery:
        await nursery.start(follower.run)
        await trio.testing.wait_all_tasks_blocked()
        assert [e.seq for e in follower.seen] == list(range(1, 11))  # the backlog; it waits
        written += await append_demo(journal, 20, start=10)
    assert follower.seen == written
    assert [encode_entry(e) for e in follower.seen] == [encode_entry(e) for e in written]


async def test_follow_since_skips_the_earlier_entries(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = MemoryJournal()
    await append_demo(journal, 5)
    follower = Follower(journal, 3, since=4)
    async with trio.open_nursery() as nursery:
        await nursery.start(follower.run)
        await append_demo(journal, 1, start=5)
    assert [e.seq for e in follower.seen] == [4, 5, 6]


async def test_follow_sees_another_journal_writing_the_same_file(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    """Another process's writes reach the follower by polling the file."""
    path = tmp_path / "journal.db"
    with SqliteJournal(path) as writer_side, SqliteJournal(path, create=False) as reader_side:
        written = await append_demo(writer_side, 3)
        follower = Follower(reader_side, 12)
        async with trio.open_nursery() as nursery:
            await nursery.start(follower.run)
            written += await append_demo(writer_side, 9, start=3)
    assert follower.seen == written


async def test_without_follow_the_stream_ends_at_the_last_entry() -> None:
    journal = MemoryJournal()
    written = await append_demo(journal, 7)
    seen: list[Entry] = []
    await stream_events(journal, RUN, seen.extend)
    assert seen == written
    seen.clear()
    await stream_events(journal, RUN, seen.extend, since=6)
    assert [e.seq for e in seen] == [6, 7]
