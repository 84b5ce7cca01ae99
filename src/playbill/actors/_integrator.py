"""The integrator actor: applies accepted attempts onto the run's integration branch.

It answers the policy's ``merge_requested`` in seq order with a
``workspace_merged``: ``applied`` (the attempt's patch is on the integration
branch), ``conflicted`` (it does not apply; the branch is unchanged) or
``blocked`` (it could not be tried: no commit, a git failure). A request
the journal holds but never answered (the process died) is answered when
the run resumes; applying is idempotent, so work applied just before the
death is found, not applied twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final, final

import attrs
import trio

from playbill.runtime import Draft, MergeRequested, RunState
from playbill.workspaces import MergeItem, WorkspaceError

from ._role import Inbox, Outbox, StateQuery
from ._workbench import Workbench

logger = logging.getLogger(__name__)

ADDRESS: Final = "integrator"
"""Where merge requests are addressed (the policy's ``INTEGRATOR``)."""


@final
@attrs.define(eq=False)
class IntegratorActor:
    """Answers merge requests, one at a time, in seq order.

    Args:
        workbench: The run's repository.
        outbox: Journals what it says.
        state: The run's current state.
    """

    _workbench: Workbench
    _outbox: Outbox
    _state: StateQuery
    _merged: int = attrs.field(default=0, init=False)

    @property
    def merged(self) -> int:
        """Merge requests this actor answered."""
        return self._merged

    async def run(self, inbox: Inbox) -> None:
        """Answer the requests left from before a resume, then each new one."""
        for step, attempt in unanswered(self._state()):
            await self._answer(step, attempt)
        while True:
            try:
                batch = await inbox.receive_batch()
            except trio.EndOfChannel:
                return
            for entry in batch:
                if isinstance(entry.msg, MergeRequested):
                    await self._answer(entry.msg.step, entry.msg.attempt)

    async def _answer(self, step: str, attempt: int) -> None:
        state = self._state()
        known = state.workspaces.get(f"{step}#{attempt}")
        if known is None or known.merge_status != "pending" or state.is_terminal:
            return  # answered already, or the run is over
        try:
            item = await self._workbench.merge(state, step, attempt)
        except (WorkspaceError, OSError) as broken:
            # git failed, or the disk: the step is blocked and a person asked,
            # rather than the run ending in a traceback
            detail = self._workbench.redactor.redact(f"{type(broken).__name__}: {broken}")
            item = MergeItem(step=step, attempt=attempt, status="blocked", detail=detail[:2000])
        logger.info(
            "merge of %s#%d into %s: %s%s",
            step,
            attempt,
            self._workbench.integration_branch,
            item.status,
            f" at {item.commit}" if item.commit else "",
            extra={"run_id": state.run_id, "step": step, "attempt": attempt},
        )
        msg = item.to_message(into=self._workbench.integration_branch)
        await self._outbox([Draft(msg=msg, sender=ADDRESS, recipient="supervisor")])
        self._merged += 1


def unanswered(state: RunState) -> Sequence[tuple[str, int]]:
    """Merge requests the state holds and no ``workspace_merged`` answered, in seq order."""
    waiting = [
        (w.merge_requested_seq, w.step, w.attempt)
        for w in state.workspaces.values()
        if w.merge_requested_seq is not None and w.merge_status == "pending"
    ]
    return [(step, attempt) for _, step, attempt in sorted(waiting)]
