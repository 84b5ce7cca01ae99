"""Agents made of plain functions (``@playbill.agent``), and how ``start`` matches agents.

A function is given the order (and a reporter if it asks), runs in a worker
thread when it is not a coroutine function, and its answer becomes the
result of its role; an exception is a failed attempt, not a crash.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import trio

import playbill
from playbill import (
    AgentSpec,
    Check,
    Entry,
    FunctionAgent,
    Heartbeat,
    ImplementationPayload,
    Plan,
    ResultEnvelope,
    ResultProposed,
    ReviewGiven,
    ReviewPayload,
    RunState,
    StepFailed,
    StepSpec,
    ThreadReporter,
    ValidationFailed,
    ValidationPassed,
    VerificationPayload,
    WorkOrder,
)

ONE = Plan(steps=(StepSpec(id="build", goal="Build it", max_attempts=2, on_exhausted="abort"),))
"""One executor step, tried twice at most."""

QUICK = playbill.PolicySettings(backoff_base_s=0.001)
"""Retries at once (a run's retries wait 5 s by default)."""


async def journal_of(plan: Plan, agents: Any) -> tuple[RunState, list[Entry]]:
    """Run ``plan`` to where it settles; its state and entries."""
    async with playbill.start(plan, agents, policy=QUICK) as run:
        state = await run.settled()
        return state, await run.journal.read(run.run_id)


def messages(entries: list[Entry], kind: type[Any]) -> list[Any]:
    return [entry.msg for entry in entries if isinstance(entry.msg, kind)]


def summaries(entries: list[Entry]) -> list[str]:
    return [
        m.result.payload.summary
        for m in messages(entries, ResultProposed)
        if isinstance(m.result.payload, ImplementationPayload)
    ]


async def test_a_plain_function_runs_in_a_worker_thread_and_its_string_is_the_summary() -> None:
    threads: list[threading.Thread] = []

    @playbill.agent
    def coder(order: WorkOrder) -> str:
        threads.append(threading.current_thread())
        return f"built {order.step.id}"

    state, entries = await journal_of(ONE, [coder])
    assert state.status == "completed"
    assert summaries(entries) == ["built build"]
    assert threads and threads[0] is not threading.main_thread()


async def test_a_coroutine_function_runs_in_the_run_and_reports_through_report() -> None:
    @playbill.agent(role="executor")
    async def coder(order: WorkOrder, report: playbill.Reporter) -> ImplementationPayload:
        trio.lowlevel.current_task()  # a trio task, not a thread
        await report.heartbeat("halfway")
        return ImplementationPayload(summary="async", changed_files=("a.py",))

    state, entries = await journal_of(ONE, [coder])
    assert state.status == "completed"
    assert [m.progress for m in messages(entries, Heartbeat)] == ["halfway"]
    assert summaries(entries) == ["async"]


async def test_a_plain_function_reports_through_a_blocking_reporter() -> None:
    @playbill.agent
    def coder(reporter: ThreadReporter, order: WorkOrder) -> None:
        reporter.heartbeat(f"on {order.step.id}")
        reporter.usage(playbill.Usage(tokens_in=10, tokens_out=5))

    state, entries = await journal_of(ONE, [coder])
    assert state.status == "completed"
    assert [m.progress for m in messages(entries, Heartbeat)] == ["on build"]
    assert state.usage.tokens == 15
    assert summaries(entries) == [""]  # None: a result that says nothing


async def test_a_function_of_nothing_is_called_with_nothing() -> None:
    @playbill.agent
    def coder() -> str:
        return "done"

    _, entries = await journal_of(ONE, [coder])
    assert summaries(entries) == ["done"]


async def test_a_whole_envelope_is_taken_as_is() -> None:
    @playbill.agent
    def coder(order: WorkOrder) -> ResultEnvelope:
        return ResultEnvelope(
            agent=order.agent,
            role=order.role,
            step=order.step.id,
            attempt=order.attempt,
            exit_status="ok",
            payload=ImplementationPayload(summary="whole"),
            evidence=(playbill.Evidence(kind="note", ref="", detail="by hand"),),
        )

    _, entries = await journal_of(ONE, [coder])
    assert summaries(entries) == ["whole"]
    [proposed] = messages(entries, ResultProposed)
    assert proposed.result.evidence == (playbill.Evidence(kind="note", ref="", detail="by hand"),)


async def test_an_exception_fails_the_attempt_and_the_step_is_tried_again() -> None:
    calls: list[int] = []

    @playbill.agent
    def coder(order: WorkOrder) -> str:
        calls.append(order.attempt)
        if order.attempt == 1:
            raise ValueError("flaky")
        return "second time lucky"

    state, entries = await journal_of(ONE, [coder])
    assert state.status == "completed"
    assert calls == [1, 2]
    [failed] = messages(entries, StepFailed)
    assert (failed.failure.failure_class, failed.failure.kind) == ("agent", "exception")
    assert failed.failure.detail == "ValueError: flaky"
    assert "AgentFailed" not in [type(e.msg).__name__ for e in entries]  # not a crash


async def test_an_answer_its_role_cannot_use_is_malformed_output() -> None:
    @playbill.agent
    def coder(order: WorkOrder) -> int:
        return 42

    state, entries = await journal_of(ONE, [coder])
    assert state.status == "failed"
    failures = [m.failure for m in messages(entries, StepFailed)]
    assert {(f.failure_class, f.kind) for f in failures} == {("agent", "malformed_output")}
    assert "int 42" in failures[0].detail


async def test_reviewer_and_verifier_answers_make_their_payloads() -> None:
    seen_feedback: list[str] = []

    @playbill.agent
    def coder(order: WorkOrder) -> str:
        if order.feedback is not None:
            seen_feedback.append(order.feedback.detail)
        return f"attempt {order.attempt}"

    @playbill.agent(role="reviewer")
    def reviewer(order: WorkOrder) -> str | bool:
        assert order.subject is not None
        return True if order.attempt == 2 else "add a test"

    @playbill.agent(role="verifier")
    def verifier(order: WorkOrder) -> bool:
        return True

    plan = Plan(steps=(StepSpec(id="build", goal="Build it", max_attempts=3),))
    state, entries = await journal_of(plan, [coder, reviewer, verifier])
    assert state.status == "completed"
    reviews = messages(entries, ReviewGiven)
    assert [r.verdict for r in reviews] == ["request_changes", "pass"]
    assert [f.message for f in reviews[0].findings] == ["add a test"]
    assert any("add a test" in text for text in seen_feedback)
    assert [m.validator for m in messages(entries, ValidationPassed)] == ["function"]


async def test_a_verifier_saying_false_fails_the_check() -> None:
    @playbill.agent
    def coder() -> str:
        return "done"

    @playbill.agent(role="verifier")
    async def verifier() -> bool:
        return False

    plan = Plan(steps=(StepSpec(id="build", goal="Build it", max_attempts=1),))
    state, entries = await journal_of(plan, [coder, verifier])
    assert [m.validator for m in messages(entries, ValidationFailed)] == ["function"]
    assert state.steps["build"].status != "completed"


@pytest.mark.parametrize(
    ("role", "answer", "payload"),
    [
        ("reviewer", "blocked", ReviewPayload(verdict="blocked")),
        ("reviewer", False, ReviewPayload(verdict="fail")),
        ("verifier", True, VerificationPayload(checks=(Check(name="function", passed=True),))),
        ("executor", None, ImplementationPayload()),
        ("planner", "nothing to add", playbill.PlanPayload(rationale="nothing to add")),
    ],
)
def test_answers_become_the_payload_of_the_role(role: Any, answer: object, payload: Any) -> None:
    step = StepSpec(id="s", goal="g")
    order = WorkOrder(run_id="r", agent="a", role=role, kind="work", step=step, attempt=1)
    result = playbill._function_agent.result_of(order, answer)
    assert result.payload == payload
    assert (result.agent, result.role, result.step, result.attempt) == ("a", role, "s", 1)
    assert result.exit_status == "ok"


def test_the_decorator_names_the_agent_and_its_roles() -> None:
    @playbill.agent(roles=("reviewer", "verifier"), name="checker")
    def check(order: WorkOrder) -> bool:
        return True

    assert isinstance(check, FunctionAgent)
    assert (check.id, check.name, check.roles) == ("checker", "checker", ("reviewer", "verifier"))
    assert check.spec == AgentSpec(
        id="checker", roles=("reviewer", "verifier"), backend="function", edits_files=False
    )
    assert not check.capabilities.edits_files
    assert check.__name__ == "check"  # still the function: call it, read its name
    step = StepSpec(id="s", goal="g")
    assert check(
        WorkOrder(run_id="r", agent="a", role="reviewer", kind="work", step=step, attempt=1)
    )

    @playbill.agent(role="executor", edits_files=False)
    def coder() -> None: ...

    assert coder.spec.edits_files is False
    with pytest.raises(ValueError, match="unknown roles"):
        playbill.agent(role="boss")(coder)  # type: ignore[arg-type]


async def test_a_plan_without_agents_gets_them_from_the_functions() -> None:
    @playbill.agent
    def coder() -> str:
        return "done"

    @playbill.agent(role="reviewer")
    def reviewer() -> bool:
        return True

    async with playbill.start(ONE, [coder, reviewer]) as run:
        state = await run.result()
    assert state.plan is not None
    assert [(a.id, a.roles, a.backend, a.edits_files) for a in state.plan.agents] == [
        ("coder", ("executor",), "function", True),
        ("reviewer", ("reviewer",), "function", False),
    ]


async def test_agents_are_matched_to_the_plan_by_id() -> None:
    @playbill.agent(name="builder")
    def build() -> str:
        return "built"

    plan = Plan(steps=ONE.steps, agents=(AgentSpec(id="builder", roles=("executor",)),))
    async with playbill.start(plan, [build]) as run:
        assert (await run.result()).status == "completed"
    async with playbill.start(plan, {"builder": build}) as run:
        assert (await run.result()).status == "completed"

    @playbill.agent
    def stranger() -> str:
        return ""

    with pytest.raises(ValueError, match=r"no agent given for the plan's agents \['builder'\]"):
        async with playbill.start(plan, [stranger]):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match=r"agents \['stranger'\] are not in the plan"):
        async with playbill.start(plan, [build, stranger]):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="two agents are named 'build'"):
        async with playbill.start(ONE, [playbill.agent(build), playbill.agent(build)]):
            pass  # pragma: no cover


