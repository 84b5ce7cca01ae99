"""The journal stores under property test, and how to damage what they hold."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from playbill.runtime import Journal, MemoryJournal, SqliteJournal
from playbill.runtime._memory import MemoryStore

STORE_KINDS = ("memory", "sqlite")


class StoreUnderTest:
    """Storage that outlives the journals opened over it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._memory = MemoryStore()
        self._dir = Path(tempfile.mkdtemp(prefix="playbill-prop-"))
        self.path = self._dir / "journal.db"

    def open(self) -> Journal:
        if self.kind == "memory":
            return MemoryJournal(self._memory)
        return SqliteJournal(self.path)

    def damage(self, run_id: str, seq: int, mutate: Callable[[bytes], bytes]) -> bytes:
        """Replace the stored bytes of one entry (keeping its checksum); return the old bytes."""
        if self.kind == "memory":
            rows = self._memory._runs[run_id].rows
            data, crc = rows[seq - 1]
            rows[seq - 1] = (mutate(data), crc)
            return data
        conn = sqlite3.connect(self.path)
        with conn:
            (data,) = conn.execute(
                "SELECT data FROM entries WHERE run_id = ? AND seq = ?", (run_id, seq)
            ).fetchone()
            conn.execute(
                "UPDATE entries SET data = ? WHERE run_id = ? AND seq = ?",
                (mutate(data), run_id, seq),
            )
        conn.close()
        return bytes(data)

    def cleanup(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
