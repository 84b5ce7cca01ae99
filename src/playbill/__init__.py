"""playbill: an actor-model runtime on trio for teams of LLM coding agents.

The names most programs need are here; the whole kernel (every message type,
every state type, the store backends) is in :mod:`playbill.runtime`, and the
actors, backends and simulation in :mod:`playbill.actors`.

The names load on first use: ``import playbill`` is quick, and the actors
(with their HTTP client and git library) load only when one of their names is
read.
"""

from __future__ import annotations

import typing as _typing

from ._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from ._run import Run, RunSpec, open_run
    from ._sync import SyncJournal
    from .backends import AgentBackend, BackendError, Capabilities, Reporter, WorkOrder
    from .runtime import (
        ControlRequest,
        Draft,
        Entry,
        Journal,
        JournalError,
        MemoryJournal,
        Message,
        PlaybillError,
        RunState,
        SqliteJournal,
        evolve,
        fold,
        open_journal,
        outcome_digest,
        state_digest,
    )
    from .simulation import SimulationResult, simulate

__version__ = "0.1.0.dev0"
"""The installed version of playbill."""

__all__ = [
    "AgentBackend",
    "BackendError",
    "Capabilities",
    "ControlRequest",
    "Draft",
    "Entry",
    "Journal",
    "JournalError",
    "MemoryJournal",
    "Message",
    "PlaybillError",
    "Reporter",
    "Run",
    "RunSpec",
    "RunState",
    "SimulationResult",
    "SqliteJournal",
    "SyncJournal",
    "WorkOrder",
    "__version__",
    "evolve",
    "fold",
    "open_journal",
    "open_run",
    "outcome_digest",
    "simulate",
    "state_digest",
]


if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(
        globals(),
        {
            "._sync": ["SyncJournal"],
            "._run": ["Run", "RunSpec", "open_run"],
            ".backends": ["AgentBackend", "BackendError", "Capabilities", "Reporter", "WorkOrder"],
            ".simulation": ["SimulationResult", "simulate"],
            ".runtime": [
                "ControlRequest",
                "Draft",
                "Entry",
                "Journal",
                "JournalError",
                "MemoryJournal",
                "Message",
                "PlaybillError",
                "RunState",
                "SqliteJournal",
                "evolve",
                "fold",
                "open_journal",
                "outcome_digest",
                "state_digest",
            ],
        },
    )
