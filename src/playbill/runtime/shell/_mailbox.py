"""Bounded mailboxes: what an actor receives, a batch at a time.

Every ``await`` that yields costs trio a scheduler pass (6-9 µs here); an
actor that awaited once per message would spend most of its time there. So a
mailbox hands out batches: ``receive_batch`` waits for at least one item,
then takes everything queued, up to a fairness bound, without further awaits.
Senders that find it full wait (backpressure); nothing is ever queued beyond
its capacity.

A plain deque with two parking lots, rather than a trio memory channel:
draining a channel means one ``receive_nowait`` per item and an exception at
the end, where a deque hands over its contents in one call.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from types import TracebackType
from typing import Generic, TypeVar, final

import attrs
import trio

T = TypeVar("T")

DEFAULT_MAX_BATCH = 256
"""Items ``receive_batch`` takes at most when not told otherwise."""


@final
@attrs.frozen
class MailboxStatistics:
    """What a ``Mailbox`` holds and has done. Returned by ``statistics()``."""

    name: str
    """The mailbox's name (for diagnostics)."""

    queued: int
    """Items waiting to be received."""

    capacity: int
    """Most items it queues; senders beyond wait."""

    sent: int
    """Items accepted so far."""

    received: int
    """Items handed to receivers so far."""

    batches: int
    """Batches handed to receivers so far."""

    largest_batch: int
    """The most items handed over in one batch."""

    waiting_senders: int
    """Tasks blocked in ``send`` because the mailbox is full."""

    waiting_receivers: int
    """Tasks blocked in ``receive_batch`` because the mailbox is empty."""

    closed: bool
    """Whether ``close`` was called."""


