"""The timer service: journaled timers come due, and their firing is journaled.

The policy sets timers as ``timer_set`` entries (heartbeat deadlines,
backoffs); nothing that folds or decides ever reads a clock. This service
watches the run's entries, sleeps on the run's ``Clock`` until each pending
timer is due, and appends ``timer_fired`` — so time enters the run only as
entries, and a replay needs no clock at all.

One sleeper per pending timer, registered in seq order: on a ``VirtualClock``
timers due at the same instant fire in the order they were set. A timer
cancelled (``timer_cancelled``) or already fired is never fired (again).
After a restart, ``load`` re-arms the timers the state says are pending;
those already overdue fire at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import final

import attrs
import trio

from ..model._entry import Draft, Entry
from ..model._messages import TimerCancelled, TimerFired, TimerSet
from ..model._state import RunState
from ._clock import Clock
from ._mailbox import Mailbox

ADDRESS = "timers"
"""The sender of ``timer_fired`` entries."""


@final
@attrs.frozen
class TimerStatistics:
    """What a ``TimerService`` is doing. Returned by ``statistics()``."""

    pending: int
    """Timers set and neither fired nor cancelled."""

    fired: int
    """``timer_fired`` entries this service appended."""


@final
@attrs.define(eq=False)
class TimerService:
    """Fires a run's journaled timers on its clock.

    Args:
        clock: The run's clock (wall or virtual).
        outbox: Journals drafts; returns once they are committed.
    """

    _clock: Clock
    _outbox: Callable[[Sequence[Draft]], Awaitable[Sequence[Entry]]]
    _pending: dict[str, trio.CancelScope] = attrs.field(factory=dict, init=False)
    _to_arm: list[tuple[str, int]] = attrs.field(factory=list, init=False)
    _fired: int = attrs.field(default=0, init=False)
    _wake: trio.Event = attrs.field(factory=trio.Event, init=False)

    def statistics(self) -> TimerStatistics:
        """How many timers are pending, and how many this service fired."""
        return TimerStatistics(pending=len(self._pending), fired=self._fired)

    def load(self, state: RunState) -> None:
        """Arm the timers a (resumed) run's state says are pending, in seq order."""
        for timer in sorted(state.timers.values(), key=lambda t: t.set_seq):
            self._arm(timer.timer, timer.due_us)

    def observe(self, entries: Sequence[Entry]) -> None:
        """Track timers set, fired and cancelled by committed entries (in seq order)."""
        for entry in entries:
            match entry.msg:
                case TimerSet(timer=timer, due_us=due_us):
                    self._arm(timer, due_us)
                case TimerFired(timer=timer) | TimerCancelled(timer=timer):
                    scope = self._pending.pop(timer, None)
                    if scope is not None:
                        scope.cancel()
                case _:
                    pass

    def _arm(self, timer: str, due_us: int) -> None:
        if timer in self._pending:
            return
        self._pending[timer] = trio.CancelScope()
        self._to_arm.append((timer, due_us))
        self._wake.set()

    async def run(self, inbox: Mailbox[Entry]) -> None:
        """Watch the inbox (every entry of the run) and fire timers as they come due."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._arming, nursery)
            while True:
                try:
                    batch = await inbox.receive_batch()
                except trio.EndOfChannel:
                    break
                self.observe(batch)
            nursery.cancel_scope.cancel()

    async def _arming(self, nursery: trio.Nursery) -> None:
        while True:
            # Start sleepers in the order their timers were set, each one
            # registered with the clock before the next (``nursery.start``),
            # so that equal due times fire in seq order.
            while self._to_arm:
                timer, due_us = self._to_arm.pop(0)
                scope = self._pending.get(timer)
                if scope is not None:
                    await nursery.start(self._sleep_then_fire, timer, due_us, scope)
            self._wake = trio.Event()
            await self._wake.wait()

    async def _sleep_then_fire(
        self,
        timer: str,
        due_us: int,
        scope: trio.CancelScope,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        with scope:
            task_status.started()
            await self._clock.sleep_until_us(due_us)
            if self._pending.get(timer) is not scope:
                return
            await self._outbox(
                [Draft(msg=TimerFired(timer=timer), sender=ADDRESS, recipient="supervisor")]
            )
            self._fired += 1
