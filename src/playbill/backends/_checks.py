"""The checks backend: a verifier that runs a step's validators for real.

Given a verification of an attempt, it runs each of the step's validators
(but ``human_approval``, which a person decides) in the attempt's worktree,
one after another, and reports one check per validator, named as the policy
names them (``tests_pass``, ``tests_pass#2``...), with its typed failure,
its score, and the end of its output (secrets redacted). It sends a
heartbeat every ``heartbeat_s`` while validators run, so a long test suite
is not taken for a hung agent, and reports the wall time its checks took.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, final

import attrs
import trio
from msgspec.structs import replace

from playbill._redact import Redactor
from playbill.runtime import (
    Check,
    Evidence,
    Failure,
    HumanApproval,
    ImplementationPayload,
    ResultEnvelope,
    Usage,
    VerificationPayload,
    validator_names,
)
from playbill.validators import ValidationContext, command_env, run_validator

from ._backend import BackendError, Capabilities, Reporter, WorkOrder

if TYPE_CHECKING:
    from ._backend_options import ChecksOptions


@final
@attrs.frozen
class ChecksBackend:
    """Runs the step's validators in the attempt's worktree (see the module).

    ``checks(...)`` makes one from its options given one by one.

    Attributes:
        options: Its options (``ChecksOptions``): the environment of the
            validators' commands, how often it sends a heartbeat.
        redactor: Keeps secret values out of the output it reports.
    """

    options: ChecksOptions
    redactor: Redactor = attrs.field(factory=Redactor.from_environ, kw_only=True)

    name: ClassVar[str] = "checks"

    @property
    def capabilities(self) -> Capabilities:
        """A verifier that edits nothing and uses no tokens."""
        return Capabilities(roles=frozenset({"verifier"}), reports_usage=False)

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        """Run the validators and report one check each.

        Raises:
            BackendError: There is no worktree to check (``no_workspace``).
        """
        if order.workspace is None:
            failure = Failure(
                failure_class="policy",
                kind="no_workspace",
                detail=f"attempt {order.attempt} of {order.step.id!r} has no worktree to check",
            )
            raise BackendError(failure)
        subject = order.subject.payload if order.subject is not None else None
        changed = subject.changed_files if isinstance(subject, ImplementationPayload) else ()
        context = ValidationContext(
            worktree=order.workspace,
            changed_files=changed,
            redactor=self.redactor,
            env={**command_env(self.options.env_allow), **self.options.env},
            on_start=report.process_started,
        )
        checks: list[Check] = []
        evidence: list[Evidence] = []
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._beat, report)
            for name, validator in validator_names(order.step.validators):
                if isinstance(validator, HumanApproval):
                    continue
                await report.heartbeat(f"running {name}")
                result = await run_validator(validator, context)
                detail = result.output_tail or result.check.detail
                checks.append(
                    replace(
                        result.check,
                        name=name,
                        detail=detail,
                        failure=result.failure,
                        score=result.score,
                    )
                )
                evidence.extend(result.evidence)
            nursery.cancel_scope.cancel()
        usage = Usage(wall_s=max(0.0, trio.current_time() - started))
        await report.usage(usage)  # the time its checks took, for the agent's wall
        return ResultEnvelope(
            agent=order.agent,
            role="verifier",
            step=order.step.id,
            attempt=order.attempt,
            exit_status="ok",
            payload=VerificationPayload(checks=tuple(checks)),
            usage=usage,
            evidence=tuple(evidence),
        )

    async def _beat(self, report: Reporter) -> None:
        while True:
            await trio.sleep(self.options.heartbeat_s)
            await report.heartbeat("validators running")
