"""Claude Code, Codex and Aider presets, against fakes printing recorded output."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend_helpers import FIXTURES, RecordingReporter, order, read_json
from playbill.actors._backend import BackendError
from playbill.actors._cli_agent import CliAgentBackend
from playbill.actors._command import BackendConfigError
from playbill.actors._preset_aider import parse_count
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


async def test_claude_executor_edits_and_reports_tokens_and_cost(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    backend = claude_code(executable=fake("claude"), model="sonnet", env_allow=ALLOW)
    reporter = RecordingReporter()
    result = await backend.run(order(workspace=workspace), reporter)
    assert _read(workspace / "hello.txt") == "hello from the fake agent\n"
    assert result.payload == ImplementationPayload(
        summary="I added hello.txt with a friendly greeting."
    )
    assert result.usage.tokens_in == 12 + 5120 + 20480
    assert result.usage.tokens_out == 310
    assert result.usage.cost_usd == pytest.approx(0.0421)
    assert reporter.usages == [result.usage]
    argv = read_json(record)["argv"]
    assert argv[argv.index("--model") + 1] == "sonnet"
    assert read_json(record)["cwd"] == str(workspace)


async def test_claude_streams_its_events_and_each_line_is_a_heartbeat(
    monkeypatch: pytest.MonkeyPatch, record: Path, workspace: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "edit")
    monkeypatch.setenv("FAKE_EVENT_GAP_S", "0.3")
    backend = claude_code(
        executable=fake("claude"), env_allow=(*ALLOW, "FAKE_EVENT_GAP_S"), heartbeat_s=0.05
    )
    reporter = RecordingReporter()
    result = await backend.run(order(workspace=workspace), reporter)
    assert result.usage.cost_usd == pytest.approx(0.0421)  # the result event, after the others
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
    monkeypatch.setenv("FAKE_MODE", "prose")
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order("reviewer", "review"), RecordingReporter())
    assert (caught.value.failure.failure_class, caught.value.failure.kind) == (
        "agent",
        "malformed_output",
    )
    assert "ship it" in caught.value.failure.detail
    assert caught.value.usage.cost_usd == pytest.approx(0.0117)  # still spent


async def test_claude_is_error_is_an_agent_failure_with_its_usage(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_MODE", "error")
    reporter = RecordingReporter()
    backend = claude_code(executable=fake("claude"), env_allow=ALLOW)
    with pytest.raises(BackendError) as caught:
        await backend.run(order(), reporter)
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "agent_error")
    assert "error_max_turns" in failure.detail
    assert caught.value.usage.cost_usd == pytest.approx(0.31)
    assert caught.value.usage.tokens_in == 55000
    assert reporter.usages == []


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
