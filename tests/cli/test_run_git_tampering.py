"""An agent that plants programs in the repository's shared git directory, in a real run.

The executor is a ``command`` agent running
``tests/fixtures/agents/plant_agent.py``: it adds a ``pre-commit`` hook,
sets ``core.fsmonitor``, defines a ``filter`` and a ``textconv`` driver and
turns them on for every path. Every planted program leaves a mark when it
runs; none may run, during the run or after it, in the user's own
``git commit``.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from cli_helpers import invoke
from click.testing import CliRunner
from test_run_real import make_project, run_state, toml

from git_helpers import git

PLANT_AGENT = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "plant_agent.py"


def guarded(common: Path) -> dict[str, str]:
    """A digest of what agents must not change: config, hooks and info of the common dir."""
    found = {"config": hashlib.sha256((common / "config").read_bytes()).hexdigest()}
    for tree in ("hooks", "info"):
        for path in sorted((common / tree).rglob("*")):
            data = path.read_bytes() if path.is_file() else b"dir"
            found[str(path.relative_to(common))] = f"{path.stat().st_mode:o}" + (
                hashlib.sha256(data).hexdigest()
            )
    return found


def plan(marks: Path) -> str:
    argv = [sys.executable, str(PLANT_AGENT), str(marks)]
    return (
        '[run]\ngoal = "make add add"\n'
        '[run.policy]\non_exhausted = "abort"\nmax_attempts = 1\n'
        '[[agents]]\nid = "ex"\nroles = ["executor"]\nbackend = "command"\nedits_files = true\n'
        f"[agents.options]\nargv = {toml(argv)}\n"
        '[[steps]]\nid = "fix"\ngoal = "make add add"\nscope = ["calc.py", ".gitattributes"]\n'
    )


def test_nothing_an_agent_plants_in_the_git_directory_runs_and_it_is_put_back(
    runner: CliRunner, journal_path: Path, tmp_path: Path
) -> None:
    project = make_project(tmp_path / "project")
    common = project / ".git"
    # the user's settings playbill already turns on (once) are not the agent's doing
    git(project, "config", "extensions.worktreeConfig", "true")
    before = guarded(common)
    marks = tmp_path / "marks"
    marks.mkdir()
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(plan(marks), encoding="utf-8")

    result = invoke(
        runner, journal_path, "run", str(plan_file), "--repo", str(project), "--run-id", "g1"
    )
    assert result.exit_code == 1, result.output
    state = run_state(journal_path, "g1")
    [attempt] = state.steps["fix"].attempts
    assert attempt.failure is not None
    assert (attempt.failure.failure_class, attempt.failure.kind) == ("validation", "git_tampering")
    for what in (
        "hooks/pre-commit added",
        "config core.fsmonitor set",
        "config filter.evil.clean set",
        "config diff.evil.textconv set",
        "info/attributes added",
    ):
        assert what in attempt.failure.detail
    assert "planted-" not in attempt.failure.detail  # names what changed, not the values
    # put back, byte for byte; nothing planted ran during the run
    assert guarded(common) == before
    assert sorted(p.name for p in marks.iterdir()) == []
    assert (tmp_path / "planted" / "planted-fsmonitor").exists()  # the agent did plant

    # the user's own commit, diff and status afterwards run nothing planted
    (project / "calc.py").write_text("def add(a, b):\n    return b + a\n")
    git(project, "commit", "-q", "-am", "the user's own commit")
    git(project, "status", "--porcelain")
    git(project, "diff", "HEAD~1")
    assert sorted(p.name for p in marks.iterdir()) == []


@pytest.fixture(autouse=True)
def _quiet_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
