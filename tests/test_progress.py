"""Heartbeats from evidence of progress: output lines, worktree changes, rate limits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio
import trio.testing

from backend_helpers import FIXTURES, RecordingReporter, order
from playbill.backends import CommandBackend, command
from playbill.backends._backend import BackendError
from playbill.backends._progress import Progress, send_heartbeats, tree_signature, watch_tree

FAKE = str(FIXTURES / "fake_command.py")
LABEL = "command fake_command.py"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FAKE_RECORD", str(tmp_path / "record.json"))
    monkeypatch.setenv("FAKE_SECRET_TOKEN", "sk-live-0123456789abcdef")

    def make(mode: str, **options: object) -> CommandBackend:
        monkeypatch.setenv("FAKE_MODE", mode)
        allow = ("FAKE_MODE", "FAKE_RECORD", "FAKE_SECRET_TOKEN")
        return command(argv=(FAKE,), env_allow=allow, **options)

    return make


# --------------------------------------------------------------- evidence


def test_only_complete_lines_count_as_output() -> None:
    progress = Progress()
    progress.output(b"partial")
    assert progress.lines == 0
    progress.output(b" line\nand two\nmore")
    assert (progress.lines, progress.total_lines) == (2, 2)
    assert progress.take() == "2 new lines of output"
    progress.output(b"\n")
    progress.changed()
    assert progress.take() == "1 new line of output; its worktree changed"
    assert (progress.lines, progress.changes, progress.total_lines) == (0, 0, 3)


def test_the_tree_signature_sees_writes_creations_removals_and_renames(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    a = tmp_path / "src" / "a.py"
    a.write_text("x = 1\n")
    before = tree_signature(str(tmp_path))
    assert before == tree_signature(str(tmp_path))  # nothing changed: the same
    seen = [before]
    a.write_text("x = 22\n")  # a new size
    seen.append(tree_signature(str(tmp_path)))
    os.utime(a, ns=(1, 1))  # the same size, another time
    seen.append(tree_signature(str(tmp_path)))
    (tmp_path / "src" / "b.py").write_text("")
    seen.append(tree_signature(str(tmp_path)))
    (tmp_path / "src" / "b.py").rename(tmp_path / "c.py")
    seen.append(tree_signature(str(tmp_path)))
    (tmp_path / "c.py").unlink()
    seen.append(tree_signature(str(tmp_path)))
    assert len(set(seen)) == len(seen)


def test_the_tree_signature_skips_git_and_stops_at_its_limit(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "kept.txt").write_text("k")
    before = tree_signature(str(tmp_path))
    (tmp_path / ".git" / "index").write_text("changed by git, not by the agent")
    assert tree_signature(str(tmp_path)) == before
    for i in range(10):
        (tmp_path / f"f{i}").write_text("")
    assert tree_signature(str(tmp_path), limit=4)[0] == 4
    assert tree_signature(str(tmp_path))[0] == 11


class TimedReporter:
    """Records each heartbeat with the (virtual) time it was sent."""

    def __init__(self) -> None:
        self.beats: list[tuple[float, str]] = []

    async def heartbeat(self, progress: str = "") -> None:
        self.beats.append((trio.current_time(), progress))

    async def usage(self, usage: object) -> None:
        raise AssertionError("no usage here")


async def test_heartbeats_follow_evidence_at_most_one_per_interval(
    autojump_clock: trio.testing.MockClock,
) -> None:
    reporter = TimedReporter()
    progress = Progress()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(send_heartbeats, reporter, 5.0, "tool", progress)
        await trio.sleep(1.5)
        for _ in range(12):  # a line a second, from 1.5 s to 12.5 s
            progress.output(b"event\n")
            await trio.sleep(1.0)
        await trio.sleep(100.0)  # then silence: no heartbeat at all
        progress.output(b"back\n")
        await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    assert reporter.beats == [
        (0.0, "tool: started"),
        (5.0, "tool: 4 new lines of output"),
        (10.0, "tool: 5 new lines of output"),
        (15.0, "tool: 3 new lines of output"),
        (113.5, "tool: 1 new line of output"),  # at once after the silence
    ]


async def test_a_change_in_the_tree_is_evidence(tmp_path: Path) -> None:
    progress = Progress()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch_tree, str(tmp_path), 0.02, progress)
        await trio.sleep(0.2)
        assert progress.changes == 0  # scans of an unchanged tree find nothing
        (tmp_path / "new.txt").write_text("hello")
        with trio.fail_after(30):  # a guard, not a measure: it takes a scan or two
            await progress.wait()
        assert progress.take() == "its worktree changed"
        nursery.cancel_scope.cancel()


# ---------------------------------------------------- real processes


@pytest.mark.slow
async def test_a_silent_process_sends_no_heartbeat_after_it_started(fake) -> None:  # type: ignore[no-untyped-def]
    reporter = RecordingReporter()
    with pytest.raises(BackendError) as caught:
        await fake("silent", timeout_s=1.0, heartbeat_s=0.05, kill_grace_s=0.05).run(
            order("reviewer", "review"), reporter
        )
    assert caught.value.failure.kind == "timeout"
    assert reporter.heartbeats == [f"{LABEL}: started"]


@pytest.mark.slow
async def test_output_lines_are_heartbeats_that_never_repeat_the_output(fake) -> None:  # type: ignore[no-untyped-def]
    reporter = RecordingReporter()
    result = await fake("chatty", heartbeat_s=0.05).run(order("reviewer", "review"), reporter)
    assert result.exit_status == "ok"
    first, *rest = reporter.heartbeats
    assert first == f"{LABEL}: started"
    assert rest, "no heartbeat while it printed"
    lines = 0
    for beat in rest:
        assert beat.startswith(f"{LABEL}: ") and "of output" in beat
        assert "token" not in beat and "sk-live" not in beat
        lines += int(beat.split(": ", 1)[1].split()[0])
    assert lines <= 5  # four lines of work and the result, each counted at most once


@pytest.mark.slow
async def test_changes_in_the_worktree_are_heartbeats(fake, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    worktree = tmp_path / "worktree"
    worktree.mkdir()
    reporter = RecordingReporter()
    await fake("writer", heartbeat_s=0.05).run(
        order("reviewer", "review", workspace=worktree), reporter
    )
    assert f"{LABEL}: its worktree changed" in reporter.heartbeats
    assert sorted(p.name for p in worktree.iterdir()) == [f"note{i}.txt" for i in range(4)]
