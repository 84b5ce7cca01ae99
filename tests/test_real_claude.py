"""The ``claude_code`` preset running the real ``claude`` (the release pinned in
``agent_clis.toml``) against a scripted Anthropic Messages API on loopback.

Each test starts its own ``ScriptedServer``, points Claude Code at it with
``ANTHROPIC_BASE_URL``, gives it a configuration directory of its own
(``CLAUDE_CONFIG_DIR``, and ``HOME``) so nothing of the user's is read or
written, and turns its non-essential traffic (telemetry, error reports,
update checks) off: nothing tries to leave the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

import agent_clis
from backend_helpers import RecordingReporter, order
from git_helpers import BUGGY, FIXED, calc_plan, calc_project, git
from model_servers.anthropic import AnthropicApi, ApiError, Tokens, Turn, call, say, tool_results
from model_servers.core import ScriptedServer
from model_servers.trap import NetworkTrap
from playbill.backends._agent_process import agent_env
from playbill.backends._backend import BackendError
from playbill.backends._cli_agent import CliAgentBackend
from playbill.backends._presets import claude_code
from playbill.backends._tool_version import Version
from playbill.runtime import ImplementationPayload, ReviewPayload, StepSpec

pytestmark = pytest.mark.agent_clis

MODEL = "claude-opus-5-5"
"""The main model the tests ask for (the pinned release's default)."""

SUB_MODEL = "claude-haiku-5-5"
"""What the release runs a sub-agent asked for ``model: "haiku"`` on."""

API_KEY = "sk-ant-api03-" + "Zq7" * 30 + "-playbill-test-key"
"""A long fake key: the scripted model echoes it, and it must never be journaled."""

QUIET = ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "DISABLE_TELEMETRY", "DISABLE_ERROR_REPORTING")
"""Claude Code's switches for telemetry, error reports and update checks: all off."""

CALC_STEP = StepSpec(id="fix", goal="Make add() add.", scope=("calc.py",))


PROXY_ENV = tuple(
    spelling
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")
    for spelling in (name, name.lower())
)
"""Passed to Claude Code in these tests: whatever it tries to reach goes to the trap."""


