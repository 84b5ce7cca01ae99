"""The demo run: a small, realistic, scripted journal.

``playbill demo`` writes it through the real journal writer; tests and
property tests reuse it as a golden journal. It is pure data: the same
drafts and the same recorded times on every call and every machine, so a run
written from it always has the same bytes.

The story (the cast and plan are in ``_demo_cast``): five agents add CSV
export to a small ``ledger`` tool. The planner confirms the plan. An executor
writes the CSV writer; its tests pass but the reviewer asks for changes, so
the attempt fails with a ``validation`` failure and is retried after a
backoff, with the failure fed back; the second attempt is approved. Two
executors then compete on the CLI flag and arbitration picks one. The
verifier runs the suite and a CSV round trip, both acceptance criteria are
met, and the run completes.
"""

from __future__ import annotations

from typing import final

import attrs

from playbill.runtime.model._entry import Draft, Entry
from playbill.runtime.model._messages import (
    ArbitrationDecided,
    CriterionMet,
    NoteWritten,
    PlanAttached,
    RunCompleted,
    RunCreated,
    StepFailed,
    StepRetried,
    TimerFired,
    TimerSet,
)
from playbill.runtime.model._values import (
    Check,
    Evidence,
    Failure,
    Finding,
    ImplementationPayload,
    PlanPayload,
    Score,
    Usage,
    VerificationPayload,
)

from ._demo_cast import (
    AGENTS,
    BASE_COMMIT,
    CRITERIA,
    FLAG_COMMITS,
    FLAG_STEP,
    GOAL,
    LABELS,
    MERGE_FLAG,
    MERGE_WRITER,
    PLAN,
    RUN_BUDGET,
    VERIFY_STEP,
    WRITER_COMMITS,
    WRITER_STEP,
)
from ._demo_script import CLOCK, SUPERVISOR, USER, DemoScript

DEMO_BASE_US = 1_741_944_600_000_000
"""When the demo run starts: 2025-03-14 09:30:00 UTC, in microseconds."""

DEMO_RUN_PREFIX = "demo-"
"""Demo run ids are this prefix and a four-digit number (``demo-0001``)."""


@final
@attrs.frozen
class DemoRun:
    """The scripted demo run.

    Attributes:
        drafts: The messages to journal, in order; the n-th gets seq n.
        times_us: When each draft is recorded (microseconds since the epoch):
            what the writer's clock must return while appending it.
    """

    drafts: tuple[Draft, ...]
    times_us: tuple[int, ...]

    def entries(self, run_id: str) -> list[Entry]:
        """The entries a journal holds once the drafts are appended as ``run_id``."""
        return [
            draft.stamp(run_id, seq, at_us)
            for seq, (draft, at_us) in enumerate(zip(self.drafts, self.times_us, strict=True), 1)
        ]


def demo_run() -> DemoRun:
    """The demo run's drafts and times (equal on every call)."""
    script = DemoScript(now_us=DEMO_BASE_US)
    planned = _plan_phase(script)
    written = _writer_phase(script, cause=planned)
    flagged = _flag_phase(script, cause=written)
    _verify_phase(script, cause=flagged)
    return DemoRun(drafts=tuple(script.drafts), times_us=tuple(script.times_us))


def demo_drafts() -> list[Draft]:
    """The demo run's drafts, in journal order."""
    return list(demo_run().drafts)


def demo_run_id(number: int) -> str:
    """The id of the ``number``-th demo run (``demo-0001`` for 1)."""
    return f"{DEMO_RUN_PREFIX}{number:04d}"


def next_demo_run_id(existing: set[str]) -> str:
    """The first demo run id not in ``existing``."""
    number = 1
    while demo_run_id(number) in existing:
        number += 1
    return demo_run_id(number)


# ---------------------------------------------------------------------- story


def _plan_phase(script: DemoScript) -> int:
    planner = AGENTS[0]
    created = script.send(
        RunCreated(goal=GOAL, strategy="pipeline", budget=RUN_BUDGET, labels=dict(LABELS)), USER
    )
    attached = script.send(PlanAttached(plan=PLAN), USER, after_s=0.2, cause=created)
    assigned = script.assign("plan", planner.id, 1, cause=attached, heartbeat_s=120.0)
    script.start("plan", planner.id, 1, cause=assigned, after_s=1.4)
    script.heartbeat(planner.id, "plan", 1, "reading ledger/cli.py and ledger/models.py", 30.0)
    payload = PlanPayload(
        steps=(WRITER_STEP, FLAG_STEP, VERIFY_STEP),
        criteria=CRITERIA,
        rationale=(
            "The writer is pure and testable alone; the CLI flag only wires it in, "
            "so two executors can compete on it cheaply."
        ),
    )
    proposed = script.propose(
        planner,
        "plan",
        1,
        payload,
        Usage(tokens_in=18_412, tokens_out=2_153, cost_usd=0.0874, wall_s=56.3),
        (Evidence(kind="file", ref="ledger/cli.py", detail="subcommands live in build_parser()"),),
        cause=assigned,
        after_s=25.0,
    )
    return script.complete("plan", 1, "3 steps proposed, as attached", cause=proposed)


