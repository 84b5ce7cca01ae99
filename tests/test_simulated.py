"""The simulated backend: deterministic, order-independent, faithful to its profile."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from typing import Any

import msgspec
import pytest
import trio
import trio.testing

from playbill.actors._backend import AgentBackend, BackendError, WorkKind, WorkOrder
from playbill.actors._profiles import (
    BUILTIN_PROFILES,
    AgentProfile,
    FaultOdds,
    Latency,
    RoleOdds,
)
from playbill.actors._sim_payloads import path_in_scope
from playbill.actors._simulated import SimulatedBackend, SimulatedCrash
from playbill.runtime import (
    CommandPasses,
    Failure,
    HumanApproval,
    ImplementationPayload,
    PlanPayload,
    PlaybillError,
    ResultEnvelope,
    ReviewPayload,
    Role,
    StepSpec,
    TestsPass,
    Usage,
    VerificationPayload,
)
from playbill.runtime._clock import VirtualClock
from playbill.runtime._faults import FaultPlan

EPOCH_US = 1_700_000_000_000_000
STEP = StepSpec(
    id="s1",
    goal="add the parser",
    scope=("src/pkg/**", "tests/test_*.py"),
    validators=(TestsPass(), CommandPasses(argv=("ruff", "check", ".")), HumanApproval()),
)


def order(
    attempt: int = 1,
    *,
    kind: WorkKind = "work",
    role: Role = "executor",
    step: StepSpec = STEP,
    agent: str = "agent-1",
    feedback: Failure | None = None,
) -> WorkOrder:
    return WorkOrder(
        run_id="run-1",
        agent=agent,
        role=role,
        kind=kind,
        step=step,
        attempt=attempt,
        feedback=feedback,
    )


class Recorder:
    """A reporter that records every call with the virtual time it came at."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.start = clock.now_us()
        self.calls: list[tuple[str, int, object]] = []

    async def heartbeat(self, progress: str = "") -> None:
        self.calls.append(("heartbeat", self.clock.now_us() - self.start, progress))

    async def usage(self, usage: Usage) -> None:
        self.calls.append(("usage", self.clock.now_us() - self.start, usage))

    def reported(self) -> Usage:
        total = Usage()
        for kind, _, value in self.calls:
            if kind == "usage":
                assert isinstance(value, Usage)
                total = total + value
        return total


def backend(
    clock: VirtualClock,
    profile: AgentProfile = BUILTIN_PROFILES["default"],
    *,
    faults: FaultPlan | None = None,
    seed: int = 7,
    agent: str = "agent-1",
    edits_files: bool = True,
) -> SimulatedBackend:
    return SimulatedBackend(
        agent,
        profile,
        seed,
        clock,
        faults=faults if faults is not None else FaultPlan(),
        edits_files=edits_files,
    )


async def act(sim: SimulatedBackend, work: WorkOrder, clock: VirtualClock) -> tuple[Any, Recorder]:
    """Run ``work``; return the result (or the exception) and the recorder."""
    recorder = Recorder(clock)
    try:
        outcome: Any = await sim.run(work, recorder)
    except (BackendError, SimulatedCrash) as error:
        outcome = error
    return outcome, recorder


def test_it_is_an_agent_backend() -> None:
    sim: AgentBackend = SimulatedBackend("a", AgentProfile(), 1, VirtualClock(EPOCH_US))
    assert sim.name == "simulated"
    assert sim.capabilities.roles == {"planner", "executor", "reviewer", "verifier"}
    limited = SimulatedBackend("a", AgentProfile(), 1, VirtualClock(EPOCH_US), roles=("reviewer",))
    assert limited.capabilities.roles == {"reviewer"}


async def test_same_inputs_give_the_same_result_and_reporter_calls(
    autojump_clock: trio.testing.MockClock,
) -> None:
    profile = BUILTIN_PROFILES["flaky"]
    runs = []
    for _ in range(2):
        async with VirtualClock.open(EPOCH_US) as clock:
            sim = backend(clock, profile)
            for attempt in range(1, 8):
                with trio.move_on_after(3600):  # the hangs
                    result, recorder = await act(sim, order(attempt), clock)
                    runs.append((repr(result), recorder.calls))
    half = len(runs) // 2
    assert runs[:half] == runs[half:]
    assert len({r for r, _ in runs[:half]}) == half  # attempts differ


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
from playbill.actors._backend import BackendError, WorkOrder
from playbill.actors._profiles import BUILTIN_PROFILES
from playbill.actors._simulated import SimulatedBackend, SimulatedCrash
from playbill.runtime import StepSpec, TestsPass, CommandPasses
from playbill.runtime._clock import VirtualClock
from playbill.runtime._faults import parse_faults

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


