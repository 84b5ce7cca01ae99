"""Whole runs on real repositories, compared with a model of integration.

Random plans (a few steps over a small universe of one-line files, with
random scopes and dependencies) are run by scripted agents that make real
edits in their worktrees (sometimes outside their scope) while a scripted
reviewer approves or asks for changes. Then:

* the integration branch holds exactly what applying the accepted attempts'
  patches in seq order to a dictionary ``path -> content`` gives (a patch
  applies when each path it changes is still as the attempt's base had it:
  one-line files leave no room for a merge; a conflicted one changes nothing);
* every step that completed was applied, exactly once, and none that did
  not complete was;
* replaying the journal reproduces the same merge report, and
  ``replay --check`` finds the same decisions.

Each example makes a repository and runs a real run with dozens of git
commands, so this test takes a small share of the profile's ``max_examples``.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import trio
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from playbill import RunSpec, open_run
from playbill.actors._workbench import Workbench
from playbill.backends._scripted import Edit, Scripted, ScriptedBackend
from playbill.runtime import (
    AgentSpec,
    MemoryJournal,
    Plan,
    PolicySettings,
    StepSpec,
    WorkspaceCreated,
    WorkspaceMerged,
    check_replay,
    fold,
)
from playbill.workspaces import MergeReport

pytestmark = pytest.mark.slow

UNIVERSE = ("a.txt", "b.txt", "src/c.txt", "src/d.txt")
BASE = {"a.txt": "a0\n", "b.txt": "b0\n", "src/c.txt": "c0\n"}
CONTENTS = ("x\n", "y\n", None)
EXAMPLES = max(3, settings().max_examples // 3)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return done.stdout


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Plan, dict[str, list[Scripted]]]:
    count = draw(st.integers(1, 4), label="steps")
    steps = []
    script: dict[str, list[Scripted]] = {}
    for i in range(count):
        sid = f"s{i}"
        scope = tuple(
            draw(st.lists(st.sampled_from(UNIVERSE), min_size=1, max_size=2, unique=True))
        )
        earlier = [f"s{j}" for j in range(i)]
        deps = tuple(draw(st.lists(st.sampled_from(earlier), max_size=1))) if earlier else ()
        steps.append(
            StepSpec(
                id=sid,
                goal=f"change {', '.join(scope)}",
                scope=scope,
                depends_on=deps,
                max_attempts=2,
            )
        )
        attempts = []
        for _ in range(2):
            # mostly in scope; now and then a write outside it
            paths = st.sampled_from(scope) | st.sampled_from(UNIVERSE)
            writes = draw(st.dictionaries(paths, st.sampled_from(CONTENTS), max_size=2))
            verdict = draw(st.sampled_from(["pass", "pass", "request_changes"]))
            attempts.append(
                Scripted(
                    edits=tuple(Edit(p, c) for p, c in sorted(writes.items())), verdict=verdict
                )
            )
        script[sid] = attempts
    agents = (
        AgentSpec(id="ex1", roles=("executor",), backend="scripted"),
        AgentSpec(id="ex2", roles=("executor",), backend="scripted"),
        AgentSpec(id="rev", roles=("reviewer",), backend="scripted", edits_files=False),
    )
    return Plan(steps=tuple(steps), agents=agents), script


def make_repo(root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for path, content in BASE.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(content)
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")
    return repo


def tree_at(repo: Path, rev: str) -> dict[str, str]:
    names = git(repo, "ls-tree", "-r", "--name-only", rev).split()
    return {name: git(repo, "show", f"{rev}:{name}") for name in names}


def edited(tree: Mapping[str, str], edits: Sequence[Edit]) -> dict[str, str]:
    out = dict(tree)
    for edit in edits:
        if edit.content is None:
            out.pop(edit.path, None)
        else:
            out[edit.path] = edit.content
    return out


@settings(max_examples=EXAMPLES)
@given(scenarios())
def test_integration_is_the_accepted_patches_in_seq_order(
    scenario: tuple[Plan, dict[str, list[Scripted]]],
) -> None:
    plan, script = scenario
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp))
        journal = MemoryJournal()
        backend = ScriptedBackend(script)
        spec = RunSpec(
            goal="g", plan=plan, policy=PolicySettings(backoff_base_s=0.001, on_exhausted="skip")
        )

        async def main() -> None:
            bench = Workbench(repo, "p")
            async with open_run(journal, "p", lambda _: backend, spec=spec, workbench=bench) as run:
                await run.wait()

        trio.run(main)
        entries = trio.run(journal.read, "p")
        state = fold(entries)
        note(f"status {state.status}: {state.reason}")
        event(f"run {state.status}")
        assert state.anomalies == ()
        assert state.is_terminal or state.pending_approvals()

        created = {
            (m.step, m.attempt): m for e in entries if isinstance(m := e.msg, WorkspaceCreated)
        }
        merged = [e.msg for e in entries if isinstance(e.msg, WorkspaceMerged)]
        for m in merged:
            event(f"merge {m.status}")
        # the model: trees by commit, starting from the base
        base = git(repo, "rev-parse", "main").strip()
        trees: dict[str, dict[str, str]] = {base: dict(BASE)}
        current = dict(BASE)
        for m in merged:
            start = trees[created[(m.step, m.attempt)].base_commit]
            mine = edited(start, backend.entry(m.step, m.attempt).edits)
            changed = {p for p in set(start) | set(mine) if start.get(p) != mine.get(p)}
            applies = all(current.get(p) == start.get(p) for p in changed)
            assert (m.status == "applied") == applies, (m, changed)
            if applies:
                for p in changed:
                    if p in mine:
                        current[p] = mine[p]
                    else:
                        current.pop(p, None)
                assert m.commit is not None
                trees[m.commit] = dict(current)
        if merged and any(m.status == "applied" for m in merged):
            assert tree_at(repo, "playbill/p/integration") == current
        # completed steps were applied exactly once; nothing else was
        applied = [(m.step, m.attempt) for m in merged if m.status == "applied"]
        assert len(applied) == len(set(applied))
        completed = {
            (sid, s.completed_attempt) for sid, s in state.steps.items() if s.status == "completed"
        }
        assert set(applied) == completed
        # the journal gives the report back, and replay decides the same
        from_state = MergeReport.from_messages(
            WorkspaceMerged(
                step=w.step,
                attempt=w.attempt,
                status=w.merge_status,
                into="playbill/p/integration",
                commit=w.merge_commit,
                detail=w.merge_detail,
            )
            for w in state.workspaces.values()
            if w.merge_status != "pending"
        )
        report = MergeReport.from_messages(merged)
        assert sorted(report.items, key=lambda i: (i.step, i.attempt)) == sorted(
            from_state.items, key=lambda i: (i.step, i.attempt)
        )
        assert check_replay(entries) is None
