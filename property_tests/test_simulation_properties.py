"""Properties of whole simulated runs: the real writer, policy, router, timers and actors.

Each example draws a scenario: a seed, a plan (the default plan, or a random
DAG of 1-8 steps and 2-5 agents covering the steps' roles), the agents'
built-in profiles, a fault plan (crash, hang, slow and transient
probabilities, journal commit failures), budgets and policy settings. It runs
``simulate`` on it and checks:

1. **Determinism.** The same scenario gives byte-identical journals
   (``encode_entry`` of every entry) in two runs in this process, and in
   separate ``python -c`` processes with another ``PYTHONHASHSEED``, ``TZ``,
   locale and working directory.
2. **Kill and resume.** A run killed after any entry (once or twice) and
   resumed terminates; the killed journal is a prefix of the journal of the
   same run never killed; no effect is journaled twice
   (``playbill.testing.check_effects_once``); the journal folds with no anomaly.
   With the ``perfect`` profile on a plan a perfect team completes, the
   resumed run ends with the same ``outcome_digest`` as the run never killed:
   the same run status, the same status for every step and the same criteria
   met. Its ``state_digest`` differs, as it must: the resumed journal also
   holds ``run_resumed``, each agent's ``agent_restarted``, the attempts the
   kill interrupted and their retries, and later times.
3. **Invariants under random faults.** Every invariant of
   ``playbill.testing.JournalChecker``, checked at every seq (and at every
   reaction's end) while the journal is folded; every run settles within
   ``SETTLE_BOUND_S`` of virtual time (a day: stronger than ``simulate``'s
   30-day default, and what keeps a run that never settles cheap to catch),
   as completed, failed, cancelled or waiting, and a waiting run really waits
   on a pending approval or a pause with nothing in flight.
4. **replay --check.** ``check_replay`` finds nothing on every simulated
   journal, and reports the first divergence, at the right seq, when the
   policy is changed on purpose.

Simulated runs take 10-100 ms, so each test takes a share of the hypothesis
profile's ``max_examples`` (``examples``); ``HYPOTHESIS_PROFILE=thorough``
runs hundreds of each.

Runtime bugs these properties found stay as regression tests at the end,
each with a minimal reproduction: a crash racing the run's end, work lost to
a resume counted as a failed attempt, lost work given out twice at a resume,
a failing run interrupting an attempt twice. (A timer firing after its
cancel is pinned by the journal hooks conformance suite.)
"""

from __future__ import annotations

import collections
import functools
import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence

import attrs
import msgspec
import pytest
import trio
from hypothesis import Phase, event, given, note, settings
from hypothesis import strategies as st

import factories
from playbill.lowlevel import SUPERVISOR
from playbill.runtime import (
    DEFAULT_POLICY,
    UNLIMITED,
    AgentFailed,
    AgentRestarted,
    AgentSpec,
    Budget,
    Criterion,
    Draft,
    Entry,
    FaultPlan,
    HeartbeatMissed,
    HumanApproval,
    MemoryJournal,
    NoteWritten,
    Plan,
    PolicySettings,
    RunCreated,
    RunResumed,
    RunState,
    StepSpec,
    StepStarted,
    TestsPass,
    TimerFired,
    TimerSet,
    UsageReported,
    VerificationRequested,
    check_replay,
    decide,
    encode_entry,
    fold,
    outcome_digest,
    parse_faults,
    state_digest,
)
from playbill.runtime.logic._humans import live_approvals
from playbill.runtime.logic._work import claimed_work, held
from playbill.simulation import (
    BUILTIN_PROFILES,
    AgentProfile,
    FaultOdds,
    ProfileSet,
    SimulationResult,
    default_plan,
    simulate,
)
from playbill.testing import JournalChecker, check_effects_once, reactions

SETTLE_BOUND_S = 24 * 3600.0
"""Virtual time within which every run of these tests must settle (see the module)."""

SAME_BYTES_BOUND_S = 6 * 3600.0
"""Virtual time the determinism tests run for: a run that never settles stops there."""


def examples(share: float, least: int = 2) -> settings:
    """A share of the profile's ``max_examples`` (a simulated run costs 10-100 ms).

    No ``explain`` phase: it re-runs a failing example hundreds of times
    (minutes of simulated runs) to say which of its parts did not matter.
    """
    return settings(
        max_examples=max(least, int(settings.default.max_examples * share)),
        phases=[phase for phase in Phase if phase is not Phase.explain],
    )


# ------------------------------------------------------------------ scenarios