async def test_heartbeats_come_every_interval_and_usage_adds_up(
    autojump_clock: trio.testing.MockClock,
) -> None:
    profile = AgentProfile(heartbeat_interval_s=7.0, latency=Latency(median_s=60.0, sigma=0.0))
    async with VirtualClock.open(EPOCH_US) as clock:
        result, recorder = await act(backend(clock, profile), order(), clock)
    assert isinstance(result, ResultEnvelope)
    beats = [at for kind, at, _ in recorder.calls if kind == "heartbeat"]
    assert beats == [7_000_000 * k for k in range(1, 9)]  # 60 s: 8 beats, then the result
    assert recorder.calls[-1][:2] == ("usage", 60_000_000)
    assert recorder.reported() == result.usage
    assert result.usage.wall_s == pytest.approx(60.0)
    assert result.usage.tokens_in > 0 and result.usage.cost_usd > 0


async def test_a_hang_goes_silent_and_is_cancellable(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with VirtualClock.open(EPOCH_US) as clock:
        sim = backend(clock, faults=FaultPlan(hang=1.0))
        outcome = sim.outcome(order())
        assert outcome.kind == "hang"
        recorder = Recorder(clock)
        with trio.move_on_after(10_000) as scope:
            await sim.run(order(), recorder)
        assert scope.cancelled_caught
        assert clock.now_us() - recorder.start == 10_000_000_000
        last = max(at for _, at, _ in recorder.calls)
        assert last == outcome.work_us  # nothing after the hang struck
        assert recorder.reported() == outcome.usage()


async def test_a_crash_is_not_a_playbill_error(autojump_clock: trio.testing.MockClock) -> None:
    async with VirtualClock.open(EPOCH_US) as clock:
        sim = backend(clock, faults=FaultPlan(crash=1.0))
        with pytest.raises(SimulatedCrash) as caught:
            await sim.run(order(3), Recorder(clock))
    assert not isinstance(caught.value, PlaybillError)
    assert (caught.value.agent, caught.value.step, caught.value.attempt) == ("agent-1", "s1", 3)


async def test_a_transient_failure_is_a_typed_backend_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with VirtualClock.open(EPOCH_US) as clock:
        sim = backend(clock, AgentProfile(faults=FaultOdds(transient=1.0)))
        result, recorder = await act(sim, order(), clock)
    assert isinstance(result, BackendError)
    assert result.failure.failure_class == "transient"
    assert result.usage == Usage()  # everything was reported already
    assert recorder.reported().tokens > 0


async def test_a_role_it_cannot_play_is_refused(autojump_clock: trio.testing.MockClock) -> None:
    async with VirtualClock.open(EPOCH_US) as clock:
        sim = SimulatedBackend("a", AgentProfile(), 1, clock, roles=frozenset({"reviewer"}))
        with pytest.raises(BackendError) as caught:
            await sim.run(order(), Recorder(clock))
    assert caught.value.failure.failure_class == "policy"


def outcomes(
    profile: AgentProfile,
    n: int = 4000,
    *,
    faults: FaultPlan | None = None,
    role: Role = "executor",
    kind: WorkKind = "work",
    feedback: Failure | None = None,
) -> list[Any]:
    sim = SimulatedBackend(
        "agent-1", profile, 11, VirtualClock(EPOCH_US), faults=faults or FaultPlan()
    )
    return [
        sim.outcome(
            order(1, step=StepSpec(id=f"s{i}", goal="g"), role=role, kind=kind, feedback=feedback)
        )
        for i in range(n)
    ]


def assert_rate(hits: int, n: int, p: float) -> None:
    """``hits`` of ``n`` is within five standard deviations of ``n * p``."""
    sd = (n * p * (1 - p)) ** 0.5
    assert abs(hits - n * p) <= 5 * sd + 1, (hits, n, p)


def test_fault_and_success_rates_match_the_profile() -> None:
    profile = AgentProfile(
        success=RoleOdds(executor=0.7), faults=FaultOdds(crash=0.1, hang=0.05, transient=0.1)
    )
    drawn = outcomes(profile)
    count = {k: sum(o.kind == k for o in drawn) for k in ("crash", "hang", "transient")}
    n = len(drawn)
    assert_rate(count["crash"], n, 0.1)
    assert_rate(count["hang"], n, 0.9 * 0.05)
    assert_rate(count["transient"], n, 0.9 * 0.95 * 0.1)
    worked = [o for o in drawn if o.kind in ("success", "failure")]
    assert_rate(sum(o.kind == "success" for o in worked), len(worked), 0.7)


def test_latency_and_tokens_follow_their_medians() -> None:
    profile = AgentProfile(latency=Latency(median_s=40.0, sigma=0.8))
    drawn = outcomes(profile, 2001)
    latencies = sorted(o.work_us for o in drawn)
    assert latencies[1000] == pytest.approx(40e6, rel=0.1)
    tokens = sorted(o.tokens_in for o in drawn)
    assert tokens[1000] == pytest.approx(profile.tokens_in.median, rel=0.1)


def test_faults_overlay_the_profile() -> None:
    profile = AgentProfile(faults=FaultOdds(crash=0.1))
    drawn = outcomes(profile, faults=FaultPlan(crash=0.2))
    assert_rate(sum(o.kind == "crash" for o in drawn), len(drawn), 1 - 0.9 * 0.8)


def test_slow_faults_multiply_the_latency_of_the_same_draws() -> None:
    plain = outcomes(AgentProfile(), 2000)
    slow = outcomes(AgentProfile(), 2000, faults=FaultPlan(slow=0.25, slow_factor=4.0))
    assert_rate(sum(o.slowed for o in slow), 2000, 0.25)
    for a, b in zip(plain, slow, strict=True):
        assert b.work_us == pytest.approx(a.work_us * (4.0 if b.slowed else 1.0), abs=2)
        assert (a.kind, a.payload) == (b.kind, b.payload)


def test_raising_a_fault_rate_changes_nothing_else() -> None:
    low = outcomes(AgentProfile(), 1000, faults=FaultPlan(crash=0.05))
    high = outcomes(AgentProfile(), 1000, faults=FaultPlan(crash=0.3))
    for a, b in zip(low, high, strict=True):
        if a.kind == "crash":
            assert b.kind == "crash"
        elif b.kind != "crash":
            assert a == b


def test_feedback_makes_success_likelier() -> None:
    profile = AgentProfile(success=RoleOdds(executor=0.5), feedback_gain=0.4)
    feedback = Failure(failure_class="validation", kind="tests_failed")
    drawn = outcomes(profile, feedback=feedback)
    assert_rate(sum(o.kind == "success" for o in drawn), len(drawn), 1 - 0.5 * 0.6)


def test_executor_changes_files_only_inside_the_scope() -> None:
    profile = AgentProfile(success=RoleOdds(executor=1.0))
    for o in outcomes(profile, 300, role="executor"):  # steps without a scope
        assert isinstance(o.payload, ImplementationPayload)
        assert o.payload.changed_files == ()
    sim = SimulatedBackend("a", profile, 5, VirtualClock(EPOCH_US))
    seen = set()
    for attempt in range(1, 200):
        payload = sim.outcome(order(attempt)).payload
        assert isinstance(payload, ImplementationPayload)
        assert payload.changed_files
        assert payload.commit is not None
        for path in payload.changed_files:
            assert any(fnmatch.fnmatchcase(path, pattern) for pattern in STEP.scope), path
            seen.add(path.split("/")[0])
    assert seen == {"src", "tests"}
    readonly = SimulatedBackend("a", profile, 5, VirtualClock(EPOCH_US), edits_files=False)
    payload = readonly.outcome(order()).payload
    assert isinstance(payload, ImplementationPayload)
    assert payload.changed_files == ()


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("src/**", "src/NAME.py"),
        ("src/", "src/NAME.py"),
        ("./src/*.py", "src/NAME.py"),
        ("a/**/b.txt", "a/sim/b.txt"),
        ("docs/?.md", "docs/x.md"),
        ("lib/[abc]*.c", "lib/aNAME.c"),
        ("lib/[!a-c]x", "lib/xx"),
        ("README.md", "README.md"),
        ("", None),
    ],
)
def test_a_path_is_derived_from_a_scope_glob(pattern: str, expected: str | None) -> None:
    assert path_in_scope(pattern, "NAME") == expected