@final
@attrs.define(eq=False)
class Mailbox(Generic[T]):
    """A bounded queue an actor receives from in batches.

    Args:
        capacity: Most items queued at once; ``send`` waits beyond it.
        name: For diagnostics (statistics, the router's ``waiting_on``).

    Closing it (``close()``, or leaving ``with mailbox:``) refuses further
    sends; the receiver still gets what was queued, then ``receive_batch``
    raises ``trio.EndOfChannel`` and ``async for batch in mailbox`` ends::

        async for batch in mailbox:
            for entry in batch:
                match entry.msg:
                    ...
    """

    _capacity: int
    _name: str = ""
    _items: collections.deque[T] = attrs.field(factory=collections.deque, init=False)
    _receivers: trio.lowlevel.ParkingLot = attrs.field(factory=trio.lowlevel.ParkingLot, init=False)
    _senders: trio.lowlevel.ParkingLot = attrs.field(factory=trio.lowlevel.ParkingLot, init=False)
    _closed: bool = attrs.field(default=False, init=False)
    _sent: int = attrs.field(default=0, init=False)
    _received: int = attrs.field(default=0, init=False)
    _batches: int = attrs.field(default=0, init=False)
    _largest: int = attrs.field(default=0, init=False)

    # Checked here, not with an attrs validator: a validator makes attrs hook
    # every attribute assignment, which would double the cost of a send.
    def __attrs_post_init__(self) -> None:
        if self._capacity < 1:
            raise ValueError(f"a mailbox holds at least one item, not {self._capacity}")

    @property
    def name(self) -> str:
        """The name given at creation (for diagnostics)."""
        return self._name

    @property
    def closed(self) -> bool:
        """Whether the mailbox refuses sends (its queued items may remain)."""
        return self._closed

    @property
    def free(self) -> int:
        """Items it can take now without waiting (0 when closed)."""
        return 0 if self._closed else self._capacity - len(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def statistics(self) -> MailboxStatistics:
        """What the mailbox holds and has done."""
        return MailboxStatistics(
            name=self._name,
            queued=len(self._items),
            capacity=self._capacity,
            sent=self._sent,
            received=self._received,
            batches=self._batches,
            largest_batch=self._largest,
            waiting_senders=len(self._senders),
            waiting_receivers=len(self._receivers),
            closed=self._closed,
        )

    # ---------------------------------------------------------------- sending

    def send_nowait(self, item: T) -> None:
        """Queue an item, or raise at once.

        Raises:
            trio.WouldBlock: The mailbox is full.
            trio.ClosedResourceError: The mailbox is closed.
        """
        if self._closed:
            raise trio.ClosedResourceError(f"mailbox {self._name!r} is closed")
        items = self._items
        if len(items) >= self._capacity:
            raise trio.WouldBlock
        items.append(item)
        self._sent += 1
        if self._receivers:
            self._receivers.unpark()

    def send_all_nowait(self, items: Sequence[T]) -> None:
        """Queue all the items, in order, or none of them.

        Raises:
            trio.WouldBlock: They do not all fit.
            trio.ClosedResourceError: The mailbox is closed.
        """
        if self._closed:
            raise trio.ClosedResourceError(f"mailbox {self._name!r} is closed")
        queued = self._items
        if len(queued) + len(items) > self._capacity:
            raise trio.WouldBlock
        queued.extend(items)
        self._sent += len(items)
        if self._receivers:
            self._receivers.unpark()

    async def send(self, item: T) -> None:
        """Queue an item, waiting while the mailbox is full.

        Raises:
            trio.ClosedResourceError: The mailbox is (or gets) closed; the item
                was not queued.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            self.send_nowait(item)
        except trio.WouldBlock:
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        while True:
            await self._senders.park()  # the receiver wakes us when it takes
            try:
                self.send_nowait(item)
            except trio.WouldBlock:
                continue
            return

    # -------------------------------------------------------------- receiving

    async def receive_batch(self, max_batch: int = DEFAULT_MAX_BATCH) -> list[T]:
        """Wait for at least one item, then take up to ``max_batch`` without waiting.

        Always a checkpoint: an actor that loops on it lets the others run
        between its batches, however busy its mailbox.

        Raises:
            trio.EndOfChannel: The mailbox is closed and drained.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        waited = False
        while not self._items:
            if self._closed:
                raise trio.EndOfChannel
            await self._receivers.park()
            waited = True
        batch = self._take(max_batch)
        if not waited:
            await trio.lowlevel.cancel_shielded_checkpoint()
        return batch

    def receive_batch_nowait(self, max_batch: int = DEFAULT_MAX_BATCH) -> list[T]:
        """Take up to ``max_batch`` queued items at once.

        Raises:
            trio.WouldBlock: Nothing is queued.
            trio.EndOfChannel: The mailbox is closed and drained.
        """
        if not self._items:
            if self._closed:
                raise trio.EndOfChannel
            raise trio.WouldBlock
        return self._take(max_batch)

    def _take(self, max_batch: int) -> list[T]:
        items = self._items
        if len(items) <= max_batch:
            batch = list(items)
            items.clear()
        else:
            if max_batch < 1:
                raise ValueError(f"max_batch must be positive, not {max_batch}")
            popleft = items.popleft
            batch = [popleft() for _ in range(max_batch)]
            if self._receivers:  # more for another receiver
                self._receivers.unpark()
        n = len(batch)
        self._received += n
        self._batches += 1
        if n > self._largest:
            self._largest = n
        if self._senders:
            self._senders.unpark(count=n)
        return batch

    def __aiter__(self) -> Mailbox[T]:
        return self

    async def __anext__(self) -> list[T]:
        try:
            return await self.receive_batch()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    # ---------------------------------------------------------------- closing

    def close(self) -> None:
        """Refuse further sends; the receiver drains what is queued. Idempotent.

        Senders waiting for room get ``trio.ClosedResourceError``; receivers
        waiting on an empty mailbox get ``trio.EndOfChannel``.
        """
        self._closed = True
        self._senders.unpark_all()
        self._receivers.unpark_all()

    def __enter__(self) -> Mailbox[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
