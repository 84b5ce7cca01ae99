"""The ``bwrap`` sandbox of process agents, in real runs (needs bubblewrap installed).

The executor is a ``command`` agent running
``tests/fixtures/agents/escape_agent.py`` with ``sandbox = "bwrap"``: its
writes to the user's work tree, the repository's git directory, ``$HOME``
and ``/tmp`` fail; its edit in its worktree and its ``TMPDIR`` work. A
missing ``bwrap`` is refused before the run starts, and reported by
``validate`` and ``doctor``.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, invoke, list_runs
from click.testing import CliRunner
from test_run_real import make_project, run_state, toml
from test_run_stop import Setup

from backend_helpers import RecordingReporter, order
from git_helpers import FIXED, git
from needs import required
from playbill.backends import command
from playbill.runtime import ImplementationPayload
from process_helpers import BOUND_S, cmdline, kill_all, members, pids_in, running, wait_until

ESCAPE_AGENT = Path(__file__).resolve().parents[1] / "fixtures" / "agents" / "escape_agent.py"

BWRAP_DIR = os.environ.get("PLAYBILL_BWRAP_DIR", "")
"""Where ``bwrap`` is when it is not on ``PATH`` (.ci/run unpacks Debian's package
there: a system bwrap breaks Codex's own sandbox); the tests then fail without it."""

needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None and not BWRAP_DIR and not required(),
    reason="bubblewrap is not installed (.ci/run installs it, and requires it)",
)
"""Skips where bubblewrap is missing, except under CI (``needs.required()``): it fails there."""


@pytest.fixture(autouse=True)
def bwrap_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """``PLAYBILL_BWRAP_DIR`` on this test's ``PATH``, when it is set."""
    if BWRAP_DIR:
        monkeypatch.setenv("PATH", f"{BWRAP_DIR}{os.pathsep}{os.environ.get('PATH', '')}")


def plan(project: Path, sandbox: str = "bwrap") -> str:
    argv = [sys.executable, str(ESCAPE_AGENT), str(project)]
    return (
        '[run]\ngoal = "make add add"\n'
        '[run.policy]\non_exhausted = "abort"\nmax_attempts = 1\n'
        '[[agents]]\nid = "ex"\nroles = ["executor"]\nbackend = "command"\nedits_files = true\n'
        f'[agents.options]\nargv = {toml(argv)}\nsandbox = "{sandbox}"\n'
        '[[steps]]\nid = "fix"\ngoal = "make add add"\nscope = ["calc.py"]\n'
    )


