"""Run files: a run as JSON Lines, one encoded entry per line, in seq order.

``parse_run_file`` validates a whole file before anyone writes anything: every
line decodes strictly into ``Entry`` (the closed message union, no unknown
field, every field of its type), the format version is one this code reads,
every entry names the same run (a valid run id, as ``run --run-id`` takes),
its time is within years 1970 to 9999, no line nests deeper than
``MAX_DEPTH``, and seqs go 1, 2, 3... with no gap and no duplicate. The
first problem raises ``InputError`` naming the file, the line and the field
path (``$.msg.step``) with what was expected.
"""

from __future__ import annotations

import msgspec

from playbill._inputs import MAX_DEPTH
from playbill.runtime import (
    FORMAT_VERSION,
    Entry,
    InputError,
    decode_entry,
    encode_entry,
    message_types,
)

from ._load import run_id_problem

MAX_TIME_US = 253_402_300_799_999_999
"""The last microsecond of the year 9999: the latest time an entry may record."""

_KNOWN_TAGS = frozenset(str(cls.__struct_config__.tag) for cls in message_types())


class _MessageProbe(msgspec.Struct):
    """Just enough of a message to name its type when the strict decode fails."""

    type: object = None


class _EntryProbe(msgspec.Struct):
    """Just enough of an entry to find its message's type."""

    msg: _MessageProbe | None = None


def encode_run_file(entries: list[Entry]) -> bytes:
    """A run file's bytes: each entry's canonical encoding, one per line."""
    return b"".join(encode_entry(entry) + b"\n" for entry in entries)


def parse_run_file(source: str, data: bytes) -> list[Entry]:
    """Decode and validate a whole run file.

    Args:
        source: The file's name, for error messages.
        data: Its bytes.

    Returns:
        The entries, seqs 1, 2, 3... of one run.

    Raises:
        InputError: The first problem, naming ``source``, the line and the
            field path.
    """
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the newline that ends the last line
    if not lines:
        raise InputError(source, "", "no entries: the file is empty")
    entries: list[Entry] = []
    for number, line in enumerate(lines, 1):
        entry = _decode_line(source, number, line)
        where = f"line {number}"
        if number == 1 and (problem := run_id_problem(entry.run_id)) is not None:
            raise InputError(source, where, f"bad run id: {problem} - at `$.run_id`")
        if not 0 <= entry.at_us <= MAX_TIME_US:
            raise InputError(
                source,
                where,
                f"time {entry.at_us} is out of range; expected microseconds since 1970 "
                f"up to {MAX_TIME_US} (year 9999) - at `$.at_us`",
            )
        if entries and entry.run_id != entries[0].run_id:
            raise InputError(
                source,
                where,
                f"run id {entry.run_id!r} differs from {entries[0].run_id!r} on line 1; "
                "a run file holds one run - at `$.run_id`",
            )
        if entry.seq != number:
            raise InputError(source, where, _seq_problem(entry.seq, number))
        entries.append(entry)
    return entries


def _decode_line(source: str, number: int, line: bytes) -> Entry:
    where = f"line {number}"
    if not line.strip():
        raise InputError(source, where, "empty line; expected one JSON entry per line")
    if _nests_too_deep(line):
        raise InputError(source, where, f"JSON nests more than {MAX_DEPTH} levels deep, the limit")
    try:
        entry = decode_entry(line)
    except RecursionError:
        raise InputError(source, where, "JSON nests too deep") from None
    except msgspec.ValidationError as exc:
        raise InputError(source, where, _unknown_type(line) or str(exc)) from exc
    except msgspec.DecodeError as exc:
        raise InputError(source, where, f"malformed JSON: {exc}") from exc
    if entry.v < 1:
        raise InputError(
            source,
            where,
            f"unknown entry format version {entry.v}; this playbill reads 1 to "
            f"{FORMAT_VERSION} - at `$.v`",
        )
    return entry


def _nests_too_deep(line: bytes) -> bool:
    """Whether the line's arrays and objects nest deeper than ``MAX_DEPTH`` (strings skipped).

    A cheap scan before decoding: a line of 50,000 ``[`` is refused here,
    before any decoder recurses into it.
    """
    if line.count(b"[") + line.count(b"{") <= MAX_DEPTH:
        return False
    depth = 0
    in_string = escaped = False
    for byte in line:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def _unknown_type(line: bytes) -> str | None:
    """Say so plainly when the message's type is one playbill does not know."""
    try:
        probe = msgspec.json.decode(line, type=_EntryProbe)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None
    if probe.msg is None or not isinstance(probe.msg.type, str):
        return None
    if probe.msg.type in _KNOWN_TAGS:
        return None
    return (
        f"unknown message type {probe.msg.type!r}; expected one of the "
        f"{len(_KNOWN_TAGS)} types of entry format {FORMAT_VERSION} - at `$.msg.type`"
    )


def _seq_problem(seq: int, expected: int) -> str:
    if seq < expected:
        problem = f"seq {seq} is a duplicate or out of order; expected seq {expected}"
    else:
        problem = f"seq {seq} leaves a gap; expected seq {expected}"
    return f"{problem} (seqs go 1, 2, 3... one per line) - at `$.seq`"
