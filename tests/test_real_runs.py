"""Whole runs on real git repositories: worktrees, scopes, validators, integration."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec
import pytest
import trio

from git_helpers import BUGGY, FIXED, calc_project, git
from playbill import RunSpec, open_run
from playbill.actors._workbench import Workbench
from playbill.backends import ChecksOptions, Reporter, WorkOrder, checks, command
from playbill.backends._backend import CapabilityError
from playbill.backends._checks import ChecksBackend
from playbill.backends._scripted import Edit, Scripted, ScriptedBackend
from playbill.runtime import (
    AgentSpec,
    FileChanged,
    ImplementationPayload,
    MemoryJournal,
    Plan,
    PolicySettings,
    ResultEnvelope,
    ResultProposed,
    ReviewPayload,
    RunState,
    StepSpec,
    StepStarted,
    TestsPass,
    WorkspaceCreated,
    WorkspaceMerged,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return calc_project(tmp_path / "project", {"README.md": "# calc\n"})


PYTEST = TestsPass(argv=(sys.executable, "-m", "pytest", "-q", "test_calc.py"))
AGENTS = (
    AgentSpec(id="ex", roles=("executor",), backend="scripted"),
    AgentSpec(id="rev", roles=("reviewer",), backend="scripted", edits_files=False),
    AgentSpec(id="ver", roles=("verifier",), backend="checks", edits_files=False),
)


def backends(script: Mapping[str, Sequence[Scripted]]):  # type: ignore[no-untyped-def]
    scripted = ScriptedBackend(script)
    checks = ChecksBackend(ChecksOptions())
    return lambda agent: checks if agent.backend == "checks" else scripted


async def run_plan(
    repo: Path, plan: Plan, script: Mapping[str, Sequence[Scripted]], run_id: str = "r1"
) -> tuple[RunState, MemoryJournal]:
    journal = MemoryJournal()
    bench = Workbench(repo, run_id)
    spec = RunSpec(goal="fix calc", plan=plan, policy=PolicySettings(backoff_base_s=0.01))
    async with open_run(journal, run_id, backends(script), spec=spec, workbench=bench) as run:
        state = await run.wait()
    return state, journal


@pytest.mark.slow
async def test_a_fix_is_verified_in_its_worktree_and_integrated(repo: Path) -> None:
    plan = Plan(
        steps=(
            StepSpec(id="fix", goal="fix add", scope=("calc.py",), validators=(PYTEST,)),
            StepSpec(
                id="docs",
                goal="document add",
                depends_on=("fix",),
                scope=("README.md",),
                validators=(FileChanged(path="README.md"),),
            ),
        ),
        agents=AGENTS,
    )
    script = {
        # the first attempt does not fix it: its tests fail, and it is retried
        "fix": [
            Scripted(edits=(Edit("calc.py", BUGGY + "# hmm\n"),)),
            Scripted(edits=(Edit("calc.py", FIXED),)),
        ],
        "docs": [Scripted(edits=(Edit("README.md", "# calc\n\n`add(a, b)` adds.\n"),))],
    }
    state, journal = await run_plan(repo, plan, script)
    assert state.status == "completed", state.reason
    assert [a.status for a in state.steps["fix"].attempts] == ["failed", "passed"]
    failure = state.steps["fix"].attempts[0].failure
    assert failure is not None and failure.failure_class == "validation"

    entries = await journal.read("r1")
    created = [e.msg for e in entries if isinstance(e.msg, WorkspaceCreated)]
    assert [(c.step, c.attempt) for c in created] == [("fix", 1), ("fix", 2), ("docs", 1)]
    assert len({c.path for c in created}) == 3
    merged = [e.msg for e in entries if isinstance(e.msg, WorkspaceMerged)]
    assert [(m.step, m.attempt, m.status) for m in merged] == [
        ("fix", 2, "applied"),
        ("docs", 1, "applied"),
    ]
    # docs started from the integration branch, which held the fix
    assert created[2].base_commit == merged[0].commit

    branch = "playbill/r1/integration"
    assert git(repo, "show", f"{branch}:calc.py") + "\n" == FIXED
    assert "adds" in git(repo, "show", f"{branch}:README.md")
    # the user's branch and work tree are untouched, and the worktrees are gone
    assert (repo / "calc.py").read_text() == BUGGY
    assert git(repo, "status", "--porcelain") == ""
    assert not any(map(os.path.exists, (c.path for c in created)))
    assert "playbill/r1/fix/2" in git(repo, "branch", "--list", "playbill/*")


async def test_a_write_outside_the_scope_fails_the_attempt(repo: Path) -> None:
    plan = Plan(
        steps=(StepSpec(id="fix", goal="fix add", scope=("calc.py",), max_attempts=1),),
        agents=AGENTS,
    )
    script = {"fix": [Scripted(edits=(Edit("calc.py", FIXED), Edit("test_calc.py", "")))]}
    state, _ = await run_plan(repo, plan, script)
    assert state.status == "failed"
    failure = state.steps["fix"].attempts[0].failure
    assert failure is not None
    assert (failure.failure_class, failure.kind) == ("validation", "scope_violation")
    assert "test_calc.py" in failure.detail
    assert git(repo, "branch", "--list", "playbill/r1/integration") == ""  # nothing integrated


async def test_independent_steps_on_one_file_conflict_at_integration(repo: Path) -> None:
    plan = Plan(
        steps=(
            StepSpec(id="a", goal="one way", scope=("calc.py",)),
            StepSpec(id="b", goal="another way", scope=("calc.py",)),
        ),
        agents=(AGENTS[0], AGENTS[1]),
    )
    script = {
        "a": [Scripted(edits=(Edit("calc.py", FIXED),))],
        "b": [Scripted(edits=(Edit("calc.py", "def add(a, b):\n    return b + a\n"),))],
    }
    state, journal = await run_plan(repo, plan, script)
    entries = await journal.read("r1")
    merged = [(m.step, m.status) for e in entries if isinstance(m := e.msg, WorkspaceMerged)]
    assert merged == [("a", "applied"), ("b", "conflicted")]
    assert state.steps["b"].status == "blocked"
    assert "calc.py" in (state.steps["b"].blocked_reason or "")
    assert state.pending_approvals()  # a person is asked
    assert git(repo, "show", "playbill/r1/integration:calc.py") + "\n" == FIXED


async def test_secrets_an_agent_repeats_never_reach_the_journal(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_TOKEN", "s3cr3t-value-42")
    plan = Plan(steps=(StepSpec(id="fix", goal="fix add", scope=("calc.py",)),), agents=AGENTS)
    summary = "logged in with s3cr3t-value-42, then fixed it"
    script = {"fix": [Scripted(edits=(Edit("calc.py", FIXED),), summary=summary)]}
    state, journal = await run_plan(repo, plan, script)
    assert state.status == "completed", state.reason
    data = b"".join(msgspec.json.encode(e) for e in await journal.read("r1"))
    assert b"s3cr3t-value-42" not in data
    assert b"[redacted:DEPLOY_TOKEN]" in data


async def test_a_backend_that_cannot_edit_is_refused_for_an_editing_agent(repo: Path) -> None:
    plan = Plan(
        steps=(StepSpec(id="fix", goal="fix add", scope=("calc.py",)),),
        agents=(AgentSpec(id="ver", roles=("verifier", "executor"), backend="checks"),),
    )
    spec = RunSpec(goal="g", plan=plan)
    with pytest.raises(CapabilityError, match="cannot play executor"):
        async with open_run(MemoryJournal(), "r2", lambda _: checks(), spec=spec):
            pass


async def test_independent_steps_run_at_once_in_separate_worktrees(repo: Path) -> None:
    plan = Plan(
        steps=(
            StepSpec(id="fix", goal="fix add", scope=("calc.py",)),
            StepSpec(id="docs", goal="document add", scope=("README.md",)),
        ),
        agents=(AGENTS[0], AgentSpec(id="ex2", roles=("executor",), backend="scripted"), AGENTS[1]),
    )
    script = {
        "fix": [Scripted(edits=(Edit("calc.py", FIXED),))],
        "docs": [Scripted(edits=(Edit("README.md", "# calc\n\nadds.\n"),))],
    }
    state, journal = await run_plan(repo, plan, script)
    assert state.status == "completed", state.reason
    entries = await journal.read("r1")
    started = [e for e in entries if isinstance(e.msg, StepStarted)]
    proposed = [e for e in entries if isinstance(e.msg, ResultProposed)]
    # both were at work before either had a result, each in its own worktree
    assert {e.msg.agent for e in started} == {"ex", "ex2"}
    assert max(e.seq for e in started) < min(e.seq for e in proposed)
    created = [e.msg for e in entries if isinstance(e.msg, WorkspaceCreated)]
    assert len({c.path for c in created}) == 2
    assert {c.base_commit for c in created} == {git(repo, "rev-parse", "main").strip()}
    assert git(repo, "show", "playbill/r1/integration:calc.py") + "\n" == FIXED
    assert "adds." in git(repo, "show", "playbill/r1/integration:README.md")


class TamperingReviewer:
    """A reviewer that writes into the worktree it reviews (and approves)."""

    name = "tampering"
    capabilities = ScriptedBackend().capabilities

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        assert order.workspace is not None
        await trio.Path(order.workspace, "calc.py").write_text(BUGGY)
        await trio.Path(order.workspace, "junk.txt").write_text("left behind\n")
        return ResultEnvelope(
            agent=order.agent,
            role="reviewer",
            step=order.step.id,
            attempt=order.attempt,
            exit_status="ok",
            payload=ReviewPayload(verdict="pass"),
        )


@pytest.mark.slow
async def test_verification_sees_the_committed_work_not_what_was_written_since(
    repo: Path,
) -> None:
    plan = Plan(
        steps=(StepSpec(id="fix", goal="fix add", scope=("calc.py",), validators=(PYTEST,)),),
        agents=AGENTS,
    )
    scripted = ScriptedBackend({"fix": [Scripted(edits=(Edit("calc.py", FIXED),))]})
    tampering, checks = TamperingReviewer(), ChecksBackend(ChecksOptions())

    def backends(agent: AgentSpec) -> object:
        return {"ex": scripted, "rev": tampering, "ver": checks}[agent.id]

    journal = MemoryJournal()
    spec = RunSpec(goal="fix calc", plan=plan, policy=PolicySettings(max_attempts=1))
    bench = Workbench(repo, "r1")
    async with open_run(journal, "r1", backends, spec=spec, workbench=bench) as run:  # type: ignore[arg-type]
        state = await run.wait()
    # the reviewer's tampering was thrown away before verification: the tests passed
    assert state.status == "completed", state.reason
    assert git(repo, "show", "playbill/r1/integration:calc.py") + "\n" == FIXED


async def test_every_caller_waiting_on_a_run_wakes(repo: Path) -> None:
    plan = Plan(steps=(StepSpec(id="fix", goal="fix add", scope=("calc.py",)),), agents=AGENTS[:2])
    backend = ScriptedBackend({"fix": [Scripted(edits=(Edit("calc.py", FIXED),))]})
    spec = RunSpec(goal="g", plan=plan)
    woken: list[str] = []
    async with open_run(
        MemoryJournal(), "r1", lambda _: backend, spec=spec, workbench=Workbench(repo, "r1")
    ) as run:

        async def waiter(name: str) -> None:
            await run.wait()
            woken.append(name)

        with trio.move_on_after(60):  # a guard against a hang, not a measure of speed
            async with trio.open_nursery() as nursery:
                for name in ("a", "b", "c"):
                    nursery.start_soon(waiter, name)
    assert sorted(woken) == ["a", "b", "c"]


LITTERING_AGENT = """\
import json, pathlib
here = pathlib.Path(".")
(here / ".aider.tags.cache.v4").mkdir()
(here / ".aider.tags.cache.v4" / "cache.db").write_text("tags")
(here / ".calc.py.swp").write_text("swap")
(here / ".tool-cache").mkdir()
(here / ".tool-cache" / "state").write_text("mine")
(here / "calc.py").write_text("def add(a, b):\\n    return a + b\\n")
print(json.dumps({"payload": {"kind": "implementation", "summary": "fixed"}}))
"""


async def test_files_an_agent_writes_for_itself_are_never_committed(
    repo: Path, tmp_path: Path
) -> None:
    """A command agent leaves aider's cache, a swap file and its own cache beside a real edit."""
    script = tmp_path / "littering_agent.py"
    script.write_text(LITTERING_AGENT)
    agent = command(argv=(sys.executable, str(script)), ignore=(".aider*", ".tool-cache/"))
    checks = ChecksBackend(ChecksOptions())
    plan = Plan(
        steps=(StepSpec(id="fix", goal="fix add", scope=("calc.py",), validators=(PYTEST,)),),
        agents=(AGENTS[0], AGENTS[2]),
    )
    spec = RunSpec(goal="fix calc", plan=plan, policy=PolicySettings(max_attempts=1))
    journal = MemoryJournal()

    def backends(spec: AgentSpec) -> object:
        return checks if spec.backend == "checks" else agent

    async with open_run(journal, "r1", backends, spec=spec, workbench=Workbench(repo, "r1")) as run:  # type: ignore[arg-type]
        state = await run.wait()
    assert state.status == "completed", state.reason  # no scope violation
    payload = state.steps["fix"].attempts[0].result.payload  # type: ignore[union-attr]
    assert isinstance(payload, ImplementationPayload)
    assert payload.changed_files == ("calc.py",)
    assert git(repo, "show", "--name-only", "--format=", "playbill/r1/fix/1") == "calc.py"
    assert git(repo, "show", "playbill/r1/integration:calc.py") + "\n" == FIXED
    assert git(repo, "status", "--porcelain") == ""