@needs_bwrap
def test_a_sandboxed_agent_writes_only_in_its_worktree(
    runner: CliRunner, journal_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    project = make_project(tmp_path / "project")
    hooks = sorted(p.name for p in (project / ".git" / "hooks").iterdir())
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(plan(project), encoding="utf-8")

    result = invoke(
        runner, journal_path, "run", str(plan_file), "--repo", str(project), "--run-id", "s1"
    )
    assert result.exit_code == 0, result.output
    state = run_state(journal_path, "s1")
    [attempt] = state.steps["fix"].attempts
    assert attempt.result is not None
    payload = attempt.result.payload
    assert isinstance(payload, ImplementationPayload)
    tried = dict(item.split("=", 1) for item in payload.summary.split())
    refused = f"OSError({errno.EROFS})"
    assert tried == {
        "repo": refused,
        "hook": refused,
        "home": refused,
        "tmp": refused,
        "tmpdir": "ok",
        "worktree": "ok",
    }
    # nothing landed outside; the real edit did, on the run's integration branch
    assert not (project / "escaped.txt").exists()
    assert not (home / "escaped.txt").exists()
    assert sorted(p.name for p in (project / ".git" / "hooks").iterdir()) == hooks
    assert git(project, "show", "playbill/s1/integration:calc.py") + "\n" == FIXED


def test_a_missing_bwrap_is_refused_before_the_run_and_reported(
    runner: CliRunner, journal_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with python and git but no bwrap
    bin_dir.mkdir()
    for program in ("git", "python3"):
        found = shutil.which(program)
        assert found is not None
        (bin_dir / program).symlink_to(found)
    monkeypatch.setenv("PATH", str(bin_dir))
    project = make_project(tmp_path / "project")
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(plan(project), encoding="utf-8")

    ran = invoke(runner, journal_path, "run", str(plan_file), "--repo", str(project))
    assert ran.exit_code == 2, ran.output
    assert "agent 'ex' (command) cannot start" in ran.output
    assert 'sandbox = "bwrap" needs bwrap, which is not found on PATH' in ran.output
    assert not journal_path.exists() or list_runs(journal_path) == []  # no run was begun
    assert git(project, "branch", "--list", "playbill/*") == ""

    checked = invoke(runner, journal_path, "validate", str(plan_file))
    assert checked.exit_code == 0, checked.output
    assert "warning: agent 'ex': sandbox = \"bwrap\" needs bwrap" in checked.output

    doctor = invoke(runner, journal_path, "doctor", str(plan_file))
    assert "needs bwrap, which is not found on PATH" in doctor.output
    assert doctor.exit_code != 0


@pytest.mark.slow
@needs_bwrap
def test_sigkill_of_the_runner_ends_a_sandboxed_agent_and_its_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bwrap sits inside the guard launcher: it leads the process group the guard ends
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    setup = Setup(tmp_path)
    sandboxed_plan = setup.plan.read_text(encoding="utf-8").replace(
        "heartbeat_s = 0.5\n",
        f'heartbeat_s = 0.5\nsandbox = "bwrap"\nsandbox_writable = {toml([str(setup.state)])}\n',
        1,
    )
    setup.plan.write_text(sandboxed_plan, encoding="utf-8")
    run = setup.start("k1")
    try:
        agent, child = setup.agent_and_child(run)
        assert cmdline(agent) and "fix_agent.py" in " ".join(cmdline(agent))
        leader = os.getpgid(agent)
        assert "bwrap" in " ".join(cmdline(leader))
        run.kill()
        run.communicate(timeout=BOUND_S)
        wait_until(lambda: not running(agent) and not running(child), "the agents are gone")
        wait_until(lambda: not members(leader), "nothing is left of the process group")
    finally:
        kill_all(pids_in(setup.pids))


def test_an_unknown_sandbox_is_one_line_naming_the_field(
    runner: CliRunner, journal_path: Path, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(plan(tmp_path, sandbox="firejail"), encoding="utf-8")
    checked = invoke(runner, journal_path, "validate", str(plan_file))
    assert_one_line_error(
        checked, "agents[0].options.sandbox: unknown sandbox 'firejail' (known: none, bwrap)"
    )


REACH = """
import json, socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
    said = "reached"
except OSError as exc:
    said = f"unreachable: {exc}"
print(json.dumps({"payload": {"kind": "implementation", "summary": said}}))
"""


@needs_bwrap
@pytest.mark.parametrize(("network", "expected"), [(True, "reached"), (False, "unreachable")])
async def test_sandbox_network_decides_whether_the_agent_reaches_the_network(
    tmp_path: Path, network: bool, expected: str
) -> None:
    # a real listener on loopback; in the sandbox without the network, even
    # loopback is another machine's
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        script = tmp_path / "reach.py"
        script.write_text(REACH, encoding="utf-8")
        agent = command(
            argv=(sys.executable, str(script), str(port)),
            sandbox="bwrap",
            sandbox_network=network,
            timeout_s=60,
        )
        workspace = tmp_path / "wt"
        workspace.mkdir()
        result = await agent.run(order(workspace=workspace), RecordingReporter())
    assert isinstance(result.payload, ImplementationPayload)
    assert result.payload.summary.startswith(expected), result.payload
