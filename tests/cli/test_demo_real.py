"""`playbill demo`: a scripted team fixes a real project in a real git repository.

The demo runs once for the module (it runs pytest four times, for real);
each test checks one thing about what it left behind.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, invoke, read_entries
from click.testing import CliRunner, Result

from git_helpers import git
from playbill.demo import project_files
from playbill.runtime import (
    ReviewGiven,
    RunCreated,
    StepAssigned,
    StepFailed,
    ValidationFailed,
    WorkspaceCreated,
    WorkspaceMerged,
    fold,
)

RUN = "demo-0001"
BRANCH = f"playbill/{RUN}/integration"
WORK = ("fix-slugify", "fix-wrap", "add-reading-time", "changelog")


# textkit needs no plugin, and this environment's take seconds to load in every run.
NO_PLUGINS = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"


def pytest_in(where: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env[NO_PLUGINS] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class Demo:
    def __init__(self, result: Result, journal: Path, repo: Path) -> None:
        self.result = result
        self.journal = journal
        self.repo = repo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    where = tmp_path_factory.mktemp("demo")
    journal = where / "journal.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(NO_PLUGINS, "1")  # the demo's verifier passes it on
        result = invoke(
            CliRunner(), journal, "demo", "--dir", str(where), "--worktrees", str(where / "wt")
        )
    assert result.exit_code == 0, result.output
    found = re.search(r"^Repository: (.+)$", result.output, re.MULTILINE)
    assert found is not None, result.output
    return Demo(result, journal, Path(found.group(1)))


@pytest.mark.slow
def test_the_demo_completes_and_says_where_everything_is(demo: Demo) -> None:
    out = demo.result.output
    assert f"{RUN} completed: 5/5 steps done, 7 attempts (2 retries)" in out
    assert f"integration into {BRANCH}: 4 applied, 0 conflicted, 0 blocked" in out
    assert f"Journal: {demo.journal}  run: {RUN}" in out
    assert demo.repo.parent == demo.journal.parent  # --dir
    assert demo.repo.name.startswith("playbill-demo-")
    for hint in (f"events {RUN}", f"replay {RUN} --check", f"git log --oneline main..{BRANCH}"):
        assert hint in out
    # without a terminal, the milestones are plain lines
    assert "  retry       fix-wrap #2 -> " in out
    assert "with feedback validation/tests_failed" in out


def test_the_integration_branch_has_every_fix_and_the_tests_pass_on_it(
    demo: Demo, tmp_path: Path
) -> None:
    checkout = tmp_path / "integration"
    git(demo.repo, "worktree", "add", "-q", "--detach", str(checkout), BRANCH)
    try:
        done = pytest_in(checkout)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "12 passed" in done.stdout
        assert "reading_time" in (checkout / "CHANGELOG.md").read_text()
    finally:
        git(demo.repo, "worktree", "remove", "--force", str(checkout))
    # one commit per applied step, on top of main
    log = git(demo.repo, "log", "--format=%s", f"main..{BRANCH}").splitlines()
    assert len(log) == len(WORK)


def test_the_attempts_worked_in_worktrees_where_it_was_told(demo: Demo) -> None:
    created = [
        e.msg for e in read_entries(demo.journal, RUN) if isinstance(e.msg, WorkspaceCreated)
    ]
    assert len(created) == 6  # one per executor attempt
    for made in created:
        path = Path(made.path)
        assert path.is_relative_to(demo.journal.parent / "wt") and ".git" not in path.parts
        assert not path.exists()  # removed when the run ended
    assert git(demo.repo, "worktree", "list").count("\n") == 0  # only the main work tree


@pytest.mark.slow
def test_main_is_left_as_it_was(demo: Demo) -> None:
    base = git(demo.repo, "rev-parse", "main")
    created = read_entries(demo.journal, RUN)[0].msg
    assert isinstance(created, RunCreated)
    assert created.labels["base_commit"] == base
    assert git(demo.repo, "rev-list", "--count", "main") == "1"
    assert git(demo.repo, "status", "--porcelain") == ""
    assert git(demo.repo, "branch", "--show-current") == "main"
    for rel, text in project_files().items():
        assert (demo.repo / rel).read_text() == text, rel
    assert pytest_in(demo.repo).returncode != 0  # the bugs are still on main


def test_the_journal_tells_the_story(demo: Demo) -> None:
    entries = read_entries(demo.journal, RUN)
    state = fold(entries)
    assert state.status == "completed" and state.anomaly_count == 0
    msgs = [e.msg for e in entries]

    merged = [(m.step, m.status) for m in msgs if isinstance(m, WorkspaceMerged)]
    assert sorted(merged) == sorted((step, "applied") for step in WORK)

    # fix-wrap: the tests fail its first attempt, and the retry is told why
    wrap_failed = [m.failure for m in msgs if isinstance(m, StepFailed) and m.step == "fix-wrap"]
    assert [(f.failure_class, f.kind) for f in wrap_failed] == [("validation", "tests_failed")]
    tail = [m.output_tail for m in msgs if isinstance(m, ValidationFailed)]
    assert len(tail) == 1 and "test_a_line_may_fill_the_width_exactly" in tail[0]
    retry = [
        m for m in msgs if isinstance(m, StepAssigned) and (m.step, m.attempt) == ("fix-wrap", 2)
    ]
    assert retry and retry[0].feedback is not None
    assert retry[0].feedback.kind == "tests_failed"

    # fix-slugify: the reviewer asks for changes once, then passes it
    reviews = [(m.attempt, m.verdict) for m in msgs if isinstance(m, ReviewGiven)]
    slug = [
        (m.attempt, m.verdict)
        for m in msgs
        if isinstance(m, ReviewGiven) and m.step == "fix-slugify"
    ]
    assert slug == [(1, "request_changes"), (2, "pass")]
    assert sum(verdict == "request_changes" for _, verdict in reviews) == 1
    assert [a.status for a in state.steps["fix-slugify"].attempts] == ["failed", "passed"]


def test_replay_check_reproduces_the_run(demo: Demo, runner: CliRunner) -> None:
    result = invoke(runner, demo.journal, "replay", RUN, "--check")
    assert result.exit_code == 0, result.output
    assert "replay-check: the policy reproduces every recorded command" in result.output


def test_without_pytest_the_demo_stops_with_one_line_before_making_anything(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real interpreter without site-packages: a python that lacks pytest.
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')
    python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(python))
    empty = tmp_path / "here"
    empty.mkdir()
    journal = tmp_path / "j.db"
    result = invoke(runner, journal, "demo", "--dir", str(empty))
    # the interpreter is playbill's own: the demo extra brings pytest to it
    assert_one_line_error(
        result, str(python), "pytest", "pip install 'playbill[demo]'", "--simulated"
    )
    assert list(empty.iterdir()) == []  # no repository was made
    assert not journal.exists()


def test_simulated_and_speed_still_run_the_simulated_demo(
    runner: CliRunner, tmp_path: Path
) -> None:
    journal = tmp_path / "j.db"
    for args in (("--simulated",), ("--speed", "0")):
        result = invoke(runner, journal, "demo", *args)
        assert result.exit_code == 0, result.output
        assert "outcome: completed" in result.output
        assert "Repository:" not in result.output
    labels = fold(read_entries(journal, "demo-0002")).labels
    assert labels["demo"] == "true" and labels["simulated"] == "true"


def test_scripted_takes_no_other_demo_option(runner: CliRunner, tmp_path: Path) -> None:
    result = invoke(runner, tmp_path / "j.db", "demo", "--scripted", "--simulated")
    assert result.exit_code == 2
    assert "--scripted takes no other demo option" in result.output
    worktrees = invoke(runner, tmp_path / "j.db", "demo", "--scripted", "--worktrees", "wt")
    assert worktrees.exit_code == 2
    assert "--scripted takes no other demo option" in worktrees.output
    simulated = invoke(runner, tmp_path / "j.db", "demo", "--simulated", "--worktrees", "wt")
    assert simulated.exit_code == 2
    assert "--worktrees is for the real demo" in simulated.output
