"""The validators that run a command: ``command_passes``, ``build_passes``, ``tests_pass``."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import trio

from playbill._redact import tail
from playbill.runtime import BuildPasses, CommandPasses, Evidence, Failure, TestsPass

from ._context import PathEscapeError, ValidationContext, confine
from ._junit import JUnitCounts, JUnitReportError, is_pytest, read_junit
from ._process import Exited, NotStarted, Outcome, TimedOut, describe_exit, run_command
from ._python import with_project_python
from ._result import ValidationResult, command_line, failed, passed

PYTEST_NO_TESTS = 5
"""pytest's exit status when it collected no test."""

DETAIL_LIMIT = 1000
"""Characters of a failure's detail (the command line can be long)."""


def clip(text: str, limit: int = DETAIL_LIMIT) -> str:
    """``text`` cut to ``limit`` characters."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error(name: str, detail: str) -> ValidationResult:
    """A validator that could not do its job: kind ``validator_error``."""
    failure = Failure(failure_class="validation", kind="validator_error", detail=clip(detail))
    return failed(name, failure)


def output_of(outcome: Exited | TimedOut, ctx: ValidationContext) -> str:
    """The command's output as kept: redacted, then cut to ``ctx.output_limit``."""
    text = ctx.redactor.redact_bytes(outcome.output)
    if outcome.dropped:
        # The kept bytes may start inside a secret whose beginning was dropped;
        # redaction cannot recognize that fragment, so cut past it.
        longest = max((len(value) for _, value in ctx.redactor.secrets), default=1)
        text = text[longest - 1 :]
        return f"[... {outcome.dropped} earlier bytes dropped]\n" + tail(text, ctx.output_limit)
    return tail(text, ctx.output_limit)


async def _run(
    name: str,
    argv: Sequence[str],
    *,
    cwd: str,
    timeout_s: float,
    ctx: ValidationContext,
    shell: bool = False,
    env: dict[str, str] | None = None,
    shown: str | None = None,
) -> tuple[str, Outcome] | ValidationResult:
    """Run a validator's command: the command line shown and its outcome, or an error result.

    ``shown`` is the command line for people (``argv``'s by default).
    """
    if shown is None:
        shown = ctx.redactor.redact(command_line(argv, shell=shell))
    if not argv or (shell and not " ".join(argv).strip()):
        return error(name, "an empty command; nothing to run")
    try:
        where = confine(ctx.worktree, cwd)
    except PathEscapeError as exc:
        return error(name, f"{shown}: cwd {cwd!r} refused: {exc.reason}")
    if not where.is_dir():
        return error(name, f"{shown}: cwd {cwd!r} is not a directory in the worktree")
    outcome = await run_command(
        argv,
        cwd=where,
        env=ctx.env if env is None else env,
        timeout_s=timeout_s,
        shell=shell,
        on_start=ctx.on_start,
    )
    return shown, outcome


def _unfinished(
    name: str, shown: str, outcome: NotStarted | TimedOut, timeout_s: float, ctx: ValidationContext
) -> ValidationResult:
    if isinstance(outcome, NotStarted):
        return error(name, f"{shown}: could not start: {outcome.reason}")
    detail = clip(f"{shown}: killed after its {timeout_s:g} s timeout, expected it to finish")
    failure = Failure(failure_class="transient", kind="validator_timeout", detail=detail)
    proof = Evidence(kind="command", ref=shown, detail=f"timed out after {timeout_s:g} s")
    return failed(name, failure, evidence=(proof,), output_tail=output_of(outcome, ctx))


async def run_exit_code(
    v: CommandPasses | BuildPasses, name: str, ctx: ValidationContext
) -> ValidationResult:
    """``command_passes`` (exit status ``expect_exit``) and ``build_passes`` (exit 0)."""
    shell = isinstance(v, CommandPasses) and v.shell
    expect = v.expect_exit if isinstance(v, CommandPasses) else 0
    kind = "command_failed" if isinstance(v, CommandPasses) else "build_failed"
    ran = await _run(name, v.argv, cwd=v.cwd, timeout_s=v.timeout_s, ctx=ctx, shell=shell)
    if isinstance(ran, ValidationResult):
        return ran
    shown, outcome = ran
    if not isinstance(outcome, Exited):
        return _unfinished(name, shown, outcome, v.timeout_s, ctx)
    status = describe_exit(outcome.returncode)
    proof = Evidence(kind="command", ref=shown, detail=status)
    output = output_of(outcome, ctx)
    if outcome.returncode == expect:
        return passed(name, detail=status, evidence=(proof,), output_tail=output)
    detail = clip(f"{shown}: {status}, expected exit {expect}")
    failure = Failure(failure_class="validation", kind=kind, detail=detail)
    return failed(name, failure, evidence=(proof,), output_tail=output)


