"""The Codex preset against the real ``codex`` (pinned in agent_clis.toml) and a scripted model.

Codex talks to a scripted OpenAI Responses API server on 127.0.0.1
(``model_servers.responses``), reached the way a user reaches any other
endpoint: the preset's ``base_url`` and ``env_key``. Its ``CODEX_HOME`` and
``HOME`` are temporary directories whose ``config.toml`` turns off what
would reach the internet (analytics, the plugin marketplace, the update
check), so nothing leaves the machine. The model is ``gpt-5.5``, one Codex
knows: it edits with Codex's free-form ``apply_patch`` tool.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trio

import agent_clis
from backend_helpers import RecordingReporter, order
from git_helpers import BUGGY, FIXED, calc_plan, calc_project, git
from model_servers.core import Request, ScriptedServer
from model_servers.responses import (
    Patch,
    Refuse,
    ResponsesApi,
    Say,
    Turn,
    Usage,
    exec_command,
    strict_schema_problem,
    tool_outputs,
)
from playbill.backends._backend import BackendError
from playbill.backends._cli_agent import CliAgentBackend
from playbill.backends._preset_codex import SUPPORTED
from playbill.backends._presets import codex
from playbill.backends._prompt import result_schema
from playbill.runtime import (
    ImplementationPayload,
    ResultProposed,
    SqliteJournal,
    StepSpec,
    UsageReported,
    VerificationPayload,
    WorkspaceMerged,
)
from playbill.runtime.model._entry import Entry

pytestmark = pytest.mark.agent_clis

MODEL = "gpt-5.5"
KEY_ENV = "LAB_LLM_ACCESS"
"""The provider's ``env_key``: a name that does not look secret, so only ``env_key`` says it is."""
KEY = "lab-llm-access-7c1f0e9a2b4d6f8a0c2e4f6a8b0d2f4e6a8c0e2f"
"""A long fake key."""

CONFIG = """\
# nothing may reach the internet from the tests
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false
"""

FIX = """\
*** Begin Patch
*** Update File: calc.py
@@
 def add(a, b):
-    return a - b
+    return a + b
*** End Patch
"""
"""Codex's patch format: the fix of ``calc.py``."""

STEP = StepSpec(id="fix", goal="Make add add.", scope=("calc.py",))


@pytest.fixture
def codex_bin() -> str:
    return str(agent_clis.executable("codex"))


