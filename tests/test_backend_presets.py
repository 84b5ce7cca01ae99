"""Claude Code, Codex and Aider presets, against fakes printing recorded output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import msgspec
import pytest

from backend_helpers import FIXTURES, RecordingReporter, order, read_json
from playbill.backends._agent_process import ProcessOutput, agent_env
from playbill.backends._backend import BackendError, WorkKind
from playbill.backends._cli_agent import CliAgentBackend, _refused
from playbill.backends._command import BackendConfigError
from playbill.backends._preset_aider import AiderTool
from playbill.backends._preset_claude import ClaudeCodeTool
from playbill.backends._preset_codex import CodexTool
from playbill.backends._preset_options import AiderOptions
from playbill.backends._presets import aider, claude_code, codex
from playbill.backends._tool_version import Version
from playbill.runtime import (
    Check,
    Finding,
    ImplementationPayload,
    ReviewPayload,
    Role,
    StepSpec,
    VerificationPayload,
)

ALLOW = ("FAKE_MODE", "FAKE_RECORD")
PARTIAL = "--include-partial-messages"
VERSION = Version(0, 171, 0)


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_RECORD", str(path))
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "wt"
    path.mkdir()
    return path


def fake(name: str) -> str:
    return str(FIXTURES / f"fake_{name}")


def _read(path: Path) -> str:
    return path.read_text()


# ------------------------------------------------------------ claude code
# fake_claude replays the real release's output (claude_*.jsonl, recorded by
# fixtures/backends/record_claude.py); test_real_claude.py runs the real one.


async def test_claude_executor_edits_and_reports_every_models_tokens_and_cost(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    backend = claude_code(executable=fake("claude"), model="sonnet", env_allow=ALLOW)
    reporter = RecordingReporter()
    result = await backend.run(order(workspace=workspace), reporter)
    assert _read(workspace / "hello.txt") == "hello\n"
    assert result.payload == ImplementationPayload(
        summary="I added hello.txt with a friendly greeting."
    )
    # modelUsage: the main model (input + cache creation + cache reads) and the sub-agent's
    assert result.usage.tokens_in == (822 + 5120 + 20480) + 700
    assert result.usage.tokens_out == 310 + 40
    assert result.usage.cost_usd == pytest.approx(0.039274)
    assert reporter.usages == [result.usage]
    argv = read_json(record)["argv"]
    assert argv[2:6] == [
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
    ]
    assert argv[argv.index("--model") + 1] == "sonnet"
    assert argv[argv.index("--permission-mode") + 1] == "acceptEdits"
    assert read_json(record)["cwd"] == str(workspace)


def test_claude_usage_falls_back_to_the_main_conversation_without_model_usage() -> None:
    lines = (FIXTURES / "claude_review.jsonl").read_text().splitlines()
    result = json.loads(lines[-1])
    del result["modelUsage"]
    text = "\n".join([*lines[:-1], json.dumps(result)])
    answer = ClaudeCodeTool().parse(ProcessOutput(0, text.encode(), b"", 1.0))
    assert answer is not None and answer.error is None
    assert (answer.usage.tokens_in, answer.usage.tokens_out) == (840 + 3000, 95)


@pytest.mark.parametrize(
    ("figure", "value"),
    [
        ("modelUsage.claude-opus-5-5.inputTokens", "-5"),
        ("modelUsage.claude-opus-5-5.outputTokens", "1.5"),
        ("modelUsage.claude-haiku-5-5.cacheReadInputTokens", '"many"'),
        ("modelUsage.claude-opus-5-5.inputTokens", "1e400"),
        ("modelUsage.claude-opus-5-5.inputTokens", str(10**40)),
        ("total_cost_usd", "NaN"),
        ("total_cost_usd", "Infinity"),
        ("total_cost_usd", "-0.5"),
        ("usage.output_tokens", "true"),
    ],
)
async def test_claude_usage_that_cannot_be_true_is_bad_usage(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path, figure: str, value: str
) -> None:
    monkeypatch.setenv("FAKE_MODE", "figures")
    monkeypatch.setenv("FAKE_FIGURE", f"{figure}={value}")
    backend = claude_code(executable=fake("claude"), env_allow=(*ALLOW, "FAKE_FIGURE"))
    reporter = RecordingReporter()
    with pytest.raises(BackendError) as caught:
        await backend.run(order(workspace=workspace), reporter)
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "bad_usage")
    assert figure.split(".")[-1] in failure.detail  # the path of the figure at fault
    usage = caught.value.usage
    assert (usage.tokens_in, usage.tokens_out, usage.cost_usd) == (0, 0, 0.0)  # none trusted
    assert reporter.usages == []


@pytest.mark.slow
async def test_claude_streams_its_events_and_each_line_is_a_heartbeat(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    monkeypatch.setenv("FAKE_EVENT_GAP_S", "0.1")
    backend = claude_code(
        executable=fake("claude"), env_allow=(*ALLOW, "FAKE_EVENT_GAP_S"), heartbeat_s=0.05
    )
    reporter = RecordingReporter()
    result = await backend.run(order(workspace=workspace), reporter)
    assert result.usage.cost_usd > 0  # the result event, after the others
    argv = read_json(record)["argv"]
    assert argv[argv.index("--output-format") + 1 :][:2] == ["stream-json", "--verbose"]
    assert reporter.heartbeats[0] == "claude_code: started"
    assert any("new line" in beat for beat in reporter.heartbeats[1:]), reporter.heartbeats
    assert not any("Looking" in beat for beat in reporter.heartbeats)


async def test_claude_review_extracts_the_fenced_json_payload(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "review")
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW)
    result = await backend.run(order("reviewer", "review"), RecordingReporter())
    assert result.payload == ReviewPayload(
        verdict="request_changes",
        findings=(
            Finding(severity="minor", message="Add a trailing newline", path="hello.txt", line=1),
        ),
    )
    assert (result.usage.tokens_in, result.usage.tokens_out) == (3840, 95)


async def test_claude_review_without_json_is_malformed(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "review_prose")
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order("reviewer", "review"), RecordingReporter())
    assert (caught.value.failure.failure_class, caught.value.failure.kind) == (
        "agent",
        "malformed_output",
    )
    assert "ship it" in caught.value.failure.detail
    assert caught.value.usage.cost_usd == pytest.approx(0.00526)  # still spent


async def test_claude_max_turns_is_its_own_failure_with_its_usage(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "max_turns")
    reporter = RecordingReporter()
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW, max_turns=1)
    with pytest.raises(BackendError) as caught:
        await backend.run(order(workspace=workspace), reporter)
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "max_turns")
    assert "error_max_turns: Reached maximum number of turns (1)" in failure.detail
    assert caught.value.usage.cost_usd == pytest.approx(0.071)
    assert caught.value.usage.tokens_in == 4000 + 1000 + 50000
    assert reporter.usages == []


@pytest.mark.parametrize(
    ("subtype", "kind"),
    [
        ("error_during_execution", "agent_error"),
        ("error_max_budget_usd", "max_budget"),
        ("error_max_structured_output_retries", "malformed_output"),
        ("error_of_a_later_release", "agent_error"),
    ],
)
def test_claude_error_subtypes_are_typed(subtype: str, kind: str) -> None:
    lines = (FIXTURES / "claude_max_turns.jsonl").read_text().splitlines()
    result = {**json.loads(lines[-1]), "subtype": subtype, "errors": ["it went wrong"]}
    text = "\n".join([*lines[:-1], json.dumps(result)])
    answer = ClaudeCodeTool().parse(ProcessOutput(1, text.encode(), b"", 1.0))
    assert answer is not None
    assert (answer.error_kind, answer.error) == (kind, f"{subtype}: it went wrong")


async def test_claude_refused_edits_are_a_permission_failure(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "denied")
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order(workspace=workspace), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "permission_denied")
    assert "claude_code was refused 1 tool call while editing" in failure.detail
    assert "- Write /tmp/claude-recording-" in failure.detail
    assert "outside.txt (Path is outside allowed working directories)" in failure.detail
    assert caught.value.usage.tokens_in == 1100


def test_claude_refusals_are_listed_briefly() -> None:
    lines = (FIXTURES / "claude_denied.jsonl").read_text().splitlines()
    result = json.loads(lines[-1])
    denial = result["permission_denials"][0]
    result["permission_denials"] = [
        {**denial, "tool_use_id": f"t{i}", "tool_input": {"command": "rm -rf /\n" + "x" * 999}}
        for i in range(25)
    ] + [{"tool_name": "Odd", "tool_use_id": "t99", "tool_input": {"file_path": 7}}]
    text = "\n".join([*lines[:-1], json.dumps(result)])
    answer = ClaudeCodeTool().parse(ProcessOutput(0, text.encode(), b"", 1.0))
    assert answer is not None and len(answer.denied) == 26
    assert answer.denied[0].startswith("Write rm -rf / xxx") and len(answer.denied[0]) < 320
    assert answer.denied[-1] == "Odd"
    assert _refused("claude_code", answer.denied).endswith("- and 16 more")


def test_claude_a_review_that_was_refused_something_still_answers() -> None:
    lines = (FIXTURES / "claude_review.jsonl").read_text().splitlines()
    result = json.loads(lines[-1])
    denied = json.loads((FIXTURES / "claude_denied.jsonl").read_text().splitlines()[-1])
    result["permission_denials"] = denied["permission_denials"]
    text = "\n".join([*lines[:-1], json.dumps(result)])
    answer = ClaudeCodeTool().parse(ProcessOutput(0, text.encode(), b"", 1.0))
    assert answer is not None and answer.denied and answer.error is None


async def test_claude_api_error_is_an_agent_error_and_redacted(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "api_error")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake-secret-000")
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order("reviewer", "review"), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "agent_error")
    assert "is_error (api_error), API status 400: API Error: 400 bad request" in failure.detail
    assert "sk-ant-fake-secret-000" not in failure.detail
    assert "[redacted:ANTHROPIC_API_KEY]" in failure.detail


async def test_claude_non_zero_exit_without_json_redacts_its_output(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "exit")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake-secret-000")
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order(), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "exit_status")
    assert "Invalid API key" in failure.detail
    assert "sk-ant-fake-secret-000" not in failure.detail
    assert "[redacted:ANTHROPIC_API_KEY]" in failure.detail


async def test_claude_read_only_executor_step_gets_no_edit_permission(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "review")  # fails if given --permission-mode
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW)
    step = StepSpec(id="look", goal="Find the bug.")
    result = await backend.run(order(step=step), RecordingReporter())
    assert isinstance(result.payload, ImplementationPayload)
    assert "trailing newline" in result.payload.summary
    assert "--permission-mode" not in read_json(record)["argv"]


async def test_claude_garbage_is_malformed(monkeypatch: pytest.MonkeyPatch, record: Path) -> None:
    monkeypatch.setenv("FAKE_MODE", "garbage")
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order(), RecordingReporter())
    assert caught.value.failure.kind == "malformed_output"
    assert "not JSON" in caught.value.failure.detail


def test_claude_result_of_the_wrong_shape_is_malformed() -> None:
    text = json.dumps({"type": "result", "subtype": "success", "result": 42})
    with pytest.raises(BackendError) as caught:
        ClaudeCodeTool().parse(ProcessOutput(0, text.encode(), b"", 1.0))
    assert caught.value.failure.kind == "malformed_output"
    assert "`$.result`" in caught.value.failure.detail


def test_claude_json_output_of_a_recording_parses_too() -> None:
    # ``--output-format json --verbose`` prints the same events as one array
    events = [
        json.loads(line) for line in (FIXTURES / "claude_review.jsonl").read_text().splitlines()
    ]
    answer = ClaudeCodeTool().parse(ProcessOutput(0, json.dumps(events).encode(), b"", 1.0))
    assert answer is not None and "trailing newline" in answer.text


@pytest.mark.parametrize(
    ("options", "option", "fragment"),
    [
        ({"permission_mode": "plan"}, "permission_mode", "'plan' never edits"),
        ({"permission_mode": "yolo"}, "permission_mode", "expected one of acceptEdits"),
        ({"extra_args": ["--output-format", "json"]}, "extra_args", "playbill's to set"),
        ({"extra_args": ["--output-format=text"]}, "extra_args", "playbill's to set"),
        ({"extra_args": ["--print"]}, "extra_args", "playbill's to set"),
    ],
)
def test_claude_options_that_cannot_work_are_refused(
    options: dict[str, Any], option: str, fragment: str
) -> None:
    with pytest.raises(BackendConfigError) as caught:
        claude_code(**options)
    assert caught.value.option == option
    assert fragment in caught.value.detail


async def test_claude_gets_its_environment_and_no_auto_update(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    monkeypatch.setenv("IS_SANDBOX", "1")
    monkeypatch.setenv("DISABLE_AUTOUPDATER", "0")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-claude")
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW)
    env = agent_env(backend.passed_env, backend.env)
    assert env["IS_SANDBOX"] == "1"  # the user's word that this is a sandbox, passed on
    assert env["DISABLE_AUTOUPDATER"] == "1"  # set whatever the environment says
    assert "AWS_SECRET_ACCESS_KEY" not in env


async def test_missing_executable_is_backend_unavailable(tmp_path: Path) -> None:
    backend = claude_code(executable=str(tmp_path / "claude"))
    with pytest.raises(BackendError) as caught:
        await backend.run(order(), RecordingReporter())
    assert (caught.value.failure.failure_class, caught.value.failure.kind) == (
        "policy",
        "backend_unavailable",
    )


# ------------------------------------------------------------------ codex


async def test_codex_executor_edits_and_reads_the_turn_usage(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    backend = codex(
        executable=fake("codex"),
        env_allow=ALLOW,
        price_in_per_mtok=1.25,
        price_out_per_mtok=10.0,
    )
    result = await backend.run(order(workspace=workspace), RecordingReporter())
    assert _read(workspace / "hello.txt") == "hello from the fake agent\n"
    assert result.payload == ImplementationPayload(summary="Created hello.txt with a greeting.")
    assert (result.usage.tokens_in, result.usage.tokens_out) == (24763, 122)
    assert result.usage.cost_usd == pytest.approx((24763 * 1.25 + 122 * 10.0) / 1e6)
    argv = read_json(record)["argv"]
    assert "--skip-git-repo-check" not in argv  # it runs in a workspace
    assert argv[argv.index("--sandbox") + 1] == "workspace-write"
    assert "--full-auto" not in argv  # the release rejects it
    assert "-c" not in argv  # no provider given: the user's own config and login


async def test_codex_cached_input_has_its_own_price(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    backend = codex(
        executable=fake("codex"),
        env_allow=ALLOW,
        price_in_per_mtok=1.25,
        price_cached_in_per_mtok=0.125,
        price_out_per_mtok=10.0,
    )
    result = await backend.run(order(workspace=workspace), RecordingReporter())
    # of the 24763 input tokens, 24192 were read from the cache
    expected = ((24763 - 24192) * 1.25 + 24192 * 0.125 + 122 * 10.0) / 1e6
    assert result.usage.tokens_in == 24763
    assert result.usage.cost_usd == pytest.approx(expected)


async def test_codex_rejects_an_unknown_flag_as_the_real_release_does(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    backend = codex(executable=fake("codex"), env_allow=ALLOW, extra_args=["--full-auto"])
    with pytest.raises(BackendError) as caught:
        await backend.run(order(workspace=workspace), RecordingReporter())
    assert (caught.value.failure.failure_class, caught.value.failure.kind) == (
        "agent",
        "exit_status",
    )
    assert "unexpected argument '--full-auto'" in caught.value.failure.detail
    assert not (workspace / "hello.txt").exists()


async def test_codex_base_url_is_a_provider_of_its_own_with_its_key_passed_through(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    monkeypatch.setenv("LOCAL_LLM_KEY", "local-key-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    backend = codex(
        executable=fake("codex"),
        env_allow=ALLOW,
        base_url="http://127.0.0.1:8080/v1",
        env_key="LOCAL_LLM_KEY",
    )
    await backend.run(order(workspace=workspace), RecordingReporter())
    recorded = read_json(record)
    argv = recorded["argv"]
    overrides = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-c"]
    assert overrides == [
        'model_providers.playbill.name="playbill"',
        'model_providers.playbill.base_url="http://127.0.0.1:8080/v1"',
        'model_providers.playbill.env_key="LOCAL_LLM_KEY"',
        'model_provider="playbill"',
    ]
    assert "LOCAL_LLM_KEY" in recorded["env"]
    assert "OPENAI_BASE_URL" not in recorded["env"]  # Codex ignores it: not passed on


def test_codex_provider_without_base_url_selects_a_configured_one(workspace: Path) -> None:
    tool = codex(provider="ollama").tool
    argv = tool.command_line(order(workspace=workspace), "# playbill", workspace, VERSION)
    assert argv[argv.index("-c") : argv.index("-c") + 2] == ["-c", 'model_provider="ollama"']
    assert "model_providers" not in " ".join(argv)
    named = codex(provider="lab-gpu_2", base_url="https://llm.lab/v1").tool
    assert named.provider_overrides()[-1] == 'model_provider="lab-gpu_2"'


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"provider": "my provider"}, "provider"),
        ({"provider": "a.b"}, "provider"),
        ({"provider": "openai", "base_url": "http://127.0.0.1:1/v1"}, "provider"),
        ({"provider": "ollama", "base_url": "http://127.0.0.1:1/v1"}, "provider"),
        ({"env_key": "LLM_KEY"}, "env_key"),
    ],
)
def test_codex_refuses_provider_options_that_cannot_work(
    options: dict[str, str], option: str
) -> None:
    with pytest.raises(BackendConfigError) as caught:
        codex(**options)
    assert caught.value.option == option


def test_codex_sandbox_follows_the_work_unless_full_access(workspace: Path) -> None:
    def sandbox(argv: list[str]) -> str:
        return argv[argv.index("--sandbox") + 1]

    edit, review = order(workspace=workspace), order("reviewer", "review")
    step = StepSpec(id="look", goal="Find the bug.")
    look = order(workspace=workspace, step=step)  # no scope: read-only
    sandboxed, open_ = codex().tool, codex(full_access=True).tool
    assert [
        sandbox(sandboxed.command_line(o, "# p", workspace, VERSION)) for o in (edit, review, look)
    ] == [
        "workspace-write",
        "read-only",
        "read-only",
    ]
    assert {
        sandbox(open_.command_line(o, "# p", workspace, VERSION)) for o in (edit, review, look)
    } == {"danger-full-access"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("usage", "shown"),
    [
        ('{"input_tokens": -5, "cached_input_tokens": 0, "output_tokens": 3}', "input_tokens = -5"),
        ('{"input_tokens": 10, "output_tokens": 2.5}', "output_tokens = 2.5"),
        ('{"input_tokens": 1e999, "output_tokens": 1}', "input_tokens = Infinity"),
        ('{"input_tokens": NaN, "output_tokens": 1}', "input_tokens = NaN"),
        ('{"input_tokens": true, "output_tokens": 1}', "input_tokens = true"),
        ('{"input_tokens": "12", "output_tokens": 1}', 'input_tokens = "12"'),
        ('{"input_tokens": 100000000000000000000, "output_tokens": 1}', "input_tokens = 1000"),
        ('{"input_tokens": 10, "cached_input_tokens": 11}', "11 cached input tokens of 10"),
        ('"lots"', 'not an object: "lots"'),
    ],
)
async def test_codex_untrustworthy_usage_is_bad_usage(
    monkeypatch: pytest.MonkeyPatch, record: Path, usage: str, shown: str
) -> None:
    monkeypatch.setenv("FAKE_MODE", "usage")
    monkeypatch.setenv("FAKE_USAGE", usage)
    reporter = RecordingReporter()
    backend = codex(executable=fake("codex"), env_allow=(*ALLOW, "FAKE_USAGE"))
    with pytest.raises(BackendError) as caught:
        await backend.run(order(), reporter)
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "bad_usage")
    assert shown in failure.detail
    assert reporter.usages == []  # nothing untrusted is reported


@pytest.mark.parametrize(("role", "kind"), [("executor", "work"), ("reviewer", "review")])
async def test_codex_echoed_key_of_any_name_is_redacted_from_the_result(
    monkeypatch: pytest.MonkeyPatch, record: Path, role: Role, kind: WorkKind
) -> None:
    # LLM_ACCESS does not look secret by its name: it is one because it is env_key
    monkeypatch.setenv("FAKE_MODE", "echo")
    monkeypatch.setenv("FAKE_ECHO", "LLM_ACCESS")
    monkeypatch.setenv("LLM_ACCESS", "llm-access-value-0123456789")
    backend = codex(
        executable=fake("codex"),
        env_allow=(*ALLOW, "FAKE_ECHO"),
        base_url="http://127.0.0.1:8080/v1",
        env_key="LLM_ACCESS",
    )
    result = await backend.run(order(role, kind), RecordingReporter())
    text = json.dumps(msgspec.to_builtins(result))
    assert "llm-access-value-0123456789" not in text
    assert "My key is [redacted:LLM_ACCESS]." in text


async def test_codex_verifier_gets_a_schema_and_answers_json(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "verify")
    backend = codex(executable=fake("codex"), env_allow=ALLOW)
    result = await backend.run(order("verifier", "verify"), RecordingReporter())
    assert result.payload == VerificationPayload(
        checks=(
            Check(name="pytest", passed=True, detail="12 passed", tests_passed=12, tests_failed=0),
        )
    )
    assert result.usage.tokens_in == 9000 and result.usage.cost_usd == 0.0
    assert "--skip-git-repo-check" in read_json(record)["argv"]


async def test_codex_in_a_view_of_the_repository_skips_its_git_check(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    # a verifier step's (or a planner's) view is an export with no .git
    monkeypatch.setenv("FAKE_MODE", "verify")
    backend = codex(executable=fake("codex"), env_allow=ALLOW)
    work = attrs.evolve(order("verifier", "work", workspace=workspace), view="a copy")
    await backend.run(work, RecordingReporter())
    argv = read_json(record)["argv"]
    assert "--skip-git-repo-check" in argv
    assert argv[argv.index("--sandbox") + 1] == "read-only"


async def test_codex_failed_turn_is_an_agent_failure_and_redacted(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "failed")
    monkeypatch.setenv("OPENAI_API_KEY", "fake-key-0123456789")
    backend = codex(executable=fake("codex"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order(), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "agent_error")
    assert "401 Unauthorized" in failure.detail
    assert "fake-key-0123456789" not in failure.detail


async def test_codex_garbage_is_malformed(monkeypatch: pytest.MonkeyPatch, record: Path) -> None:
    monkeypatch.setenv("FAKE_MODE", "garbage")
    backend = codex(executable=fake("codex"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order(), RecordingReporter())
    assert caught.value.failure.kind == "malformed_output"


# ------------------------------------------------------------------ aider


async def test_aider_executor_edits_and_reads_its_logs(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    backend = aider(executable=fake("aider"), model="gpt-4o", env_allow=ALLOW)
    result = await backend.run(order(workspace=workspace), RecordingReporter())
    assert _read(workspace / "hello.txt") == "hello from the fake agent\n"
    # two model calls (aider's lint sent a syntax error back): their replies, nothing else
    assert isinstance(result.payload, ImplementationPayload)
    summary = result.payload.summary
    first = "add() subtracted; it adds now.\n\ncalc.py\n```python\n<<<<<<< SEARCH\n"
    last = (
        "I left a parenthesis open; closed.\n\ncalc.py\n```python\n<<<<<<< SEARCH\n"
        "def add(a, b):\n    return (a + b\n=======\ndef add(a, b):\n    return a + b\n"
        ">>>>>>> REPLACE\n```"
    )
    assert summary.startswith(first) and summary.endswith(last)
    for banner in ("Aider v", "Model:", "Tokens:", "Applied edit", "Fix any errors", "flake8"):
        assert banner not in summary
    # the usage aider logged for each call, summed
    assert (result.usage.tokens_in, result.usage.tokens_out) == (2129 + 2359, 49 + 48)
    assert result.usage.cost_usd == pytest.approx(0.004748 + 0.005198)
    recorded = read_json(record)
    argv = recorded["argv"]
    assert argv[argv.index("--model") + 1] == "gpt-4o"
    assert "--chat-mode" not in argv and "--edit-format" not in argv  # the model's own format
    assert "--stream" in argv and "--disable-playwright" in argv
    for option in (
        "--message-file",
        "--llm-history-file",
        "--analytics-log",
        "--chat-history-file",
    ):
        assert not Path(argv[argv.index(option) + 1]).is_relative_to(workspace)
    # aider's switches to stay off the network, out of the browser and out of the git config
    env = recorded["env"]
    assert env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True" and env["BROWSER"] == "true"
    assert (env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_KEY_1"]) == ("user.name", "user.email")


async def test_aider_edit_format_and_stream_options(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    backend = aider(executable=fake("aider"), edit_format="whole", stream=False, env_allow=ALLOW)
    await backend.run(order(workspace=workspace), RecordingReporter())
    argv = read_json(record)["argv"]
    assert argv[argv.index("--edit-format") + 1] == "whole"
    assert "--no-stream" in argv and "--stream" not in argv


async def test_aider_reviewer_answers_in_ask_mode(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "review")
    backend = aider(
        executable=fake("aider"),
        roles=("executor", "reviewer"),
        edit_format="diff",
        env_allow=ALLOW,
    )
    result = await backend.run(order("reviewer", "review"), RecordingReporter())
    assert result.payload == ReviewPayload(verdict="pass")
    assert (result.usage.tokens_in, result.usage.tokens_out) == (745, 31)
    assert result.usage.cost_usd == pytest.approx(0.0018)
    argv = read_json(record)["argv"]
    # ask mode and an edit format are one option of aider's: only ask is passed
    assert argv[argv.index("--chat-mode") + 1] == "ask" and "--edit-format" not in argv


async def test_aider_whose_model_call_failed_reports_an_agent_error(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "no_model")
    backend = aider(executable=fake("aider"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order(), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "agent_error")
    assert "its model call failed (no usage was reported for it)" in failure.detail
    assert "AuthenticationError" in failure.detail


async def test_older_aider_releases_get_only_the_flags_they_know(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    monkeypatch.setenv("FAKE_VERSION", "aider 0.82.1")
    backend = aider(
        executable=fake("aider"), env_allow=(*ALLOW, "FAKE_VERSION"), allow_untested_version=True
    )
    await backend.run(order(workspace=workspace), RecordingReporter())
    assert "--disable-playwright" not in read_json(record)["argv"]


@pytest.mark.parametrize(
    "arg",
    ["--edit-format", "--chat-mode=ask", "--edit-f", "--architect", "--model", "--no-stream",
     "--auto-commits", "--analytics-log", "--llm-history", "-m", "-mhello", "--message-file"],
)  # fmt: skip
def test_aider_refuses_extra_args_that_set_what_the_preset_sets(arg: str) -> None:
    with pytest.raises(BackendConfigError) as caught:
        aider(extra_args=(arg, "x"))
    assert caught.value.option == "extra_args"
    assert repr(arg) in caught.value.detail


def test_aider_takes_other_extra_args() -> None:
    args = ("--map-tokens", "0", "--model-metadata-file", "m.json", "--no-show-model-warnings")
    assert aider(extra_args=args).tool.command_line(order(), "", Path("/s"), Version(0, 86, 2))[
        -5:
    ] == list(args)


# -------------------------------------------------------- capabilities


def test_capabilities() -> None:
    for backend, name in ((claude_code(), "claude_code"), (codex(), "codex")):
        assert isinstance(backend, CliAgentBackend)
        assert backend.name == name
        caps = backend.capabilities
        assert caps.roles == frozenset({"planner", "executor", "reviewer", "verifier"})
        assert caps.edits_files and caps.reports_usage
    assert aider().capabilities.roles == frozenset({"executor"})
    assert aider().name == "aider"


def test_each_tool_declares_the_files_it_writes_for_itself() -> None:
    assert aider().capabilities.tool_files == (".aider*",)
    assert claude_code().capabilities.tool_files == (
        "/.claude/settings.local.json",
        "/CLAUDE.local.md",
    )
    # what a team commits (.claude/settings.json, commands, agents) stays a real change
    claude_files = set(claude_code().capabilities.tool_files)
    assert not {".claude", ".claude/", "/.claude/", "/.claude/settings.json"} & claude_files
    assert codex().capabilities.tool_files == ()
    # the plan's `ignore` comes on top
    assert aider(ignore=[".cache/"]).capabilities.tool_files == (".aider*", ".cache/")
    assert codex(ignore=("*.tmp",)).capabilities.tool_files == ("*.tmp",)
    with pytest.raises(BackendConfigError) as caught:
        claude_code(ignore=["!keep"])
    assert caught.value.option == "ignore"
    assert "gitignore pattern" in caught.value.detail


def test_aider_refuses_roles_it_cannot_play() -> None:
    with pytest.raises(BackendConfigError) as caught:
        aider(roles=("planner",))
    assert caught.value.option == "roles"


async def test_unsupported_role_is_refused() -> None:
    with pytest.raises(BackendError) as caught:
        await aider().run(order("reviewer", "review"), RecordingReporter())
    assert caught.value.failure.kind == "unsupported_role"


def _codex_events(*changes: tuple[str, str]) -> ProcessOutput:
    """Codex 0.171's ``exec --json`` events of a turn with these file changes (path, status)."""
    lines = [{"type": "thread.started", "thread_id": "t"}, {"type": "turn.started"}]
    for n, (path, status) in enumerate(changes):
        item = {"id": f"item_{n}", "type": "file_change", "changes": [{"path": path}]}
        lines.append({"type": "item.completed", "item": {**item, "status": status}})
    lines.append(
        {"type": "item.completed", "item": {"id": "m", "type": "agent_message", "text": "Done."}}
    )
    usage = {"input_tokens": 10, "cached_input_tokens": 0, "output_tokens": 5}
    lines.append({"type": "turn.completed", "usage": usage})
    text = "\n".join(json.dumps(line) for line in lines)
    return ProcessOutput(0, text.encode(), b"", 1.0)