@pytest.fixture
def claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The real ``claude``, with an environment of its own, that must reach nothing.

    Its configuration is the test's (``HOME``, ``CLAUDE_CONFIG_DIR``), its
    non-essential traffic is off, and its proxy is a ``NetworkTrap``: at the
    end of the test, nothing may have tried to leave the machine.
    """
    executable = agent_clis.executable("claude_code")
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(home / ".claude"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    for name in QUIET:
        monkeypatch.setenv(name, "1")
    for name in ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("IS_SANDBOX", raising=False)
    with NetworkTrap() as trap:
        for name, value in trap.env().items():
            monkeypatch.setenv(name, value)
        yield executable
    assert trap.attempts == [], "Claude Code tried to reach beyond the loopback"


def serve(monkeypatch: pytest.MonkeyPatch, api: AnthropicApi) -> ScriptedServer:
    server = ScriptedServer(api)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    return server


def backend(claude: Path, **options: Any) -> CliAgentBackend:
    return claude_code(
        executable=str(claude), model=MODEL, heartbeat_s=60, env_allow=PROXY_ENV, **options
    )


def project(root: Path) -> Path:
    return calc_project(root, {".gitignore": "__pycache__/\n.pytest_cache/\n"})


FIX = (
    call("Read", Tokens(1000, 20, 4000, 0), file_path="calc.py"),
    call(
        "Edit",
        Tokens(300, 60, 0, 5000),
        file_path="calc.py",
        old_string="return a - b",
        new_string="return a + b",
    ),
    say("add() now adds.", Tokens(200, 10, 100, 5300)),
)
"""The model reads ``calc.py``, fixes it with the real Edit tool, and says so."""


def tokens_of(*turns: Turn) -> tuple[int, int]:
    """Tokens in (input, cache creation, cache reads) and out that ``turns`` report."""
    ins = sum(
        t.tokens.input_tokens
        + t.tokens.cache_creation_input_tokens
        + t.tokens.cache_read_input_tokens
        for t in turns
    )
    return ins, sum(t.tokens.output_tokens for t in turns)


# ------------------------------------------------------------ backend level


async def test_an_edit_lands_and_usage_counts_every_model(
    claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = project(tmp_path / "repo")
    # a sub-agent on a smaller model first: its tokens are in modelUsage, not in usage
    delegate = call(
        "Agent",
        Tokens(800, 30),
        description="look at calc",
        prompt="What does calc.py do?",
        model="haiku",
        run_in_background=False,
    )
    side = say("calc.py subtracts.", Tokens(700, 40, 0, 0))
    api = AnthropicApi([delegate, *FIX], side=side, main_model=MODEL)
    reporter = RecordingReporter()
    with serve(monkeypatch, api) as server:
        result = await backend(claude).run(order(step=CALC_STEP, workspace=repo), reporter)

    assert (repo / "calc.py").read_text() == FIXED  # the real Edit tool wrote it
    assert result.payload == ImplementationPayload(summary="add() now adds.")
    assert (api.served, api.overrun, api.unknown) == (4, 0, [])
    assert [body["model"] for body in api.side_calls] == [SUB_MODEL]
    assert all(r.headers.get("x-api-key") == API_KEY for r in server.requests if r.body)
    [read, edited] = tool_results(server.requests)[1:]
    assert "return a - b" in str(read["content"]) and not edited.get("is_error")
    main_in, main_out = tokens_of(delegate, *FIX)
    side_in, side_out = tokens_of(side)
    assert result.usage.tokens_in == main_in + side_in == 17_400
    assert result.usage.tokens_out == main_out + side_out == 160
    assert 0 < result.usage.cost_usd < 1
    assert reporter.usages == [result.usage]
    assert result.usage.wall_s > 0


async def test_the_command_line_asks_for_events_as_it_works(
    claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = project(tmp_path / "repo")
    claude_code_backend = backend(claude)
    version = await claude_code_backend.probe()
    assert version == Version(2, 1, 332)
    argv = claude_code_backend.tool.command_line(
        order(step=CALC_STEP), "# playbill\nfix it", tmp_path, version
    )
    # the real program, exactly this command line and environment, prints its events one a line
    api = AnthropicApi(list(FIX), main_model=MODEL)
    with serve(monkeypatch, api):
        done = await trio.run_process(
            argv,
            cwd=repo,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env=agent_env(claude_code_backend.passed_env, claude_code_backend.env),
        )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.decode().splitlines()]
    kinds = [e["type"] for e in events]
    assert kinds[0] == "system" and kinds[-1] == "result"
    assert "stream_event" in kinds  # partial messages: output while the model writes
    assert kinds.count("assistant") == 3


async def test_a_refused_write_is_a_permission_failure_naming_the_path(
    claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = project(tmp_path / "repo")
    outside = tmp_path / "outside.txt"
    api = AnthropicApi(
        [
            call("Write", Tokens(500, 30), file_path=str(outside), content="hello\n"),
            say("I wrote the file.", Tokens(600, 5)),
        ],
        main_model=MODEL,
    )
    with serve(monkeypatch, api), pytest.raises(BackendError) as caught:
        await backend(claude).run(order(step=CALC_STEP, workspace=repo), RecordingReporter())

    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "permission_denied")
    assert f"Write {outside}" in failure.detail
    assert "outside allowed working directories" in failure.detail  # the tool's reason
    assert not outside.exists()
    assert caught.value.usage.tokens_in == 1100  # what the refused work spent is kept
    assert caught.value.usage.cost_usd > 0


async def test_a_worktree_under_dot_git_is_refused_every_edit(
    claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what attempts met while worktrees lived under .git: a "success" with no edit
    repo = project(tmp_path / "repo")
    inside = repo / ".git" / "playbill-worktrees" / "fix-1"
    git(repo, "worktree", "add", "-q", "-b", "attempt", str(inside))
    api = AnthropicApi(list(FIX), main_model=MODEL)
    with serve(monkeypatch, api), pytest.raises(BackendError) as caught:
        await backend(claude).run(order(step=CALC_STEP, workspace=inside), RecordingReporter())

    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "permission_denied")
    assert f"Edit {inside / 'calc.py'}" in failure.detail
    assert "sensitive file" in failure.detail
    assert (inside / "calc.py").read_text() == BUGGY


async def test_a_review_may_be_refused_edits_and_still_answer(
    claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = project(tmp_path / "repo")
    verdict = '```json\n{"kind": "review", "verdict": "pass", "findings": []}\n```'
    api = AnthropicApi(
        [call("Write", Tokens(10, 1), file_path="calc.py", content=FIXED), say(verdict)],
        main_model=MODEL,
    )
    with serve(monkeypatch, api):
        result = await backend(claude).run(
            order("reviewer", "review", step=CALC_STEP, workspace=repo), RecordingReporter()
        )
    assert result.payload == ReviewPayload(verdict="pass", findings=())
    assert (repo / "calc.py").read_text() == BUGGY  # a review gets no edit permission


async def test_running_out_of_turns_is_max_turns(
    claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = project(tmp_path / "repo")
    api = AnthropicApi(list(FIX), main_model=MODEL)
    with serve(monkeypatch, api), pytest.raises(BackendError) as caught:
        await backend(claude, max_turns=1).run(
            order(step=CALC_STEP, workspace=repo), RecordingReporter()
        )
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "max_turns")
    assert "error_max_turns" in failure.detail and "maximum number of turns (1)" in failure.detail
    assert caught.value.usage.tokens_in > 0


async def test_the_api_key_is_redacted_from_answers_and_failures(
    claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = project(tmp_path / "repo")
    api = AnthropicApi([*FIX[:2], say(f"Done. By the way, my key is {API_KEY}.")], main_model=MODEL)
    with serve(monkeypatch, api):
        result = await backend(claude).run(
            order(step=CALC_STEP, workspace=repo), RecordingReporter()
        )
    assert isinstance(result.payload, ImplementationPayload)
    assert API_KEY not in result.payload.summary
    assert "[redacted:ANTHROPIC_API_KEY]" in result.payload.summary

    # an API error whose message echoes the key: the tool retries, gives up, is_error
    refusal = ApiError(400, "invalid_request_error", f"bad request from key {API_KEY}")
    refusing = AnthropicApi([], after=refusal)
    with serve(monkeypatch, refusing), pytest.raises(BackendError) as caught:
        await backend(claude).run(order(step=CALC_STEP, workspace=repo), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "agent_error")
    assert "API status 400" in failure.detail
    assert API_KEY not in failure.detail
    assert "[redacted:ANTHROPIC_API_KEY]" in failure.detail


# ------------------------------------------------------------ end to end


def plan(claude: Path) -> str:
    return calc_plan(
        f"""\