class Hanging:
    """A reviewer that never answers (its run is stopped meanwhile)."""

    name = "hanging"
    capabilities = ScriptedBackend().capabilities

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        await trio.sleep_forever()
        raise AssertionError("unreachable")


class Passing:
    """A reviewer that passes, and remembers where it looked."""

    name = "passing"
    capabilities = ScriptedBackend().capabilities

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        assert order.workspace is not None
        self.seen.append(order.workspace)
        assert (Path(order.workspace) / "calc.py").read_text() == FIXED  # the attempt's work
        return ResultEnvelope(
            agent=order.agent,
            role="reviewer",
            step=order.step.id,
            attempt=order.attempt,
            exit_status="ok",
            payload=ReviewPayload(verdict="pass"),
        )


@pytest.mark.slow
@pytest.mark.parametrize("left", ["kept", "deleted"])
async def test_a_run_journaled_with_worktrees_under_git_still_resumes(
    repo: Path, monkeypatch: pytest.MonkeyPatch, left: str
) -> None:
    """A run an older playbill started, its worktrees under ``.git/playbill-worktrees``."""
    plan = Plan(
        steps=(StepSpec(id="fix", goal="fix add", scope=("calc.py",), validators=(PYTEST,)),),
        agents=AGENTS,
    )
    scripted = ScriptedBackend({"fix": [Scripted(edits=(Edit("calc.py", FIXED),))]})
    checks = ChecksBackend(ChecksOptions())
    journal = MemoryJournal()
    spec = RunSpec(goal="fix calc", plan=plan)

    # The older layout: a repository's worktrees in its git common dir.
    with monkeypatch.context() as older:
        older.setattr(
            "playbill.workspaces._places.worktrees_root",
            lambda top, common, worktrees: common / "playbill-worktrees",
        )
        first = Workbench(repo, "r1")
        hanging = Hanging()
        reviewers = {"ex": scripted, "rev": hanging, "ver": checks}
        async with open_run(
            journal,
            "r1",
            lambda a: reviewers[a.id],
            spec=spec,
            workbench=first,  # type: ignore[arg-type,return-value]
        ) as run:
            await run.wait(lambda s: bool(s.steps["fix"].attempts[0].result))
    created = [e.msg for e in await journal.read("r1") if isinstance(e.msg, WorkspaceCreated)]
    old = Path(created[0].path)
    assert old == repo / ".git" / "playbill-worktrees" / "r1" / "fix-1"
    assert (old / "calc.py").read_text() == FIXED
    if left == "deleted":
        git(repo, "worktree", "remove", "--force", str(old))  # its directory went away

    passing = Passing()
    resumed = {"ex": scripted, "rev": passing, "ver": checks}
    bench = Workbench(repo, "r1", base_commit=first.workspaces.base_commit)
    async with open_run(
        journal,
        "r1",
        lambda a: resumed[a.id],
        workbench=bench,  # type: ignore[arg-type,return-value]
    ) as run:
        state = await run.wait()
    assert state.status == "completed", state.reason
    # reviewed where it was, or in the new place when it was gone; never made twice
    seen = Path(passing.seen[0])
    if left == "kept":
        assert seen == old
    else:
        assert ".git" not in seen.parts and seen.is_relative_to(bench.workspaces.worktrees)
    entries = await journal.read("r1")
    assert sum(isinstance(e.msg, WorkspaceCreated) for e in entries) == 1
    assert git(repo, "show", "playbill/r1/integration:calc.py") + "\n" == FIXED
    # the run ended: every worktree is gone, the old place included; branches stay
    assert "playbill" not in git(repo, "worktree", "list")
    assert not (repo / ".git" / "playbill-worktrees").exists()
    assert git(repo, "rev-parse", "--verify", "playbill/r1/fix/1")