@pytest.fixture(autouse=True)
def codex_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``CODEX_HOME`` and ``HOME`` of the test's own, and the provider's key."""
    home = tmp_path / "home"
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True)
    (codex_home / "config.toml").write_text(CONFIG)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    monkeypatch.setenv(KEY_ENV, KEY)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("CODEX_API_KEY", raising=False)
    return codex_home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return calc_project(tmp_path / "project", {".gitignore": "__pycache__/\n.pytest_cache/\n"})


def backend(codex_bin: str, server: ScriptedServer, **options: object) -> CliAgentBackend:
    return codex(
        executable=codex_bin,
        model=MODEL,
        base_url=f"{server.url}/v1",
        env_key=KEY_ENV,
        timeout_s=120,
        **options,  # type: ignore[arg-type]
    )


def fix_script(final: Say | None = None) -> list[Turn]:
    """Look at the code, fix it with apply_patch, say so: three model turns."""
    return [
        Turn([exec_command("cat calc.py test_calc.py")], Usage(3000, 1000, 40)),
        Turn([Patch(FIX)], Usage(3500, 2900, 60, 20)),
        Turn([final or Say("Fixed add(): it now adds.")], Usage(3900, 3400, 25)),
    ]


async def test_probe_reads_the_pinned_release(codex_bin: str) -> None:
    version = await codex(executable=codex_bin).probe()
    assert version in SUPPORTED


async def test_the_fake_takes_no_flag_the_real_codex_does_not(codex_bin: str) -> None:
    def options(program: str) -> set[str]:
        done = subprocess.run(
            [program, "exec", "--help"], capture_output=True, text=True, check=True, timeout=60
        )
        words = done.stdout.replace(",", " ").split()
        return {w for w in words if w.startswith("--") and len(w) > 2}

    fake = Path(__file__).parent / "fixtures" / "backends" / "fake_codex"
    assert "--full-auto" not in options(codex_bin)
    assert options(str(fake)) <= options(codex_bin)


async def test_an_executor_edits_with_apply_patch_and_reports_its_usage(
    codex_bin: str, project: Path
) -> None:
    api = ResponsesApi(fix_script())
    reporter = RecordingReporter()
    with ScriptedServer(api) as server:
        agent = backend(
            codex_bin,
            server,
            price_in_per_mtok=1.25,
            price_cached_in_per_mtok=0.125,
            price_out_per_mtok=10.0,
        )
        result = await agent.run(order(workspace=project, step=STEP), reporter)
    assert (project / "calc.py").read_text() == FIXED
    assert result.payload == ImplementationPayload(summary="Fixed add(): it now adds.")
    # the thread's total: every request of the turn, cached input part of the input
    assert (result.usage.tokens_in, result.usage.tokens_out) == (10400, 125)
    cached = 1000 + 2900 + 3400
    expected = ((10400 - cached) * 1.25 + cached * 0.125 + 125 * 10.0) / 1e6
    assert result.usage.cost_usd == pytest.approx(expected)
    assert reporter.usages == [result.usage]

    first, second, third = server.requests
    assert (first.method, first.path) == ("POST", "/v1/responses")
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.body["model"] == MODEL and first.body["stream"] is True
    tools = {(tool["type"], tool.get("name")) for tool in first.body["tools"]}
    assert ("custom", "apply_patch") in tools  # its own edit mechanism
    assert "def add(a, b):" in tool_outputs(second)[0]  # the shell ran in the worktree
    assert "Success. Updated the following files:" in tool_outputs(third)[-1]
    assert "M calc.py" in tool_outputs(third)[-1]


def turn_metadata(request: Request) -> dict[str, object]:
    """What Codex says of its turn in a header: its sandbox, among other things."""
    value = json.loads(request.headers["x-codex-turn-metadata"])
    assert isinstance(value, dict)
    return value


async def test_full_access_runs_it_without_its_sandbox(codex_bin: str, project: Path) -> None:
    with ScriptedServer(ResponsesApi(fix_script())) as server:
        agent = backend(codex_bin, server, full_access=True)
        await agent.run(order(workspace=project, step=STEP), RecordingReporter())
    assert (project / "calc.py").read_text() == FIXED
    assert turn_metadata(server.requests[0])["sandbox_mode"] == "danger-full-access"


async def test_provider_alone_selects_one_from_the_users_config(
    codex_bin: str, project: Path, codex_env: Path
) -> None:
    with ScriptedServer(ResponsesApi(fix_script())) as server:
        table = (
            f'\n[model_providers.lab]\nname = "Lab"\nbase_url = "{server.url}/v1"\n'
            f'env_key = "{KEY_ENV}"\n'
        )
        (codex_env / "config.toml").write_text(CONFIG + table)
        agent = codex(
            executable=codex_bin, model=MODEL, provider="lab", env_allow=(KEY_ENV,), timeout_s=120
        )
        result = await agent.run(order(workspace=project, step=STEP), RecordingReporter())
    assert (project / "calc.py").read_text() == FIXED
    assert result.usage.tokens_in == 10400
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert turn_metadata(server.requests[0])["sandbox_mode"] == "workspace-write"


async def test_a_verifier_runs_read_only_and_answers_to_the_strict_schema(
    codex_bin: str, project: Path
) -> None:
    answer = {
        "kind": "verification",
        "checks": [
            {
                "name": "pytest",
                "passed": False,
                "detail": "1 failed",
                "tests_passed": 0,
                "tests_failed": 1,
                "failure": None,
                "score": None,
            }
        ],
    }
    api = ResponsesApi(
        [
            Turn([exec_command("echo hacked > calc.py; python3 -c 'print(1)'")], Usage(900, 0, 30)),
            Turn([Say(json.dumps(answer))], Usage(1000, 800, 50)),
        ]
    )
    with ScriptedServer(api) as server:
        result = await backend(codex_bin, server).run(
            order("verifier", "verify", workspace=project, step=STEP), RecordingReporter()
        )
    assert isinstance(result.payload, VerificationPayload)
    [check] = result.payload.checks
    assert (check.name, check.passed, check.tests_failed) == ("pytest", False, 1)
    assert (project / "calc.py").read_text() == BUGGY  # the read-only sandbox held
    assert "Read-only file system" in tool_outputs(server.requests[1])[0]
    schema_format = server.requests[0].body["text"]["format"]
    assert schema_format["strict"] is True
    assert schema_format["schema"] == result_schema("verifier", "verify")
    assert strict_schema_problem(server.requests[0].body) is None


async def test_an_echoed_key_leaves_only_its_marker_in_the_result(
    codex_bin: str, project: Path
) -> None:
    def echo(request: Request) -> Turn:
        heard = request.headers["authorization"]
        return Turn([Say(f"Done. The server gave me {heard} to use.")], Usage(500, 0, 20))

    with ScriptedServer(ResponsesApi([echo])) as server:
        result = await backend(codex_bin, server).run(
            order(workspace=project, step=STEP), RecordingReporter()
        )
    assert isinstance(result.payload, ImplementationPayload)
    assert result.payload.summary == f"Done. The server gave me Bearer [redacted:{KEY_ENV}] to use."
    assert KEY not in json.dumps(result.payload.summary)


async def test_a_refused_key_fails_the_turn_with_the_key_redacted(
    codex_bin: str, project: Path
) -> None:
    refused = Refuse(401, f"Incorrect API key provided: {KEY}")
    no_retries = [
        "-c",
        "model_providers.playbill.request_max_retries=0",
        "-c",
        "model_providers.playbill.stream_max_retries=0",
    ]
    with ScriptedServer(ResponsesApi([refused] * 6)) as server:
        agent = backend(codex_bin, server, extra_args=no_retries)
        with pytest.raises(BackendError) as caught:
            await agent.run(order(workspace=project, step=STEP), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "agent_error")
    assert "401 Unauthorized" in failure.detail
    assert KEY not in failure.detail and f"[redacted:{KEY_ENV}]" in failure.detail
    assert (project / "calc.py").read_text() == BUGGY


async def test_a_negative_token_count_codex_passes_on_is_not_trusted(
    codex_bin: str, project: Path
) -> None:
    lying = Turn([Say("Nothing to do.")], Usage(-5000, 0, 10))
    reporter = RecordingReporter()
    with ScriptedServer(ResponsesApi([lying])) as server, pytest.raises(BackendError) as caught:
        await backend(codex_bin, server).run(order(workspace=project, step=STEP), reporter)
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "bad_usage")
    assert "input_tokens = -5000" in failure.detail
    assert reporter.usages == []


# ------------------------------------------------------------------ end to end


PLAN = """\
[[agents]]
id = "codex"
roles = ["executor"]
backend = "codex"