def _writer_attempt(
    script: DemoScript,
    attempt: int,
    *,
    cause: int,
    feedback: Failure | None,
    progress: str,
    summary: str,
    usage: Usage,
    review_usage: Usage,
    tests: str,
) -> int:
    """One attempt at the CSV writer, up to its review; return the review's seq."""
    executor, step = AGENTS[1], WRITER_STEP.id
    commit = WRITER_COMMITS[attempt - 1]
    assigned = script.assign(
        step, executor.id, attempt, cause=cause, heartbeat_s=300.0, feedback=feedback
    )
    script.workspace(step, attempt, BASE_COMMIT, cause=assigned)
    script.start(step, executor.id, attempt, cause=assigned, after_s=1.2)
    script.heartbeat(executor.id, step, attempt, progress, 75.0)
    test_proof = Evidence(kind="test", ref="tests/test_export.py", detail=tests)
    proposed = script.propose(
        executor,
        step,
        attempt,
        ImplementationPayload(summary=summary, changed_files=WRITER_STEP.scope, commit=commit),
        usage,
        (Evidence(kind="commit", ref=commit), test_proof),
        cause=assigned,
        after_s=60.0,
    )
    script.validated(step, attempt, "tests_pass", test_proof, cause=proposed, after_s=12.0)
    findings = () if attempt > 1 else (QUOTING_FINDING,)
    return script.review(
        step,
        attempt,
        review_usage,
        approve=attempt > 1,
        cause=proposed,
        after_s=35.0,
        findings=findings,
    )


QUOTING_FINDING = Finding(
    severity="major",
    message="fields holding commas, quotes or newlines are not quoted (RFC 4180 2.6)",
    path="ledger/export.py",
    line=14,
)


def _writer_phase(script: DemoScript, *, cause: int) -> int:
    step = WRITER_STEP.id
    reviewed = _writer_attempt(
        script,
        1,
        cause=cause,
        feedback=None,
        progress="export.py written; running tests",
        summary="Added to_csv(entries) and six tests",
        usage=Usage(tokens_in=41_380, tokens_out=6_912, cost_usd=0.412, wall_s=166.0),
        review_usage=Usage(tokens_in=9_870, tokens_out=1_204, cost_usd=0.061, wall_s=38.2),
        tests="6 passed",
    )
    failure = Failure(
        failure_class="validation",
        kind="changes_requested",
        detail="review: fields holding commas, quotes or newlines are not quoted (RFC 4180 2.6)",
    )
    failed = script.send(
        StepFailed(step=step, attempt=1, failure=failure), SUPERVISOR, after_s=0.05, cause=reviewed
    )
    script.merged(step, 1, None, "attempt failed review; branch kept for inspection", cause=failed)
    retried = script.send(
        StepRetried(
            step=step, next_attempt=2, failure_class="validation", backoff_s=5.0, feedback=failure
        ),
        SUPERVISOR,
        cause=failed,
    )
    backoff = f"backoff:{step}#2"
    script.send(
        TimerSet(timer=backoff, due_us=script.due(5.0), purpose="backoff", step=step, attempt=2),
        SUPERVISOR,
        to=SUPERVISOR,
        cause=retried,
    )
    fired = script.send(TimerFired(timer=backoff), CLOCK, after_s=5.0, to=SUPERVISOR)
    reviewed = _writer_attempt(
        script,
        2,
        cause=fired,
        feedback=failure,
        progress="quoting per RFC 4180; tests for commas, quotes and newlines",
        summary="to_csv() quotes fields per RFC 4180; nine tests",
        usage=Usage(tokens_in=29_554, tokens_out=4_871, cost_usd=0.297, wall_s=109.5),
        review_usage=Usage(tokens_in=11_021, tokens_out=688, cost_usd=0.058, wall_s=31.0),
        tests="9 passed",
    )
    completed = script.complete(step, 2, "to_csv() quotes per RFC 4180; 9 tests", cause=reviewed)
    script.merged(step, 2, MERGE_WRITER, "fast-forward", cause=completed)
    note = NoteWritten(
        author=AGENTS[3].id,
        text="to_csv() holds the whole file in memory: fine now, stream it if ledgers grow.",
    )
    script.send(note, AGENTS[3].id, after_s=0.1)
    return completed


