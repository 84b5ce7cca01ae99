"""The command backend and the prompt it sends: real processes, fake agents."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
import trio

from backend_helpers import (
    FIXTURES,
    RecordingReporter,
    alive,
    order,
    read_json,
    wait_dead,
    wait_for_file,
)
from playbill.backends import BackendConfigError, CommandBackend, command
from playbill.backends._backend import BackendError
from playbill.backends._prompt import payload_type, render_prompt, result_schema
from playbill.runtime import (
    ROLES,
    Failure,
    Finding,
    ImplementationPayload,
    PlanPayload,
    ReviewPayload,
    StepSpec,
    Usage,
    VerificationPayload,
)

FAKE = str(FIXTURES / "fake_command.py")


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "record.json"
    monkeypatch.setenv("FAKE_RECORD", str(path))
    return path


def _exists(path: Path) -> bool:
    return path.exists()


def backend(mode: str, monkeypatch: pytest.MonkeyPatch, **options: object) -> CommandBackend:
    monkeypatch.setenv("FAKE_MODE", mode)
    allow = ("FAKE_MODE", "FAKE_RECORD", "FAKE_PIDS", "FAKE_SECRET_TOKEN")
    argv = options.pop("argv", (FAKE, "--step", "{step}", "--prompt", "{prompt_file}"))
    return command(argv=argv, env_allow=allow, **options)


# ----------------------------------------------------------------- prompts


def test_payload_type_follows_kind_then_role() -> None:
    assert payload_type("executor", "work") is ImplementationPayload
    assert payload_type("planner", "work") is PlanPayload
    assert payload_type("reviewer", "work") is ReviewPayload
    assert payload_type("verifier", "work") is VerificationPayload
    assert payload_type("executor", "review") is ReviewPayload
    assert payload_type("planner", "verify") is VerificationPayload


def test_prompt_for_work_names_goal_scope_validators_and_feedback() -> None:
    feedback = Failure(failure_class="validation", kind="tests_failed", detail="2 tests failed")
    text = render_prompt(order(feedback=feedback))
    assert text.startswith("# ")
    for expected in (
        "run-1",
        "`greet`, attempt 2",
        "Add a hello.txt file saying hello.",
        "- `hello.txt`",
        "- `docs/**`",
        "`python -m pytest -q`",
        "touches a file matching `hello.txt`",
        "tests_failed",
        "2 tests failed",
        "plain-text summary",
    ):
        assert expected in text
    assert "```json" not in text  # an executor answers in prose


def test_prompt_for_review_shows_the_subject_and_the_schema() -> None:
    text = render_prompt(order("reviewer", "review"))
    assert "Change no files" in text
    assert "Added hello.txt." in text
    assert "`abc123`" in text
    assert "`exec-1` (executor), attempt 2" in text
    assert '"kind": "review"' in text
    schema = text.split("```json\n", 1)[1].split("```", 1)[0]
    assert json.loads(schema) == result_schema("reviewer", "review")


def test_prompt_fences_feedback_that_holds_fences() -> None:
    detail = "the tool printed:\n```\nboom\n```"
    text = render_prompt(order(feedback=Failure(failure_class="agent", kind="x", detail=detail)))
    assert "````text\n" + detail + "\n````" in text


def test_prompt_for_a_read_only_executor_step_forbids_changes() -> None:
    text = render_prompt(order(step=StepSpec(id="look", goal="Find the bug.")))
    assert "read-only" in text and "Change no files." in text
    assert "Make the change" not in text


def test_prompt_is_deterministic() -> None:
    a = render_prompt(order("verifier", "verify"))
    b = render_prompt(order("verifier", "verify"))
    assert a.encode() == b.encode()
    assert a != render_prompt(order("reviewer", "review"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("kind", ["work", "review", "verify"])
def test_result_schema_is_strict(role: str, kind: str) -> None:
    schema = result_schema(role, kind)  # type: ignore[arg-type]
    assert schema["type"] == "object"
    assert "$ref" not in schema  # the root is the payload itself

    def walk(node: object) -> None:
        if isinstance(node, dict):
            assert "default" not in node and "discriminator" not in node
            if node.get("type") == "object" and "properties" in node:
                assert node["additionalProperties"] is False
                assert set(node["required"]) == set(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)


def test_strict_schema_still_accepts_full_payloads() -> None:
    schema = result_schema("reviewer", "review")
    assert schema["properties"]["kind"] == {"enum": ["review"]}
    finding = schema["$defs"]["Finding"]
    assert finding["required"] == ["severity", "message", "path", "line"]
    assert {"type": "null"} in finding["properties"]["path"]["anyOf"]


# ------------------------------------------------------------ construction


@pytest.mark.parametrize(
    ("argv", "shell"),
    [
        (("tool", "{nope}"), False),
        (("tool", "{}"), False),
        (("tool", "{step.id}"), False),
        (("tool", "{step!r}"), False),
        (("tool", "{step"), False),
        ((), False),
        (("a", "b"), True),
    ],
)
def test_bad_templates_are_refused_at_construction(argv: tuple[str, ...], shell: bool) -> None:
    with pytest.raises(BackendConfigError) as caught:
        command(argv=argv, shell=shell)
    assert caught.value.option == "argv"


def test_other_bad_options_are_refused() -> None:
    with pytest.raises(BackendConfigError):
        command(argv=("x",), timeout_s=0)
    with pytest.raises(BackendConfigError):
        command(argv=("x",), roles=())
    with pytest.raises(BackendConfigError):
        command(argv=("x",), result="stderr")


def test_capabilities_and_name() -> None:
    b = command(argv=("x",), roles=("reviewer",), edits_files=False)
    assert b.name == "command"
    assert b.capabilities.roles == frozenset({"reviewer"})
    assert not b.capabilities.edits_files
    assert b.capabilities.tool_files == ()


def test_the_files_a_command_writes_for_itself_are_what_it_says() -> None:
    b = command(argv=("x",), ignore=[".cache/", "*.log"])
    assert b.capabilities.tool_files == (".cache/", "*.log")
    for bad in ("", "# comment", "a\nb"):
        with pytest.raises(BackendConfigError) as caught:
            command(argv=("x",), ignore=(bad,))
        assert caught.value.option == "ignore"


# ------------------------------------------------------------------- runs


async def test_review_reads_the_last_json_line_and_reports_usage(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    reporter = RecordingReporter()
    result = await backend("review", monkeypatch).run(order("reviewer", "review"), reporter)
    assert result.payload == ReviewPayload(
        verdict="pass", findings=(Finding(severity="info", message="ok"),)
    )
    assert (result.agent, result.role, result.step, result.attempt) == (
        "agent-1",
        "reviewer",
        "greet",
        2,
    )
    assert result.exit_status == "ok" and result.exit_code == 0
    assert (result.usage.tokens_in, result.usage.tokens_out) == (1200, 80)
    assert result.usage.cost_usd == pytest.approx(0.0025)
    assert result.usage.wall_s > 0
    assert reporter.usages == [result.usage]
    assert reporter.heartbeats  # at least the start
    seen = read_json(record)
    assert seen["argv"][:2] == ["--step", "greet"]
    prompt_path = Path(seen["argv"][3])
    assert seen["prompt"] == render_prompt(order("reviewer", "review"))
    assert not _exists(prompt_path)  # the scratch directory is gone


async def test_executor_edits_its_workspace_with_a_clean_environment(
    monkeypatch: pytest.MonkeyPatch, record: Path, tmp_path: Path
) -> None:
    work = tmp_path / "wt"
    work.mkdir()
    monkeypatch.setenv("SOME_OTHER_SECRET", "must-not-leak-123")
    result = await backend("edit", monkeypatch).run(order(workspace=work), RecordingReporter())
    assert (work / "hello.txt").read_text() == "hello from the fake agent\n"
    assert result.payload == ImplementationPayload(summary="wrote hello.txt")
    assert result.evidence[0].ref == "hello.txt"
    seen = read_json(record)
    assert Path(seen["cwd"]) == work
    env = seen["env"]
    assert "SOME_OTHER_SECRET" not in env
    assert env["FAKE_MODE"] == "edit"
    assert env["PLAYBILL_STEP"] == "greet" and env["PLAYBILL_ATTEMPT"] == "2"
    assert env["PLAYBILL_WORKTREE"] == str(work)
    assert not Path(env["PLAYBILL_PROMPT_FILE"]).is_relative_to(work)


async def test_result_file_mode(monkeypatch: pytest.MonkeyPatch, record: Path) -> None:
    b = backend("file", monkeypatch, argv=(FAKE, "--result", "{result_file}"), result="file")
    result = await b.run(order("reviewer", "review"), RecordingReporter())
    assert isinstance(result.payload, ReviewPayload)
    missing = backend("no_file", monkeypatch, argv=(FAKE,), result="file")
    with pytest.raises(BackendError) as caught:
        await missing.run(order("reviewer", "review"), RecordingReporter())
    assert caught.value.failure.kind == "malformed_output"


async def test_shell_mode_quotes_placeholders(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    b = backend("review", monkeypatch, argv=(f"{FAKE} --agent {{agent}} | cat",), shell=True)
    result = await b.run(order("reviewer", "review", agent="a b;echo x"), RecordingReporter())
    assert isinstance(result.payload, ReviewPayload)
    assert read_json(record)["argv"] == ["--agent", "a b;echo x"]


async def test_non_zero_exit_is_an_agent_failure_with_a_redacted_tail(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    monkeypatch.setenv("FAKE_SECRET_TOKEN", "sekrit-value-42")
    with pytest.raises(BackendError) as caught:
        await backend("exit", monkeypatch).run(order(), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "exit_status")
    assert "status 3" in failure.detail and "partial output" in failure.detail
    assert "sekrit-value-42" not in failure.detail
    assert "[redacted:FAKE_SECRET_TOKEN]" in failure.detail
    assert caught.value.usage.wall_s > 0


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("garbage", "no line holding a JSON object"),
        ("bad_payload", "$.payload.verdict"),
        ("wrong_kind", "$.payload.kind"),
    ],
)
async def test_malformed_output(
    monkeypatch: pytest.MonkeyPatch, record: Path, mode: str, expected: str
) -> None:
    with pytest.raises(BackendError) as caught:
        await backend(mode, monkeypatch).run(order("reviewer", "review"), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "malformed_output")
    assert expected in failure.detail


async def test_missing_executable_is_backend_unavailable(tmp_path: Path) -> None:
    b = command(argv=(str(tmp_path / "no-such-tool"),))
    with pytest.raises(BackendError) as caught:
        await b.run(order(), RecordingReporter())
    assert (caught.value.failure.failure_class, caught.value.failure.kind) == (
        "policy",
        "backend_unavailable",
    )
    shell = command(argv=("no-such-tool-playbill --x",), shell=True)
    with pytest.raises(BackendError) as caught:
        await shell.run(order(), RecordingReporter())
    assert caught.value.failure.kind == "backend_unavailable"


async def test_unsupported_role_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    b = backend("review", monkeypatch, roles=("executor",))
    with pytest.raises(BackendError) as caught:
        await b.run(order("reviewer", "review"), RecordingReporter())
    assert caught.value.failure.kind == "unsupported_role"


@pytest.mark.slow
async def test_timeout_kills_the_whole_process_group(
    monkeypatch: pytest.MonkeyPatch, record: Path, tmp_path: Path
) -> None:
    pids_file = tmp_path / "pids.json"
    monkeypatch.setenv("FAKE_PIDS", str(pids_file))
    b = backend("hang", monkeypatch, timeout_s=1.0, kill_grace_s=0.05, heartbeat_s=0.05)
    reporter = RecordingReporter()
    with pytest.raises(BackendError) as caught:
        await b.run(order(), reporter)
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("transient", "timeout")
    assert "working" in failure.detail
    assert caught.value.usage.wall_s >= 1.0
    assert len(reporter.heartbeats) >= 2
    for pid in read_json(pids_file):
        assert await wait_dead(pid), f"process {pid} survived"


async def test_cancel_kills_the_whole_process_group_promptly(
    monkeypatch: pytest.MonkeyPatch, record: Path, tmp_path: Path
) -> None:
    pids_file = tmp_path / "pids.json"
    monkeypatch.setenv("FAKE_PIDS", str(pids_file))
    b = backend("hang", monkeypatch, timeout_s=60.0, kill_grace_s=0.05)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(b.run, order(), RecordingReporter())
        await wait_for_file(pids_file)
        pids = read_json(pids_file)
        assert all(alive(pid) for pid in pids)
        nursery.cancel_scope.cancel()
    for pid in pids:
        assert await wait_dead(pid), f"process {pid} survived"


async def test_the_process_is_reported_with_what_identifies_it(
    monkeypatch: pytest.MonkeyPatch, record: Path, tmp_path: Path
) -> None:
    pids_file = tmp_path / "pids.json"
    monkeypatch.setenv("FAKE_PIDS", str(pids_file))
    b = backend("hang", monkeypatch, timeout_s=60.0, kill_grace_s=0.05)
    reporter = RecordingReporter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(b.run, order(), reporter)
        await wait_for_file(pids_file)
        leader, _child = read_json(pids_file)
        [process] = reporter.processes  # reported before its work went on
        nursery.cancel_scope.cancel()
    assert (process.pid, process.pgid) == (leader, leader)  # it leads its own group
    assert process.label == "command fake_command.py"
    assert process.host == socket.gethostname()
    if sys.platform.startswith("linux"):
        assert process.start_ticks is not None and process.boot_id


async def test_usage_of_a_failure_is_not_reported_twice(
    monkeypatch: pytest.MonkeyPatch, record: Path
) -> None:
    reporter = RecordingReporter()
    with pytest.raises(BackendError) as caught:
        await backend("garbage", monkeypatch).run(order("reviewer", "review"), reporter)
    assert reporter.usages == []  # the role actor journals the error's usage
    assert caught.value.usage != Usage()


def test_output_nested_too_deep_is_no_json_object_not_a_crash() -> None:
    from playbill.backends._agent_output import json_lines, last_json_line, last_json_object

    deep = '{"a": [' * 50_000
    assert last_json_object(deep) is None
    assert last_json_line(deep) is None
    assert json_lines(deep + '\n{"ok": 1}') == [{"ok": 1}]


@pytest.mark.parametrize(
    ("make", "said"),
    [
        ("import os, sys; os.mkfifo(sys.argv[1])", "is not a regular file (a FIFO)"),
        ("import os, sys; os.symlink('/dev/zero', sys.argv[1])", "is not a regular file"),
        ("import sys; open(sys.argv[1], 'wb').truncate(17 * 1024 * 1024)", "larger than"),
    ],
)
async def test_a_hostile_result_file_is_malformed_output_never_a_hang(
    monkeypatch: pytest.MonkeyPatch, make: str, said: str
) -> None:
    # a FIFO would block an ordinary open for ever; /dev/zero would never end
    hostile = command(
        argv=(sys.executable, "-c", make, "{result_file}"), result="file", timeout_s=60
    )
    with pytest.raises(BackendError) as caught:
        await hostile.run(order("reviewer", "review"), RecordingReporter())
    failure = caught.value.failure
    assert (failure.failure_class, failure.kind) == ("agent", "malformed_output")
    assert "wrote a result file that" in failure.detail and said in failure.detail
