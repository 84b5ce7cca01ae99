"""What every process playbill starts shares: its environment, its process group, its output.

Agents' processes and validators' commands run code an agent wrote or
chose, so they get a clean environment: ``BASE_ENV`` and the names the
plan allows, never the whole environment (API keys and tokens stay out of
reach). Each starts in a session of its own, so its pid is its process
group's id and ``signal_group`` reaches its children too. Only the end of
its output is kept in memory (``OutputTail``).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable, Mapping
from typing import final

import attrs

BASE_ENV: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TERM",
    "TMPDIR",
    "SYSTEMROOT",
    "VIRTUAL_ENV",
    "PYTHONPATH",
)
"""Environment variables every process playbill starts gets, when they are set."""


def base_env(
    allow: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A process's environment: ``BASE_ENV`` and ``allow`` names that are set, then ``extra``.

    Args:
        allow: Further names to pass through.
        extra: Variables to set whatever the environment holds.
        environ: Where to pick from (``os.environ`` when ``None``).
    """
    env = os.environ if environ is None else environ
    wanted = {*BASE_ENV, *allow}
    picked = {name: value for name, value in env.items() if name in wanted}
    picked.update(extra or {})
    return picked


@final
@attrs.define(eq=False)
class OutputTail:
    """The last ``keep`` bytes written to it, and how many earlier ones were dropped."""

    keep: int
    data: bytearray = attrs.field(factory=bytearray)
    dropped: int = 0

    def add(self, chunk: bytes | bytearray) -> None:
        """Append ``chunk``, dropping the oldest bytes past ``keep``."""
        self.data += chunk
        excess = len(self.data) - self.keep
        if excess > 0:
            del self.data[:excess]
            self.dropped += excess


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to a process group; a group already gone (or not ours) is left be."""
    with contextlib.suppress(OSError):
        os.killpg(pgid, sig)
