"""The scripted backend: deterministic agents that make real edits.

For demos, tests and reproductions: each step has a script, one entry per
attempt (the last one repeats). An executor's entry lists file edits, which
it makes in the attempt's worktree (paths confined to it) and reports as an
implementation; a reviewer's entry gives a verdict; a planner's entry
proposes steps. An entry may instead fail with a typed ``Failure``. Nothing
is random, so a run with scripted agents is the same every time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar, final

import attrs
import trio

from playbill.runtime import (
    Criterion,
    Failure,
    Finding,
    ImplementationPayload,
    PlanPayload,
    ResultEnvelope,
    ReviewPayload,
    Role,
    RolePayload,
    StepSpec,
    Usage,
    Verdict,
)
from playbill.workspaces import confine

from ._backend import BackendError, Capabilities, Reporter, WorkOrder


@final
@attrs.frozen
class Edit:
    """One file edit: write ``content`` at ``path`` (relative), or delete it (``None``)."""

    path: str
    content: str | None


@final
@attrs.frozen
class Scripted:
    """What a scripted agent does on one attempt.

    Attributes:
        edits: Files an executor writes or deletes in its worktree.
        summary: What it says it did.
        verdict: A reviewer's verdict.
        findings: A reviewer's remarks.
        steps: The steps a planner proposes.
        criteria: The acceptance criteria a planner proposes.
        fail: Fail the attempt with this, instead of doing anything.
        tokens_in: Prompt tokens it reports using.
        tokens_out: Completion tokens it reports using.
        cost_usd: Cost it reports.
    """

    edits: tuple[Edit, ...] = ()
    summary: str = ""
    verdict: Verdict = "pass"
    findings: tuple[Finding, ...] = ()
    steps: tuple[StepSpec, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    fail: Failure | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    @property
    def usage(self) -> Usage:
        """What the attempt reports using."""
        return Usage(tokens_in=self.tokens_in, tokens_out=self.tokens_out, cost_usd=self.cost_usd)


@final
@attrs.frozen
class ScriptedBackend:
    """Plays a script per step (see the module).

    Attributes:
        script: For each step id, what to do on attempt 1, 2...; the last
            entry repeats. A step with no script gets ``Scripted()``: no
            edits, a passing verdict.
        roles: The roles it plays.
    """

    script: Mapping[str, Sequence[Scripted]] = attrs.field(factory=dict)
    roles: frozenset[Role] = frozenset({"planner", "executor", "reviewer"})

    name: ClassVar[str] = "scripted"

    @property
    def capabilities(self) -> Capabilities:
        """What it plays; it edits files when it plays an executor."""
        return Capabilities(roles=self.roles, edits_files="executor" in self.roles)

    async def run(self, order: WorkOrder, report: Reporter) -> ResultEnvelope:
        """Play the script's entry for the order's step and attempt.

        Raises:
            BackendError: The entry says to fail, or an edit leaves the worktree.
        """
        entry = self.entry(order.step.id, order.attempt)
        await report.heartbeat(f"{order.kind} {order.step.id}")
        if entry.usage != Usage():
            await report.usage(entry.usage)  # the result's usage repeats it
        if entry.fail is not None:
            raise BackendError(entry.fail)
        payload: RolePayload
        if order.kind == "review":
            payload = ReviewPayload(verdict=entry.verdict, findings=entry.findings)
        elif order.role == "planner":
            payload = PlanPayload(
                steps=entry.steps, criteria=entry.criteria, rationale=entry.summary
            )
        elif order.role == "reviewer":
            payload = ReviewPayload(verdict=entry.verdict, findings=entry.findings)
        else:
            await self._edit(order, entry.edits)
            payload = ImplementationPayload(summary=entry.summary or order.step.goal)
        return ResultEnvelope(
            agent=order.agent,
            role=order.role,
            step=order.step.id,
            attempt=order.attempt,
            exit_status="ok",
            payload=payload,
            usage=entry.usage,
        )

    def entry(self, step: str, attempt: int) -> Scripted:
        """The script's entry for an attempt (the last one repeats)."""
        entries = self.script.get(step, ())
        if not entries:
            return Scripted()
        return entries[min(attempt, len(entries)) - 1]

    async def _edit(self, order: WorkOrder, edits: Sequence[Edit]) -> None:
        if not edits:
            return
        if order.workspace is None:
            failure = Failure(
                failure_class="policy", kind="no_workspace", detail="edits need a worktree"
            )
            raise BackendError(failure)
        root = Path(order.workspace)
        for edit in edits:
            try:
                target = confine(root, edit.path)
            except Exception as outside:  # PathEscapes: the script is wrong
                failure = Failure(failure_class="policy", kind="path_escapes", detail=str(outside))
                raise BackendError(failure) from outside
            await trio.to_thread.run_sync(_apply, target, edit.content)


def _apply(target: Path, content: str | None) -> None:
    if content is None:
        target.unlink(missing_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
