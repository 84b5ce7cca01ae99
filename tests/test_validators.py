"""The validator runner's commands: exit codes, processes, environment, output, messages."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import attrs
import msgspec
import pytest
import trio

from fixtures.validators.helpers import FIXTURES, PY, alive, make_ctx, py, wait_dead
from playbill._redact import Redactor
from playbill.runtime import (
    BuildPasses,
    Check,
    CommandPasses,
    Evidence,
    Failure,
    FileChanged,
    HumanApproval,
    Message,
    ProcessInfo,
    TestsPass,
    ValidationFailed,
    ValidationPassed,
)
from playbill.validators import (
    ENV_ALLOWLIST,
    ValidationResult,
    command_env,
    human_gates,
    label,
    needs_human,
    run_validator,
    run_validators,
)
from playbill.validators._commands import output_of
from playbill.validators._process import Exited

SECRET = "s3cr3t-value-123"

# ------------------------------------------------------------ exit statuses


@pytest.mark.parametrize(("code", "expect", "ok"), [(0, 0, True), (3, 3, True), (1, 0, False)])
async def test_command_passes_compares_the_exit_status(
    tmp_path: Path, code: int, expect: int, ok: bool
) -> None:
    v = CommandPasses(argv=py(f"raise SystemExit({code})"), expect_exit=expect)
    result = await run_validator(v, make_ctx(tmp_path))
    assert result.passed is ok
    shown = shlex.join(v.argv)
    assert result.evidence == (Evidence(kind="command", ref=shown, detail=f"exit {code}"),)
    assert result.check.passed is ok
    assert result.score == (1.0 if ok else 0.0)
    if ok:
        assert result.failure is None
    else:
        assert result.failure is not None
        assert result.failure.failure_class == "validation"
        assert result.failure.kind == "command_failed"
        assert "exit 1, expected exit 0" in result.failure.detail
        assert result.check.detail == result.failure.detail


async def test_a_command_killed_by_a_signal_fails_and_says_so(tmp_path: Path) -> None:
    v = CommandPasses(argv=py("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"))
    result = await run_validator(v, make_ctx(tmp_path))
    assert result.failure is not None
    assert result.failure.kind == "command_failed"
    assert "killed by SIGKILL, expected exit 0" in result.failure.detail


async def test_build_passes_needs_exit_zero(tmp_path: Path) -> None:
    good = await run_validator(BuildPasses(argv=py("pass")), make_ctx(tmp_path))
    bad = await run_validator(BuildPasses(argv=py("raise SystemExit(2)")), make_ctx(tmp_path))
    assert good.passed
    assert bad.failure is not None
    assert (bad.failure.failure_class, bad.failure.kind) == ("validation", "build_failed")
    assert "exit 2, expected exit 0" in bad.failure.detail


async def test_an_executable_that_is_not_there_is_a_validator_error(tmp_path: Path) -> None:
    v = CommandPasses(argv=("playbill-no-such-program-xyz", "--flag"))
    result = await run_validator(v, make_ctx(tmp_path))
    assert not result.passed
    assert result.failure is not None
    assert (result.failure.failure_class, result.failure.kind) == ("validation", "validator_error")
    assert "playbill-no-such-program-xyz --flag: could not start" in result.failure.detail


async def test_a_program_without_execute_permission_is_a_validator_error(tmp_path: Path) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(0o644)
    result = await run_validator(BuildPasses(argv=("./tool",)), make_ctx(tmp_path))
    assert result.failure is not None
    assert result.failure.kind == "validator_error"
    assert "Permission denied" in result.failure.detail


async def test_an_empty_command_is_a_validator_error(tmp_path: Path) -> None:
    result = await run_validator(CommandPasses(argv=()), make_ctx(tmp_path))
    assert result.failure is not None
    assert result.failure.kind == "validator_error"


# --------------------------------------------------------- argv and the shell


async def test_argv_is_not_interpreted_by_a_shell(tmp_path: Path) -> None:
    v = CommandPasses(argv=("echo", "$HOME", "|", "tr", ";", "true"))
    result = await run_validator(v, make_ctx(tmp_path))
    assert result.output_tail == "$HOME | tr ; true\n"


async def test_shell_true_runs_the_joined_argv_through_the_shell(tmp_path: Path) -> None:
    v = CommandPasses(argv=("echo hi", "|", "tr a-z A-Z"), shell=True)
    result = await run_validator(v, make_ctx(tmp_path))
    assert result.passed
    assert result.output_tail == "HI\n"
    assert label(v) == "command_passes:echo hi | tr a-z A-Z"


async def test_stdin_is_empty_and_stderr_is_merged_in_order(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "print(repr(sys.stdin.read()), flush=True)\n"
        "print('to stderr', file=sys.stderr, flush=True)\n"
        "print('to stdout', flush=True)\n"
    )
    result = await run_validator(CommandPasses(argv=py(code)), make_ctx(tmp_path))
    assert result.output_tail == "''\nto stderr\nto stdout\n"


# ---------------------------------------------------------------- the cwd


async def test_commands_run_in_their_cwd_inside_the_worktree(tmp_path: Path) -> None:
    (tmp_path / "sub" / "dir").mkdir(parents=True)
    v = CommandPasses(argv=py("import os; print(os.getcwd())"), cwd="sub/dir")
    result = await run_validator(v, make_ctx(tmp_path))
    assert result.passed
    assert Path(result.output_tail.strip()) == (tmp_path / "sub" / "dir").resolve()
    assert label(v).endswith(" (in sub/dir)")


@pytest.mark.parametrize(
    ("cwd", "reason"),
    [
        ("..", "'..' segment"),
        ("sub/../../x", "'..' segment"),
        ("/tmp", "absolute path"),
        ("outside-link", "resolves outside the worktree"),
        ("missing", "not a directory in the worktree"),
        ("", "empty path"),
    ],
)
async def test_a_cwd_that_leaves_the_worktree_is_refused(
    tmp_path: Path, cwd: str, reason: str
) -> None:
    worktree = tmp_path / "wt"
    (worktree / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (worktree / "outside-link").symlink_to(outside)
    marker = outside / "ran"
    v = CommandPasses(argv=py(f"open({str(marker)!r}, 'w')"), cwd=cwd)
    result = await run_validator(v, make_ctx(worktree))
    assert result.failure is not None
    assert (result.failure.failure_class, result.failure.kind) == ("validation", "validator_error")
    assert reason in result.failure.detail
    assert not marker.exists()


# ---------------------------------------------------------------- timeouts


def _pids(pidfile: Path) -> tuple[int, int]:
    assert pidfile.exists(), "the fixture did not start its child before the timeout"
    parent, child = pidfile.read_text().split()
    return int(parent), int(child)


@pytest.mark.slow
async def test_a_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    v = CommandPasses(
        argv=(PY, "-I", str(FIXTURES / "spawn_sleeper.py"), str(pidfile)), timeout_s=1
    )
    result = await run_validator(v, make_ctx(tmp_path))
    assert not result.passed
    assert result.failure is not None
    assert (result.failure.failure_class, result.failure.kind) == ("transient", "validator_timeout")
    assert "killed after its 1 s timeout" in result.failure.detail
    assert result.score == 0.0
    assert "spawned" in result.output_tail  # what it wrote before it hung is kept
    parent, child = _pids(pidfile)
    # the command itself is reaped: no zombie of ours is left behind
    with pytest.raises(ChildProcessError):
        os.waitpid(parent, os.WNOHANG)  # noqa: ASYNC222 - WNOHANG never blocks
    assert not alive(parent)
    assert await wait_dead(child), "the grandchild outlived the timeout"


async def test_cancelling_the_runner_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    v = CommandPasses(argv=(PY, "-I", str(FIXTURES / "spawn_sleeper.py"), str(pidfile)))
    with trio.fail_after(30):  # a bound, should the fixture never start
        async with trio.open_nursery() as nursery:

            async def cancel_once_started() -> None:
                while not pidfile.exists():  # noqa: ASYNC110 - a file appearing sends no event
                    await trio.sleep(0.01)
                nursery.cancel_scope.cancel()

            nursery.start_soon(run_validator, v, make_ctx(tmp_path))
            nursery.start_soon(cancel_once_started)
    parent, child = _pids(pidfile)
    assert not alive(parent)
    assert await wait_dead(child)


async def test_a_command_that_leaves_a_background_process_finishes(tmp_path: Path) -> None:
    v = CommandPasses(argv=("sleep 60 & echo $! > bg.pid",), shell=True, timeout_s=30)
    result = await run_validator(v, make_ctx(tmp_path))
    assert result.passed, result.failure
    assert await wait_dead(int((tmp_path / "bg.pid").read_text()))


async def test_each_command_is_reported_as_it_starts(tmp_path: Path) -> None:
    seen: list[ProcessInfo] = []

    async def on_start(process: ProcessInfo) -> None:
        seen.append(process)

    v = CommandPasses(argv=("echo $$ > me.pid",), shell=True, timeout_s=30)
    ctx = attrs.evolve(make_ctx(tmp_path), on_start=on_start)
    result = await run_validator(v, ctx)
    assert result.passed, result.failure
    [process] = seen
    leader = int((tmp_path / "me.pid").read_text())
    assert (process.pid, process.pgid) == (leader, leader)
    assert process.label == "/bin/sh"


# ------------------------------------------------------- environment, secrets


def test_command_env_keeps_only_the_allowlist() -> None:
    environ = {"PATH": "/bin", "HOME": "/h", "MY_API_KEY": SECRET, "OTHER": "x", "EXTRA": "y"}
    assert command_env(environ=environ) == {"PATH": "/bin", "HOME": "/h"}
    assert command_env(["EXTRA"], environ=environ) == {"PATH": "/bin", "HOME": "/h", "EXTRA": "y"}
    assert {"PATH", "HOME", "LANG", "TZ", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH"} <= set(
        ENV_ALLOWLIST
    )


PRINT_KEY = py("import os; print(os.environ.get('MY_API_KEY', 'absent'))")


async def test_a_secret_is_not_passed_to_commands_unless_allowlisted(tmp_path: Path) -> None:
    environ = {**os.environ, "MY_API_KEY": SECRET}
    result = await run_validator(CommandPasses(argv=PRINT_KEY), make_ctx(tmp_path, environ=environ))
    assert result.output_tail == "absent\n"


async def test_an_allowlisted_secret_is_redacted_from_the_output(tmp_path: Path) -> None:
    environ = {**os.environ, "MY_API_KEY": SECRET}
    ctx = make_ctx(tmp_path, environ=environ, allow=("MY_API_KEY",))
    result = await run_validator(CommandPasses(argv=PRINT_KEY), ctx)
    assert result.output_tail == "[redacted:MY_API_KEY]\n"


async def test_a_secret_in_the_command_line_is_redacted_everywhere(tmp_path: Path) -> None:
    environ = {**os.environ, "MY_API_KEY": SECRET}
    v = CommandPasses(argv=py(f"print({SECRET!r}); raise SystemExit(4)"))
    result = await run_validator(v, make_ctx(tmp_path, environ=environ))
    assert result.failure is not None
    message = result.to_message("s", 1)
    encoded = msgspec.json.encode(message).decode()
    assert SECRET not in encoded
    assert SECRET not in repr(result)
    assert "[redacted:MY_API_KEY]" in result.failure.detail


# ------------------------------------------------------------------- output


async def test_the_output_tail_keeps_the_end(tmp_path: Path) -> None:
    v = CommandPasses(argv=py("print('x' * 10000); print('END')"))
    result = await run_validator(v, make_ctx(tmp_path, output_limit=100))
    assert result.output_tail.startswith("[... 9905 characters cut]\n")
    assert result.output_tail.endswith("x" * 95 + "\nEND\n")


def test_dropped_output_never_shows_the_end_of_a_secret() -> None:
    redactor = Redactor.from_environ({"MY_API_KEY": SECRET})
    ctx = make_ctx(Path(), environ={"MY_API_KEY": SECRET})
    assert ctx.redactor == redactor
    # the kept bytes start inside the secret: its first part was dropped
    kept = Exited(returncode=0, output=SECRET[5:].encode() + b" and then " + b"y" * 50, dropped=9)
    text = output_of(kept, ctx)
    assert SECRET[5:] not in text
    assert text.startswith("[... 9 earlier bytes dropped]\n")
    assert text.endswith("y" * 50)


# ---------------------------------------------------------- runs and messages


async def test_run_validators_runs_all_in_order_and_skips_human_gates(tmp_path: Path) -> None:
    gate = HumanApproval(prompt="looks right?")
    validators = (
        CommandPasses(argv=py("raise SystemExit(1)")),
        gate,
        FileChanged(path="src/**"),
        BuildPasses(argv=py("pass")),
    )
    results = await run_validators(validators, make_ctx(tmp_path, changed=("src/a.py",)))
    assert [r.validator for r in results] == [label(v) for v in validators if v is not gate]
    assert [r.passed for r in results] == [False, True, True]
    assert human_gates(validators) == (gate,)
    assert [needs_human(v) for v in validators] == [False, True, False, False]


async def test_a_human_approval_is_not_run(tmp_path: Path) -> None:
    result = await run_validator(HumanApproval(), make_ctx(tmp_path))
    assert result.failure is not None
    assert result.failure.kind == "validator_error"
    assert result.failure.detail == "human approval is decided by a person, not run"


def test_labels_are_short_and_stable() -> None:
    assert label(TestsPass()) == "tests_pass"
    assert label(TestsPass(argv=("make", "test"))) == "tests_pass:make test"
    assert label(CommandPasses(argv=("make", "check"))) == "command_passes:make check"
    assert label(CommandPasses(argv=("echo", "a b"))) == "command_passes:echo 'a b'"
    assert label(BuildPasses(argv=("make",), cwd="web")) == "build_passes:make (in web)"
    assert label(FileChanged(path="src/*.py")) == "file_changed:src/*.py"
    assert label(HumanApproval(prompt="ok?")) == "human_approval"


async def test_messages_round_trip_through_the_journal_codec(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path)
    ok = await run_validator(CommandPasses(argv=py("print('fine')")), ctx)
    bad = await run_validator(CommandPasses(argv=py("print('broken'); exit(1)")), ctx)
    decoder = msgspec.json.Decoder(Message)  # type: ignore[arg-type]
    passed_msg = ok.to_message("build", 2)
    failed_msg = bad.to_message("build", 2, name="command_passes")
    assert isinstance(passed_msg, ValidationPassed)
    assert isinstance(failed_msg, ValidationFailed)
    assert passed_msg.score == 1.0
    assert passed_msg.evidence == ok.evidence
    assert passed_msg.validator == ok.validator
    assert failed_msg.validator == "command_passes"
    assert failed_msg.failure == bad.failure
    assert failed_msg.output_tail == "broken\n"
    for message in (passed_msg, failed_msg):
        assert decoder.decode(msgspec.json.encode(message)) == message


def test_a_result_passes_exactly_when_it_has_no_failure() -> None:
    failure = Failure(failure_class="validation", kind="command_failed")
    with pytest.raises(ValueError, match="exactly when"):
        ValidationResult(validator="x", passed=True, failure=failure)
    with pytest.raises(ValueError, match="exactly when"):
        ValidationResult(validator="x", passed=False)
    result = ValidationResult(validator="x", passed=False, failure=failure)
    assert result.check == Check(name="x", passed=False, detail="")
