"""The router: committed entries to their recipients' mailboxes, in seq order.

**Log before deliver.** The router is fed by the journal writer's
``on_entries`` hook, after each commit: an actor never sees an entry that a
crash could lose. It delivers each entry, in seq order, to the mailboxes
subscribed to the entry's ``recipient`` (every subscribed mailbox for
``"*"``), and to every mailbox subscribed to everything (the reducer,
observers). An entry addressed to nobody is dropped and counted: it is in the
journal anyway.

**Backpressure, end to end.** Delivery is synchronous while mailboxes have
room: the writer's callback puts the batch straight into the mailboxes, with
no task switch. When a mailbox is full the router stops there; its task
awaits room in that mailbox, and the entries behind wait in the router's
queue, in order. The writer's flusher awaits ``wait_for_room()`` before
taking each batch, so when that queue holds ``capacity`` entries or more the
writer waits, then its appenders: nothing is queued without bound (the queue
exceeds ``capacity`` by at most the one batch fed while it was full).

**Deterministic.** The same committed entries and the same subscriptions give
each mailbox the same entries in the same order. A subscription change
applies from the next entry whose delivery has not begun.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import final

import attrs
import trio

from ..model._entry import Entry
from ._mailbox import Mailbox

_Route = tuple[tuple[Mailbox[Entry], ...], bool]
"""A recipient's mailboxes, and whether any subscribed to its address."""


@final
@attrs.frozen
class RouterStatistics:
    """What a ``Router`` holds and has done. Returned by ``statistics()``."""

    queued: int
    """Entries fed but not yet delivered to all their mailboxes."""

    capacity: int
    """Queued entries at which ``wait_for_room`` makes the writer wait."""

    entries_fed: int
    """Entries handed to ``feed`` so far."""

    entries_routed: int
    """Entries delivered to all their mailboxes (or dropped)."""

    deliveries: int
    """Entries put into a mailbox (one entry to three mailboxes counts three)."""

    dropped_unaddressed: int
    """Entries whose recipient no mailbox subscribed to (observers aside)."""

    dropped_closed: int
    """Deliveries skipped: the mailbox was closed, or unsubscribed while the router waited on it."""

    blocked: int
    """Times the router waited for room in a full mailbox."""

    waiting_on: str | None
    """Name of the full mailbox the router waits on now, if any."""

    subscriptions: int
    """Current subscriptions (address or everything)."""

    writers_waiting: int
    """Tasks waiting in ``wait_for_room`` (the writer's flusher)."""


