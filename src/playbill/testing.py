"""Tools for testing runs, stores and strategies (the third tier).

* ``VirtualClock``: virtual time for a run (with trio's ``MockClock``).
* Fault plans: ``FaultPlan``, ``parse_faults``, ``NO_FAULTS``,
  ``FAULT_NAMES``, ``FaultSpecError`` (what ``simulate(faults=...)`` and
  ``playbill sim --faults`` take).
* ``FaultyStore(store)``: any ``JournalStore``, with commits that fail on
  demand (``fail_next_commit``, ``fail_commit_at``) with
  ``InjectedFaultError``, after the store's lease and seq checks and
  writing nothing.
* The invariant checker: ``JournalChecker(...).feed_all(entries)`` checks a
  run's journal entry by entry (work given only to free agents that play
  the role, budgets, heartbeats, scopes, orphaned work given out again...)
  and raises ``InvariantError`` naming the seq; ``check_effects_once`` checks
  that no effect was journaled twice; ``reactions`` groups the supervisor's
  entries by their cause.

Importing this module loads no test framework (neither pytest nor
hypothesis), and the names load on first use.
"""

from __future__ import annotations

import typing as _typing

from playbill._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from playbill.runtime import (
        FAULT_NAMES,
        NO_FAULTS,
        FaultPlan,
        FaultSpecError,
        FaultyStore,
        InjectedFaultError,
        InvariantError,
        JournalChecker,
        Orphan,
        VirtualClock,
        check_effects_once,
        parse_faults,
        reactions,
    )

__all__ = [
    "FAULT_NAMES",
    "NO_FAULTS",
    "FaultPlan",
    "FaultSpecError",
    "FaultyStore",
    "InjectedFaultError",
    "InvariantError",
    "JournalChecker",
    "Orphan",
    "VirtualClock",
    "check_effects_once",
    "parse_faults",
    "reactions",
]

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals())
