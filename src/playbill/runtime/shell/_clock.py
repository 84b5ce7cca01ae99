"""The runtime's clock: what time it is, and sleeping until a given time.

Everything in a run that reads the time or waits for it goes through one
``Clock``: actors stamp entries with ``now_us()``, the timer service and the
simulated backends sleep with ``sleep_until_us()``. Two implementations:

* ``WallClock`` for real runs: the system's time of day.
* ``VirtualClock`` for simulation: trio's clock (a ``trio.testing.MockClock``
  with autojump) read as microseconds since an epoch, with a sleep service that
  wakes sleepers in a deterministic order.

Why the sleep service: trio keeps its deadlines in a heap ordered by
``(deadline, id(cancel scope))``, so two tasks that sleep until the same
instant wake in an order decided by memory addresses, which differ from one
process to the next. ``VirtualClock`` keeps its own heap of sleepers keyed by
``(due time, registration order)`` and a single driver task that wakes them
one at a time, letting each run until every task is blocked before it wakes
the next. One seed then gives one order of events, in any process.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol, final

import attrs
import trio

if TYPE_CHECKING:
    from trio.testing import MockClock


class Clock(Protocol):
    """What the runtime knows about time: the current time, and sleeping until one."""

    def now_us(self) -> int:
        """Microseconds since the Unix epoch (virtual ones under simulation)."""

    async def sleep_until_us(self, t: int) -> None:
        """Return once ``now_us() >= t``; at once (after a checkpoint) if it already is.

        Cancellable, like every trio sleep.
        """


@final
@attrs.define(eq=False)
class WallClock:
    """The system's time of day, for real runs.

    ``now_us`` reads ``time.time_ns()``. ``sleep_until_us`` sleeps on trio's
    monotonic clock in naps of at most ``max_nap_s`` and re-reads the time of
    day after each, so a jump of the system clock (NTP, a suspended laptop) is
    tolerated: a jump forwards ends the sleep within one nap, a jump backwards
    makes it longer. It never returns before ``now_us() >= t``.

    Args:
        max_nap_s: The longest uninterrupted nap, in seconds.
    """

    _max_nap_s: float = attrs.field(default=1.0, alias="max_nap_s")

    def __attrs_post_init__(self) -> None:
        if not (self._max_nap_s > 0 and math.isfinite(self._max_nap_s)):
            raise ValueError(f"max_nap_s must be positive and finite, got {self._max_nap_s!r}")

    def now_us(self) -> int:
        """Microseconds since the Unix epoch, from the system's time of day."""
        return time.time_ns() // 1000

    async def sleep_until_us(self, t: int) -> None:
        """Sleep until the time of day reaches ``t`` (microseconds since the epoch)."""
        await trio.lowlevel.checkpoint()
        # Polling is the point: trio's clock is monotonic, the time of day is not.
        while (left_us := t - self.now_us()) > 0:  # noqa: ASYNC110
            await trio.sleep(min(left_us / 1e6, self._max_nap_s))


@final
@attrs.frozen
class ClockStatistics:
    """A snapshot of a ``VirtualClock``'s sleep service.

    Attributes:
        sleepers: Tasks currently asleep on the clock.
        next_due_us: When the earliest of them is due, or ``None``.
        woken: Sleepers woken since the clock was opened.
    """

    sleepers: int
    next_due_us: int | None
    woken: int


@final
class _Sleeper:
    """One task asleep on a ``VirtualClock``: parked until the driver reschedules it."""

    __slots__ = ("gone", "task")

    def __init__(self, task: trio.lowlevel.Task) -> None:
        self.task = task
        self.gone = False
        """Cancelled before it was woken; the driver skips it."""

    def abort(self, _: object) -> trio.lowlevel.Abort:
        # Cancelled (or the run is ending) before the driver woke it.
        self.gone = True
        return trio.lowlevel.Abort.SUCCEEDED


