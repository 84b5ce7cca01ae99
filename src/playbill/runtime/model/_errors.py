"""The typed error tree. Callers branch on types and fields, never on text."""

from __future__ import annotations


class PlaybillError(Exception):
    """Base of every error playbill raises on purpose.

    The string form is one readable line, suitable for the CLI.
    """


class JournalError(PlaybillError):
    """Something is wrong with a journal or a journal operation."""


class NotAJournalError(JournalError):
    """A file is not a playbill journal (or was written by an unknown version).

    Attributes:
        path: The file.
        detail: What was found instead.
    """

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{path}: not a playbill journal: {detail}")
        self.path = path
        self.detail = detail


class UnknownRunError(JournalError):
    """No run with this id is in the journal."""

    def __init__(self, run_id: str, where: str = "") -> None:
        suffix = f" in {where}" if where else ""
        super().__init__(f"unknown run {run_id!r}{suffix}")
        self.run_id = run_id
        self.where = where


class RunExistsError(JournalError):
    """A run with this id is already in the journal (import never overwrites)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"run {run_id!r} already exists in the journal; nothing was written")
        self.run_id = run_id


class CorruptEntryError(JournalError):
    """A stored entry failed its checksum or could not be decoded.

    Attributes:
        run_id: The run the entry belongs to.
        seq: The entry's seq.
        detail: What exactly is wrong.
    """

    def __init__(self, run_id: str, seq: int, detail: str) -> None:
        super().__init__(f"corrupt journal entry: run {run_id!r} seq {seq}: {detail}")
        self.run_id = run_id
        self.seq = seq
        self.detail = detail


class CorruptSnapshotError(JournalError):
    """A stored snapshot failed its checksum or could not be decoded.

    Snapshots are projections; the entries they were folded from are intact
    and the state can be rebuilt from them, but playbill never does so
    silently.

    Attributes:
        run_id: The run the snapshot belongs to.
        seq: The seq the snapshot was taken at.
        detail: What exactly is wrong.
    """

    def __init__(self, run_id: str, seq: int, detail: str) -> None:
        super().__init__(f"corrupt snapshot: run {run_id!r} seq {seq}: {detail}")
        self.run_id = run_id
        self.seq = seq
        self.detail = detail


class InvalidEntryError(JournalError):
    """An entry (or draft) could not be journaled; nothing of its call was written.

    It does not encode into bytes that decode back (a field of the wrong type,
    say): the journal refuses to store what it could not read.

    Attributes:
        run_id: The run it was for.
        detail: What is wrong, with the path of the bad field.
    """

    def __init__(self, run_id: str, detail: str) -> None:
        super().__init__(f"run {run_id!r}: refusing to journal an invalid entry: {detail}")
        self.run_id = run_id
        self.detail = detail


class StoreError(JournalError):
    """The storage backend failed (I/O error, database locked, disk full...).

    The operation was not applied. The backend's own exception is the
    ``__cause__``.

    Attributes:
        detail: What failed.
    """

    def __init__(self, detail: str) -> None:
        super().__init__(f"journal store failed: {detail}")
        self.detail = detail


class InjectedFaultError(StoreError):
    """A failure injected on purpose (a commit that ``FaultyStore`` fails)."""


class WriterConflictError(JournalError):
    """Another live writer holds the run; only one may append at a time.

    Attributes:
        run_id: The run.
        holder: Who holds it (``host:pid:token``).
    """

    def __init__(self, run_id: str, holder: str) -> None:
        super().__init__(f"run {run_id!r} is being written by {holder}; refusing a second writer")
        self.run_id = run_id
        self.holder = holder


class LeaseLostError(JournalError):
    """This writer's lease on a run was taken over; it must stop writing."""

    def __init__(self, run_id: str, holder: str) -> None:
        super().__init__(f"lost the write lease on run {run_id!r}; it is now held by {holder}")
        self.run_id = run_id
        self.holder = holder


class SeqConflictError(JournalError):
    """An append did not continue the run's dense seq (a concurrent writer?)."""

    def __init__(self, run_id: str, expected: int, got: int) -> None:
        super().__init__(f"run {run_id!r}: expected seq {expected}, got {got}")
        self.run_id = run_id
        self.expected = expected
        self.got = got


class JournalClosedError(JournalError):
    """The journal or writer was closed."""


class InputError(PlaybillError):
    """A user-supplied file or value is invalid.

    Attributes:
        source: The file (or other source) that holds the bad input.
        location: Where inside it: ``line 3``, ``seq 17``, ``steps[2].id``.
        detail: What was expected and what was found.
    """

    def __init__(self, source: str, location: str, detail: str) -> None:
        where = f"{source}:{location}" if location else source
        super().__init__(f"{where}: {detail}")
        self.source = source
        self.location = location
        self.detail = detail


class ReactorError(JournalError):
    """The writer's reactor failed while reacting to an entry.

    The batch it was reacting in is not committed: every appender of that
    batch gets this error, nothing of the batch is visible, and the writer
    refuses further appends (the policy that reacts is part of the run's
    logic: a run must not go on without it). The reactor's own exception is
    the ``__cause__``.

    Attributes:
        run_id: The run.
        seq: Seq the entry being reacted to would have had.
        detail: What went wrong.
    """

    def __init__(self, run_id: str, seq: int, detail: str) -> None:
        super().__init__(f"run {run_id!r}: the reactor failed on seq {seq}: {detail}")
        self.run_id = run_id
        self.seq = seq
        self.detail = detail


class ReactionLimitError(ReactorError):
    """The reactor's reactions did not settle within one batch.

    Each reaction is itself reacted to; a reactor that always answers keeps a
    batch from ever committing. Past ``limit`` reactions in one batch the
    batch fails with this error (see ``ReactorError``).

    Attributes:
        limit: The most reactions allowed in one batch.
    """

    def __init__(self, run_id: str, seq: int, limit: int) -> None:
        super().__init__(
            run_id, seq, f"more than {limit} reactions in one batch (a runaway cascade?)"
        )
        self.limit = limit


class SupervisionEscalated(PlaybillError):
    """A supervisor gave up: its children crashed more often than it allows.

    Raised by ``Supervisor.run``. Under a parent supervisor this is the
    crash of one child (the subtree), to which the parent applies its own
    strategy; out of the root it ends the run. The last crash is the
    ``__cause__``.

    Attributes:
        supervisor: Name of the supervisor that gave up.
        child_id: The child whose crash exceeded the limit.
        max_restarts: Restarts allowed within ``period_s``.
        period_s: The window, in seconds of ``trio.current_time()``.
    """

    def __init__(
        self, supervisor: str, child_id: str, max_restarts: int, period_s: float, crash: str
    ) -> None:
        super().__init__(
            f"supervisor {supervisor!r} gave up: child {child_id!r} crashed after "
            f"{max_restarts} restarts within {period_s:g} s; last crash: {crash}"
        )
        self.supervisor = supervisor
        self.child_id = child_id
        self.max_restarts = max_restarts
        self.period_s = period_s
