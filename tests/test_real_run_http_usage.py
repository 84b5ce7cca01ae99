"""A real run whose HTTP reviewer's server reports token counts that cannot be true.

The executor fixes ``calc.py`` in a real worktree; the reviewer is the
``openai`` backend against a real HTTP server on loopback whose completion
says ``prompt_tokens = -10**12`` (or ``2**70``). The review fails as
``agent``/``bad_usage``, nothing of that usage is counted, and nothing is
integrated.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from git_helpers import FIXED, calc_project, git
from playbill import RunSpec, open_run
from playbill.actors._workbench import Workbench
from playbill.backends._scripted import Edit, Scripted, ScriptedBackend
from playbill.runtime import (
    AgentSpec,
    MemoryJournal,
    Plan,
    PolicySettings,
    StepSpec,
    UsageReported,
)
from test_backend_openai import Server, api_key, backend, completion, server  # noqa: F401

PASS = {"kind": "review", "verdict": "pass", "findings": []}


@pytest.mark.parametrize("tokens", [-(10**12), 2**70], ids=["negative", "absurd"])
async def test_an_http_reviewer_reporting_absurd_usage_fails_as_bad_usage(
    tmp_path: Path,
    server: Server,  # noqa: F811 (the fixture imported above)
    tokens: int,
) -> None:
    repo = calc_project(tmp_path / "project", {})
    server.script.append(completion(PASS, prompt_tokens=tokens))
    plan = Plan(
        steps=(StepSpec(id="fix", goal="fix add", scope=("calc.py",)),),
        agents=(
            AgentSpec(id="ex", roles=("executor",), backend="scripted"),
            AgentSpec(id="rev", roles=("reviewer",), backend="openai", edits_files=False),
        ),
    )
    scripted = ScriptedBackend({"fix": [Scripted(edits=(Edit("calc.py", FIXED),))]})
    http = backend(server)
    spec = RunSpec(
        goal="fix calc",
        plan=plan,
        policy=PolicySettings(backoff_base_s=0.01, max_attempts=1, on_exhausted="abort"),
    )
    journal = MemoryJournal()
    bench = Workbench(repo, "u1", worktrees=tmp_path / "worktrees")
    pick = {"scripted": scripted, "openai": http}
    async with open_run(
        journal, "u1", lambda a: pick[a.backend], spec=spec, workbench=bench
    ) as run:
        state = await run.wait()
    [attempt] = state.steps["fix"].attempts
    assert attempt.failure is not None
    assert (attempt.failure.failure_class, attempt.failure.kind) == ("agent", "bad_usage")
    assert "tokens_in" in attempt.failure.detail
    # the scripted executor reports no usage and the reviewer's is refused: none is counted
    assert (state.usage.tokens_in, state.usage.tokens_out) == (0, 0)
    entries = await journal.read("u1")
    assert [e.msg for e in entries if isinstance(e.msg, UsageReported)] == []
    assert git(repo, "branch", "--list", "playbill/u1/integration") == ""
