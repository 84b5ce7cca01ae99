"""The simulated backend is deterministic: per piece of work, across runs and processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
import trio
import trio.testing

from playbill.runtime import StepSpec
from playbill.runtime.shell._clock import VirtualClock
from playbill.simulation._profiles import BUILTIN_PROFILES, AgentProfile
from playbill.simulation._simulated import SimulatedBackend
from sim_helpers import EPOCH_US, Recorder, act, backend, order


async def test_same_inputs_give_the_same_result_and_reporter_calls(
    autojump_clock: trio.testing.MockClock,
) -> None:
    profile = BUILTIN_PROFILES["flaky"]
    runs = []
    for _ in range(2):
        async with VirtualClock.open(EPOCH_US) as clock:
            sim = backend(clock, profile)
            for attempt in range(1, 8):
                recorder = Recorder(clock)
                result: object = "hung"
                with trio.move_on_after(3600):  # the hangs
                    result, recorder = await act(sim, order(attempt), clock)
                runs.append((repr(result), recorder.calls, clock.now_us() - recorder.start))
    half = len(runs) // 2
    assert runs[:half] == runs[half:]
    assert len({r for r, _, _ in runs[:half]}) == half  # attempts differ


def test_attempts_agents_seeds_and_kinds_give_different_draws() -> None:
    sim = SimulatedBackend("agent-1", AgentProfile(), 7, VirtualClock(EPOCH_US))
    base = sim.outcome(order(1))
    assert sim.outcome(order(1)) == base
    assert sim.outcome(order(2)).work_us != base.work_us
    assert sim.outcome(order(1, agent="agent-2")).work_us == base.work_us  # the backend's id counts
    other_agent = SimulatedBackend("agent-2", AgentProfile(), 7, VirtualClock(EPOCH_US))
    assert other_agent.outcome(order(1)).work_us != base.work_us
    other_seed = SimulatedBackend("agent-1", AgentProfile(), 8, VirtualClock(EPOCH_US))
    assert other_seed.outcome(order(1)).work_us != base.work_us
    assert sim.outcome(order(1, kind="review", role="reviewer")).work_us != base.work_us


def test_outcomes_do_not_depend_on_what_ran_before() -> None:
    a = SimulatedBackend("a", AgentProfile(), 3, VirtualClock(EPOCH_US))
    b = SimulatedBackend("b", AgentProfile(), 3, VirtualClock(EPOCH_US))
    works = [order(n, step=StepSpec(id=f"s{n % 3}", goal="g")) for n in range(1, 10)]
    forwards = [(a.outcome(w), b.outcome(w)) for w in works]
    backwards = [(a.outcome(w), b.outcome(w)) for w in reversed(works)][::-1]
    interleaved = [b.outcome(w) for w in works] and [(a.outcome(w), b.outcome(w)) for w in works]
    assert forwards == backwards == interleaved


# A run of one agent through every kind of work and outcome, as source text:
# it runs here and in subprocesses with other hash seeds.
SCRIPT = """
import msgspec, trio, trio.testing
from playbill.backends._backend import BackendError, WorkOrder
from playbill.simulation._profiles import BUILTIN_PROFILES
from playbill.simulation._simulated import SimulatedBackend, SimulatedCrash
from playbill.runtime import StepSpec, TestsPass, CommandPasses
from playbill.runtime.shell._clock import VirtualClock
from playbill.runtime.model._faults import parse_faults

