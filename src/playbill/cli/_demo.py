"""The demo run: a small, realistic, scripted journal, recorded through the policy.

``playbill demo --scripted`` writes it through the real journal writer; tests
and property tests reuse it as a golden journal. It is pure data: the same
drafts and the same recorded times on every call and every machine, so a run
written from it always has the same bytes. The story gives only what the
user, the agents, the integrator and the clock say; every supervisor entry is
what today's policy decides in reaction (see ``_demo_script``), so the run
passes ``replay --check``.

The story (the cast and plan are in ``_demo_cast``): five agents add CSV
export to a small ``ledger`` tool. The planner reads the code and proposes
three steps and two acceptance criteria. An executor writes the CSV writer;
the reviewer asks for changes (fields are not quoted), so the attempt fails
with a ``validation`` failure and is retried after a backoff, with the
review fed back; the second attempt is approved, its tests pass and it is
merged. Two executors then compete on the CLI flag: both are reviewed and
verified, arbitration picks the better-scored one and the other is stopped.
The verifier runs the suite and a CSV round trip, both criteria are met, and
the run completes.
"""

from __future__ import annotations

from typing import final

import attrs

from playbill.runtime import (
    Check,
    Draft,
    Entry,
    Evidence,
    Finding,
    ImplementationPayload,
    NoteWritten,
    PlanAttached,
    PlanPayload,
    RunCreated,
    Usage,
    Verdict,
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
from ._demo_script import USER, DemoScript

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
    _plan_phase(script)
    _writer_phase(script)
    _flag_phase(script)
    _verify_phase(script)
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


def _plan_phase(script: DemoScript) -> None:
    planner = AGENTS[0].id
    budget, labels = RUN_BUDGET, dict(LABELS)
    script.send(
        RunCreated(goal=GOAL, strategy="pipeline", budget=budget, labels=labels), USER, to="*"
    )
    script.send(PlanAttached(plan=PLAN), USER, after_s=0.2, to="*")
    script.start(planner, "plan", 1, after_s=1.4)
    progress = "reading ledger/cli.py and ledger/models.py"
    script.heartbeat(planner, "plan", 1, progress, after_s=30.0)
    payload = PlanPayload(
        steps=(WRITER_STEP, FLAG_STEP, VERIFY_STEP),
        criteria=CRITERIA,
        rationale=(
            "The writer is pure and testable alone; the CLI flag only wires it in, "
            "so two executors can compete on it cheaply."
        ),
    )
    script.propose(
        planner,
        "planner",
        "plan",
        1,
        payload,
        Usage(tokens_in=18_412, tokens_out=2_153, cost_usd=0.0874, wall_s=56.3),
        after_s=25.0,
        evidence=(
            Evidence(kind="file", ref="ledger/cli.py", detail="subcommands live in build_parser()"),
        ),
    )


QUOTING_FINDING = Finding(
    severity="major",
    message="fields holding commas, quotes or newlines are not quoted (RFC 4180 2.6)",
    path="ledger/export.py",
    line=14,
)


def _writer_attempt(
    script: DemoScript,
    attempt: int,
    *,
    progress: str,
    summary: str,
    usage: Usage,
    review_usage: Usage,
) -> None:
    """One attempt at the CSV writer, up to its review."""
    executor, step = AGENTS[1].id, WRITER_STEP.id
    commit = WRITER_COMMITS[attempt - 1]
    script.start(executor, step, attempt, after_s=1.2)
    script.workspace(executor, step, attempt, BASE_COMMIT, after_s=0.7)
    script.heartbeat(executor, step, attempt, progress, after_s=75.0)
    payload = ImplementationPayload(summary=summary, changed_files=WRITER_STEP.scope, commit=commit)
    evidence = (Evidence(kind="commit", ref=commit),)
    script.implement(executor, step, attempt, payload, usage, after_s=60.0, evidence=evidence)
    approve = attempt > 1
    findings = () if approve else (QUOTING_FINDING,)
    verdict: Verdict = "pass" if approve else "request_changes"
    reviewer = AGENTS[3].id
    script.heartbeat(reviewer, step, attempt, "reading the diff of ledger/export.py", after_s=4.0)
    script.review(reviewer, step, attempt, verdict, review_usage, after_s=31.0, findings=findings)


def _writer_phase(script: DemoScript) -> None:
    step = WRITER_STEP.id
    _writer_attempt(
        script,
        1,
        progress="export.py written; running tests",
        summary="Added to_csv(entries) and six tests",
        usage=Usage(tokens_in=41_380, tokens_out=6_912, cost_usd=0.412, wall_s=166.0),
        review_usage=Usage(tokens_in=9_870, tokens_out=1_204, cost_usd=0.061, wall_s=38.2),
    )
    script.fire("backoff")
    _writer_attempt(
        script,
        2,
        progress="quoting per RFC 4180; tests for commas, quotes and newlines",
        summary="to_csv() quotes fields per RFC 4180; nine tests",
        usage=Usage(tokens_in=29_554, tokens_out=4_871, cost_usd=0.297, wall_s=109.5),
        review_usage=Usage(tokens_in=11_021, tokens_out=688, cost_usd=0.058, wall_s=31.0),
    )
    verifier = AGENTS[4].id
    tests = Check(
        name="tests_pass", passed=True, detail="9 passed", tests_passed=9, tests_failed=0, score=1.0
    )
    proof = Evidence(kind="test", ref="tests/test_export.py", detail="9 passed")
    script.verify(verifier, step, 2, (tests,), Usage(wall_s=11.8), after_s=12.0, evidence=(proof,))
    script.merged(step, 2, MERGE_WRITER, after_s=0.6)
    note = NoteWritten(
        author=AGENTS[3].id,
        text="to_csv() holds the whole file in memory: fine now, stream it if ledgers grow.",
    )
    script.send(note, AGENTS[3].id, after_s=0.1, to="*")


def _flag_phase(script: DemoScript) -> None:
    step = FLAG_STEP.id
    competitors = ((AGENTS[1].id, 1), (AGENTS[2].id, 2))
    for agent, n in competitors:
        script.start(agent, step, n, after_s=0.5)
        script.workspace(agent, step, n, MERGE_WRITER, after_s=0.6)
    for agent, n in reversed(competitors):
        script.heartbeat(agent, step, n, "adding --csv to the export subcommand", after_s=20.0)
    usages = {
        1: Usage(tokens_in=22_905, tokens_out=3_377, cost_usd=0.219, wall_s=83.0),
        2: Usage(tokens_in=17_640, tokens_out=2_215, cost_usd=0.154, wall_s=61.0),
    }
    # executor-b (attempt 2) is faster: its result arrives first.
    for agent, n in reversed(competitors):
        commit = FLAG_COMMITS[n - 1]
        payload = ImplementationPayload(
            summary=f"--csv option on `ledger export` ({agent})",
            changed_files=FLAG_STEP.scope,
            commit=commit,
        )
        evidence = (Evidence(kind="commit", ref=commit),)
        script.implement(agent, step, n, payload, usages[n], after_s=25.0, evidence=evidence)
    reviewer, verifier = AGENTS[3].id, AGENTS[4].id
    review_usage = Usage(tokens_in=6_410, tokens_out=402, cost_usd=0.036, wall_s=21.0)
    ran = Evidence(kind="command", ref="python -m ledger export --csv out.csv", detail="exit 0")
    scores = {2: 0.91, 1: 0.84}
    for n in (2, 1):
        script.review(reviewer, step, n, "pass", review_usage, after_s=21.0)
        check = Check(name="command_passes", passed=True, detail="exit 0", score=scores[n])
        script.verify(verifier, step, n, (check,), Usage(wall_s=2.1), after_s=9.0, evidence=(ran,))
    script.merged(step, 2, MERGE_FLAG, after_s=0.6)


def _verify_phase(script: DemoScript) -> None:
    verifier, step = AGENTS[4].id, VERIFY_STEP.id
    script.start(verifier, step, 1, after_s=1.0)
    script.heartbeat(verifier, step, 1, "pytest: 148 collected", after_s=60.0)
    suite = Evidence(kind="test", ref="python -m pytest", detail="148 passed in 41.2s")
    roundtrip = Evidence(
        kind="command",
        ref="python scripts/csv_roundtrip.py",
        detail="212 entries exported and imported back identical",
    )
    checks = (
        Check(
            name="tests_pass", passed=True, detail="148 passed", tests_passed=148, tests_failed=0
        ),
        Check(name="command_passes", passed=True, detail=roundtrip.detail),
    )
    script.propose(
        verifier,
        "verifier",
        step,
        1,
        VerificationPayload(checks=checks),
        Usage(wall_s=96.0),
        after_s=35.0,
        evidence=(suite, roundtrip),
    )
