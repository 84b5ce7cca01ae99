"""playbill: an actor-model runtime on trio for teams of LLM coding agents.

The names most programs need are here; the whole kernel (every message type,
every state type, the store backends) is in :mod:`playbill.runtime`.
"""

from __future__ import annotations

from .runtime import (
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
    state_digest,
)

__version__ = "0.1.0.dev0"
"""The installed version of playbill."""

__all__ = [
    "Draft",
    "Entry",
    "Journal",
    "JournalError",
    "MemoryJournal",
    "Message",
    "PlaybillError",
    "RunState",
    "SqliteJournal",
    "__version__",
    "evolve",
    "fold",
    "open_journal",
    "state_digest",
]
