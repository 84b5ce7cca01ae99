"""The plumbing ``open_run`` wires together.

Durable appends (retried after a failed commit), the agents' supervision tree
and how it journals crashes and restarts, the loop that takes control
requests other processes queue in the journal, and the end of what a dead
runner's work left running.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import final

import trio

from playbill._process import end_leftover
from playbill.runtime import (
    AgentFailed,
    AgentRestarted,
    ChildFunction,
    Clock,
    ControlRequested,
    Draft,
    Entry,
    Failure,
    Journal,
    JournalWriter,
    Mailbox,
    OnCrash,
    OnRestart,
    ProcessEnd,
    ProcessEnded,
    RunFailed,
    RunState,
    StoreError,
    SupervisionEscalated,
    Supervisor,
)

from .actors import RoleActor

logger = logging.getLogger(__name__)


async def supervise(
    tree: Supervisor,
    append: Appender,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the agents' supervision tree; if it gives up, the run fails, journaled."""
    try:
        await tree.run(task_status=task_status)
    except SupervisionEscalated as gave_up:
        # Agents crashed faster than the restart intensity allows: the run
        # cannot go on, and says why in its journal rather than in a traceback.
        reason = f"agents crashed too often to go on: {gave_up}"
        msg = RunFailed(reason=reason[:2000], failure_class="agent")
        await append([Draft(msg=msg, sender="agents", recipient="*")])