@final
@attrs.define(eq=False)
class Router:
    """Delivers committed entries to subscribed mailboxes, in seq order.

    Args:
        capacity: Entries queued (fed, not yet delivered because a mailbox is
            full) at which ``wait_for_room`` makes the writer wait.

    Wire it to the writer and run its task in the run's nursery::

        router = Router()
        router.subscribe("executor-1", mailbox)
        async with trio.open_nursery() as nursery:
            await nursery.start(router.run)
            async with journal.writer(
                run_id, on_entries=router.feed, wait_for_room=router.wait_for_room
            ) as writer:
                ...
    """

    _capacity: int = 4096
    _queue: collections.deque[Entry] = attrs.field(factory=collections.deque, init=False)
    _subs: list[tuple[str | None, Mailbox[Entry]]] = attrs.field(factory=list, init=False)
    _routes: dict[str, _Route] = attrs.field(factory=dict, init=False)
    # While blocked: the mailboxes of the head entry, the index of the full one.
    _head: tuple[Mailbox[Entry], ...] = attrs.field(default=(), init=False)
    _head_index: int = attrs.field(default=-1, init=False)
    _blocked: Mailbox[Entry] | None = attrs.field(default=None, init=False)
    _blocked_scope: trio.CancelScope | None = attrs.field(default=None, init=False)
    _task: trio.lowlevel.Task | None = attrs.field(default=None, init=False)
    _parked: bool = attrs.field(default=False, init=False)
    _room: trio.lowlevel.ParkingLot = attrs.field(factory=trio.lowlevel.ParkingLot, init=False)
    _fed: int = attrs.field(default=0, init=False)
    _routed: int = attrs.field(default=0, init=False)
    _deliveries: int = attrs.field(default=0, init=False)
    _dropped: int = attrs.field(default=0, init=False)
    _dropped_closed: int = attrs.field(default=0, init=False)
    _blocks: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:  # not a validator: see Mailbox
        if self._capacity < 1:
            raise ValueError(f"the router's capacity must be positive, not {self._capacity}")

    def statistics(self) -> RouterStatistics:
        """What the router holds and has done."""
        return RouterStatistics(
            queued=len(self._queue),
            capacity=self._capacity,
            entries_fed=self._fed,
            entries_routed=self._routed,
            deliveries=self._deliveries,
            dropped_unaddressed=self._dropped,
            dropped_closed=self._dropped_closed,
            blocked=self._blocks,
            waiting_on=None if self._blocked is None else self._blocked.name,
            subscriptions=len(self._subs),
            writers_waiting=len(self._room),
        )

    # ---------------------------------------------------------- subscriptions

    def subscribe(self, address: str, mailbox: Mailbox[Entry]) -> None:
        """Deliver the entries for ``address`` (and every ``"*"`` entry) to ``mailbox``.

        Raises:
            ValueError: ``address`` is ``"*"`` (use ``subscribe_all``).
        """
        if address == "*":
            raise ValueError('subscribe to an address, not "*"; subscribe_all sees everything')
        self._add(address, mailbox)

    def subscribe_all(self, mailbox: Mailbox[Entry]) -> None:
        """Deliver every entry to ``mailbox``, whoever it is for (reducer, observers)."""
        self._add(None, mailbox)

    def _add(self, address: str | None, mailbox: Mailbox[Entry]) -> None:
        if any(a == address and m is mailbox for a, m in self._subs):
            return
        self._subs.append((address, mailbox))
        self._routes.clear()

    def unsubscribe(self, mailbox: Mailbox[Entry]) -> None:
        """Remove every subscription of ``mailbox``.

        If the router is waiting for room in it, it stops waiting and drops
        that delivery. An actor that restarts subscribes again, usually with
        a new mailbox; what was sent to it meanwhile is in the journal.
        """
        self._subs = [(a, m) for a, m in self._subs if m is not mailbox]
        self._routes.clear()
        if self._blocked is None:
            return
        index = self._head_index
        head = self._head
        self._head = head[: index + 1] + tuple(m for m in head[index + 1 :] if m is not mailbox)
        if self._blocked is mailbox and self._blocked_scope is not None:
            self._blocked_scope.cancel()

    def _route(self, recipient: str) -> _Route:
        """The mailboxes for a recipient, in subscription order, each once."""
        everyone = recipient == "*"
        addressed = everyone
        boxes: list[Mailbox[Entry]] = []
        for address, mailbox in self._subs:
            if address == recipient:
                addressed = True
            elif not (address is None or everyone):
                continue
            if not any(m is mailbox for m in boxes):
                boxes.append(mailbox)
        route = (tuple(boxes), addressed)
        self._routes[recipient] = route
        return route

    # --------------------------------------------------------------- delivery

    def feed(self, entries: Sequence[Entry]) -> None:
        """Take a committed batch, in seq order (the writer's ``on_entries``).

        Delivers at once what fits; never blocks, never refuses.
        """
        self._fed += len(entries)
        if self._blocked is not None:
            self._queue.extend(entries)
            return
        if self._queue:  # cannot happen unblocked, but order comes first
            self._queue.extend(entries)
            self._pump()
            return
        # A batch of one or two entries (a request, a reply) goes entry by
        # entry: splitting it into shares costs more than it saves.
        if len(entries) <= 2 or not self._feed_bulk(entries):
            self._feed_each(entries)

    def _feed_bulk(self, entries: Sequence[Entry]) -> bool:
        """The common case: every mailbox has room for its share of the batch.

        One pass splits the batch into each mailbox's share (in seq order),
        then each share goes into its mailbox in one call. Returns False,
        having delivered nothing, if a mailbox lacks room or is closed.
        """
        shares: dict[Mailbox[Entry], list[Entry]] = {}
        unaddressed: list[Entry] = []
        adders_of: dict[str, tuple[Callable[[Entry], None], ...]] = {}
        for entry in entries:
            adders = adders_of.get(entry.recipient)
            if adders is None:
                adders = self._adders(entry.recipient, shares, unaddressed)
                adders_of[entry.recipient] = adders
            for add in adders:
                add(entry)
        for box, share in shares.items():
            if box.free < len(share):
                return False
        delivered = 0
        for box, share in shares.items():
            box.send_all_nowait(share)
            delivered += len(share)
        self._deliveries += delivered
        self._dropped += len(unaddressed)
        self._routed += len(entries)
        return True

    def _adders(
        self,
        recipient: str,
        shares: dict[Mailbox[Entry], list[Entry]],
        unaddressed: list[Entry],
    ) -> tuple[Callable[[Entry], None], ...]:
        """For one recipient: the ``append`` of each of its mailboxes' shares."""
        route = self._routes.get(recipient)
        if route is None:
            route = self._route(recipient)
        boxes, addressed = route
        adders = [shares.setdefault(box, []).append for box in boxes]
        if not addressed:
            adders.append(unaddressed.append)
        return tuple(adders)

    def _feed_each(self, entries: Sequence[Entry]) -> None:
        """Deliver entry by entry, stopping at the first full mailbox."""
        routes = self._routes
        delivered = 0
        dropped = 0
        for position, entry in enumerate(entries):
            route = routes.get(entry.recipient)
            if route is None:
                route = self._route(entry.recipient)
            boxes, addressed = route
            if not addressed:
                dropped += 1
            for index, box in enumerate(boxes):
                try:
                    box.send_nowait(entry)
                except trio.WouldBlock:
                    self._deliveries += delivered
                    self._dropped += dropped
                    self._routed += position
                    self._queue.extend(entries[position:])
                    self._block(boxes, index)
                    return
                except trio.ClosedResourceError:
                    self._dropped_closed += 1
                    continue
                delivered += 1
        self._deliveries += delivered
        self._dropped += dropped
        self._routed += len(entries)

    def _pump(self) -> None:
        """Deliver from the queue until it is empty or a mailbox is full."""
        queue = self._queue
        head = self._head
        index = self._head_index
        while queue:
            entry = queue[0]
            if index < 0:  # a new head entry
                route = self._routes.get(entry.recipient)
                if route is None:
                    route = self._route(entry.recipient)
                head, addressed = route
                if not addressed:
                    self._dropped += 1
                index = 0
            while index < len(head):
                box = head[index]
                try:
                    box.send_nowait(entry)
                except trio.WouldBlock:
                    self._block(head, index)
                    return
                except trio.ClosedResourceError:
                    self._dropped_closed += 1
                else:
                    self._deliveries += 1
                index += 1
            queue.popleft()
            self._routed += 1
            index = -1
        self._head = ()
        self._head_index = -1
        self._notify_room()

    def _block(self, head: tuple[Mailbox[Entry], ...], index: int) -> None:
        """Stop at a full mailbox: the router task waits for room in it."""
        self._head = head
        self._head_index = index
        self._blocked = head[index]
        self._blocks += 1
        if self._parked:
            self._parked = False
            trio.lowlevel.reschedule(self._task)  # type: ignore[arg-type]
        self._notify_room()

    def _notify_room(self) -> None:
        if self._room and len(self._queue) < self._capacity:
            self._room.unpark_all()

    async def wait_for_room(self) -> None:
        """Wait while ``capacity`` entries or more are queued (the writer's ``wait_for_room``).

        Returns at once, without a checkpoint, when there is room: the writer
        calls it before every batch.
        """
        while len(self._queue) >= self._capacity:
            await self._room.park()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The router's task: waits for room in full mailboxes. Runs until cancelled.

        Raises:
            RuntimeError: The router's task is already running.
        """
        if self._task is not None:
            raise RuntimeError("the router's task is already running")
        self._task = trio.lowlevel.current_task()
        try:
            task_status.started()
            while True:
                box = self._blocked
                if box is None:
                    self._parked = True
                    await trio.lowlevel.wait_task_rescheduled(self._abort_park)
                    continue
                await self._deliver_blocked(box)
                self._blocked = None
                self._head_index += 1
                self._pump()
        finally:
            self._task = None
            self._parked = False

    def _abort_park(self, _: object) -> trio.lowlevel.Abort:
        self._parked = False
        return trio.lowlevel.Abort.SUCCEEDED

    async def _deliver_blocked(self, box: Mailbox[Entry]) -> None:
        """Wait for room in ``box`` and deliver the head entry to it."""
        if not any(m is box for _, m in self._subs):  # unsubscribed before we got here
            self._dropped_closed += 1
            await trio.lowlevel.checkpoint()
            return
        with trio.CancelScope() as scope:  # unsubscribe cancels it
            self._blocked_scope = scope
            try:
                await box.send(self._queue[0])
                self._deliveries += 1
            except trio.ClosedResourceError:
                self._dropped_closed += 1
            finally:
                self._blocked_scope = None
        if scope.cancelled_caught:
            self._dropped_closed += 1
