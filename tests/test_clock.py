"""The runtime clocks: virtual time with deterministic wake-ups, and the wall clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import trio
import trio.testing

from playbill.runtime.shell._clock import VirtualClock, WallClock

EPOCH_US = 1_700_000_000_000_000

# A workload where many sleepers share due times. It is run in this process and
# in subprocesses, so it is source text; ``run_workload`` returns the wake log.
WORKLOAD = """
import random
import trio
import trio.testing
from playbill.runtime.shell._clock import VirtualClock


def run_workload(sleepers=60, rounds=6, epoch_us=1_700_000_000_000_000):
    log = []
    registrations = iter(range(10**9))

    async def sleeper(clock, name, rng, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        # The first sleep is never due at once: the clock would wake the sleeper
        # while the parent still starts others, in trio's scheduling order.
        due = clock.now_us() + 1000
        for _ in range(rounds):
            reg = next(registrations)
            await clock.sleep_until_us(due)
            log.append((clock.now_us(), due, reg, name))
            # few distinct due times, so many sleepers share each one
            due = clock.now_us() + rng.choice([0, 0, 1000, 1000, 5000])

    async def main():
        async with VirtualClock.open(epoch_us) as clock:
            async with trio.open_nursery() as nursery:
                for i in range(sleepers):
                    await nursery.start(sleeper, clock, f"s{i}", random.Random(i))

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return log
"""


def run_workload(**kwargs: int) -> list[tuple[int, int, int, str]]:
    namespace: dict[str, object] = {}
    exec(WORKLOAD, namespace)
    log = namespace["run_workload"](**kwargs)  # type: ignore[operator]
    return [tuple(item) for item in log]  # type: ignore[misc]


def test_sleepers_wake_in_due_then_registration_order() -> None:
    log = run_workload()
    assert len(log) == 60 * 6
    assert log == sorted(log, key=lambda item: (item[1], item[2]))
    for now, due, _, _ in log:
        assert now == due


def test_wake_order_is_the_same_on_every_run_in_process() -> None:
    # trio reverses its run batches at random; the clock's order must not care
    assert run_workload() == run_workload() == run_workload()


def test_wake_order_is_identical_across_processes_and_hash_seeds() -> None:
    script = WORKLOAD + "\nimport json\nprint(json.dumps(run_workload()))\n"
    outputs = []
    for hash_seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1] == outputs[2]
    assert [tuple(item) for item in outputs[0]] == run_workload()


async def test_now_us_counts_from_the_epoch(autojump_clock: trio.testing.MockClock) -> None:
    async with VirtualClock.open(EPOCH_US) as clock:
        assert clock.now_us() == EPOCH_US
        await clock.sleep_until_us(EPOCH_US + 3_600_000_000)
        assert clock.now_us() == EPOCH_US + 3_600_000_000
        assert trio.current_time() == pytest.approx(3600.0)


async def test_a_sleep_in_the_past_returns_now_after_earlier_sleepers(
    autojump_clock: trio.testing.MockClock,
) -> None:
    order: list[str] = []
    async with VirtualClock.open(EPOCH_US) as clock:

        async def sleep(name: str, t: int, task_status: trio.TaskStatus[None]) -> None:
            task_status.started()
            await clock.sleep_until_us(t)
            order.append(name)

        await clock.sleep_until_us(EPOCH_US + 10)
        async with trio.open_nursery() as nursery:
            await nursery.start(sleep, "now", clock.now_us())
            await nursery.start(sleep, "past", EPOCH_US)
            await nursery.start(sleep, "later", clock.now_us() + 1)
        assert order == ["now", "past", "later"]
        assert clock.now_us() == EPOCH_US + 11


async def test_a_sleep_is_cancellable_and_leaves_no_sleeper(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with VirtualClock.open(EPOCH_US) as clock:
        with trio.move_on_after(5):
            await clock.sleep_until_us(EPOCH_US + 3_600_000_000)
        assert clock.now_us() == EPOCH_US + 5_000_000
        assert clock.statistics().sleepers == 0
        # the cancelled sleeper does not stop later ones from waking on time
        await clock.sleep_until_us(EPOCH_US + 6_000_000)
        assert clock.now_us() == EPOCH_US + 6_000_000
        assert clock.statistics().woken == 1


async def test_an_earlier_sleeper_wakes_before_a_later_one_registered_first(
    autojump_clock: trio.testing.MockClock,
) -> None:
    order: list[str] = []
    async with VirtualClock.open(EPOCH_US) as clock:

        async def sleep(name: str, t: int) -> None:
            await clock.sleep_until_us(t)
            order.append(name)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sleep, "late", EPOCH_US + 9_000)
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(sleep, "early", EPOCH_US + 2_000)
            await trio.testing.wait_all_tasks_blocked()
            stats = clock.statistics()
            assert (stats.sleepers, stats.next_due_us) == (2, EPOCH_US + 2_000)
    assert order == ["early", "late"]


async def test_sleeping_on_a_clock_that_is_not_open_is_an_error() -> None:
    clock = VirtualClock(EPOCH_US)
    with pytest.raises(RuntimeError, match="not open"):
        await clock.sleep_until_us(EPOCH_US)


class JumpyTime:
    """A time of day that follows trio's clock, plus a jump we control."""

    def __init__(self) -> None:
        self.offset_ns = 0

    def __call__(self) -> int:
        return EPOCH_US * 1000 + round(trio.current_time() * 1e9) + self.offset_ns


async def test_wall_clock_sleeps_until_the_time_of_day(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = JumpyTime()
    monkeypatch.setattr(time, "time_ns", fake)
    clock = WallClock()
    start = trio.current_time()
    await clock.sleep_until_us(clock.now_us() + 2_500_000)
    assert trio.current_time() - start == pytest.approx(2.5)


async def test_wall_clock_tolerates_jumps_of_the_time_of_day(
    autojump_clock: trio.testing.MockClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = JumpyTime()
    monkeypatch.setattr(time, "time_ns", fake)
    clock = WallClock(max_nap_s=1.0)
    target = clock.now_us() + 10_000_000

    async def jump(by_s: float, after_s: float) -> None:
        await trio.sleep(after_s)
        fake.offset_ns += round(by_s * 1e9)

    # forwards by 6 s after 2 s: the sleep ends within a nap of the new time
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(jump, 6.0, 2.0)
        await clock.sleep_until_us(target)
    assert clock.now_us() >= target
    assert trio.current_time() - start <= 4.0 + 1e-6

    # backwards by 5 s: the sleep lasts longer, and never ends early
    target = clock.now_us() + 3_000_000
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(jump, -5.0, 1.0)
        await clock.sleep_until_us(target)
    assert clock.now_us() >= target
    assert trio.current_time() - start == pytest.approx(8.0)


def test_wall_clock_refuses_a_nonsense_nap() -> None:
    with pytest.raises(ValueError, match="max_nap_s"):
        WallClock(max_nap_s=0)


async def test_a_trio_deadline_before_the_next_sleeper_fires_at_its_own_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: dict[str, float] = {}
    async with VirtualClock.open(EPOCH_US) as clock:

        async def sleep(name: str, t: int) -> None:
            await clock.sleep_until_us(t)
            seen[name] = trio.current_time()

        async def timeout() -> None:
            with trio.move_on_after(0.5):
                await trio.sleep_forever()
            seen["timeout"] = trio.current_time()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sleep, "early", EPOCH_US + 100_000)
            nursery.start_soon(sleep, "late", EPOCH_US + 1_000_000)
            nursery.start_soon(timeout)
    # Once the early sleeper has run, all is quiet: the clock must not move on
    # to the late one past the trio deadline that comes first.
    assert seen == {"early": 0.1, "timeout": 0.5, "late": 1.0}


async def test_sleepers_due_later_wake_at_their_time_exactly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    woke: list[tuple[int, int]] = []
    async with VirtualClock.open(EPOCH_US) as clock:

        async def sleep(t: int) -> None:
            await clock.sleep_until_us(t)
            woke.append((t, clock.now_us()))
            await clock.sleep_until_us(t + 333_333)
            woke.append((t + 333_333, clock.now_us()))

        async with trio.open_nursery() as nursery:
            for offset in (7, 1_000_001, 2_718_281, 86_400_000_000):
                nursery.start_soon(sleep, EPOCH_US + offset)
    assert all(due == now for due, now in woke) and len(woke) == 8
