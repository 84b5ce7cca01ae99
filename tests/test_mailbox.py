"""Mailboxes: batches, the fairness bound, backpressure and closing."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from playbill.runtime.shell._mailbox import Mailbox


async def test_receive_batch_takes_everything_queued_in_order() -> None:
    box: Mailbox[int] = Mailbox(10, "box")
    for i in range(5):
        box.send_nowait(i)
    assert await box.receive_batch() == [0, 1, 2, 3, 4]
    box.send_nowait(5)
    assert await box.receive_batch() == [5]
    stats = box.statistics()
    assert (stats.name, stats.sent, stats.received, stats.batches, stats.largest_batch) == (
        "box",
        6,
        6,
        2,
        5,
    )
    assert stats.queued == 0 and stats.capacity == 10 and not stats.closed


async def test_fairness_bound_limits_a_batch() -> None:
    box: Mailbox[int] = Mailbox(20)
    for i in range(10):
        box.send_nowait(i)
    assert await box.receive_batch(4) == [0, 1, 2, 3]
    assert await box.receive_batch(4) == [4, 5, 6, 7]
    assert await box.receive_batch(4) == [8, 9]
    assert box.statistics().largest_batch == 4


async def test_receive_batch_waits_for_the_first_item() -> None:
    box: Mailbox[str] = Mailbox(4)
    got: list[list[str]] = []

    async def receiver() -> None:
        got.append(await box.receive_batch())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiver)
        await trio.testing.wait_all_tasks_blocked()
        assert box.statistics().waiting_receivers == 1
        box.send_nowait("a")
        box.send_nowait("b")  # queued before the receiver runs: one batch
    assert got == [["a", "b"]]


async def test_receive_batch_is_a_checkpoint_and_loses_nothing_when_cancelled() -> None:
    box: Mailbox[int] = Mailbox(4)
    box.send_nowait(1)
    with trio.CancelScope() as scope:
        scope.cancel()
        await box.receive_batch()
    assert scope.cancelled_caught
    assert await box.receive_batch() == [1]


async def test_a_full_mailbox_blocks_senders_until_the_receiver_takes() -> None:
    box: Mailbox[int] = Mailbox(2)
    sent: list[int] = []

    async def sender() -> None:
        for i in range(5):
            await box.send(i)
            sent.append(i)

    received: list[int] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(sender)
        await trio.testing.wait_all_tasks_blocked()
        assert sent == [0, 1]  # the third send waits
        stats = box.statistics()
        assert (stats.queued, stats.waiting_senders) == (2, 1)
        with pytest.raises(trio.WouldBlock):
            box.send_nowait(99)
        while len(received) < 5:
            received += await box.receive_batch()
    assert received == [0, 1, 2, 3, 4]
    assert box.statistics().queued == 0


async def test_close_lets_the_receiver_drain_then_ends_its_loop() -> None:
    box: Mailbox[int] = Mailbox(4)
    box.send_nowait(1)
    box.send_nowait(2)
    box.close()
    with pytest.raises(trio.ClosedResourceError):
        box.send_nowait(3)
    with pytest.raises(trio.ClosedResourceError):
        await box.send(3)
    batches = [batch async for batch in box]
    assert batches == [[1, 2]]
    with pytest.raises(trio.EndOfChannel):
        await box.receive_batch()
    with pytest.raises(trio.EndOfChannel):
        box.receive_batch_nowait()
    assert box.statistics().closed


async def test_close_wakes_waiting_senders_and_receivers() -> None:
    full: Mailbox[int] = Mailbox(1)
    full.send_nowait(0)
    empty: Mailbox[int] = Mailbox(1)
    outcomes: list[str] = []

    async def sender() -> None:
        with pytest.raises(trio.ClosedResourceError):
            await full.send(1)
        outcomes.append("sender refused")

    async def receiver() -> None:
        async for _ in empty:
            pass  # pragma: no cover
        outcomes.append("receiver ended")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(sender)
        nursery.start_soon(receiver)
        await trio.testing.wait_all_tasks_blocked()
        with full, empty:  # leaving the block closes both
            pass
    assert sorted(outcomes) == ["receiver ended", "sender refused"]
    assert await full.receive_batch() == [0]  # what was queued stays


async def test_receive_batch_nowait() -> None:
    box: Mailbox[int] = Mailbox(4)
    with pytest.raises(trio.WouldBlock):
        box.receive_batch_nowait()
    box.send_nowait(7)
    assert box.receive_batch_nowait() == [7]
    assert len(box) == 0


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Mailbox(0)


async def test_send_all_nowait_queues_all_or_nothing() -> None:
    box: Mailbox[int] = Mailbox(5)
    box.send_all_nowait([1, 2, 3])
    assert box.free == 2
    with pytest.raises(trio.WouldBlock):
        box.send_all_nowait([4, 5, 6])
    assert len(box) == 3  # nothing of the refused call
    box.send_all_nowait([4, 5])
    assert box.free == 0
    assert await box.receive_batch() == [1, 2, 3, 4, 5]
    assert box.statistics().sent == 5
    box.close()
    assert box.free == 0
    with pytest.raises(trio.ClosedResourceError):
        box.send_all_nowait([6])


async def test_send_all_nowait_wakes_the_receiver() -> None:
    box: Mailbox[int] = Mailbox(5)
    got: list[int] = []

    async def receiver() -> None:
        got.extend(await box.receive_batch())

    async with trio.open_nursery() as nursery:
        nursery.start_soon(receiver)
        await trio.testing.wait_all_tasks_blocked()
        box.send_all_nowait([1, 2])
    assert got == [1, 2]
