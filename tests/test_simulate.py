"""Whole simulated runs: the real writer, policy, router, timers and actors."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest
import trio

from playbill.runtime import (
    AgentFailed,
    AgentRestarted,
    Entry,
    FaultPlan,
    HeartbeatMissed,
    MemoryJournal,
    ResultProposed,
    RunCompleted,
    RunFailed,
    StepCompleted,
    encode_entry,
    fold,
    outcome_digest,
    state_digest,
)
from playbill.simulation import BUILTIN_PROFILES, ProfileSet, simulate

PERFECT = ProfileSet(profiles=BUILTIN_PROFILES, default="perfect")


def journal_of(journal: MemoryJournal, run_id: str) -> list[Entry]:
    return trio.run(journal.read, run_id)


def test_a_perfect_team_completes_the_default_plan() -> None:
    result = simulate(1, profiles=PERFECT)
    assert result.outcome == "completed"
    assert all(step.status == "completed" for step in result.state.steps.values())
    assert result.state.anomalies == ()
    assert result.virtual_s > 60  # agents took virtual minutes, in milliseconds


def test_the_journal_folds_to_the_state_the_run_reported() -> None:
    journal = MemoryJournal()
    result = simulate(2, journal=journal)
    entries = journal_of(journal, result.run_id)
    assert len(entries) == result.entries
    assert state_digest(fold(entries)) == state_digest(result.state)
    assert fold(entries).anomaly_count == 0


def test_the_same_seed_gives_the_same_bytes() -> None:
    a, b = MemoryJournal(), MemoryJournal()
    simulate(7, journal=a, faults=FaultPlan(crash=0.1, hang=0.05))
    simulate(7, journal=b, faults=FaultPlan(crash=0.1, hang=0.05))
    assert [encode_entry(e) for e in journal_of(a, "sim-7")] == [
        encode_entry(e) for e in journal_of(b, "sim-7")
    ]


def test_different_seeds_give_different_runs() -> None:
    assert simulate(1).state != simulate(2).state


SCRIPT = """
import sys, hashlib, trio
from playbill.simulation import simulate
from playbill.runtime import MemoryJournal, FaultPlan, encode_entry
journal = MemoryJournal()
simulate(11, journal=journal, faults=FaultPlan(crash=0.1, hang=0.05, transient=0.1))
entries = trio.run(journal.read, "sim-11")
print(hashlib.sha256(b"".join(encode_entry(e) for e in entries)).hexdigest(), len(entries))
"""


@pytest.mark.slow
def test_the_same_seed_gives_the_same_bytes_in_other_processes() -> None:
    outputs = set()
    for hash_seed in ("0", "1", "12345"):
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": hash_seed, "PATH": "/usr/bin:/bin", "TZ": "Asia/Tokyo"},
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_crashes_are_journaled_and_agents_restarted() -> None:
    journal = MemoryJournal()
    result = simulate(4, journal=journal, faults=FaultPlan(crash=0.3))
    entries = journal_of(journal, result.run_id)
    kinds = Counter(type(e.msg) for e in entries)
    assert kinds[AgentFailed] > 0
    ended = next(e.seq for e in entries if isinstance(e.msg, RunCompleted | RunFailed))
    for crash in (e for e in entries if isinstance(e.msg, AgentFailed)):
        # every crash is followed by a restart, unless the run ended first
        restarted = any(
            isinstance(e.msg, AgentRestarted) and e.msg.agent == crash.msg.agent
            for e in entries[crash.seq :]
        )
        assert restarted or ended > crash.seq
    assert result.state.anomalies == ()
    assert result.outcome in ("completed", "failed", "waiting")


def test_hung_agents_miss_their_heartbeats_and_the_work_moves_on() -> None:
    journal = MemoryJournal()
    result = simulate(5, journal=journal, faults=FaultPlan(hang=0.3))
    entries = journal_of(journal, result.run_id)
    assert any(isinstance(e.msg, HeartbeatMissed) for e in entries)
    assert result.outcome != "running"


def test_a_run_killed_anywhere_resumes_to_the_same_outcome() -> None:
    full = simulate(6, profiles=PERFECT)
    for kill in (1, 2, 3, 10, 57, full.entries // 2, full.entries - 1):
        journal = MemoryJournal()
        killed = simulate(6, profiles=PERFECT, journal=journal, faults=FaultPlan(kill=kill))
        assert killed.outcome == "killed"
        resumed = simulate(6, profiles=PERFECT, journal=journal, resume=True)
        assert resumed.outcome == full.outcome == "completed", kill
        assert outcome_digest(resumed.state) == outcome_digest(full.state)
        entries = journal_of(journal, resumed.run_id)
        assert fold(entries).anomaly_count == 0
        # no effect twice: one accepted result per attempt, one completion per step
        results = Counter(
            (e.msg.result.step, e.msg.result.attempt, e.msg.result.agent)
            for e in entries
            if isinstance(e.msg, ResultProposed)
        )
        assert max(results.values()) == 1
        completions = Counter(e.msg.step for e in entries if isinstance(e.msg, StepCompleted))
        assert set(completions.values()) == {1}


def test_a_journal_failure_is_survived() -> None:
    result = simulate(3, profiles=PERFECT, faults=FaultPlan(journal_fail=(20, 60)))
    assert result.outcome == "completed"
    assert result.state.anomalies == ()


def test_replay_check_passes_on_recorded_runs_and_catches_a_changed_policy() -> None:
    from playbill.runtime import Draft, NoteWritten, check_replay, decide

    journal = MemoryJournal()
    result = simulate(9, journal=journal, faults=FaultPlan(crash=0.1, hang=0.1, transient=0.1))
    entries = journal_of(journal, result.run_id)
    assert check_replay(entries) is None

    def louder(state, entry):  # the same policy, plus a note on entry 5
        extra = [Draft(msg=NoteWritten(author="s", text="hi"), sender="supervisor", cause=5)]
        return [*extra, *decide(state, entry)] if entry.seq == 5 else decide(state, entry)

    divergence = check_replay(entries, louder)
    assert divergence is not None
    assert (divergence.seq, divergence.cause) == (6, 5)
    assert divergence.decided == NoteWritten(author="s", text="hi")

    def quieter(state, entry):  # the same policy, minus its first command
        drafts = decide(state, entry)
        return drafts[1:] if entry.seq == 2 else drafts

    divergence = check_replay(entries, quieter)
    assert divergence is not None and divergence.cause == 2 and divergence.recorded is not None