def test_a_planner_proposes_sub_steps_only_when_asked() -> None:
    sim = SimulatedBackend("p", BUILTIN_PROFILES["perfect"], 1, VirtualClock(EPOCH_US))
    payload = sim.outcome(order(role="planner")).payload
    assert payload == PlanPayload(rationale="simulated plan for s1: 0 sub-step(s)")
    profile = AgentProfile(success=RoleOdds(planner=1.0), planner_substeps=3)
    sim = SimulatedBackend("p", profile, 1, VirtualClock(EPOCH_US))
    payload = sim.outcome(order(role="planner")).payload
    assert isinstance(payload, PlanPayload)
    assert [s.id for s in payload.steps] == ["s1.1", "s1.2", "s1.3"]
    assert [s.depends_on for s in payload.steps] == [(), ("s1.1",), ("s1.2",)]
    assert {s.role for s in payload.steps} == {"executor"}
    assert all(s.scope == STEP.scope for s in payload.steps)
    assert all(not any(isinstance(v, HumanApproval) for v in s.validators) for s in payload.steps)


def test_reviews_pass_request_changes_or_block() -> None:
    good = outcomes(
        AgentProfile(success=RoleOdds(reviewer=1.0)), 50, kind="review", role="reviewer"
    )
    assert {o.payload.verdict for o in good} == {"pass"}
    profile = AgentProfile(success=RoleOdds(reviewer=0.0), review_blocked=0.3)
    bad = outcomes(profile, 2000, kind="review", role="reviewer")
    verdicts = [o.payload.verdict for o in bad]
    assert set(verdicts) == {"request_changes", "blocked"}
    assert_rate(verdicts.count("blocked"), len(bad), 0.3)
    for o in bad:
        assert isinstance(o.payload, ReviewPayload)
        assert o.exit_status == "ok"
        assert bool(o.blockers) == (o.payload.verdict == "blocked")
        assert any(f.severity in ("major", "critical") for f in o.payload.findings)


