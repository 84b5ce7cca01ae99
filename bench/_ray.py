"""ray, the peer for request/reply between actors: a local cluster, each actor a process.

``ray.init(num_cpus=2, include_dashboard=False)`` per measurement, so that
ray's processes do not load the machine while the other cases run; start-up,
actor creation and a warm-up are left out of the timing.
"""

from __future__ import annotations

import time
from typing import Any

try:
    import ray
except ImportError:  # the bench extra is not installed
    ray = None

AVAILABLE = ray is not None


def _actors() -> tuple[Any, Any]:
    assert ray is not None

    @ray.remote(num_cpus=0)
    class Ponger:
        def ping(self, i: int) -> int:
            return i

    @ray.remote(num_cpus=0)
    class Caller:
        def __init__(self, ponger: Any) -> None:
            self.ponger = ponger

        def round_trips(self, n: int) -> float:
            start = time.perf_counter()
            for i in range(n):
                assert ray.get(self.ponger.ping.remote(i)) == i
            return time.perf_counter() - start

    ponger = Ponger.remote()  # type: ignore[attr-defined]
    return ponger, Caller.remote(ponger)  # type: ignore[attr-defined]


def round_trip_rate(n: int) -> float:
    """Actor A calls actor B and waits for each reply (``ray.get`` inside A), ``n`` times."""
    assert ray is not None
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        _, caller = _actors()
        ray.get(caller.round_trips.remote(50))  # warm-up: workers up, code loaded
        return n / ray.get(caller.round_trips.remote(n))
    finally:
        ray.shutdown()
