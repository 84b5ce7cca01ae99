"""Entries and runs for tests, built by hand: one place for the envelope's defaults.

``entry(msg)`` is one entry; ``entries(*msgs)`` a run's entries with dense
seqs; ``run_state(*msgs)`` the state they fold to. Every envelope field has a
test default and can be given. The property tests import this module too
(``property_tests/conftest.py`` puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

from playbill.runtime import FORMAT_VERSION, Entry, Message, RunState, fold


def entry(
    msg: Message,
    *,
    seq: int = 1,
    run_id: str = "r",
    at_us: int | None = None,
    sender: str = "t",
    recipient: str = "*",
    cause: int | None = None,
) -> Entry:
    """One entry holding ``msg``; recorded at ``1000 * seq`` unless ``at_us`` is given."""
    return Entry(
        v=FORMAT_VERSION,
        run_id=run_id,
        seq=seq,
        at_us=1000 * seq if at_us is None else at_us,
        sender=sender,
        recipient=recipient,
        cause=cause,
        msg=msg,
    )


def entries(
    *msgs: Message,
    run_id: str = "r",
    first_seq: int = 1,
    start_us: int | None = None,
    step_us: int = 1000,
    sender: str = "t",
    recipient: str = "*",
    chained: bool = False,
) -> list[Entry]:
    """Entries of one run holding ``msgs``, seqs dense from ``first_seq``.

    Args:
        msgs: The messages, in order.
        run_id: The run.
        first_seq: The first entry's seq.
        start_us: When the first is recorded (default ``step_us * first_seq``);
            each next one ``step_us`` later.
        step_us: Microseconds between two entries.
        sender: Every entry's sender.
        recipient: Every entry's recipient.
        chained: Each entry is caused by the one before it (else none has a cause).
    """
    first_us = step_us * first_seq if start_us is None else start_us
    return [
        entry(
            msg,
            seq=first_seq + i,
            run_id=run_id,
            at_us=first_us + step_us * i,
            sender=sender,
            recipient=recipient,
            cause=first_seq + i - 1 if chained and i else None,
        )
        for i, msg in enumerate(msgs)
    ]


def run_state(*msgs: Message, first_seq: int = 1) -> RunState:
    """The state that ``entries(*msgs, first_seq=first_seq)`` fold to."""
    return fold(entries(*msgs, first_seq=first_seq))