def actor_child(actor: RoleActor, inbox: Mailbox[Entry]) -> ChildFunction:
    """A role actor as a child of the supervision tree, reading its run-long inbox."""

    async def child(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await actor.run(inbox)

    return child


Appender = Callable[[Sequence[Draft]], Awaitable[list[Entry]]]
"""Journals drafts; returns their entries once committed."""

DETAIL_LIMIT = 2000
"""Characters of an exception's text kept in an ``agent_failed``."""

COMMIT_RETRIES = 5
"""Times an append is tried again after a failed commit before the error is raised."""


def durable(writer: JournalWriter, clock: Clock) -> Appender:
    """``writer.append``, tried again when a commit fails (nothing of it was written).

    A failed commit (a full disk, a locked database, an injected fault) fails
    every append of its batch with nothing written, so trying again cannot
    journal anything twice. A lost lease or a closed writer is final.
    """

    async def append(drafts: Sequence[Draft]) -> list[Entry]:
        for retry in range(COMMIT_RETRIES + 1):
            try:
                return await writer.append(drafts)
            except StoreError:
                if retry == COMMIT_RETRIES:
                    raise
                await clock.sleep_until_us(clock.now_us() + 1000 * 2**retry)
        raise AssertionError("unreachable")

    return append


def journal_crash(writer: JournalWriter, append: Appender, clean: Callable[[str], str]) -> OnCrash:
    """The supervision tree's crash hook: an ``agent_failed`` naming the work in hand.

    ``clean`` redacts secrets from the exception's text (a URL, a command
    line), which is then cut to ``DETAIL_LIMIT`` characters.
    """

    async def on_crash(agent: str, error: Exception) -> None:
        state = writer.state
        busy = state.agents.get(agent) if state is not None else None
        detail = clean(describe_crash(error))[:DETAIL_LIMIT]
        logger.warning(
            "agent %s crashed: %s",
            agent,
            detail,
            extra={"run_id": writer.run_id, "agent": agent},
        )
        failure = Failure(failure_class="agent", kind="crash", detail=detail)
        msg = AgentFailed(
            agent=agent,
            failure=failure,
            step=busy.step if busy is not None else None,
            attempt=busy.attempt if busy is not None else None,
        )
        await append([Draft(msg=msg, sender="agents", recipient="supervisor")])

    return on_crash


def leaf_exceptions(error: BaseException) -> list[BaseException]:
    """The exceptions an exception group holds, nested groups flattened, in order."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaf_exceptions(inner)]
    return [error]


def describe_crash(error: BaseException) -> str:
    """What crashed an actor, for the journal: the real exception's type and message.

    A crash inside a nursery arrives wrapped in an exception group
    ("Exceptions from Trio nursery"), which says nothing: the exceptions it
    holds are named instead, the first in full (``RuntimeError: boom``),
    with a count of the others.
    """
    leaves = leaf_exceptions(error)
    first = leaves[0] if leaves else error
    text = f"{type(first).__name__}: {first}" if str(first) else type(first).__name__
    if len(leaves) > 1:
        others = ", ".join(type(leaf).__name__ for leaf in leaves[1:4])
        text += f" (and {len(leaves) - 1} more: {others})"
    return text


def journal_restart(append: Appender, run_id: str = "") -> OnRestart:
    """The supervision tree's restart hook: an ``agent_restarted``."""

    async def on_restart(agent: str, restarts: int) -> None:
        logger.info(
            "agent %s restarted (restart %d)",
            agent,
            restarts,
            extra={"run_id": run_id, "agent": agent},
        )
        msg = AgentRestarted(agent=agent, restarts=restarts)
        await append([Draft(msg=msg, sender="agents", recipient="supervisor")])

    return on_restart


@final
class Doorbell:
    """Wakes the control loop before its next poll: a request was just queued.

    A program that queues a request through its own ``Run`` rings it, so the
    request is taken at once rather than within ``control_poll_s``; it is
    still read from the journal's queue and journaled as any other.
    """

    def __init__(self) -> None:
        self._rung = False
        self._nap: trio.CancelScope | None = None

    def ring(self) -> None:
        """Have the control loop read the queue now (or right after its current read)."""
        self._rung = True
        if self._nap is not None:
            self._nap.cancel()

    async def sleep(self, clock: Clock, until_us: int) -> None:
        """Sleep on ``clock`` until ``until_us``, or until the bell rings."""
        if not self._rung:
            with trio.CancelScope() as nap:
                self._nap = nap
                try:
                    await clock.sleep_until_us(until_us)
                finally:
                    self._nap = None
        else:
            await trio.lowlevel.checkpoint()
        self._rung = False


async def take_requests(
    journal: Journal,
    writer: JournalWriter,
    append: Appender,
    run_id: str,
    every_s: float,
    clock: Clock,
    doorbell: Doorbell | None = None,
) -> None:
    """Journal the control requests other processes queue for this run, each once.

    The queue is read every ``every_s``, and at once when ``doorbell`` rings.
    """
    state = writer.state
    last = state.last_request_id if state is not None else 0
    bell = doorbell if doorbell is not None else Doorbell()
    while True:
        for request_id, request in await journal.requests_after(run_id, last):
            logger.info(
                "control request %d taken: %s by %s",
                request_id,
                request.action,
                request.by or "?",
                extra={"run_id": run_id, "request_id": request_id},
            )
            msg = ControlRequested(request_id=request_id, request=request)
            await append([Draft(msg=msg, sender="control", recipient="supervisor")])
            last = request_id
        await bell.sleep(clock, clock.now_us() + math.ceil(every_s * 1_000_000))


LEFTOVER_GRACE_S = 2.0
"""Seconds a leftover process group has between ``SIGTERM`` and ``SIGKILL`` on resume."""


async def end_leftovers(
    state: RunState, append: Appender, grace_s: float = LEFTOVER_GRACE_S
) -> None:
    """End what a dead runner's work left running, and journal what was found.

    For every process the state holds (work in flight when the runner
    died), all at once: its group is killed if it is still the same process
    (pid and start time, see ``end_leftover``), and a ``process_ended``
    says whether it was ``reaped``, ``gone`` or ``unchecked``.
    """
    found: list[ProcessEnd] = ["unchecked"] * len(state.processes)

    async def end(index: int) -> None:
        process = state.processes[index].process
        found[index] = await end_leftover(process, grace_s)
        logger.info(
            "leftover process %d of agent %s: %s",
            process.pid,
            state.processes[index].agent,
            found[index],
            extra={"run_id": state.run_id, "pid": process.pid},
        )

    async with trio.open_nursery() as nursery:
        for index in range(len(state.processes)):
            nursery.start_soon(end, index)
    drafts = [
        Draft(
            msg=ProcessEnded(
                agent=record.agent, pid=record.process.pid, host=record.process.host, how=how
            ),
            sender="agents",
        )
        for record, how in zip(state.processes, found, strict=True)
    ]
    if drafts:
        await append(drafts)
