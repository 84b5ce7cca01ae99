"""What integration did with each attempt: items and the report, 1:1 with the journal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, final

import attrs

from playbill.runtime import WorkspaceMerged

MergeStatus = Literal["applied", "conflicted", "blocked"]
"""What became of an attempt's work: applied onto the integration branch,
conflicted (its patch did not apply), or blocked (the caller did not apply it)."""


@final
@attrs.frozen
class MergeItem:
    """The outcome of integrating one attempt.

    Attributes:
        step: The step id.
        attempt: The attempt number.
        status: ``applied``, ``conflicted`` or ``blocked``.
        commit: For ``applied``, the integration branch's commit that holds
            the attempt's work (its tip, when the attempt changed nothing).
        detail: For humans: the conflicting paths, why it was blocked, or
            ``no changes``.
    """

    step: str
    attempt: int
    status: MergeStatus
    commit: str | None = None
    detail: str = ""

    def to_message(self, into: str) -> WorkspaceMerged:
        """The journal message that records this item.

        Args:
            into: The branch integrated into (``Integrator.branch``).
        """
        return WorkspaceMerged(
            step=self.step,
            attempt=self.attempt,
            status=self.status,
            into=into,
            commit=self.commit,
            detail=self.detail,
        )

    @classmethod
    def from_message(cls, msg: WorkspaceMerged) -> MergeItem:
        """The item a journaled ``workspace_merged`` message records."""
        return cls(
            step=msg.step,
            attempt=msg.attempt,
            status=msg.status,
            commit=msg.commit,
            detail=msg.detail,
        )


@final
@attrs.frozen
class MergeReport:
    """Everything integration did in a run, in the order it was done.

    Attributes:
        items: One item per integrated attempt, in order.
        into: The branch integrated into, when known.
    """

    items: tuple[MergeItem, ...]
    into: str = ""

    @classmethod
    def from_messages(cls, messages: Iterable[WorkspaceMerged]) -> MergeReport:
        """Rebuild a report from the journal's ``workspace_merged`` messages, in order."""
        msgs = tuple(messages)
        return cls(
            items=tuple(MergeItem.from_message(m) for m in msgs),
            into=msgs[-1].into if msgs else "",
        )

    @property
    def applied(self) -> tuple[MergeItem, ...]:
        """The items whose work is on the integration branch."""
        return tuple(i for i in self.items if i.status == "applied")

    @property
    def conflicted(self) -> tuple[MergeItem, ...]:
        """The items whose patch did not apply."""
        return tuple(i for i in self.items if i.status == "conflicted")

    @property
    def blocked(self) -> tuple[MergeItem, ...]:
        """The items the caller chose not to apply."""
        return tuple(i for i in self.items if i.status == "blocked")

    def render(self) -> str:
        """A readable multi-line report: a summary line, then one line per item."""
        target = f" into {self.into}" if self.into else ""
        lines = [
            f"integration{target}: {len(self.applied)} applied, "
            f"{len(self.conflicted)} conflicted, {len(self.blocked)} blocked"
        ]
        width = max((len(i.step) for i in self.items), default=0)
        for item in self.items:
            commit = (item.commit or "")[:12]
            line = f"  {item.status:<10} {item.step:<{width}}  #{item.attempt}"
            if commit:
                line += f"  {commit}"
            if item.detail:
                line += f"  {item.detail}"
            lines.append(line.rstrip())
        return "\n".join(lines)