@attrs.frozen
class Scenario:
    """Everything a simulated run is a function of."""

    seed: int
    plan: Plan | None  # None: the default plan
    profile: str  # every agent's, unless ``agents`` says otherwise
    agents: dict[str, str]
    faults: FaultPlan
    budget: Budget = UNLIMITED
    policy: PolicySettings = DEFAULT_POLICY

    @property
    def profiles(self) -> ProfileSet:
        return ProfileSet(agents=self.agents, default=self.profile)

    def run(
        self,
        journal: MemoryJournal,
        *,
        faults: FaultPlan | None = None,
        resume: bool = False,
        bound_s: float = SETTLE_BOUND_S,
    ) -> SimulationResult:
        return simulate(
            self.seed,
            plan=self.plan,
            budget=self.budget,
            policy=self.policy,
            profiles=self.profiles,
            faults=self.faults if faults is None else faults,
            journal=journal,
            resume=resume,
            max_virtual_s=bound_s,
        )

    def wire(self) -> bytes:
        """The scenario as JSON, for a ``python -c`` process (see ``RUN_ELSEWHERE``)."""
        return msgspec.json.encode(
            {
                "seed": self.seed,
                "plan": self.plan,
                "profile": self.profile,
                "agents": self.agents,
                "faults": str(self.faults),
                "budget": self.budget,
                "policy": self.policy,
            }
        )

    @classmethod
    def from_wire(cls, data: bytes) -> Scenario:
        """The scenario back from ``wire``, built exactly as ``RUN_ELSEWHERE`` builds it."""
        w = msgspec.json.decode(data)
        return cls(
            w["seed"],
            None if w["plan"] is None else msgspec.convert(w["plan"], Plan),
            w["profile"],
            w["agents"],
            parse_faults(w["faults"]),
            msgspec.convert(w["budget"], Budget),
            msgspec.convert(w["policy"], PolicySettings),
        )


def read(journal: MemoryJournal, run_id: str) -> list[Entry]:
    return trio.run(journal.read, run_id)


def journal_bytes(entries: Sequence[Entry]) -> list[bytes]:
    return [encode_entry(e) for e in entries]


def unlabelled(entries: Sequence[Entry]) -> list[bytes]:
    """Journal bytes, with ``run_created`` stripped of its labels (they name the faults)."""
    return journal_bytes(
        [
            msgspec.structs.replace(e, msg=msgspec.structs.replace(e.msg, labels={}))
            if isinstance(e.msg, RunCreated)
            else e
            for e in entries
        ]
    )


PROFILES = tuple(BUILTIN_PROFILES)
SCOPES = [
    (),
    (),
    ("src/**",),
    ("src/a.py",),
    ("src/api/**",),
    ("docs/*.md",),
    ("src/*.py", "tests/**"),
    ("tests/a.py",),
]
ROLE_SETS = [
    ("executor",),
    ("executor",),
    ("executor", "planner"),
    ("reviewer",),
    ("verifier",),
    ("reviewer", "verifier"),
    ("planner",),
    ("executor", "reviewer"),
    ("verifier", "executor", "planner"),
]


def odds(high: float) -> st.SearchStrategy[float]:
    return st.just(0.0) | st.floats(0.0, high)


@st.composite
def plans(draw: st.DrawFn, *, completable: bool) -> Plan:
    """A DAG of 1-8 steps and 2-5 agents that cover the steps' roles.

    ``completable``: a team of ``perfect`` agents completes it (executor
    steps may have a ``tests_pass`` validator and there is a verifier who is
    not their executor; no human approvals; criteria need no validator).
    Otherwise anything goes: validators no agent can check (they fail closed,
    as ``policy`` failures), human approvals (the run waits on a person),
    criteria with validators.
    """
    steps = []
    for i in range(draw(st.integers(1, 8))):
        deps = draw(st.lists(st.integers(0, i - 1), unique=True, max_size=3)) if i else []
        role = draw(st.sampled_from(["executor"] * 4 + ["planner", "reviewer", "verifier"]))
        if completable:
            validators = draw(st.sampled_from([(), (TestsPass(),)])) if role == "executor" else ()
        else:
            validators = draw(
                st.sampled_from(
                    [(), (), (TestsPass(),), (HumanApproval(),), (TestsPass(), HumanApproval())]
                )
            )
        steps.append(
            StepSpec(
                id=f"s{i}",
                goal=f"step {i}",
                role=role,
                depends_on=tuple(f"s{d}" for d in sorted(deps)),
                scope=draw(st.sampled_from(SCOPES)) if role == "executor" else (),
                validators=validators,
                max_attempts=draw(st.none() | st.integers(1, 4)),
            )
        )
    roles_needed = {s.role for s in steps}
    n_agents = draw(st.integers(2, 5))
    if completable:
        # an executor who edits files and a verifier who is not him, first
        first = ("executor", "planner") if "planner" in roles_needed else ("executor",)
        second = ("verifier", "reviewer") if "reviewer" in roles_needed else ("verifier",)
        role_sets = [first, second]
    else:
        role_sets = [draw(st.sampled_from(ROLE_SETS)) for _ in range(2)]
    role_sets += [draw(st.sampled_from(ROLE_SETS)) for _ in range(n_agents - 2)]
    for role in sorted(roles_needed - {r for roles in role_sets for r in roles}):
        at = draw(st.integers(0, n_agents - 1))  # cover every role a step needs
        role_sets[at] = (*role_sets[at], role)
    agents = []
    for i, roles in enumerate(role_sets):
        edits = "executor" in roles and (i == 0 or draw(st.integers(0, 5)) > 0)
        budget = UNLIMITED if completable else draw(agent_budgets)
        agents.append(AgentSpec(id=f"a{i}", roles=roles, edits_files=edits, budget=budget))
    validators = [None] if completable else [None, TestsPass(), HumanApproval()]
    criteria = tuple(
        Criterion(id=f"c{i}", description="d", validator=draw(st.sampled_from(validators)))
        for i in range(draw(st.integers(0, 2)))
    )
    return Plan(steps=tuple(steps), agents=tuple(agents), criteria=criteria)


