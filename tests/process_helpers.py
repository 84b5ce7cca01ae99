"""Looking at real processes from tests (Linux ``/proc``): alive, gone, in which group.

A killed process whose parent has not reaped it yet is a zombie: it still has
a pid and a ``/proc`` entry, but it runs nothing. Every helper here counts a
zombie as gone.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

ON_LINUX = sys.platform.startswith("linux") and Path("/proc/self/stat").exists()

linux_only = pytest.mark.skipif(not ON_LINUX, reason="reads /proc (Linux)")
"""Mark for tests that look at processes through ``/proc``."""

BOUND_S = 60.0
"""How long a test waits for a condition before it fails (a bound, not a timing)."""


def _stat_fields(pid: int) -> list[bytes] | None:
    """Fields 3... of ``/proc/PID/stat`` (state first), or ``None`` if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return text[text.rfind(b")") + 2 :].split()


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that is neither gone nor a zombie.

    Off Linux, without ``/proc``, a zombie counts as running.
    """
    if not ON_LINUX:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in (b"Z", b"X")


def group_of(pid: int) -> int | None:
    """The process group of a running process, or ``None``."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in (b"Z", b"X"):
        return None
    return int(fields[2])


def members(pgid: int) -> list[int]:
    """The running processes of process group ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and group_of(int(entry.name)) == pgid:
            found.append(int(entry.name))
    return sorted(found)


def cmdline(pid: int) -> list[str]:
    """A process's command line (empty if it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def wait_until(condition: Callable[[], bool], what: str, bound_s: float = BOUND_S) -> float:
    """Poll ``condition`` until it holds; fail after ``bound_s``. Returns the seconds it took."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > bound_s:
            raise AssertionError(f"not within {bound_s:g} s: {what}")
        time.sleep(0.01)
    return time.monotonic() - start


def pids_in(path: Path) -> list[int]:
    """The pids written in a file, one per line (none if it does not exist yet)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    return [int(line) for line in text.split() if line.strip()]


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL whatever of ``pids`` still runs (a test's own cleanup)."""
    for pid in pids:
        if running(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
