"""The outcome of one validator, its label, and the message that journals it."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from typing import assert_never, final

import attrs

from playbill.runtime import (
    ArtifactExists,
    BuildPasses,
    Check,
    CommandPasses,
    Evidence,
    Failure,
    FileChanged,
    HumanApproval,
    TestsPass,
    ValidationFailed,
    ValidationPassed,
    Validator,
)

_DEFAULT_TESTS = TestsPass()


def command_line(argv: Sequence[str], *, shell: bool = False) -> str:
    """A command as a person would type it (the shell line itself with ``shell``)."""
    return " ".join(argv) if shell else shlex.join(argv)


def label(v: Validator) -> str:
    """A stable short label for a validator, the same for equal validators.

    ``tests_pass`` (the default test command), ``tests_pass:make test``,
    ``command_passes:make check``, ``build_passes:make``,
    ``file_changed:src/*.py``, ``artifact_exists:dist/app.whl``,
    ``human_approval``. A command run elsewhere than the worktree root ends
    in `` (in DIR)``.
    """
    match v:
        case CommandPasses():
            return _in(f"command_passes:{command_line(v.argv, shell=v.shell)}", v.cwd)
        case BuildPasses():
            return _in(f"build_passes:{command_line(v.argv)}", v.cwd)
        case TestsPass():
            name = (
                "tests_pass"
                if v.argv == _DEFAULT_TESTS.argv
                else f"tests_pass:{command_line(v.argv)}"
            )
            return _in(name, v.cwd)
        case FileChanged():
            return f"file_changed:{v.path}"
        case ArtifactExists():
            return f"artifact_exists:{v.path}"
        case HumanApproval():
            return "human_approval"
        case _:
            assert_never(v)


def _in(name: str, cwd: str) -> str:
    return name if cwd.strip() in ("", ".", "./") else f"{name} (in {cwd})"


def needs_human(v: Validator) -> bool:
    """Whether a person decides ``v`` (``human_approval``) rather than a runner."""
    return isinstance(v, HumanApproval)


def human_gates(validators: Iterable[Validator]) -> tuple[HumanApproval, ...]:
    """The validators a person decides, in order; ``run_validators`` skips them.

    The runtime asks a person for these (``human_approval_requested``) and
    journals the answer; no process is run for them.
    """
    return tuple(v for v in validators if isinstance(v, HumanApproval))


@final
@attrs.frozen
class ValidationResult:
    """What one validator found about an attempt: all of it is evidence.

    A result passes exactly when it has no ``failure``.

    Attributes:
        validator: The validator's label (see ``label``), redacted.
        passed: Whether the validator passed.
        evidence: What was checked: the command and its exit, the test
            counts, the files and their hashes.
        failure: Why it did not pass, or ``None`` when it did. Kinds:
            ``command_failed``, ``tests_failed``, ``build_failed``,
            ``file_not_changed``, ``artifact_missing`` (the work is not
            there), ``validator_error`` (the validator could not run) and
            ``validator_timeout`` (class ``transient``: a retry may pass).
        output_tail: The end of the command's output (stderr merged into
            stdout), secrets redacted; empty when nothing ran.
        check: The same outcome as a verifier's check.
        score: Passed tests over tests that ran, for test suites; otherwise
            1.0 for a pass and 0.0 for a failure; ``None`` when nothing was
            decided (a person's approval).
    """

    validator: str
    passed: bool
    evidence: tuple[Evidence, ...] = ()
    failure: Failure | None = None
    output_tail: str = ""
    check: Check = attrs.field()
    score: float | None = None

    @check.default
    def _check_default(self) -> Check:
        return Check(
            name=self.validator,
            passed=self.passed,
            detail=self.failure.detail if self.failure is not None else "",
        )

    def __attrs_post_init__(self) -> None:
        if self.passed != (self.failure is None):
            raise ValueError("a validation result passes exactly when it has no failure")

    def to_message(
        self, step: str, attempt: int, *, name: str | None = None
    ) -> ValidationPassed | ValidationFailed:
        """The journal message for this result.

        Args:
            step: The step the attempt belongs to.
            attempt: The attempt number.
            name: The key to journal the validation under; the result's
                label when ``None``.

        Returns:
            ``ValidationPassed`` with the evidence and score, or
            ``ValidationFailed`` with the failure, the output tail and the score.
        """
        key = self.validator if name is None else name
        if self.failure is None:
            return ValidationPassed(
                step=step, attempt=attempt, validator=key, evidence=self.evidence, score=self.score
            )
        return ValidationFailed(
            step=step,
            attempt=attempt,
            validator=key,
            failure=self.failure,
            output_tail=self.output_tail,
            score=self.score,
        )


def passed(
    validator: str,
    *,
    detail: str,
    evidence: tuple[Evidence, ...] = (),
    output_tail: str = "",
    score: float = 1.0,
    tests: tuple[int, int] | None = None,
) -> ValidationResult:
    """A passing result; ``tests`` is ``(passed, failed)`` when counted."""
    check = Check(
        name=validator,
        passed=True,
        detail=detail,
        tests_passed=tests[0] if tests else None,
        tests_failed=tests[1] if tests else None,
    )
    return ValidationResult(
        validator=validator,
        passed=True,
        evidence=evidence,
        output_tail=output_tail,
        check=check,
        score=score,
    )


def failed(
    validator: str,
    failure: Failure,
    *,
    evidence: tuple[Evidence, ...] = (),
    output_tail: str = "",
    score: float = 0.0,
    tests: tuple[int, int] | None = None,
) -> ValidationResult:
    """A failing result; ``tests`` is ``(passed, failed)`` when counted."""
    check = Check(
        name=validator,
        passed=False,
        detail=failure.detail,
        tests_passed=tests[0] if tests else None,
        tests_failed=tests[1] if tests else None,
    )
    return ValidationResult(
        validator=validator,
        passed=False,
        evidence=evidence,
        failure=failure,
        output_tail=output_tail,
        check=check,
        score=score,
    )