[[agents]]
id = "claude"
roles = ["executor"]
backend = "claude_code"
[agents.options]
env_allow = {json.dumps(list(PROXY_ENV))}
executable = {json.dumps(str(claude))}
model = "{MODEL}"
permission_mode = "acceptEdits"
max_turns = 10
timeout_s = 300
heartbeat_s = 60
""",
        "make add add: test_calc.py fails",
    )


def playbill(journal: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "playbill", "--journal", str(journal), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )


def test_a_playbill_run_with_claude_code_fixes_the_bug_and_journals_its_usage(
    claude: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # where worktrees go
    repo = project(tmp_path / "repo")
    journal = tmp_path / "journal.db"
    plan_file = tmp_path / "plan.toml"
    plan_file.write_text(plan(claude), encoding="utf-8")
    echo = say(f"Fixed add(); (my key is {API_KEY})", FIX[2].tokens)
    api = AnthropicApi([*FIX[:2], echo], main_model=MODEL)

    with serve(monkeypatch, api):
        started = time.monotonic()
        done = playbill(journal, "run", str(plan_file), "--repo", str(repo), "--run-id", "c1")
        wall_s = time.monotonic() - started
    events = playbill(journal, "events", "c1", "--json")
    assert events.returncode == 0, events.stderr
    entries = [json.loads(line) for line in events.stdout.splitlines()]
    messages = [e["msg"] for e in entries]

    # the key the model echoed is nowhere in the journal's bytes, whatever the outcome
    files = sorted(tmp_path.glob("journal.db*"))
    assert journal in files
    for path in files:
        assert API_KEY.encode() not in path.read_bytes(), path

    [created] = [m for m in messages if m["type"] == "workspace_created"]
    # outside the repository's .git, where Claude Code would refuse every edit
    # (test_a_worktree_under_dot_git_is_refused_every_edit)
    assert repo not in Path(created["path"]).parents

    assert done.returncode == 0, done.stdout + done.stderr
    assert "outcome: completed" in done.stdout
    assert (api.served, api.overrun, api.unknown) == (3, 0, [])

    # the edit is on the integration branch; the user's branch is untouched
    assert git(repo, "show", "playbill/c1/integration:calc.py") + "\n" == FIXED
    assert (repo / "calc.py").read_text() == BUGGY

    # tokens and cost are journaled, once, as the tool counted them
    usages = [m for m in messages if m["type"] == "usage_reported"]
    [usage] = [m["usage"] for m in usages if m["agent"] == "claude"]
    expected_in, expected_out = tokens_of(*FIX[:2], echo)
    assert (usage["tokens_in"], usage["tokens_out"]) == (expected_in, expected_out)
    assert usage["cost_usd"] > 0
    [proposed] = [
        m["result"]
        for m in messages
        if m["type"] == "result_proposed" and m["result"]["agent"] == "claude"
    ]
    assert proposed["payload"]["changed_files"] == ["calc.py"]
    assert proposed["payload"]["summary"] == "Fixed add(); (my key is [redacted:ANTHROPIC_API_KEY])"
    assert proposed["usage"] == usage

    print(
        f"\nend-to-end: {wall_s:.1f} s wall, {len(entries)} journal entries, "
        f"{expected_in} tokens in, {expected_out} out, ${usage['cost_usd']:.6f}"
    )
