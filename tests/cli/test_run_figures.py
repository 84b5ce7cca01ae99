"""What `runs`, `status` and `events` show of a real run: money, wall, attempts, policy.

A real ``playbill run`` on a git repository, with a command executor and a
command reviewer that report costs (``$0.10`` and ``$0.115``, whose float sum
is ``0.21500000000000002``) and a ``checks`` verifier running real pytest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_helpers import invoke
from click.testing import CliRunner
from test_run_real import ENV_ALLOW, make_project, run_plan, run_state, toml

AGENT = """\
import json, os, sys
role = os.environ["PLAYBILL_ROLE"]
if role == "reviewer":
    payload = {"kind": "review", "verdict": "pass", "findings": []}
    cost = 0.115
else:
    with open("calc.py", "w", encoding="utf-8") as f:
        f.write("def add(a, b):\\n    return a + b\\n")
    payload = {"kind": "implementation", "summary": "add adds"}
    cost = 0.1
print(json.dumps({"payload": payload, "usage": {"tokens_in": 10, "cost_usd": cost}}))
"""


def plan(agent: Path) -> str:
    argv = [sys.executable, str(agent)]
    pytest_argv = [sys.executable, "-m", "pytest", "-q", "test_calc.py"]
    parts = ['[run]\ngoal = "make add add"\n[run.policy]\nmax_attempts = 2\n']
    for agent_id, role, edits in (("ex", "executor", "true"), ("rev", "reviewer", "false")):
        parts.append(
            f'[[agents]]\nid = "{agent_id}"\nroles = ["{role}"]\nbackend = "command"\n'
            f"edits_files = {edits}\n[agents.options]\nargv = {toml(argv)}\n"
            "reports_usage = true\n"
        )
    parts.append(
        '[[agents]]\nid = "tests"\nroles = ["verifier"]\nbackend = "checks"\n'
        f"[agents.options]\nenv_allow = {toml(list(ENV_ALLOW))}\n"
    )
    parts.append(
        '[[steps]]\nid = "fix"\ngoal = "make add add"\nscope = ["calc.py"]\n'
        f'[[steps.validators]]\nkind = "tests_pass"\nargv = {toml(pytest_argv)}\n'
    )
    return "\n".join(parts)


def row(output: str, first: str) -> list[str]:
    (line,) = [ln for ln in output.splitlines() if ln.split()[:1] == [first]]
    return line.split()


@pytest.mark.slow
def test_runs_status_and_events_show_the_same_real_figures(
    runner: CliRunner, journal_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    project = make_project(tmp_path / "project")
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT, encoding="utf-8")
    result = run_plan(runner, journal_path, project, plan(agent), "--run-id", "m1", "--quiet")
    assert result.exit_code == 0, result.output
    state = run_state(journal_path, "m1")
    assert state.usage.cost_usd == 0.1 + 0.115  # 0.21500000000000002

    runs = invoke(runner, journal_path, "runs")
    status = invoke(runner, journal_path, "status", "m1")
    assert row(runs.stdout, "m1")[-1] == "$0.22"
    assert row(status.stdout, "cost")[1] == "$0.22"
    assert "$0.22" in result.stdout  # the run's own report
    # the verifier reports the time its checks took; reviewers and verifiers count their work
    assert state.agents["tests"].usage.wall_s > 0
    assert row(status.stdout, "tests")[-2:] == ["1", "0"]  # attempts, restarts
    assert row(status.stdout, "rev")[-2:] == ["1", "0"]
    assert row(status.stdout, "ex")[-2:] == ["1", "0"]
    assert row(status.stdout, "ex")[4] == "$0.10" and row(status.stdout, "rev")[4] == "$0.12"

    events = invoke(runner, journal_path, "events", "m1")
    assert "policy=PolicySettings" not in events.stdout
    assert "max_attempts:2" in events.stdout and "on_exhausted:abort" in events.stdout