def budgets(
    tokens: tuple[int, int], cost: tuple[float, float], wall: tuple[float, float]
) -> st.SearchStrategy[Budget]:
    return st.builds(
        Budget,
        tokens=st.none() | st.integers(*tokens),
        cost_usd=st.none() | st.floats(*cost),
        wall_s=st.none() | st.floats(*wall),
        attempts=st.none() | st.integers(1, 15),
        retries=st.none() | st.integers(0, 6),
    )


# A piece of simulated work uses about 5,000 tokens, $0.02 and a minute.
run_budgets = st.just(UNLIMITED) | budgets((5_000, 200_000), (0.02, 1.0), (60.0, 3_000.0))
agent_budgets = (
    st.just(UNLIMITED) | st.just(UNLIMITED) | budgets((2_000, 60_000), (0.01, 0.3), (30.0, 900.0))
)
policies = st.builds(
    PolicySettings,
    heartbeat_timeout_s=st.sampled_from([60.0, 120.0, 300.0]),
    backoff_base_s=st.sampled_from([0.0, 5.0]),
    max_attempts=st.integers(1, 4),
    max_review_rounds=st.integers(1, 3),
    on_exhausted=st.sampled_from(["abort", "escalate", "skip"]),
)
agent_faults = st.builds(
    FaultPlan,
    crash=odds(0.2),
    hang=odds(0.15),
    slow=odds(0.3),
    slow_factor=st.floats(1.0, 5.0),
    transient=odds(0.3),
)
journal_failures = st.lists(st.integers(1, 400), max_size=2, unique=True).map(
    lambda n: tuple(sorted(n))
)


@st.composite
def scenarios(draw: st.DrawFn, *, perfect: bool = False, journal_faults: bool = True) -> Scenario:
    """A scenario; ``perfect``: a perfect team, no faults, no limits, a plan it completes."""
    seed = draw(st.integers(0, 2**32 - 1))
    plan = draw(st.none() | plans(completable=perfect))
    if perfect:
        return Scenario(seed, plan, "perfect", {}, FaultPlan())
    ids = [a.id for a in (plan or default_plan()).agents]
    agents = draw(st.dictionaries(st.sampled_from(ids), st.sampled_from(PROFILES), max_size=3))
    faults = draw(agent_faults)
    if journal_faults:
        faults = attrs.evolve(faults, journal_fail=draw(journal_failures))
    return Scenario(
        seed,
        plan,
        draw(st.sampled_from(PROFILES)),
        agents,
        faults,
        draw(run_budgets),
        draw(policies | st.just(DEFAULT_POLICY)),
    )


# ------------------------------------------------------------------- running


def run_recorded(
    scenario: Scenario, journal: MemoryJournal | None = None, **kwargs: object
) -> tuple[SimulationResult | None, Exception | None, list[Entry]]:
    """Run a scenario; its result or the error it raised, and its journal."""
    the_journal = journal if journal is not None else MemoryJournal()
    run_id = f"sim-{scenario.seed}"
    try:
        result = scenario.run(the_journal, **kwargs)  # type: ignore[arg-type]
    except Exception as error:  # the caller reports it
        return None, error, read(the_journal, run_id)
    return result, None, read(the_journal, result.run_id)


def run_known(scenario: Scenario, journal: MemoryJournal, **kwargs: object) -> SimulationResult:
    """``scenario.run`` into ``journal``."""
    result, error, _ = run_recorded(scenario, journal, **kwargs)
    if error is not None:
        raise error
    assert result is not None
    return result


# --------------------------------------------------------------- 1. determinism


