"""Running validators against an attempt."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import assert_never

from playbill.runtime import (
    ArtifactExists,
    BuildPasses,
    CommandPasses,
    FileChanged,
    HumanApproval,
    TestsPass,
    Validator,
)

from ._commands import error, run_exit_code, run_tests
from ._context import ValidationContext
from ._files import check_artifact, check_file_changed
from ._result import ValidationResult, label

logger = logging.getLogger(__name__)


async def run_validator(v: Validator, ctx: ValidationContext) -> ValidationResult:
    """Run one validator against the attempt that ``ctx`` describes.

    Every way a validator can go wrong is a failing result, never an
    exception: a command that cannot start, a path outside the worktree or a
    missing test report fails with kind ``validator_error``, a command past
    its timeout (its whole process group killed) with ``validator_timeout``.
    A ``human_approval`` is decided by a person, not run: given one, this
    returns a ``validator_error`` (see ``human_gates``).

    Args:
        v: The validator.
        ctx: The worktree, its changes and the environment for commands.

    Returns:
        The result, with its evidence and the end of any command's output.
    """
    name = ctx.redactor.redact(label(v))
    logger.debug("validator %s runs", name)
    result = await _run_validator(v, name, ctx)
    logger.info(
        "validator %s %s%s",
        name,
        "passed" if result.passed else "failed",
        f" ({result.failure.kind})" if result.failure is not None else "",
    )
    return result


async def _run_validator(v: Validator, name: str, ctx: ValidationContext) -> ValidationResult:
    match v:
        case CommandPasses() | BuildPasses():
            return await run_exit_code(v, name, ctx)
        case TestsPass():
            return await run_tests(v, name, ctx)
        case FileChanged():
            return check_file_changed(v, name, ctx)
        case ArtifactExists():
            return await check_artifact(v, name, ctx)
        case HumanApproval():
            return error(name, "human approval is decided by a person, not run")
        case _:
            assert_never(v)


async def run_validators(
    validators: Sequence[Validator], ctx: ValidationContext
) -> tuple[ValidationResult, ...]:
    """Run validators one after another, all of them, whatever fails.

    Every result is evidence, so a failure does not stop the rest.
    ``human_approval`` validators are skipped: the runtime asks a person for
    them (see ``human_gates``).

    Args:
        validators: The validators, in the order to run them.
        ctx: The worktree, its changes and the environment for commands.

    Returns:
        One result per validator that is not a human approval, in order.
    """
    results = []
    for v in validators:
        if isinstance(v, HumanApproval):
            continue
        results.append(await run_validator(v, ctx))
    return tuple(results)