async def test_a_function_agent_that_cannot_edit_is_refused_for_an_editing_plan_agent() -> None:
    @playbill.agent(edits_files=False)
    def coder() -> str:
        return ""

    plan = Plan(steps=ONE.steps, agents=(AgentSpec(id="coder", roles=("executor",)),))
    with pytest.raises(playbill.CapabilityError, match="does not edit files"):
        async with playbill.start(plan, [coder]):
            pass  # pragma: no cover


async def test_a_blocked_plain_function_is_abandoned_when_the_run_is_cancelled() -> None:
    release = threading.Event()
    entered = threading.Event()

    @playbill.agent
    def coder() -> str:
        entered.set()
        release.wait()
        return "too late"

    try:
        async with playbill.start(ONE, [coder]) as run:
            await trio.to_thread.run_sync(entered.wait)
            assert (await run.cancel("enough")).status == "cancelled"
            with pytest.raises(playbill.RunCancelledError):
                await run.result()
    finally:
        release.set()


async def test_the_reporter_is_found_by_its_annotation_too() -> None:
    @playbill.agent
    async def coder(progress: playbill.Reporter, order: WorkOrder) -> str:
        await progress.heartbeat(order.step.id)
        return "done"

    @playbill.agent(name="other")
    def plain(order: WorkOrder, progress: ThreadReporter) -> str:
        progress.heartbeat("plain")
        return "done"

    _, entries = await journal_of(ONE, [coder])
    assert [m.progress for m in messages(entries, Heartbeat)] == ["build"]
    _, entries = await journal_of(ONE, [plain])
    assert [m.progress for m in messages(entries, Heartbeat)] == ["plain"]
