"""An in-process agent that crashes inside a nursery: the journal names the real error.

Issue 17, item 8: the crash was journaled as "ExceptionGroup: Exceptions from
Trio nursery", hiding ``RuntimeError('boom')``. On a real run (a git
repository, worktrees, the checks verifier running pytest).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import attrs
import pytest
import trio

from git_helpers import FIXED, calc_project, git
from playbill import RunSpec, open_run
from playbill._run_wiring import describe_crash
from playbill.actors._workbench import Workbench
from playbill.backends import ChecksOptions, Reporter, WorkOrder
from playbill.backends._backend import Capabilities
from playbill.backends._checks import ChecksBackend
from playbill.backends._scripted import Edit, Scripted, ScriptedBackend
from playbill.plans import parse_plan
from playbill.runtime import (
    AgentFailed,
    AgentSpec,
    MemoryJournal,
    Plan,
    PolicySettings,
    ResultEnvelope,
    RunState,
    StepSpec,
    TestsPass,
)


@attrs.define
class CrashOnce:
    """A scripted executor whose first piece of work crashes in a task of its own."""

    inner: ScriptedBackend
    crashed: bool = False
    name = "crash-once"

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        if not self.crashed:
            self.crashed = True

            async def boom() -> None:
                raise RuntimeError(f"boom: token={SECRET} " + "x" * 5000)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(boom)
        return await self.inner.run(order, report)


SECRET = "sk-live-abcdefghijklmnopqrstuvwx"


@pytest.mark.slow
async def test_an_agent_crash_in_a_nursery_is_journaled_as_the_real_exception(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRASH_TEST_API_TOKEN", SECRET)
    repo = calc_project(tmp_path / "project", {})
    plan = Plan(
        steps=(
            StepSpec(
                id="fix",
                goal="fix add",
                scope=("calc.py",),
                validators=(TestsPass(argv=(sys.executable, "-m", "pytest", "-q")),),
            ),
        ),
        agents=(
            AgentSpec(id="ex", roles=("executor",), backend="scripted"),
            AgentSpec(id="ver", roles=("verifier",), backend="checks", edits_files=False),
        ),
    )
    crashing = CrashOnce(ScriptedBackend({"fix": [Scripted(edits=(Edit("calc.py", FIXED),))]}))
    checks = ChecksBackend(ChecksOptions())
    journal = MemoryJournal()
    spec = RunSpec(goal="fix calc", plan=plan, policy=PolicySettings(backoff_base_s=0.01))
    bench = Workbench(repo, "c1")
    async with open_run(
        journal,
        "c1",
        lambda agent: checks if agent.backend == "checks" else crashing,  # type: ignore[return-value,arg-type]
        spec=spec,
        workbench=bench,
    ) as run:
        state = await run.wait()
    assert state.status == "completed", state.reason
    failed = [e.msg for e in await journal.read("c1") if isinstance(e.msg, AgentFailed)]
    assert len(failed) == 1
    detail = failed[0].failure.detail
    assert detail.startswith("RuntimeError: boom"), detail
    assert "ExceptionGroup" not in detail and "Trio nursery" not in detail
    assert SECRET not in detail  # redacted
    assert len(detail) <= 2000  # bounded
    assert git(repo, "show", "playbill/c1/integration:calc.py") + "\n" == FIXED


def test_a_group_names_each_exception_it_holds() -> None:
    group = ExceptionGroup("outer", [ValueError("a"), ExceptionGroup("inner", [KeyError("b")])])
    assert describe_crash(group) == "ValueError: a (and 1 more: KeyError)"
    assert describe_crash(RuntimeError()) == "RuntimeError"


@attrs.define
class CrashTimes:
    """A scripted executor whose first ``times`` pieces of work crash."""

    inner: ScriptedBackend
    times: int
    crashed: int = 0
    name = "crash-times"

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        if self.crashed < self.times:
            self.crashed += 1
            raise RuntimeError(f"boom {self.crashed}")
        return await self.inner.run(order, report)


def crashing_plan(max_restarts: int | None) -> Plan:
    text = f"""
[run]
goal = "fix calc"
[run.policy]
backoff_base_s = 0.01
max_attempts = 9
[[agents]]
id = "ex"
roles = ["executor"]
backend = "command"
{"" if max_restarts is None else f"max_restarts = {max_restarts}"}
restart_window_s = 600
[agents.options]
argv = ["true"]
[[agents]]
id = "ver"
roles = ["verifier"]
backend = "checks"
[[steps]]
id = "fix"
goal = "fix add"
scope = ["calc.py"]
[[steps.validators]]
kind = "tests_pass"
argv = {json.dumps([sys.executable, "-m", "pytest", "-q"])}
"""
    return parse_plan(text, source="plan.toml").to_plan()


def test_an_agents_restart_limit_and_window_come_from_the_plan() -> None:
    spec = crashing_plan(5).agents[0]
    assert (spec.max_restarts, spec.restart_window_s) == (5, 600.0)
    assert crashing_plan(None).agents[0].max_restarts is None


@pytest.mark.slow
@pytest.mark.parametrize(("max_restarts", "completes"), [(5, True), (None, False)])
async def test_an_agent_may_crash_as_often_as_its_plan_allows(
    tmp_path: Path, max_restarts: int | None, completes: bool
) -> None:
    """Four crashes in a row: past the runner's 3, within the agent's own 5."""
    repo = calc_project(tmp_path / "project", {})
    plan = crashing_plan(max_restarts)
    crashing = CrashTimes(ScriptedBackend({"fix": [Scripted(edits=(Edit("calc.py", FIXED),))]}), 4)
    checks = ChecksBackend(ChecksOptions())
    policy = PolicySettings(backoff_base_s=0.01, max_attempts=9)
    spec = RunSpec(goal="fix calc", plan=plan, policy=policy)
    bench = Workbench(repo, "m1")

    async def run() -> RunState:
        async with open_run(
            MemoryJournal(),
            "m1",
            lambda agent: checks if agent.backend == "checks" else crashing,  # type: ignore[return-value,arg-type]
            spec=spec,
            workbench=bench,
        ) as opened:
            return await opened.wait()

    state = await run()
    if completes:
        assert state.status == "completed", state.reason
        assert state.agents["ex"].failures == 4
    else:  # the runner's limit: 3 restarts, then the run fails
        assert state.status == "failed"
        assert "crashed too often" in state.reason
