"""Heartbeats from evidence: an agent process is alive when it shows progress.

A heartbeat tells the policy that the agent *progresses*; a timer of
playbill's own would only prove that playbill is alive, and keep a hung agent
"alive" for ever. So an agent process's heartbeats come from what it does:

* **Output**: every complete new line on its standard output or error. The
  coding-agent CLIs stream their work as lines (Claude Code's
  ``--output-format stream-json`` and Codex's ``exec --json`` print one JSON
  event per line as they work; aider prints as it goes).
* **Its working directory**: a change in the tree it works in (a file
  written, created, removed), seen by a cheap periodic scan of the tree's
  file names, sizes and modification times (``tree_signature``; ``.git`` is
  never entered, symbolic links never followed). The scan runs in a worker
  thread, at most every ``every_s``, and less often when it is slow (never
  more than ``1 / SCAN_SHARE`` of the time), so a huge tree is not hammered.

Heartbeats are rate-limited: at most one every ``every_s``, each saying how
much evidence it covers ("12 new lines of output; its worktree changed"),
never the output itself (which could hold secrets). A process that shows
nothing sends nothing after its first heartbeat ("started"), and the
policy's stall window (``heartbeat_timeout_s``) ends its work.
"""

from __future__ import annotations

import os
from typing import Final, final

import attrs
import trio

from ._backend import Reporter

MAX_SCAN_ENTRIES: Final = 200_000
"""Entries of a working directory a scan looks at, at most (the rest go unseen)."""

SCAN_SHARE: Final = 0.05
"""The largest share of the time a worktree scan may take (it waits 1/SCAN_SHARE times
as long as the last scan took before the next one)."""

_MASK = (1 << 64) - 1


@final
@attrs.define(eq=False)
class Progress:
    """The evidence an agent process gave since the last heartbeat.

    Attributes:
        lines: Complete lines of output since the last heartbeat.
        changes: Scans that found its working directory changed, since then.
        total_lines: Complete lines of output in all.
    """

    lines: int = 0
    changes: int = 0
    total_lines: int = 0
    _news: trio.Event = attrs.field(factory=trio.Event)

    def output(self, chunk: bytes | bytearray) -> None:
        """Count the complete lines ``chunk`` ends (a line counts once its newline came)."""
        ended = chunk.count(b"\n")
        if ended:
            self.lines += ended
            self.total_lines += ended
            self._news.set()

    def changed(self) -> None:
        """Its working directory changed."""
        self.changes += 1
        self._news.set()

    async def wait(self) -> None:
        """Return once there is evidence not yet reported."""
        await self._news.wait()

    def take(self) -> str:
        """Describe the evidence not yet reported, and count it as reported."""
        parts = []
        if self.lines:
            parts.append(f"{self.lines} new line{'s' if self.lines != 1 else ''} of output")
        if self.changes:
            parts.append("its worktree changed")
        self.lines = self.changes = 0
        self._news = trio.Event()
        return "; ".join(parts) or "progress"


async def send_heartbeats(report: Reporter, every_s: float, label: str, progress: Progress) -> None:
    """Journal ``started``, then one heartbeat per burst of evidence, at most every ``every_s``.

    The first evidence after a quiet spell is reported at once (once
    ``every_s`` passed since the last heartbeat).
    """
    await report.heartbeat(f"{label}: started")
    while True:
        await trio.sleep(every_s)
        await progress.wait()
        await report.heartbeat(f"{label}: {progress.take()}")


async def watch_tree(root: str, every_s: float, progress: Progress) -> None:
    """Scan ``root`` every ``every_s`` (or less often, see ``SCAN_SHARE``); report changes."""
    clock = trio.current_time
    started = clock()
    seen = await trio.to_thread.run_sync(tree_signature, root, abandon_on_cancel=True)
    took = clock() - started
    while True:
        await trio.sleep(max(every_s, took / SCAN_SHARE))
        started = clock()
        now = await trio.to_thread.run_sync(tree_signature, root, abandon_on_cancel=True)
        took = clock() - started
        if now != seen:
            seen = now
            progress.changed()


def tree_signature(root: str, limit: int = MAX_SCAN_ENTRIES) -> tuple[int, int]:
    """A cheap fingerprint of a directory tree: its entries' paths, sizes and mtimes.

    Any file written (a new size or modification time), created, removed or
    renamed changes it. ``.git`` is skipped and symbolic links are not
    followed. At most ``limit`` entries are looked at.

    Returns:
        The number of entries seen, and a hash of them (order-independent).
    """
    count = 0
    digest = 0
    stack = [root]
    while stack and count < limit:
        top = stack.pop()
        try:
            with os.scandir(top) as entries:
                for entry in entries:
                    if entry.name == ".git":
                        continue
                    try:
                        info = entry.stat(follow_symlinks=False)
                        is_dir = entry.is_dir(follow_symlinks=False)
                    except OSError:
                        continue  # gone since it was listed
                    count += 1
                    digest = (digest + hash((entry.path, info.st_mtime_ns, info.st_size))) & _MASK
                    if is_dir:
                        stack.append(entry.path)
                    if count >= limit:
                        break
        except OSError:
            continue  # removed, or not readable
    return count, digest