[agents.options]
executable = {executable}
model = "{model}"
base_url = {base_url}
env_key = "{key_env}"
price_in_per_mtok = 1.25
price_cached_in_per_mtok = 0.125
price_out_per_mtok = 10.0
timeout_s = 120
heartbeat_s = 1
"""


def read_entries(journal: Path, run_id: str) -> list[Entry]:
    async def read() -> list[Entry]:
        with SqliteJournal(journal, create=False) as opened:
            return await opened.read(run_id)

    return trio.run(read)


def test_playbill_run_with_a_codex_executor_fixes_the_bug_end_to_end(
    codex_bin: str, project: Path, tmp_path: Path
) -> None:
    secret_said = Say(f"Fixed add(). (I was given {KEY} for the model server.)")
    api = ResponsesApi(fix_script(secret_said))
    journal = tmp_path / "journal.db"
    plan = tmp_path / "plan.toml"
    with ScriptedServer(api) as server:
        plan.write_text(
            calc_plan(
                PLAN.format(
                    executable=json.dumps(codex_bin),
                    model=MODEL,
                    base_url=json.dumps(f"{server.url}/v1"),
                    key_env=KEY_ENV,
                )
            )
        )
        argv = [sys.executable, "-m", "playbill", "--journal", str(journal), "run", str(plan)]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        }
        started = time.monotonic()
        done = subprocess.run(
            [*argv, "--repo", str(project), "--run-id", "cx1"],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        wall_s = time.monotonic() - started
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "outcome: completed" in done.stdout
    assert len(server.requests) == 3  # one executor attempt, three model turns

    assert git(project, "show", "playbill/cx1/integration:calc.py") + "\n" == FIXED
    assert (project / "calc.py").read_text() == BUGGY  # the user's branch waits for integrate

    entries = read_entries(journal, "cx1")
    usages = [e.msg.usage for e in entries if isinstance(e.msg, UsageReported)]
    codex_usage = [u for u in usages if u.tokens]
    assert len(codex_usage) == 1
    [used] = codex_usage
    cached = 1000 + 2900 + 3400
    assert (used.tokens_in, used.tokens_out) == (10400, 125)
    assert used.cost_usd == pytest.approx(
        ((10400 - cached) * 1.25 + cached * 0.125 + 125 * 10.0) / 1e6
    )
    results = [e.msg.result for e in entries if isinstance(e.msg, ResultProposed)]
    [proposed] = [r for r in results if r.agent == "codex"]
    assert isinstance(proposed.payload, ImplementationPayload)
    assert f"I was given [redacted:{KEY_ENV}] for" in proposed.payload.summary
    merged = [e.msg for e in entries if isinstance(e.msg, WorkspaceMerged)]
    assert [(m.step, m.status) for m in merged] == [("fix", "applied")]

    files = [p for p in tmp_path.iterdir() if p.name.startswith("journal.db")]
    assert journal in files
    for path in files:
        assert KEY.encode() not in path.read_bytes(), path
    print(
        f"\nend-to-end codex run: {wall_s:.1f} s wall, {len(entries)} journal entries, "
        f"{used.tokens_in} tokens in, {used.tokens_out} out, ${used.cost_usd:.6f}, "
        f"codex ran {used.wall_s:.1f} s"
    )


async def test_an_edit_its_sandbox_could_not_write_fails_as_edit_failed(
    codex_bin: str, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Debian 12's bubblewrap (0.8) first on PATH: Codex prefers it to its own,
    # and its sandbox then cannot run; Codex still ends its turn saying it is done
    bwrap_dir = os.environ.get("PLAYBILL_BWRAP_DIR", "")
    if not bwrap_dir:
        agent_clis.missing("needs Debian's bubblewrap unpacked off PATH (PLAYBILL_BWRAP_DIR)")
    monkeypatch.setenv("PATH", f"{bwrap_dir}{os.pathsep}{os.environ['PATH']}")
    with ScriptedServer(ResponsesApi(fix_script())) as server:
        agent = backend(codex_bin, server)
        with pytest.raises(BackendError) as caught:
            await agent.run(order(workspace=project, step=STEP), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "edit_failed")
    assert f"could not write {project / 'calc.py'}" in failure.detail
    assert "full_access = true" in failure.detail
    assert (project / "calc.py").read_text() == BUGGY
    assert caught.value.usage.tokens_in == 10400  # what it spent is kept
