"""autogen-core, the peer for request/reply: ``SingleThreadedAgentRuntime`` (asyncio, in-process).

Library defaults (no logging or telemetry configured). A ``RoutedAgent``
driver awaits ``send_message`` to a ``RoutedAgent`` ponger ``n`` times and
times itself; a new runtime per measurement, registration left out.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

try:
    from autogen_core import AgentId, MessageContext, RoutedAgent, SingleThreadedAgentRuntime
    from autogen_core import message_handler as _message_handler
except ImportError:  # the bench extra is not installed
    AVAILABLE = False
else:
    AVAILABLE = True


@dataclass
class Ping:
    i: int


@dataclass
class Pong:
    i: int


@dataclass
class RunRoundTrips:
    n: int


@dataclass
class Elapsed:
    seconds: float


def _agents() -> tuple[type[Any], type[Any]]:
    class Ponger(RoutedAgent):
        def __init__(self) -> None:
            super().__init__("ponger")

        @_message_handler
        async def on_ping(self, message: Ping, ctx: MessageContext) -> Pong:
            return Pong(message.i)

    class Driver(RoutedAgent):
        def __init__(self) -> None:
            super().__init__("driver")

        @_message_handler
        async def on_run(self, message: RunRoundTrips, ctx: MessageContext) -> Elapsed:
            ponger = AgentId("ponger", "default")
            start = time.perf_counter()
            for i in range(message.n):
                reply = await self.send_message(Ping(i), ponger)
                assert reply.i == i
            return Elapsed(time.perf_counter() - start)

    return Ponger, Driver


async def _round_trips(n: int) -> float:
    ponger, driver = _agents()
    runtime = SingleThreadedAgentRuntime()
    await ponger.register(runtime, "ponger", ponger)
    await driver.register(runtime, "driver", driver)
    runtime.start()
    result = await runtime.send_message(RunRoundTrips(n), AgentId("driver", "default"))
    await runtime.stop_when_idle()
    return float(result.seconds)


def round_trip_rate(n: int) -> float:
    """Round trips per second between two RoutedAgents."""
    return n / asyncio.run(_round_trips(n))