def test_verification_checks_each_validator_but_human_approval() -> None:
    sim = SimulatedBackend("v", BUILTIN_PROFILES["perfect"], 1, VirtualClock(EPOCH_US))
    payload = sim.outcome(order(kind="verify", role="verifier")).payload
    assert isinstance(payload, VerificationPayload)
    assert [c.name for c in payload.checks] == ["tests_pass", "command_passes: ruff check ."]
    assert all(c.passed for c in payload.checks)
    bare = sim.outcome(order(kind="verify", role="verifier", step=StepSpec(id="x", goal="g")))
    assert isinstance(bare.payload, VerificationPayload)
    assert [c.name for c in bare.payload.checks] == ["tests"]
    profile = AgentProfile(success=RoleOdds(verifier=0.0))
    failing = outcomes(profile, 100, kind="verify", role="verifier")
    for o in failing:
        assert isinstance(o.payload, VerificationPayload)
        assert not all(c.passed for c in o.payload.checks)


def test_results_encode_like_any_journaled_value() -> None:
    sim = SimulatedBackend("a", AgentProfile(), 1, VirtualClock(EPOCH_US))
    for kind, role in (("work", "executor"), ("work", "planner"), ("review", "reviewer")):
        payload = sim.outcome(order(kind=kind, role=role)).payload  # type: ignore[arg-type]
        assert msgspec.json.decode(msgspec.json.encode(payload), type=type(payload)) == payload


# Many agents at once, reporting through a channel to one "journal" task, as
# the role actors do: the journal's order must be the same in every process.
PARALLEL = """
import msgspec, trio, trio.testing
from playbill.actors._backend import BackendError, WorkOrder
from playbill.actors._profiles import BUILTIN_PROFILES
from playbill.actors._simulated import SimulatedBackend, SimulatedCrash
from playbill.runtime import StepSpec
from playbill.runtime._clock import VirtualClock
from playbill.runtime._faults import parse_faults

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
