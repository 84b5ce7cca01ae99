"""Stopping a live run on SIGINT (Ctrl-C) or SIGTERM: its agents first, then the command.

``run``, ``resume`` and ``demo`` listen with ``trio.open_signal_receiver``
(no bare signal handler racing with trio) from before their run starts, so
a signal that comes while it starts is kept for it, and wait for their run
inside ``stop_on_signals``. The first SIGINT or SIGTERM stops the run
(``Run.interrupt``): every agent's work is cancelled, its process group gets
``SIGTERM``, a grace period and ``SIGKILL``, the run is journaled paused with
the agents' work lost, and the command exits with ``128 + the signal``
(130 for SIGINT, 143 for SIGTERM), saying what to do next (the command that
resumes the run).

A second SIGINT or SIGTERM while the agents stop does not wait for them:
every process group the command started is killed at once (``SIGKILL``) and
the process exits there and then, with the same status. The journal is
crash-safe; ``playbill resume`` sorts out what was not journaled.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from typing import NoReturn, TypeVar

import trio

from playbill._process import kill_groups
from playbill._run import Run

from ._app import Interrupted, stopped_status

T = TypeVar("T")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""The signals that stop a live run."""


def stop_signals() -> AbstractContextManager[AsyncIterator[int]]:
    """Listen for SIGINT and SIGTERM (``trio.open_signal_receiver``), for ``stop_on_signals``."""
    return trio.open_signal_receiver(*STOP_SIGNALS)


async def stop_on_signals(
    signals: AsyncIterator[int], run: Run, wait: Callable[[], Awaitable[T]], then: str
) -> T:
    """``await wait()``, unless SIGINT or SIGTERM stops the run first (see the module).

    Args:
        signals: What ``stop_signals`` listens to, opened before the run started.
        run: The live run.
        wait: What the command waits for (the run to settle).
        then: What to do next, for the message (``continue it with `playbill
            resume RUN```).

    Returns:
        What ``wait`` returned.

    Raises:
        Interrupted: A signal stopped the run; it is journaled paused.
    """
    waiting = trio.CancelScope()
    first: list[int] = []

    async def watch() -> None:
        async for signum in signals:
            if first:
                _force(first[0], signum, run.run_id, then)
            first.append(signum)
            waiting.cancel()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch)
        with waiting:
            result = await wait()
            nursery.cancel_scope.cancel()
            return result
        await run.interrupt(f"interrupted by {signal.Signals(first[0]).name}")
        nursery.cancel_scope.cancel()
    raise Interrupted(first[0], run.run_id, then)


def _force(first: int, again: int, run_id: str, then: str) -> NoReturn:
    """The second signal: kill every process group now and exit at once."""
    groups = kill_groups()
    name = signal.Signals(again).name
    line = (
        f"\nplaybill: {name} again: killed {groups} process group(s) and stopped at once; "
        f"run {run_id}: {then}\n"
    )
    os.write(2, line.encode())
    os._exit(stopped_status(first))