@final
@attrs.define(eq=False)
class VirtualClock:
    """Virtual time for simulation, with deterministic wake-ups.

    ``now_us() == epoch_us + round(trio.current_time() * 1e6)``: run it under
    ``trio.testing.MockClock(autojump_threshold=0)``, whose time starts at 0,
    and hours of virtual time pass in milliseconds. Open it with
    ``async with VirtualClock.open(epoch_us) as clock:``, which runs its driver
    task; sleeping on a clock that is not open raises ``RuntimeError``.

    Sleepers wake in ``(due time, registration order)`` order, where a sleep
    already due counts as due now: the driver wakes the first, waits until
    every task of the run is blocked (``trio.testing.wait_all_tasks_blocked``),
    then wakes the next. When all is quiet and the next sleeper is due later,
    the driver moves the ``MockClock`` on to it itself, as its autojump would
    (a trio deadline due first, a ``move_on_after`` of the run, is left to
    trio). For a fully deterministic run:

    * every sleep of the run goes through this clock (a bare ``trio.sleep`` or
      ``trio.move_on_after`` is ordered by trio, not by the clock);
    * nothing else in the run calls ``wait_all_tasks_blocked`` (trio wakes all
      callers with the same cushion at once, and the driver, woken with
      another, could move the clock on before that other has run);
    * the run does no real I/O and starts no threads (their timing is real);
    * tasks that a woken sleeper makes runnable run in trio's scheduling
      order, which trio's deterministic scheduling fixes.

    Attributes:
        epoch_us: The time of day, in microseconds since the Unix epoch, that
            trio's time 0 stands for.
    """

    epoch_us: int
    _heap: list[tuple[int, int, _Sleeper]] = attrs.field(factory=list, init=False)
    _order: itertools.count[int] = attrs.field(factory=itertools.count, init=False)
    _poke: trio.Event = attrs.field(factory=trio.Event, init=False)
    _open: bool = attrs.field(default=False, init=False)
    _woken: int = attrs.field(default=0, init=False)

    @classmethod
    @asynccontextmanager
    async def open(cls, epoch_us: int) -> AsyncIterator[VirtualClock]:
        """Open a clock and run its driver for the duration of the block.

        Args:
            epoch_us: What trio's time 0 stands for, in microseconds since the
                Unix epoch (derive it from the run's seed, never from the wall
                clock, for reproducible journals).
        """
        clock = cls(epoch_us)
        async with trio.open_nursery() as nursery:
            clock._open = True
            nursery.start_soon(clock._drive, name="playbill-virtual-clock")
            try:
                yield clock
            finally:
                clock._open = False
                nursery.cancel_scope.cancel()

    def now_us(self) -> int:
        """Virtual microseconds since the Unix epoch."""
        return self.epoch_us + round(trio.current_time() * 1e6)

    async def sleep_until_us(self, t: int) -> None:
        """Sleep until virtual time ``t``, waking in ``(due, registration)`` order.

        Raises:
            RuntimeError: The clock is not open.
        """
        if not self._open:
            raise RuntimeError("VirtualClock is not open: use `async with VirtualClock.open(...)`")
        due = max(t, self.now_us())
        sleeper = _Sleeper(trio.lowlevel.current_task())
        key = (due, next(self._order), sleeper)
        heapq.heappush(self._heap, key)
        if self._heap[0] is key:
            self._poke.set()
        await trio.lowlevel.wait_task_rescheduled(sleeper.abort)

    def statistics(self) -> ClockStatistics:
        """How many tasks sleep on the clock, and when the next one is due."""
        live = [due for due, _, sleeper in self._heap if not sleeper.gone]
        return ClockStatistics(
            sleepers=len(live), next_due_us=min(live, default=None), woken=self._woken
        )

    def _deadline(self, due_us: int) -> float:
        """Trio's time at which ``due_us`` is reached: ``now_us()`` is ``>= due_us`` then."""
        return (due_us - self.epoch_us) / 1e6

    async def _drive(self) -> None:
        # trio.testing loads here, not with the module: it imports pytest.
        from trio.testing import MockClock, wait_all_tasks_blocked

        # Under ``MockClock(autojump_threshold=0)`` the driver moves time on
        # itself when all is quiet: see ``_jump_to``.
        trio_clock = trio.lowlevel.current_clock()
        mock = (
            trio_clock
            if isinstance(trio_clock, MockClock)
            and trio_clock.rate == 0
            and trio_clock.autojump_threshold == 0
            else None
        )
        heap = self._heap
        quiet = False  # woken because every other task is blocked
        while True:
            while heap and heap[0][2].gone:
                heapq.heappop(heap)
            if not heap:
                self._poke = trio.Event()
                await self._poke.wait()
                quiet = False
                continue
            due, _, sleeper = heap[0]
            deadline = self._deadline(due)
            if trio.current_time() < deadline and not (
                quiet and mock is not None and _jump_to(mock, deadline)
            ):
                # Sleep until the earliest is due, or until an earlier one registers.
                self._poke = trio.Event()
                with trio.move_on_at(deadline):
                    await self._poke.wait()
                quiet = False
                continue
            heapq.heappop(heap)
            trio.lowlevel.reschedule(sleeper.task)
            self._woken += 1
            # Let the woken task (and whatever it wakes) run until all is quiet,
            # so the next sleeper due at the same instant starts after it.
            await wait_all_tasks_blocked()
            quiet = True


def _jump_to(clock: MockClock, deadline: float) -> bool:
    """Move a mock clock on to ``deadline`` as its autojump would; False if it would not.

    Called by the driver when every other task is blocked and the next
    sleeper is due at ``deadline``. Sleeping until then (``move_on_at``) would
    have trio jump the clock to its earliest deadline, the driver's, and
    cancel the driver's wait there: the same time and the same next task, at
    the price of a cancel scope, a cancellation and two passes of the
    scheduler with nothing else to run. When another deadline of trio (a
    ``move_on_after`` of the run) comes first or at the same time, the
    jump is left to trio (False).
    """
    now = clock.current_time()
    if _next_trio_deadline() - now <= (deadline - now) + 1e-6:
        return False
    # The autojump's own arithmetic, repeated until the deadline is reached,
    # so that the clock reads exactly what it would have read.
    while now < deadline:
        clock.jump(deadline - now)
        before, now = now, clock.current_time()
        if now <= before:  # no progress: leave it to trio, as before
            return False
    return True


def _next_trio_deadline() -> float:
    """The earliest deadline of a cancel scope of the run (``inf`` for none).

    Read from trio's run loop where it can be (``current_statistics`` says
    as much, at ten times the cost: it gathers every statistic of the run).
    """
    try:
        deadlines = trio._core._run.GLOBAL_RUN_CONTEXT.runner.deadlines
        return float(deadlines.next_deadline())
    except AttributeError:  # another trio than the one this was written for
        stats = trio.lowlevel.current_statistics()
        return float(stats.seconds_to_next_deadline + trio.current_time())