@given(scenarios())
@examples(0.3)
def test_the_same_scenario_gives_the_same_bytes(scenario: Scenario) -> None:
    a, error_a, entries_a = run_recorded(scenario, bound_s=SAME_BYTES_BOUND_S)
    b, error_b, entries_b = run_recorded(scenario, bound_s=SAME_BYTES_BOUND_S)
    assert journal_bytes(entries_a) == journal_bytes(entries_b)
    assert repr(error_a) == repr(error_b)
    if a is not None and b is not None:
        assert (a.outcome, a.entries, a.virtual_s) == (b.outcome, b.entries, b.virtual_s)
        assert state_digest(a.state) == state_digest(b.state)


RUN_ELSEWHERE = """
import hashlib, sys, msgspec, trio
from playbill.simulation import ProfileSet, simulate
from playbill.runtime import Budget, MemoryJournal, Plan, PolicySettings, encode_entry, parse_faults
w = msgspec.json.decode(sys.stdin.buffer.read())
journal = MemoryJournal()
try:
    simulate(
        w["seed"],
        plan=None if w["plan"] is None else msgspec.convert(w["plan"], Plan),
        budget=msgspec.convert(w["budget"], Budget),
        policy=msgspec.convert(w["policy"], PolicySettings),
        profiles=ProfileSet(agents=w["agents"], default=w["profile"]),
        faults=parse_faults(w["faults"]),
        journal=journal,
        max_virtual_s=float(sys.argv[1]),
    )
except BaseException as error:
    print(type(error).__name__, file=sys.stderr)
entries = trio.run(journal.read, "sim-%d" % w["seed"])
print(hashlib.sha256(b"".join(encode_entry(e) for e in entries)).hexdigest(), len(entries))
"""

ELSEWHERE = [
    {"PYTHONHASHSEED": "0", "TZ": "Pacific/Kiritimati", "LC_ALL": "C"},
    {"PYTHONHASHSEED": "4242", "TZ": "America/St_Johns", "LC_ALL": "C.UTF-8"},
]


