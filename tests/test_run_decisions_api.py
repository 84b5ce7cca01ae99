"""A person's decision sent through the API (``Run.request``) into a real run that is running."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from git_helpers import FIXED, calc_project, git
from playbill import RunSpec, open_run
from playbill.actors._workbench import Workbench
from playbill.backends import CommandBackend, checks, command
from playbill.runtime import (
    AgentSpec,
    ControlRequest,
    ControlRequested,
    FileChanged,
    MemoryJournal,
    Plan,
    PolicyDecisionApplied,
    RunState,
    StepSpec,
    TestsPass,
)
from process_helpers import running, wait_until

FIX_AGENT = Path(__file__).resolve().parent / "fixtures" / "agents" / "fix_agent.py"
PYTEST = TestsPass(argv=(sys.executable, "-m", "pytest", "-q", "test_calc.py"))


def holds_process(step: str):  # type: ignore[no-untyped-def]
    return lambda state: any(p.step == step for p in state.processes)


@pytest.mark.slow
async def test_skipping_a_step_at_work_stops_its_agent_and_the_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    repo = calc_project(tmp_path / "project", {"README.md": "# calc\n"})
    state_dir = tmp_path / "agent-state"
    state_dir.mkdir()

    def fixer(mode: str) -> CommandBackend:
        return command(argv=(sys.executable, str(FIX_AGENT), mode, "{prompt_file}", str(state_dir)))

    agents = {"hang": fixer("hang"), "fix": fixer("fix"), "checks": checks()}
    plan = Plan(
        steps=(
            StepSpec(
                id="docs",
                goal="document add",
                scope=("README.md",),
                validators=(FileChanged(path="README.md"),),
            ),
            StepSpec(id="fix", goal="fix add", scope=("calc.py",), validators=(PYTEST,)),
        ),
        agents=(
            AgentSpec(id="hang", roles=("executor",), backend="command"),
            AgentSpec(id="fix", roles=("executor",), backend="command"),
            AgentSpec(id="ver", roles=("verifier",), backend="checks", edits_files=False),
        ),
    )
    spec = RunSpec(goal="fix calc", plan=plan)

    def backends(agent: AgentSpec):  # type: ignore[no-untyped-def]
        return agents["checks" if agent.backend == "checks" else agent.id]

    journal = MemoryJournal()
    bench = Workbench(repo, "api", worktrees=tmp_path / "worktrees")
    async with open_run(
        journal, "api", backends, spec=spec, workbench=bench, control_poll_s=0.05
    ) as run:
        at_work = await run.wait(holds_process("docs"))
        (record,) = [p for p in at_work.processes if p.step == "docs"]
        pid = record.process.pid
        refused = await run.request(
            ControlRequest(action="change_agent", step="docs", agent="ver", by="pat")
        )
        skip = await run.request(
            ControlRequest(action="skip", step="docs", by="pat", reason="not now")
        )
        assert skip > refused
        state: RunState = await run.wait()

    assert state.status == "completed", state.reason
    assert state.steps["docs"].status == "skipped" and state.steps["fix"].status == "completed"
    wait_until(lambda: not running(pid), f"the skipped step's agent {pid} outlived the skip")
    entries = await journal.read(state.run_id)
    taken = [e.msg.request.action for e in entries if isinstance(e.msg, ControlRequested)]
    assert taken == ["change_agent", "skip"]
    assert any(
        "refused: agent 'ver' cannot play the role 'executor'" in getattr(e.msg, "text", "")
        for e in entries
    )
    (decision,) = [e.msg for e in entries if isinstance(e.msg, PolicyDecisionApplied)]
    assert decision.action == "skip" and decision.reason == "skip by pat: not now"
    assert git(repo, "show", "playbill/api/integration:calc.py") + "\n" == FIXED
    assert git(repo, "show", "playbill/api/integration:README.md") == "# calc"