def _flag_phase(script: DemoScript, *, cause: int) -> int:
    step = FLAG_STEP.id
    competitors = ((AGENTS[1], 1), (AGENTS[2], 2))
    assigned = {
        n: script.assign(step, agent.id, n, cause=cause, heartbeat_s=300.0)
        for agent, n in competitors
    }
    for _, n in competitors:
        script.workspace(step, n, MERGE_WRITER, cause=assigned[n])
    for agent, n in competitors:
        script.start(step, agent.id, n, cause=assigned[n], after_s=0.5)
    for agent, n in reversed(competitors):
        script.heartbeat(agent.id, step, n, "adding --csv to the export subcommand", 20.0)
    usages = {
        1: Usage(tokens_in=22_905, tokens_out=3_377, cost_usd=0.219, wall_s=83.0),
        2: Usage(tokens_in=17_640, tokens_out=2_215, cost_usd=0.154, wall_s=61.0),
    }
    proposed: dict[int, int] = {}
    # executor-b (attempt 2) is faster: its result arrives first.
    for agent, n in reversed(competitors):
        commit = FLAG_COMMITS[n - 1]
        payload = ImplementationPayload(
            summary=f"--csv option on `ledger export` ({agent.id})",
            changed_files=FLAG_STEP.scope,
            commit=commit,
        )
        evidence = (Evidence(kind="commit", ref=commit),)
        proposed[n] = script.propose(
            agent, step, n, payload, usages[n], evidence, cause=assigned[n], after_s=25.0
        )
    ran = Evidence(kind="command", ref="python -m ledger export --csv out.csv", detail="exit 0")
    validated = 0
    for _, n in reversed(competitors):
        validated = script.validated(step, n, "command_passes", ran, cause=proposed[n], after_s=9.0)
    scores = tuple(
        Score(
            agent=agent.id,
            attempt=n,
            passed=True,
            score=score,
            cost_usd=usages[n].cost_usd,
            tokens=usages[n].tokens,
            arrival_seq=proposed[n],
        )
        for (agent, n), score in ((competitors[1], 0.91), (competitors[0], 0.84))
    )
    decided = script.send(
        ArbitrationDecided(
            step=step, policy="passed_then_score", winner_attempt=2, scores=scores, margin=0.07
        ),
        SUPERVISOR,
        after_s=0.1,
        cause=validated,
    )
    completed = script.complete(step, 2, "executor-b's attempt won arbitration", cause=decided)
    script.merged(step, 2, MERGE_FLAG, "", cause=completed)
    script.merged(step, 1, None, "lost arbitration to attempt 2; branch kept", cause=decided)
    return completed


def _verify_phase(script: DemoScript, *, cause: int) -> None:
    verifier, step = AGENTS[4], VERIFY_STEP.id
    assigned = script.assign(step, verifier.id, 1, cause=cause, heartbeat_s=600.0)
    script.start(step, verifier.id, 1, cause=assigned, after_s=1.0)
    script.heartbeat(verifier.id, step, 1, "pytest: 148 collected", 60.0)
    suite = Evidence(kind="test", ref="python -m pytest", detail="148 passed in 41.2s")
    roundtrip = Evidence(
        kind="command",
        ref="python scripts/csv_roundtrip.py",
        detail="212 entries exported and imported back identical",
    )
    checks = (
        Check(name="pytest", passed=True, detail="148 passed", tests_passed=148, tests_failed=0),
        Check(name="csv round trip", passed=True, detail=roundtrip.detail),
    )
    proposed = script.propose(
        verifier,
        step,
        1,
        VerificationPayload(checks=checks),
        Usage(wall_s=96.0),
        (suite, roundtrip),
        cause=assigned,
        after_s=35.0,
    )
    script.validated(step, 1, "tests_pass", suite, cause=proposed, after_s=0.1)
    script.validated(step, 1, "command_passes", roundtrip, cause=proposed, after_s=0.1)
    completed = script.complete(step, 1, "148 tests pass; CSV round trip identical", cause=proposed)
    for criterion, proof in (("suite-green", suite), ("csv-roundtrip", roundtrip)):
        met = CriterionMet(criterion=criterion, evidence=(proof,))
        script.send(met, SUPERVISOR, after_s=0.05, cause=completed)
    summary = "`ledger export --csv` is on main: 4 steps, 6 attempts, 1 retry, both criteria met"
    script.send(RunCompleted(summary=summary), SUPERVISOR, after_s=0.1, cause=completed)