def transcript():
    out = []
    step = StepSpec(id="s1", goal="g", scope=("src/**", "docs/*.md"),
                    validators=(TestsPass(), CommandPasses(argv=("make",))))
    works = [("work", "executor"), ("work", "planner"), ("review", "reviewer"),
             ("verify", "verifier")]

    class Recorder:
        def __init__(self, clock):
            self.clock = clock
        async def heartbeat(self, progress=""):
            out.append(["heartbeat", self.clock.now_us(), progress])
        async def usage(self, usage):
            out.append(["usage", self.clock.now_us(), msgspec.to_builtins(usage)])

    async def main():
        async with VirtualClock.open(1_700_000_000_000_000) as clock:
            sim = SimulatedBackend("executor-1", BUILTIN_PROFILES["flaky"], 99, clock,
                                   faults=parse_faults("crash=0.1,hang=0.1,slow=0.3:4"))
            for attempt in range(1, 13):
                kind, role = works[attempt % 4]
                order = WorkOrder(run_id="r", agent="executor-1", role=role, kind=kind,
                                  step=step, attempt=attempt)
                with trio.move_on_after(7200):
                    try:
                        result = await sim.run(order, Recorder(clock))
                        out.append(["result", msgspec.to_builtins(result)])
                    except (BackendError, SimulatedCrash) as error:
                        out.append(["raised", type(error).__name__, str(error)])
                out.append(["end", clock.now_us()])

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return out
"""


def run_script() -> list[Any]:
    namespace: dict[str, Any] = {}
    exec(SCRIPT, namespace)
    result: list[Any] = json.loads(json.dumps(namespace["transcript"]()))
    return result


def test_transcripts_are_identical_across_processes_and_hash_seeds() -> None:
    here = run_script()
    kinds = {item[0] for item in here}
    assert {"result", "raised", "heartbeat", "usage"} <= kinds
    script = SCRIPT + "\nimport json\nprint(json.dumps(transcript()))\n"
    for hash_seed in ("0", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert json.loads(done.stdout) == here


# Many agents at once, reporting through a channel to one "journal" task, as
# the role actors do: the journal's order must be the same in every process.
PARALLEL = """
import msgspec, trio, trio.testing
from playbill.backends._backend import BackendError, WorkOrder
from playbill.simulation._profiles import BUILTIN_PROFILES
from playbill.simulation._simulated import SimulatedBackend, SimulatedCrash
from playbill.runtime import StepSpec
from playbill.runtime.shell._clock import VirtualClock
from playbill.runtime.model._faults import parse_faults

def journal_of_parallel_agents(agents=12, orders=4):
    journal = []

    class Reporter:
        def __init__(self, send, agent):
            self.send, self.agent = send, agent
        async def heartbeat(self, progress=""):
            await self.send.send([self.agent, "heartbeat", progress])
        async def usage(self, usage):
            await self.send.send([self.agent, "usage", msgspec.to_builtins(usage)])

    async def agent(clock, name, send):
        # every agent has the same latency distribution: many ties in time
        sim = SimulatedBackend(name, BUILTIN_PROFILES["perfect"], 5, clock,
                               faults=parse_faults("crash=0.1,transient=0.1,slow=0.5:2"))
        for n in range(1, orders + 1):
            order = WorkOrder(run_id="r", agent=name, role="executor", kind="work",
                              step=StepSpec(id=f"s{n}", goal="g"), attempt=1)
            try:
                result = await sim.run(order, Reporter(send, name))
                await send.send([name, "result", result.exit_status])
            except (BackendError, SimulatedCrash) as error:
                await send.send([name, "raised", type(error).__name__])

    async def main():
        send, receive = trio.open_memory_channel(0)
        async with VirtualClock.open(1_700_000_000_000_000) as clock:
            async with trio.open_nursery() as nursery:
                async def writer():
                    async for item in receive:
                        journal.append([clock.now_us(), *item])
                nursery.start_soon(writer)
                async with trio.open_nursery() as agents_nursery:
                    for i in range(agents):
                        await agents_nursery.start(start_agent, clock, f"a{i}", send, agent)
                nursery.cancel_scope.cancel()

    async def start_agent(clock, name, send, body, task_status=trio.TASK_STATUS_IGNORED):
        # all start at once, in the order they were started: started() lets
        # the parent go on, but only once this task blocks, in the sleep
        task_status.started()
        await clock.sleep_until_us(1_700_000_000_001_000)
        await body(clock, name, send)

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    return journal
"""


@pytest.mark.slow
def test_parallel_agents_journal_in_the_same_order_in_every_process() -> None:
    namespace: dict[str, Any] = {}
    exec(PARALLEL, namespace)
    here = json.loads(json.dumps(namespace["journal_of_parallel_agents"]()))
    assert here == json.loads(json.dumps(namespace["journal_of_parallel_agents"]()))
    times = [item[0] for item in here]
    assert times == sorted(times)
    assert len(set(times)) < len(times) / 4  # agents really did tie
    script = PARALLEL + "\nimport json\nprint(json.dumps(journal_of_parallel_agents()))\n"
    for hash_seed in ("1", "77"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert json.loads(done.stdout) == here
