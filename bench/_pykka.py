"""pykka, the peer for one-way tells, asks and fan-in: ``ThreadingActor``\\ s, one thread each.

Plain ``tell`` / ``ask`` messages, not proxies (which add overhead). Each
function times itself and returns a rate; actors are started before the
clock starts and stopped after it stops.
"""

from __future__ import annotations

import threading
import time
from typing import Any

try:
    import pykka
except ImportError:  # the bench extra is not installed
    pykka = None

AVAILABLE = pykka is not None


def _actor_classes() -> tuple[type[Any], type[Any]]:
    assert pykka is not None

    class Counter(pykka.ThreadingActor):  # type: ignore[misc]
        """Counts tells; sets ``done`` at the expected count; answers asks with the message."""

        def __init__(self, expect: int, done: threading.Event) -> None:
            super().__init__()
            self.expect = expect
            self.done = done
            self.count = 0

        def on_receive(self, message: Any) -> Any:
            if isinstance(message, tuple) and message[0] == "ping":
                return message[1]
            self.count += 1
            if self.count == self.expect:
                self.done.set()
            return None

    class Driver(pykka.ThreadingActor):  # type: ignore[misc]
        """Tells or asks its target ``n`` times when told to."""

        def __init__(self, target: Any, items: list[Any]) -> None:
            super().__init__()
            self.target = target
            self.items = items

        def on_receive(self, message: Any) -> Any:
            if message == "tell":
                tell = self.target.tell
                for item in self.items:
                    tell(item)
                return None
            start = time.perf_counter()
            ask = self.target.ask
            for i in range(len(self.items)):
                assert ask(("ping", i)) == i
            return time.perf_counter() - start

    return Counter, Driver


def tell_rate(items: list[Any]) -> float:
    """Actor A tells actor B every item; timed until B has handled the last one."""
    counter_cls, driver_cls = _actor_classes()
    done = threading.Event()
    counter = counter_cls.start(len(items), done)
    driver = driver_cls.start(counter, items)
    try:
        start = time.perf_counter()
        driver.tell("tell")
        assert done.wait(600)
        return len(items) / (time.perf_counter() - start)
    finally:
        driver.stop()
        counter.stop()


def ask_rate(n: int) -> float:
    """Actor A asks actor B ``n`` times, each a blocking round trip; A times itself."""
    counter_cls, driver_cls = _actor_classes()
    counter = counter_cls.start(0, threading.Event())
    driver = driver_cls.start(counter, [None] * n)
    try:
        elapsed = driver.ask("ask")
        return n / elapsed
    finally:
        driver.stop()
        counter.stop()


def fan_in_rate(items: list[Any], producers: int) -> float:
    """``producers`` actors each tell one consumer their share of the items."""
    counter_cls, driver_cls = _actor_classes()
    share = len(items) // producers
    done = threading.Event()
    counter = counter_cls.start(share * producers, done)
    drivers = [
        driver_cls.start(counter, items[i * share : (i + 1) * share]) for i in range(producers)
    ]
    try:
        start = time.perf_counter()
        for driver in drivers:
            driver.tell("tell")
        assert done.wait(600)
        return share * producers / (time.perf_counter() - start)
    finally:
        for driver in drivers:
            driver.stop()
        counter.stop()
