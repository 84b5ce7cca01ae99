"""``playbill run`` and ``resume`` refuse at once an agent whose program cannot start.

Exit status 2 and one line naming the agent, before the journal is touched:
no journal file for ``run``, no new entry for ``resume``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, invoke, read_entries
from click.testing import CliRunner
from test_run_real import make_project, plan_text, run_plan

from backend_helpers import FIXTURES

FIX_AGENT = str(Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "fix_agent.py")

CLAUDE_AGENT = """
[[agents]]
id = "claude"
roles = ["reviewer"]
backend = "claude_code"
edits_files = false
[agents.options]
executable = "{executable}"
env_allow = ["FAKE_VERSION"]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return make_project(tmp_path / "project")


def test_a_missing_cli_is_refused_before_the_journal_is_made(
    runner: CliRunner, journal_path: Path, project: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-claude"
    text = plan_text("fix") + CLAUDE_AGENT.format(executable=missing)
    result = run_plan(runner, journal_path, project, text, "--run-id", "r1")
    assert_one_line_error(
        result, "agent 'claude' (claude_code) cannot start", f"{missing}: not found"
    )
    assert not journal_path.exists()


def test_an_unsupported_release_is_refused(
    runner: CliRunner, journal_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VERSION", "99.0.0")
    text = plan_text("fix") + CLAUDE_AGENT.format(executable=FIXTURES / "fake_claude")
    result = run_plan(runner, journal_path, project, text, "--run-id", "r1")
    assert_one_line_error(
        result,
        "agent 'claude' (claude_code) cannot start",
        "release 99.0.0 is not supported (supported: >= 2.1.0, < 2.2.0)",
        "allow_untested_version",
    )
    assert not journal_path.exists()


@pytest.mark.slow
def test_resume_refuses_an_agent_whose_program_is_gone(
    runner: CliRunner, journal_path: Path, project: Path, tmp_path: Path
) -> None:
    python = tmp_path / "bin" / "python"
    python.parent.mkdir()
    python.symlink_to(sys.executable)
    # the executor's program (the reviewer's stays): a link that can go away
    text = plan_text("fix").replace(
        f'"{sys.executable}", "{FIX_AGENT}', f'"{python}", "{FIX_AGENT}', 1
    )
    assert str(python) in text
    text += '\n[[steps.validators]]\nkind = "human_approval"\n'
    waiting = run_plan(runner, journal_path, project, text, "--run-id", "h1")
    assert waiting.exit_code == 4, waiting.output
    before = read_entries(journal_path, "h1")
    assert invoke(runner, journal_path, "approve", "h1", "fix").exit_code == 0

    python.unlink()
    refused = invoke(runner, journal_path, "resume", "h1", "--quiet")
    assert_one_line_error(refused, "agent 'ex1' (command) cannot start", f"{python}: not found")
    assert read_entries(journal_path, "h1") == before
