"""The simulated backend: its protocol, its acting on the clock, and its payloads."""

from __future__ import annotations

import fnmatch

import msgspec
import pytest
import trio
import trio.testing

from playbill.backends._backend import AgentBackend, BackendError
from playbill.runtime import (
    HumanApproval,
    ImplementationPayload,
    PlanPayload,
    PlaybillError,
    ResultEnvelope,
    ReviewPayload,
    StepSpec,
    Usage,
    VerificationPayload,
)
from playbill.runtime.model._faults import FaultPlan
from playbill.runtime.shell._clock import VirtualClock
from playbill.simulation._profiles import (
    BUILTIN_PROFILES,
    AgentProfile,
    FaultOdds,
    Latency,
    RoleOdds,
)
from playbill.simulation._sim_payloads import path_in_scope
from playbill.simulation._simulated import SimulatedBackend, SimulatedCrash
from sim_helpers import EPOCH_US, STEP, Recorder, act, assert_rate, backend, order, outcomes


def test_it_is_an_agent_backend() -> None:
    sim: AgentBackend = SimulatedBackend("a", AgentProfile(), 1, VirtualClock(EPOCH_US))
    assert sim.name == "simulated"
    assert sim.capabilities.roles == {"planner", "executor", "reviewer", "verifier"}
    limited = SimulatedBackend("a", AgentProfile(), 1, VirtualClock(EPOCH_US), roles=("reviewer",))
    assert limited.capabilities.roles == {"reviewer"}


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
