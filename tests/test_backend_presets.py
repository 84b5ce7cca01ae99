"""Claude Code, Codex and Aider presets, against fakes printing recorded output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from backend_helpers import FIXTURES, RecordingReporter, order, read_json
from playbill.actors._agent_process import ProcessOutput, agent_env
from playbill.actors._backend import BackendError
from playbill.actors._cli_agent import CliAgentBackend, _refused
from playbill.actors._command import BackendConfigError
from playbill.actors._preset_aider import parse_count
from playbill.actors._preset_claude import ClaudeCodeTool
from playbill.actors._presets import aider, claude_code, codex
from playbill.runtime import (
    Check,
    Finding,
    ImplementationPayload,
    ReviewPayload,
    StepSpec,
    VerificationPayload,
)

ALLOW = ("FAKE_MODE", "FAKE_RECORD")
PARTIAL = "--include-partial-messages"


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
async def test_claude_usage_that_cannot_be_true_is_malformed_output(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path, figure: str, value: str
) -> None:
    monkeypatch.setenv("FAKE_MODE", "figures")
    monkeypatch.setenv("FAKE_FIGURE", f"{figure}={value}")
    backend = claude_code(executable=fake("claude"), env_allow=(*ALLOW, "FAKE_FIGURE"))
    reporter = RecordingReporter()
    with pytest.raises(BackendError) as caught:
        await backend.run(order(workspace=workspace), reporter)
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "malformed_output")
    assert figure.split(".")[-1] in failure.detail  # the path of the figure at fault
    usage = caught.value.usage
    assert (usage.tokens_in, usage.tokens_out, usage.cost_usd) == (0, 0, 0.0)  # none trusted
    assert reporter.usages == []


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
    answer = ClaudeCodeTool().parse(ProcessOutput(0, text.encode(), b"", 1.0))
    assert answer is not None and answer.error_kind == "malformed_output"
    assert "`$.result`" in (answer.error or "")


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
    env = agent_env(backend.env_allow, backend.env)
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


async def test_codex_executor_edits_and_sums_turn_usage(
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


async def test_aider_executor_edits_and_parses_its_usage_lines(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    backend = aider(executable=fake("aider"), model="gpt-4o", env_allow=ALLOW)
    result = await backend.run(order(workspace=workspace), RecordingReporter())
    assert _read(workspace / "hello.txt") == "hello from the fake agent\n"
    assert (result.usage.tokens_in, result.usage.tokens_out) == (2100 + 2450, 300 + 95)
    assert result.usage.cost_usd == pytest.approx(0.01)  # the last session figure
    assert isinstance(result.payload, ImplementationPayload)
    assert "Applied edit to hello.txt" in result.payload.summary
    assert "Tokens:" not in result.payload.summary
    argv = read_json(record)["argv"]
    assert argv[argv.index("--model") + 1] == "gpt-4o"
    history = Path(argv[argv.index("--chat-history-file") + 1])
    assert not history.is_relative_to(workspace)


async def test_aider_reviewer_answers_in_ask_mode(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "review")
    backend = aider(executable=fake("aider"), roles=("executor", "reviewer"), env_allow=ALLOW)
    result = await backend.run(order("reviewer", "review"), RecordingReporter())
    assert result.payload == ReviewPayload(verdict="pass")
    assert (result.usage.tokens_in, result.usage.tokens_out) == (12000, 250)
    assert result.usage.cost_usd == pytest.approx(0.02)


async def test_aider_without_a_usage_report_never_reached_the_model(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "no_model")
    backend = aider(executable=fake("aider"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order(), RecordingReporter())
    assert caught.value.failure.kind == "malformed_output"
    assert "AuthenticationError" in caught.value.failure.detail


def test_aider_token_counts() -> None:
    assert [parse_count(t) for t in ("950", "2.1k", "12k", "12,450", "1.5M")] == [
        950,
        2100,
        12000,
        12450,
        1_500_000,
    ]


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


def test_aider_refuses_roles_it_cannot_play() -> None:
    with pytest.raises(BackendConfigError) as caught:
        aider(roles=("planner",))
    assert caught.value.option == "roles"


async def test_unsupported_role_is_refused() -> None:
    with pytest.raises(BackendError) as caught:
        await aider().run(order("reviewer", "review"), RecordingReporter())
    assert caught.value.failure.kind == "unsupported_role"
