"""The run's state for a journal writer: folded, cascaded and snapshotted per batch.

The writer is a persistence primitive; it knows nothing of states or
policies. ``Journal.writer`` wires a ``StateKeeper`` in as its ``BatchHook``
when it keeps the state (``snapshot_every``, a reactor, or both). On every
batch, before the commit, the keeper runs each appended entry's ``cascade``
(when there is a policy) or just folds it, and picks the snapshot; the
writer then encodes and commits what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

from msgspec.structs import replace

from ..logic._cascade import CascadePolicy, cascade
from ..logic._reducer import evolve
from ..model._entry import Entry
from ..model._state import RunState, encode_state
from ._batch import Prepared


@final
class StateKeeper:
    """A writer's ``BatchHook``: the run's state, its policy and its snapshots.

    Args:
        state: The run's state after its last committed entry.
        policy: Cascaded on every appended entry; None to only fold.
        snapshot_every: Snapshot the state at the latest multiple of this seq
            in each batch; None for no snapshots.
        max_reactions: The most reactions in one batch (``ReactionLimitError``).
    """

    __slots__ = ("_max_reactions", "_policy", "_snapshot_every", "_staged", "_state")

    def __init__(
        self,
        state: RunState,
        *,
        policy: CascadePolicy | None,
        snapshot_every: int | None,
        max_reactions: int,
    ) -> None:
        self._state = state
        self._staged = state
        self._policy = policy
        self._snapshot_every = snapshot_every
        self._max_reactions = max_reactions

    @property
    def state(self) -> RunState:
        """The run's state after the writer's last committed entry."""
        return self._state

    def before_commit(self, entries: Sequence[Entry]) -> Prepared:
        """Each entry with its cascade, the state after the batch, the snapshot.

        Raises:
            ReactorError: The policy failed (see ``cascade``).
            ReactionLimitError: The batch's reactions exceeded the limit.
        """
        state = self._state
        every = self._snapshot_every
        policy = self._policy
        snapshot: tuple[int, RunState] | None = None
        placed: list[list[Entry]] = []
        added = 0
        seq = entries[0].seq - 1 if entries else state.last_seq  # the last seq placed
        for entry in entries:
            if policy is None:
                state = evolve(state, entry)
                placed.append([entry])
                if every is not None and entry.seq % every == 0:
                    snapshot = (entry.seq, state)
                continue
            if entry.seq != seq + 1:  # reactions before it pushed it on
                entry = replace(entry, seq=seq + 1)
            result = cascade(
                state,
                entry,
                policy,
                max_reactions=self._max_reactions,
                reactions_before=added,
            )
            placed.append(result.entries)
            added += result.reactions
            seq += len(result.entries)
            state = result.state
            if every is not None:
                for done, after in zip(result.entries, result.states, strict=True):
                    if done.seq % every == 0:
                        snapshot = (done.seq, after)
        self._staged = state
        encoded = None if snapshot is None else (snapshot[0], encode_state(snapshot[1]))
        return Prepared(placed, encoded, added)

    def committed(self) -> None:
        """The batch last prepared is stored: its state is the run's."""
        self._state = self._staged