async def run_tests(v: TestsPass, name: str, ctx: ValidationContext) -> ValidationResult:
    """``tests_pass``: counts from pytest's JUnit report, or the exit status alone.

    For a pytest command (see ``is_pytest``) the runner appends
    ``--junitxml=<a file outside the worktree>`` and ``-p no:cacheprovider``
    and sets ``PYTHONDONTWRITEBYTECODE=1``, so the worktree stays as the
    attempt left it. The suite passes when pytest exits 0, no test failed or
    errored, and at least ``min_passed`` passed. Any other command is judged
    by its exit status alone (0 passes), with no counts. A command that
    starts with a bare ``python`` runs with the project's interpreter, never
    playbill's (see ``_python``); the evidence shows the command as the plan
    wrote it.
    """
    if not is_pytest(v.argv):
        return await _run_untyped_tests(v, name, ctx)
    with tempfile.TemporaryDirectory(prefix="playbill-junit-") as tmp:
        report = Path(tmp) / "junit.xml"
        command = with_project_python(v.argv, ctx.worktree, ctx.env)
        argv = (*command, f"--junitxml={report}", "-p", "no:cacheprovider")
        env = {**ctx.env, "PYTHONDONTWRITEBYTECODE": "1"}
        shown = ctx.redactor.redact(command_line(v.argv))
        ran = await _run(
            name, argv, cwd=v.cwd, timeout_s=v.timeout_s, ctx=ctx, env=env, shown=shown
        )
        if isinstance(ran, ValidationResult):
            return ran
        _, outcome = ran
        if not isinstance(outcome, Exited):
            return _unfinished(name, shown, outcome, v.timeout_s, ctx)
        status = describe_exit(outcome.returncode)
        output = output_of(outcome, ctx)
        if outcome.returncode == PYTEST_NO_TESTS:
            detail = clip(
                f"{shown}: no tests collected ({status}), expected {v.min_passed}+ passing"
            )
            failure = Failure(failure_class="validation", kind="tests_failed", detail=detail)
            proof = Evidence(kind="test", ref=shown, detail=f"no tests collected ({status})")
            return failed(name, failure, evidence=(proof,), output_tail=output, tests=(0, 0))
        try:
            counts = await trio.to_thread.run_sync(read_junit, report)
        except JUnitReportError as exc:
            failure = Failure(
                failure_class="validation",
                kind="validator_error",
                detail=clip(f"{shown}: {status}, but its JUnit report is {exc.reason}"),
            )
            proof = Evidence(kind="command", ref=shown, detail=status)
            return failed(name, failure, evidence=(proof,), output_tail=output)
        return _judge_counts(v, name, shown, outcome.returncode, counts, output)


def _judge_counts(
    v: TestsPass, name: str, shown: str, returncode: int, counts: JUnitCounts, output: str
) -> ValidationResult:
    status = describe_exit(returncode)
    summary = f"{counts.passed} passed, {counts.failed} failed, {counts.skipped} skipped"
    proof = Evidence(kind="test", ref=shown, detail=f"{summary} ({status})")
    ran = counts.passed + counts.failed
    score = counts.passed / ran if ran else 0.0
    tests = (counts.passed, counts.failed)
    if returncode == 0 and counts.failed == 0 and counts.passed >= v.min_passed:
        return passed(
            name, detail=summary, evidence=(proof,), output_tail=output, score=score, tests=tests
        )
    detail = clip(
        f"{shown}: {status}, {summary}; expected exit 0, no failures "
        f"and at least {v.min_passed} passed"
    )
    failure = Failure(failure_class="validation", kind="tests_failed", detail=detail)
    return failed(name, failure, evidence=(proof,), output_tail=output, score=score, tests=tests)


async def _run_untyped_tests(v: TestsPass, name: str, ctx: ValidationContext) -> ValidationResult:
    """A test command that is not pytest: its exit status is the verdict, without counts."""
    shown = ctx.redactor.redact(command_line(v.argv))
    argv = with_project_python(v.argv, ctx.worktree, ctx.env)
    ran = await _run(name, argv, cwd=v.cwd, timeout_s=v.timeout_s, ctx=ctx, shown=shown)
    if isinstance(ran, ValidationResult):
        return ran
    shown, outcome = ran
    if not isinstance(outcome, Exited):
        return _unfinished(name, shown, outcome, v.timeout_s, ctx)
    status = describe_exit(outcome.returncode)
    proof = Evidence(kind="test", ref=shown, detail=f"{status} (not pytest: no test counts)")
    output = output_of(outcome, ctx)
    if outcome.returncode == 0:
        return passed(name, detail=status, evidence=(proof,), output_tail=output)
    detail = clip(f"{shown}: {status}, expected exit 0")
    failure = Failure(failure_class="validation", kind="tests_failed", detail=detail)
    return failed(name, failure, evidence=(proof,), output_tail=output)