@pytest.mark.slow
@given(scenario=scenarios())
@examples(0.07)
def test_the_same_scenario_gives_the_same_bytes_in_other_processes(
    scenario: Scenario, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Built from JSON on both sides: equal values built otherwise may encode
    # otherwise (see test_equal_messages_encode_to_the_same_bytes).
    _, _, entries = run_recorded(Scenario.from_wire(scenario.wire()), bound_s=SAME_BYTES_BOUND_S)
    here = f"{hashlib.sha256(b''.join(journal_bytes(entries))).hexdigest()} {len(entries)}\n"
    outputs = []
    for env in ELSEWHERE:  # one at a time: a process is always reaped before an assert
        done = subprocess.run(
            [sys.executable, "-c", RUN_ELSEWHERE, str(SAME_BYTES_BOUND_S)],
            input=scenario.wire(),
            capture_output=True,
            cwd=tmp_path_factory.mktemp("elsewhere"),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
            timeout=300,
            check=False,
        )
        outputs.append((env, done.returncode, done.stdout.decode(), done.stderr.decode()))
    for env, returncode, out, err in outputs:
        assert returncode == 0, err
        assert out == here, (env, err)


@given(scenarios(journal_faults=False), st.data())
@examples(0.1)
def test_a_killed_and_resumed_scenario_gives_the_same_bytes(
    scenario: Scenario, data: st.DataObject
) -> None:
    kill = data.draw(st.integers(1, 100), label="kill at")
    journals = []
    for _ in range(2):
        journal = MemoryJournal()
        killed = run_known(scenario, journal, faults=attrs.evolve(scenario.faults, kill=kill))
        if killed.outcome == "killed":
            run_known(scenario, journal, resume=True, bound_s=SAME_BYTES_BOUND_S)
        journals.append(journal_bytes(read(journal, killed.run_id)))
    assert journals[0] == journals[1]


# ------------------------------------------------------------ 2. kill, resume


def kill_and_resume(
    scenario: Scenario, data: st.DataObject, full_entries: list[Entry]
) -> tuple[SimulationResult, list[Entry], list[int]]:
    """Kill the scenario's run once or twice, resuming it each time; the resumed run."""
    journal = MemoryJournal()
    faults = scenario.faults
    kills = []
    kill = data.draw(st.integers(1, max(1, len(full_entries))), label="kill at")
    killed = run_known(scenario, journal, faults=attrs.evolve(faults, kill=kill))
    if killed.outcome != "killed":  # the run ended before the kill
        assert kill >= killed.entries
        return killed, read(journal, killed.run_id), kills
    kills.append(kill)
    entries = read(journal, killed.run_id)
    # what was journaled before the kill is what the run never killed journaled
    # (but for the fault spec, a label of run_created)
    assert unlabelled(entries) == unlabelled(full_entries[: len(entries)])
    if data.draw(st.booleans(), label="kill again"):
        kill = data.draw(st.integers(len(entries) + 1, len(entries) + 200), label="again at")
        again = run_known(scenario, journal, faults=attrs.evolve(faults, kill=kill), resume=True)
        if again.outcome == "killed":
            kills.append(kill)
    before = journal_bytes(read(journal, killed.run_id))
    resumed = run_known(scenario, journal, resume=True)
    entries = read(journal, resumed.run_id)
    assert journal_bytes(entries)[: len(before)] == before, "resuming rewrote the journal"
    return resumed, entries, kills


@given(scenarios(perfect=True), st.data())
@examples(0.3)
def test_a_perfect_run_killed_anywhere_resumes_to_the_same_outcome(
    scenario: Scenario, data: st.DataObject
) -> None:
    full_journal = MemoryJournal()
    full = run_known(scenario, full_journal)
    full_entries = read(full_journal, full.run_id)
    assert full.outcome == "completed", full.state.reason
    resumed, entries, kills = kill_and_resume(scenario, data, full_entries)
    event(f"killed {len(kills)} time(s)")
    check_journal(scenario, resumed, entries)
    assert resumed.outcome == "completed", resumed.state.reason
    # what the run came to: the run's status, each step's and each criterion's
    assert outcome_digest(resumed.state) == outcome_digest(full.state)
    if any(isinstance(e.msg, RunResumed) for e in entries):
        # how it got there differs: run_resumed, restarts, interrupted attempts, times
        assert state_digest(resumed.state) != state_digest(full.state)


@pytest.mark.slow
@given(scenarios(journal_faults=False), st.data())
@examples(0.3)
def test_a_run_killed_anywhere_under_faults_resumes_and_ends(
    scenario: Scenario, data: st.DataObject
) -> None:
    full, error, full_entries = run_recorded(scenario)
    assert error is None
    assert full is not None
    resumed, entries, kills = kill_and_resume(scenario, data, full_entries)
    event(f"killed {len(kills)} time(s), resumed run {resumed.outcome}")
    check_journal(scenario, resumed, entries)


# ------------------------------------------------------ 3. invariants, 4. replay


def waits_on_people(state: RunState) -> bool:
    """Whether nothing moves the run but a person: an approval it waits for, or a pause."""
    return (
        bool(live_approvals(state) or state.status == "paused")
        and not state.timers
        and not any(a.status == "busy" for a in state.agents.values())
    )


def check_journal(scenario: Scenario, result: SimulationResult, entries: list[Entry]) -> None:
    """Every run invariant, the run's end, and ``replay --check`` (see the module)."""
    try:
        outcome = result.outcome
        assert outcome in ("completed", "failed", "cancelled", "waiting"), (
            f"the run is {outcome} after {result.virtual_s:,.0f} virtual s"
        )
        checker = JournalChecker().feed_all(entries)
        for name, count in checker.counts.items():
            if count:
                event(name)
        assert state_digest(checker.state) == state_digest(result.state)
        final = result.state
        if outcome == "waiting":
            assert waits_on_people(final)
            assert not [w for w in claimed_work(final) if held(final, w)]
        check_effects_once(entries)
        divergence = check_replay(entries)
        assert divergence is None, divergence.describe()
    except AssertionError:
        note(scenario_story(scenario, result, entries))
        raise


def scenario_story(scenario: Scenario, result: SimulationResult, entries: list[Entry]) -> str:
    lines = [f"{result.outcome}: {result.state.reason}"]
    lines += [f"{e.seq} {e.sender}>{e.recipient} ({e.cause}) {e.msg!r}"[:240] for e in entries]
    return "\n".join(lines[:400])


@pytest.mark.slow
@given(scenarios())
@examples(1.0, least=5)
def test_every_run_keeps_the_runtime_invariants_under_faults(scenario: Scenario) -> None:
    result, error, entries = run_recorded(scenario)
    if error is not None:
        raise error
    assert result is not None
    event(f"run {result.outcome}")
    if result.outcome == "failed":
        event(f"failed: {result.state.reason.split(':')[0][:40]}")
    check_journal(scenario, result, entries)


@given(scenarios(), st.data())
@examples(0.3)
def test_replay_check_catches_a_policy_changed_on_purpose(
    scenario: Scenario, data: st.DataObject
) -> None:
    _, error, entries = run_recorded(scenario)
    if error is not None:
        raise error
    assert check_replay(entries) is None
    caused = reactions(entries)

    # one command more, after entry k: the journal lacks it right after k
    k = data.draw(st.integers(1, len(entries)), label="louder at")
    extra = NoteWritten(author=SUPERVISOR, text="one more")

    def louder(state: RunState, entry: Entry) -> Sequence[Draft]:
        drafts = list(decide(state, entry))
        if entry.seq == k:
            drafts.insert(0, Draft(msg=extra, sender=SUPERVISOR, cause=k))
        return drafts

    # right after k's reaction when k is not the supervisor's; when it is (a
    # reaction to a reaction, which decide never makes), after k's siblings
    if entries[k - 1].sender != SUPERVISOR:
        want = k + 1
    else:
        want = next((e.seq for e in entries[k:] if e.sender != SUPERVISOR), len(entries) + 1)
    divergence = check_replay(entries, louder)
    assert divergence is not None
    assert (divergence.seq, divergence.cause, divergence.decided) == (want, k, extra)

    # one command fewer, the last of a reaction: the journal has it, the policy not
    k = data.draw(st.sampled_from(sorted(caused)), label="quieter at")
    recorded = caused[k]

    def quieter(state: RunState, entry: Entry) -> Sequence[Draft]:
        drafts = decide(state, entry)
        return drafts[:-1] if entry.seq == k else drafts

    divergence = check_replay(entries, quieter)
    assert divergence is not None
    assert (divergence.seq, divergence.cause) == (recorded[-1].seq, k)
    assert (divergence.recorded, divergence.decided) == (recorded[-1].msg, None)

    # a real change: heartbeat deadlines a second later; the first one set diverges
    def patient(state: RunState, entry: Entry) -> Sequence[Draft]:
        return [
            later_deadline(d) if isinstance(d.msg, TimerSet) and d.msg.purpose == "heartbeat" else d
            for d in decide(state, entry)
        ]

    first = next(
        (e for e in entries if isinstance(e.msg, TimerSet) and e.msg.purpose == "heartbeat"), None
    )
    divergence = check_replay(entries, patient)
    if first is None:
        assert divergence is None
    else:
        assert divergence is not None
        assert (divergence.seq, divergence.cause) == (first.seq, first.cause)
        assert isinstance(divergence.decided, TimerSet)
        assert divergence.decided.due_us == first.msg.due_us + 1_000_000  # type: ignore[union-attr]


def later_deadline(draft: Draft) -> Draft:
    msg = draft.msg
    assert isinstance(msg, TimerSet)
    later = msgspec.structs.replace(msg, due_us=msg.due_us + 1_000_000)
    return msgspec.structs.replace(draft, msg=later)


# ------------------------------------------------- runtime bugs these found

# A plan of one checked step: an executor, and a verifier whose profile is given.
ONE_STEP = Plan(
    steps=(StepSpec(id="s", goal="g", validators=(TestsPass(),)),),
    agents=(
        AgentSpec(id="ex", roles=("executor",)),
        AgentSpec(id="ver", roles=("verifier",), edits_files=False),
    ),
)


def with_verifier(plan: Plan, **faults: float) -> ProfileSet:
    bad = AgentProfile(faults=FaultOdds(**faults))
    verifiers = {a.id: "bad" for a in plan.agents if "verifier" in a.roles}
    return ProfileSet(
        profiles={**BUILTIN_PROFILES, "bad": bad}, agents=verifiers, default="perfect"
    )


def journal_of(seed: int, **kwargs: object) -> tuple[SimulationResult, list[Entry]]:
    journal = MemoryJournal()
    result = simulate(seed, journal=journal, **kwargs)  # type: ignore[arg-type]
    return result, read(journal, result.run_id)


def test_work_given_to_an_agent_at_its_restart_reaches_it() -> None:
    _, entries = journal_of(1, plan=ONE_STEP, profiles=with_verifier(ONE_STEP, crash=1.0))
    restart = next(e for e in entries if isinstance(e.msg, AgentRestarted) and e.sender == "agents")
    request = next(
        e for e in reactions(entries)[restart.seq] if isinstance(e.msg, VerificationRequested)
    )
    # the verifier works (usage every 10 s) before it crashes again, 40 s in
    spoke = [e.seq for e in entries if e.sender == "ver" and e.seq > request.seq]
    missed = [e.seq for e in entries if isinstance(e.msg, HeartbeatMissed)]
    assert spoke and (not missed or spoke[0] < missed[0])


def test_a_run_does_not_fail_for_want_of_an_agent_the_runtime_restarts() -> None:
    result, entries = journal_of(
        1, plan=ONE_STEP, profiles=with_verifier(ONE_STEP, hang=1.0), max_virtual_s=6 * 3600.0
    )
    missed = next(e for e in entries if isinstance(e.msg, HeartbeatMissed))
    assert any(
        isinstance(e.msg, AgentRestarted) and e.msg.agent == "ver" for e in entries[missed.seq :]
    ), result.state.reason


TWO_STEPS = Plan(
    steps=(
        StepSpec(id="a", goal="g", validators=(TestsPass(),)),
        StepSpec(id="b", goal="g", validators=(TestsPass(),)),
    ),
    agents=(
        AgentSpec(id="ex1", roles=("executor",)),
        AgentSpec(id="ex2", roles=("executor",)),
        AgentSpec(id="v1", roles=("verifier",), edits_files=False),
        AgentSpec(id="v2", roles=("verifier",), edits_files=False),
    ),
)


def test_a_lost_verification_is_not_asked_again_forever() -> None:
    result, entries = journal_of(
        1, plan=TWO_STEPS, profiles=with_verifier(TWO_STEPS, hang=1.0), max_virtual_s=6 * 3600.0
    )
    asked = collections.Counter(
        (e.msg.step, e.msg.attempt) for e in entries if isinstance(e.msg, VerificationRequested)
    )
    assert result.outcome != "running", f"{result.outcome} after {result.entries} entries: {asked}"


def first_seq(entries: Sequence[Entry], wanted: type, sender: str | None = None) -> int:
    return next(
        e.seq
        for e in entries
        if isinstance(e.msg, wanted) and (sender is None or e.sender == sender)
    )


@pytest.mark.parametrize("appender", ["timers", "supervision tree", "five agents"])
def test_a_failed_commit_of_a_timer_or_a_restart_does_not_end_the_run(appender: str) -> None:
    perfect = ProfileSet(default="perfect")
    if appender == "five agents":
        # the second commit holds five agents' step_started: all five crash at
        # once, and the supervision tree gives up (3 restarts in 60 s)
        plan = Plan(
            steps=tuple(StepSpec(id=f"s{i}", goal="g") for i in range(5)),
            agents=tuple(AgentSpec(id=f"a{i}", roles=("executor",)) for i in range(5)),
        )
        result = simulate(0, plan=plan, profiles=perfect, faults=FaultPlan(journal_fail=(1,)))
        assert result.outcome == "completed"
        return
    if appender == "timers":
        faults = FaultPlan(hang=0.3)
        _, entries = journal_of(0, profiles=perfect, faults=faults)
        at = first_seq(entries, TimerFired) - 1  # the timer's own commit fails
    else:
        faults = FaultPlan(crash=0.3)
        _, entries = journal_of(0, profiles=perfect, faults=faults)
        at = first_seq(entries, AgentRestarted, sender="agents") - 1
    assert isinstance(entries[at].msg, TimerFired | AgentRestarted)
    # it ends as it may (faults may stall it: see the other bugs), but it returns
    result = simulate(
        0,
        profiles=perfect,
        faults=attrs.evolve(faults, journal_fail=(at,)),
        max_virtual_s=6 * 3600.0,
    )
    assert result.entries > at


@pytest.mark.slow
def test_a_perfect_team_survives_any_single_failed_journal_commit() -> None:
    perfect = ProfileSet(default="perfect")
    full = simulate(0, profiles=perfect)
    ends = collections.Counter()
    for at in range(1, full.entries, 9):
        result = simulate(0, profiles=perfect, faults=FaultPlan(journal_fail=(at,)))
        ends[(result.outcome, result.state.reason[:60])] += 1
    assert set(ends) == {("completed", "")}, ends


def test_a_run_waiting_on_a_step_s_approval_is_settled() -> None:
    plan = Plan(
        steps=(StepSpec(id="s", goal="g", validators=(HumanApproval(),)),),
        agents=(AgentSpec(id="ex", roles=("executor",)),),
    )
    result = simulate(1, plan=plan, profiles=ProfileSet(default="perfect"))
    assert live_approvals(result.state)
    assert result.outcome == "waiting"


def test_equal_messages_encode_to_the_same_bytes() -> None:
    def entry(msg: RunCreated) -> Entry:
        return factories.entry(msg, seq=1, at_us=0, sender="api")

    built = RunCreated(goal="g")  # the defaults: DEFAULT_POLICY, UNLIMITED
    loaded = RunCreated(goal="g", policy=PolicySettings(), budget=Budget())  # as from a file
    assert built == loaded
    assert encode_entry(entry(built)) == encode_entry(entry(loaded))
    assert state_digest(fold([entry(built)])) == state_digest(fold([entry(loaded)]))


def test_an_agent_crash_as_the_run_ends_does_not_escape() -> None:
    plan = Plan(
        steps=(StepSpec(id="s", goal="g"),), agents=(AgentSpec(id="ex", roles=("executor",)),)
    )
    crashes = AgentProfile(faults=FaultOdds(crash=1.0))
    profiles = ProfileSet(profiles={**BUILTIN_PROFILES, "crashes": crashes}, default="crashes")
    _, entries = journal_of(1, plan=plan, profiles=profiles)
    crash = first_seq(entries, AgentFailed)
    used = sum(e.msg.usage.tokens for e in entries[:crash] if isinstance(e.msg, UsageReported))
    # the usage it reports last before it crashes uses the run's budget up: the
    # run fails and is cancelled just as the agent raises
    result = simulate(1, plan=plan, profiles=profiles, budget=Budget(tokens=used))
    assert result.outcome == "failed"


def test_work_lost_to_a_resume_is_not_a_failed_attempt() -> None:
    plan = Plan(
        steps=(StepSpec(id="s", goal="g", max_attempts=2),),
        agents=(AgentSpec(id="ex", roles=("executor",)),),
    )
    perfect = ProfileSet(default="perfect")
    assert simulate(1, plan=plan, profiles=perfect).outcome == "completed"
    journal = MemoryJournal()
    run = functools.partial(simulate, 1, plan=plan, profiles=perfect, journal=journal)
    assert run(faults=FaultPlan(kill=6)).outcome == "killed"  # attempt 1 started at 5
    assert run(faults=FaultPlan(kill=20), resume=True).outcome == "killed"  # attempt 2 at 17
    started = [e.msg for e in read(journal, "sim-1") if isinstance(e.msg, StepStarted)]
    assert [m.attempt for m in started] == [1, 2]
    resumed = run(resume=True)
    assert resumed.outcome == "completed", resumed.state.reason


def test_a_resume_gives_lost_work_out_once() -> None:
    plan = Plan(
        steps=(
            StepSpec(id="s0", goal="g", validators=(TestsPass(),)),
            StepSpec(id="s1", goal="g", validators=(TestsPass(),)),
            StepSpec(id="s2", goal="g"),
        ),
        agents=(
            AgentSpec(id="ex", roles=("executor",)),
            AgentSpec(id="v", roles=("verifier", "reviewer"), edits_files=False),
            AgentSpec(id="x0", roles=("executor",), edits_files=False),
            AgentSpec(id="x1", roles=("executor", "reviewer"), edits_files=False),
        ),
    )
    perfect = ProfileSet(default="perfect")
    journal = MemoryJournal()
    simulate(1, plan=plan, profiles=perfect, journal=journal, faults=FaultPlan(kill=52))
    simulate(1, plan=plan, profiles=perfect, journal=journal, resume=True)
    check_effects_once(read(journal, "sim-1"))


@pytest.mark.slow
def test_a_failing_run_interrupts_each_attempt_once() -> None:
    # e.g. an agent crashes on a step's last attempt while another works
    faults = FaultPlan(crash=0.1, hang=0.05, transient=0.1)
    for profile in ("default", "perfect"):
        for seed in range(40):
            _, entries = journal_of(seed, profiles=ProfileSet(default=profile), faults=faults)
            check_effects_once(entries)


# ------------------------------------------- kills charge no budget (issue 17)


def vetted_plan() -> Plan:
    """Steps that get a review and a verification, a reviewer step and a verifier step."""
    steps = (
        StepSpec(id="build", goal="Build it", scope=("src/**",), validators=(TestsPass(),)),
        StepSpec(id="audit", goal="Review it", role="reviewer", depends_on=("build",)),
        StepSpec(id="docs", goal="Document it", depends_on=("build",), scope=("docs/**",)),
        StepSpec(id="release", goal="Check it", role="verifier", depends_on=("audit", "docs")),
    )
    agents = (
        AgentSpec(id="executor", roles=("executor",)),
        AgentSpec(id="reviewer", roles=("reviewer",), edits_files=False),
        AgentSpec(id="verifier", roles=("verifier",), edits_files=False),
    )
    return Plan(steps=steps, agents=agents, criteria=())


@pytest.mark.slow
@given(st.just(vetted_plan()))
@settings(max_examples=1, phases=[Phase.generate])
def test_a_run_with_reviews_killed_at_every_entry_resumes_to_the_same_outcome(plan: Plan) -> None:
    """``max_attempts = 1`` and no retries: work lost to a kill is asked again, uncharged.

    Each step may make one attempt and the run no retry, so a lost review,
    verification or attempt charged to any budget would fail the resumed
    run. It is killed after every entry of the run never killed, in turn
    (one example: the loop is the property).
    """
    scenario = Scenario(
        seed=17,
        plan=plan,
        profile="perfect",
        agents={},
        faults=FaultPlan(),
        budget=Budget(retries=0, attempts=len(plan.steps)),
        policy=PolicySettings(max_attempts=1, max_review_rounds=1, backoff_base_s=0.0),
    )
    full_journal = MemoryJournal()
    full = run_known(scenario, full_journal)
    assert full.outcome == "completed", full.state.reason
    full_entries = read(full_journal, full.run_id)
    kinds = {type(e.msg).__name__ for e in full_entries}
    assert {"ReviewRequested", "VerificationRequested"} <= kinds
    for kill in range(1, len(full_entries)):
        journal = MemoryJournal()
        killed = run_known(scenario, journal, faults=FaultPlan(kill=kill))
        assert killed.outcome == "killed", kill
        resumed = run_known(scenario, journal, resume=True)
        entries = read(journal, resumed.run_id)
        check_journal(scenario, resumed, entries)
        assert resumed.outcome == "completed", (kill, resumed.state.reason)
        assert outcome_digest(resumed.state) == outcome_digest(full.state), kill
