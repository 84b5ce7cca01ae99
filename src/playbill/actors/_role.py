"""The role actor: one agent of the run (planner, executor, reviewer or verifier).

It takes the commands addressed to it — ``step_assigned``,
``review_requested``, ``verification_requested``, ``attempt_cancelled`` —
and does the work with its backend, inside a cancel scope, in a task of its
own so that a cancel reaches it at once. While the backend works, its
heartbeats and usage go to the journal; at the end, its result (or its typed
failure). Everything it says is journaled before anyone hears it.

An exception that is not a ``BackendError`` is a crash of the agent: it ends
the actor, and the supervision tree journals it and restarts the actor.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar, cast, final

import attrs
import trio

from playbill._redact import lone_surrogate_at
from playbill.backends import AgentBackend, BackendError, WorkKind, WorkOrder
from playbill.runtime import (
    AgentRestarted,
    AgentSpec,
    AttemptCancelled,
    Draft,
    Entry,
    Failure,
    Heartbeat,
    HeartbeatMissed,
    Message,
    ProcessInfo,
    ProcessStarted,
    ResultEnvelope,
    ResultProposed,
    ReviewRequested,
    Role,
    RunCancelled,
    RunState,
    StepAssigned,
    StepFailed,
    StepStarted,
    Usage,
    UsageReported,
    VerificationRequested,
)
from playbill.workspaces import GitTampered, ScopeViolation, WorkspaceError, Worktree

from ._usage_check import bad_usage, usage_problem
from ._workbench import Workbench

logger = logging.getLogger(__name__)

T = TypeVar("T")
"""Whatever an agent produced that is redacted before it is journaled."""

Outbox = Callable[[Sequence[Draft]], Awaitable[Sequence[Entry]]]
"""Journals drafts and returns once they are committed (the writer's ``append``)."""

StateQuery = Callable[[], RunState]
"""The run's current state (the reducer answers it)."""


class Inbox(Protocol):
    """Where an actor's deliveries arrive, in seq order, in batches (a ``Mailbox``)."""

    async def receive_batch(self) -> Sequence[Entry]:
        """The next batch (at least one entry).

        Raises:
            trio.EndOfChannel: The inbox is closed and drained.
        """


@final
@attrs.define(eq=False)
class _Reporter:
    """The ``Reporter`` a backend gets: journals heartbeats and usage for one piece of work."""

    _actor: RoleActor
    _order: WorkOrder

    async def heartbeat(self, progress: str = "") -> None:
        order = self._order
        await self._actor._say(
            Heartbeat(
                agent=order.agent,
                step=order.step.id,
                attempt=order.attempt,
                progress=self._actor._clean(progress),
            )
        )

    async def usage(self, usage: Usage) -> None:
        order = self._order
        problem = usage_problem(usage)
        if problem is not None:
            # Raised into the backend, which lets it through: the work fails.
            raise BackendError(bad_usage(order.agent, problem))
        await self._actor._say(
            UsageReported(agent=order.agent, usage=usage, step=order.step.id, attempt=order.attempt)
        )

    async def process_started(self, process: ProcessInfo) -> None:
        order = self._order
        await self._actor._say(
            ProcessStarted(
                agent=order.agent, process=process, step=order.step.id, attempt=order.attempt
            )
        )


@final
@attrs.define(eq=False)
class RoleActor:
    """One agent: its commands in, its facts out, its backend in between.

    Args:
        agent: The agent as planned.
        backend: What does its work.
        run_id: The run.
        outbox: Journals what the agent says.
        state: The run's current state (to find the result under review).
        workbench: For a run on a real repository: executors' attempts work
            in worktrees of their own, reviews and verifications in the
            attempt's, planner and verifier steps in a view of the
            repository (see ``Workbench``).
    """

    _agent: AgentSpec
    _backend: AgentBackend
    _run_id: str
    _outbox: Outbox
    _state: StateQuery
    _workbench: Workbench | None = None
    _work: dict[tuple[str, int], trio.CancelScope] = attrs.field(factory=dict, init=False)
    _crash: BaseException | None = attrs.field(default=None, init=False)
    _views: dict[tuple[str, int], Path] = attrs.field(factory=dict, init=False)

    @property
    def address(self) -> str:
        """Where its commands are addressed: its agent id."""
        return self._agent.id

    async def run(self, inbox: Inbox) -> None:
        """Take commands until the inbox closes (or the actor crashes).

        Raises:
            Exception: The backend crashed (not a ``BackendError``): the
                supervision tree journals it and restarts the actor.
        """
        logger.debug("agent %s starts", self._agent.id, extra={"run_id": self._run_id})
        async with trio.open_nursery() as nursery:
            while True:
                try:
                    batch = await inbox.receive_batch()
                except trio.EndOfChannel:
                    break
                for entry in batch:
                    self._handle(entry.msg, nursery)
            nursery.cancel_scope.cancel()

    def _handle(self, msg: Message, nursery: trio.Nursery) -> None:
        me = self._agent.id
        match msg:
            case StepAssigned(agent=agent) if agent == me:
                self._start(nursery, "work", msg.step, msg.attempt, feedback=msg.feedback)
            case ReviewRequested(reviewer=agent) if agent == me:
                self._start(nursery, "review", msg.step, msg.attempt)
            case VerificationRequested(verifier=agent) if agent == me:
                self._start(nursery, "verify", msg.step, msg.attempt)
            case AttemptCancelled(agent=agent) if agent == me:
                scope = self._work.get((msg.step, msg.attempt))
                if scope is not None:
                    scope.cancel()
            case RunCancelled():
                for scope in self._work.values():
                    scope.cancel()
            case HeartbeatMissed(agent=agent) if agent == me:
                # The run gave up on this agent's work: drop all of it and
                # come back fresh (the policy reuses it once it restarted).
                for scope in self._work.values():
                    scope.cancel()
                nursery.start_soon(self._restarted)
            case _:
                pass  # not for this agent, or nothing to do

    def _start(
        self,
        nursery: trio.Nursery,
        kind: WorkKind,
        step_id: str,
        attempt: int,
        *,
        feedback: Failure | None = None,
    ) -> None:
        state = self._state()
        step = state.steps.get(step_id)
        if step is None:
            return  # the policy never asks this; the state says the step is unknown
        found = step.attempt(attempt)
        if kind == "work" and (
            found is None
            or found.agent != self._agent.id
            or found.status not in ("assigned", "running")
        ):
            return  # stale: the attempt ended while this actor was restarting
        subject: ResultEnvelope | None = None
        if kind != "work":
            subject = found.result if found is not None else None
        role = self._role_for(kind, step.spec.role)
        order = WorkOrder(
            run_id=self._run_id,
            agent=self._agent.id,
            role=role,
            kind=kind,
            step=step.spec,
            attempt=attempt,
            feedback=feedback,
            subject=subject,
        )
        logger.info(
            "agent %s takes %s of %s#%d",
            self._agent.id,
            kind,
            step_id,
            attempt,
            extra={"run_id": self._run_id, "step": step_id, "attempt": attempt},
        )
        scope = trio.CancelScope()
        self._work[(step_id, attempt)] = scope
        nursery.start_soon(self._do, order, scope)

    def _role_for(self, kind: WorkKind, step_role: Role) -> Role:
        if kind == "review":
            return "reviewer"
        if kind == "verify":
            return "verifier"
        return step_role

    async def _do(self, order: WorkOrder, scope: trio.CancelScope) -> None:
        key = (order.step.id, order.attempt)
        try:
            with scope:
                if order.kind == "work":
                    await self._say(
                        StepStarted(step=order.step.id, agent=order.agent, attempt=order.attempt)
                    )
                try:
                    order, worktree = await self._prepare(order)
                    result = await self._guarded(order)
                    if worktree is not None:
                        assert self._workbench is not None
                        result = await self._workbench.finish(worktree, order.step, result)
                except BackendError as failed:
                    await self._failed(order, failed)
                except (ScopeViolation, GitTampered) as refused:
                    await self._failed(order, BackendError(refused.failure))
                except WorkspaceError as broken:
                    failure = Failure(
                        failure_class="transient", kind="workspace_error", detail=str(broken)
                    )
                    await self._failed(order, BackendError(failure))
                else:
                    rejected = self._rejected(order, result)
                    if rejected is not None:
                        await self._failed(order, BackendError(rejected))
                    else:
                        await self._say(ResultProposed(result=self._clean(result)))
        finally:
            if self._work.get(key) is scope:
                del self._work[key]
            done_with = self._views.pop(key, None) if order.kind == "work" else None
            if done_with is not None and self._workbench is not None:
                with trio.CancelScope(shield=True):
                    await self._workbench.drop_view(done_with)

    async def _guarded(self, order: WorkOrder) -> ResultEnvelope:
        """Run the backend; on a real repository, with its shared git directory guarded.

        Raises:
            GitTampered: The agent (or another at work then) changed the
                repository's git directory; it was put back. This wins over
                the backend's own failure.
        """
        bench = self._workbench
        if bench is None:
            return await self._backend.run(order, _Reporter(self, order))
        who = (order.step.id, order.attempt, f"{order.agent}/{order.kind}")
        await bench.begin_work(*who)
        try:
            result = await self._backend.run(order, _Reporter(self, order))
        except BackendError:
            with trio.CancelScope(shield=True):
                await bench.end_work(*who)
            raise
        except BaseException:
            # cancelled: what was changed is put back all the same
            with trio.CancelScope(shield=True), contextlib.suppress(GitTampered):
                await bench.end_work(*who)
            raise
        with trio.CancelScope(shield=True):
            await bench.end_work(*who)
        return result

    async def _prepare(self, order: WorkOrder) -> tuple[WorkOrder, Worktree | None]:
        """Put the work in its worktree, on a real repository (see ``Workbench``)."""
        bench = self._workbench
        if bench is None:
            return order, None
        state = self._state()
        ignore = self._backend.capabilities.tool_files
        if order.kind == "work" and order.role == "executor":
            worktree, new = await bench.enter(state, order.step, order.attempt, ignore)
            if new:
                await self._say(worktree.to_message())
            return attrs.evolve(order, workspace=str(worktree.path)), worktree
        if order.kind == "work":
            view = await bench.view(order.step, order.attempt)
            if view is not None:
                where, what = view
                self._views[(order.step.id, order.attempt)] = where
                return attrs.evolve(order, workspace=str(where), view=what), None
        path = await bench.worktree_of(state, order.step.id, order.attempt, ignore)
        if path is None:
            return order, None
        return attrs.evolve(order, workspace=str(path)), None

    def _rejected(self, order: WorkOrder, result: ResultEnvelope) -> Failure | None:
        """Why a result cannot be journaled as it is: absurd usage, or invalid Unicode."""
        problem = usage_problem(result.usage)
        if problem is not None:
            return bad_usage(order.agent, problem)
        where = lone_surrogate_at(result)
        if where is not None:
            detail = (
                f"agent {order.agent!r} gave a result holding a lone surrogate (a code "
                f"point UTF-8 cannot encode, such as a non-UTF-8 file name or "
                f'"\\ud800" in JSON) at {where}'
            )
            return Failure(failure_class="agent", kind="malformed_output", detail=detail)
        return None

    def _clean(self, value: T) -> T:
        """What the agent produced, with secrets redacted (on a real repository)."""
        bench = self._workbench
        if bench is None:
            return value
        if isinstance(value, str):
            return cast(T, bench.redactor.redact(value))
        return bench.redactor.redact_value(value)

    async def _restarted(self) -> None:
        known = self._state().agents.get(self._agent.id)
        restarts = (known.restarts if known is not None else 0) + 1
        await self._say(AgentRestarted(agent=self._agent.id, restarts=restarts))

    async def _failed(self, order: WorkOrder, failed: BackendError) -> None:
        drafts: list[Message] = []
        problem = usage_problem(failed.usage)
        if problem is not None:
            failed = BackendError(bad_usage(order.agent, problem))
        if failed.usage != Usage():
            drafts.append(
                UsageReported(
                    agent=order.agent,
                    usage=failed.usage,
                    step=order.step.id,
                    attempt=order.attempt,
                )
            )
        failure = self._clean(failed.failure)
        logger.warning(
            "agent %s failed %s#%d: %s/%s",
            order.agent,
            order.step.id,
            order.attempt,
            failure.failure_class,
            failure.kind,
            extra={"run_id": self._run_id, "step": order.step.id, "attempt": order.attempt},
        )
        drafts.append(StepFailed(step=order.step.id, attempt=order.attempt, failure=failure))
        await self._outbox(
            [Draft(msg=m, sender=self._agent.id, recipient="supervisor") for m in drafts]
        )

    async def _say(self, msg: Message, *, recipient: str = "supervisor") -> None:
        await self._outbox([Draft(msg=msg, sender=self._agent.id, recipient=recipient)])