def test_a_codex_edit_that_could_not_be_written_is_a_typed_failure() -> None:
    answer = CodexTool().parse(_codex_events(("/w/calc.py", "failed")))
    assert answer is not None and answer.error_kind == "edit_failed"
    assert answer.error is not None
    assert answer.error.startswith("it could not write /w/calc.py.")
    assert "full_access = true" in answer.error
    # the model tried again, and the second write went through: no failure
    again = CodexTool().parse(_codex_events(("/w/calc.py", "failed"), ("/w/calc.py", "completed")))
    assert again is not None and again.error is None and again.text == "Done."


@pytest.mark.parametrize("item", ['"a message"', "[1, 2]", "null", "7"])
def test_a_codex_item_that_is_no_object_is_ignored(item: str) -> None:
    # what the agent's process prints is untrusted: an odd event is no crash
    lines = [f'{{"type": "item.completed", "item": {item}}}', '{"type": "turn.completed"}']
    answer = CodexTool().parse(ProcessOutput(0, "\n".join(lines).encode(), b"", 1.0))
    assert answer is not None and answer.error is None and answer.text == ""


async def test_codex_key_quoted_in_a_failure_is_redacted(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    # the env_key's value echoed where a figure belongs: the failure quotes it
    monkeypatch.setenv("FAKE_MODE", "usage")
    monkeypatch.setenv("FAKE_USAGE", '{"input_tokens": "llm-access-value-0123456789"}')
    monkeypatch.setenv("LLM_ACCESS", "llm-access-value-0123456789")
    backend = codex(
        executable=fake("codex"),
        env_allow=(*ALLOW, "FAKE_USAGE"),
        base_url="http://127.0.0.1:8080/v1",
        env_key="LLM_ACCESS",
    )
    with pytest.raises(BackendError) as caught:
        await backend.run(order(), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "bad_usage")
    assert "llm-access-value-0123456789" not in failure.detail
    assert "[redacted:LLM_ACCESS]" in failure.detail


def test_a_cli_backend_takes_the_roles_its_options_can_play() -> None:
    # the options say what the tool can play: nothing repeats it
    options = AiderOptions()
    backend = CliAgentBackend(options=options, tool=AiderTool(), roles=("reviewer",))
    assert backend.capabilities.roles == frozenset({"reviewer"})
    assert backend.capabilities.edits_files
    with pytest.raises(BackendConfigError) as caught:
        CliAgentBackend(options=options, tool=AiderTool(), roles=("planner",))
    assert (caught.value.option, caught.value.detail) == (
        "roles",
        "must be among executor, reviewer",
    )
