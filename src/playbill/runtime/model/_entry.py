"""The journal entry envelope and its deterministic codecs.

An entry's canonical bytes are the JSON encoding of ``Entry`` (exports,
digests, ``playbill events``). Stores keep entries in the encoding their
``EntryCodec`` names: JSON (PostgreSQL), the MessagePack encoding of the same
struct (memory), or that MessagePack sealed with its own checksum (SQLite).
MessagePack is smaller and quicker to encode and decode. Every encoding is
deterministic (struct fields in declaration order, dict keys sorted), so the
same entry always gives the same bytes, on any machine and hash seed, and
all decode into the same ``Entry``. Each stored entry also carries a CRC-32
of its stored bytes, checked on every read.

A sealed entry is one MessagePack array ``[entry, check]``: ``check`` is a
uint32 whose four bytes are the CRC-32 (little-endian) of everything before
them. The CRC-32 of the whole record is then always ``SEALED_CRC``, so the
record verifies with one ``zlib.crc32`` call and needs no checksum column.
"""

from __future__ import annotations

import operator
import zlib
from collections.abc import Callable, Sequence
from typing import TypeAlias, final

import attrs
import msgspec

from ._messages import Message

FORMAT_VERSION = 1
"""The entry format this code writes. Readers refuse entries from the future."""

EntryRow: TypeAlias = tuple[int, int, bytes, int]
"""A row to write: ``(seq, at_us, data, crc)``; ``data`` is an encoded entry."""


class Entry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, gc=False):
    """One journal entry: a message in its envelope.

    Entries are immutable trees, hence ``gc=False`` (see ``Value``).

    Attributes:
        v: Entry format version.
        run_id: The run the entry belongs to.
        seq: Dense, gapless position in the run, starting at 1.
        at_us: Recorded time, microseconds since the Unix epoch, from the
            runtime clock (virtual under simulation).
        sender: Address of the actor (or tool) that sent the message.
        recipient: Address it is for (``*`` for everyone).
        cause: Seq of the entry that caused this one, if any.
        msg: The message.
    """

    v: int
    run_id: str
    seq: int
    at_us: int
    sender: str
    recipient: str
    cause: int | None
    msg: Message


class Draft(msgspec.Struct, frozen=True, kw_only=True):
    """A message waiting to be journaled: an entry without run, seq and time.

    Attributes:
        msg: The message.
        sender: Who sends it.
        recipient: Who it is for; ``*`` for everyone.
        cause: Seq of the entry that caused it, if any.
    """

    msg: Message
    sender: str
    recipient: str = "*"
    cause: int | None = None

    def stamp(self, run_id: str, seq: int, at_us: int, cause: int | None = None) -> Entry:
        """The entry this draft becomes at ``seq`` of ``run_id``, recorded at ``at_us``.

        ``cause`` is used when the draft names none.
        """
        return Entry(
            v=FORMAT_VERSION,
            run_id=run_id,
            seq=seq,
            at_us=at_us,
            sender=self.sender,
            recipient=self.recipient,
            cause=cause if self.cause is None else self.cause,
            msg=self.msg,
        )


_encoder = msgspec.json.Encoder(order="deterministic")
_entry_decoder = msgspec.json.Decoder(Entry)
_entries_decoder = msgspec.json.Decoder(list[Entry])


def encode_entry(entry: Entry) -> bytes:
    """The canonical bytes of an entry."""
    return _encoder.encode(entry)


def encode_value(value: object) -> bytes:
    """The canonical JSON bytes of any msgspec value (states, snapshots)."""
    return _encoder.encode(value)


def canonical(entries: Sequence[Entry]) -> list[Entry]:
    """Entries as a reader gets them back from their canonical bytes.

    A value built in Python may differ from its decoded form (an int in a
    float field); whatever a run folds must be what a replay folds.

    Raises:
        msgspec.EncodeError, msgspec.ValidationError, TypeError: An entry does
            not encode, or does not decode back.
    """
    return decode_entries([_encoder.encode(entry) for entry in entries])


def decode_entry(data: bytes) -> Entry:
    """Decode one entry, strictly, into the closed union.

    Raises:
        msgspec.ValidationError: A field has the wrong type, a tag is unknown,
            or a field is unknown; the message names the path (``$.msg.step``).
        msgspec.DecodeError: The bytes are not JSON.
    """
    entry = _entry_decoder.decode(data)
    if entry.v > FORMAT_VERSION:
        raise msgspec.ValidationError(
            f"entry format version {entry.v} is newer than this playbill reads "
            f"({FORMAT_VERSION}) - at `$.v`"
        )
    return entry


def decode_entries(datas: Sequence[bytes]) -> list[Entry]:
    """Decode many entries with one decoder call (much faster than one by one)."""
    if not datas:
        return []
    return _check_versions(_entries_decoder.decode(b"[" + b",".join(datas) + b"]"))


def checksum(data: bytes) -> int:
    """The checksum stored beside an entry's bytes (CRC-32, unsigned)."""
    return zlib.crc32(data)


def _check_versions(entries: list[Entry]) -> list[Entry]:
    for entry in entries:
        if entry.v > FORMAT_VERSION:
            raise msgspec.ValidationError(
                f"entry format version {entry.v} is newer than this playbill reads "
                f"({FORMAT_VERSION}) - at `$.v`"
            )
    return entries


_packer = msgspec.msgpack.Encoder(order="deterministic")
_unpack_entry = msgspec.msgpack.Decoder(Entry)
_unpack_entries = msgspec.msgpack.Decoder(list[Entry])


def pack_entry(entry: Entry) -> bytes:
    """The MessagePack bytes of an entry, as SQLite and memory journals store it."""
    return _packer.encode(entry)


def unpack_entry(data: bytes) -> Entry:
    """Decode one MessagePack entry, strictly (see ``decode_entry``)."""
    return _check_versions([_unpack_entry.decode(data)])[0]


def _array_header(n: int) -> bytes:
    if n < 16:
        return bytes((0x90 | n,))
    if n < 0x10000:
        return b"\xdc" + n.to_bytes(2, "big")
    return b"\xdd" + n.to_bytes(4, "big")


def unpack_entries(datas: Sequence[bytes]) -> list[Entry]:
    """Decode many MessagePack entries with one decoder call, strictly.

    The entries are read as one MessagePack array (a header, then the
    entries' bytes one after another): one call, no copy per entry. Bytes
    that hold more or fewer objects than entries give a list of another
    length, which the caller checks.

    Raises:
        msgspec.ValidationError: A field has the wrong type, a tag or a field
            is unknown, or an entry is from a newer format.
        msgspec.DecodeError: The bytes are not MessagePack.
    """
    if not datas:
        return []
    return _check_versions(_unpack_entries.decode(_array_header(len(datas)) + b"".join(datas)))


@final
@attrs.frozen
class EntryCodec:
    """How a store encodes the entries it keeps (see the module docstring).

    Attributes:
        name: ``json`` or ``msgpack``.
        encode: One entry's stored bytes.
        decode_many: Many entries' stored bytes, decoded with one call; the
            result may hold another number of entries when bytes are damaged.
        decode_one: One entry's stored bytes, decoded strictly (errors name
            the field's path, ``$.msg.step``).
        stored_crc: For sealed records, the CRC-32 every intact record has
            (``SEALED_CRC``); None when each record's checksum is its own.
    """

    name: str
    encode: Callable[[Entry], bytes]
    decode_many: Callable[[Sequence[bytes]], list[Entry]]
    decode_one: Callable[[bytes], Entry]
    stored_crc: int | None = None
    """The checksum of every intact record, when the records carry their own."""


JSON_CODEC = EntryCodec("json", encode_entry, decode_entries, decode_entry)
"""Entries stored as their canonical JSON (PostgreSQL journals, SQLite schema 1)."""

MSGPACK_CODEC = EntryCodec("msgpack", pack_entry, unpack_entries, unpack_entry)
"""Entries stored as MessagePack (memory journals)."""

SEALED_CRC = 0x2144DF1C
"""The CRC-32 of any bytes followed by their own CRC-32, little-endian (the CRC residue)."""

_UNSEALED = 0xFFFFFFFF  # encodes as a uint32 (0xce and four bytes), overwritten by the seal
_unseal_many = msgspec.msgpack.Decoder(list[tuple[Entry, int]])
_first = operator.itemgetter(0)


def seal_entry(entry: Entry) -> bytes:
    """The sealed MessagePack record of an entry, as SQLite journals store it."""
    return reseal(_packer.encode((entry, _UNSEALED)))


def reseal(record: bytes) -> bytes:
    """The record with its last four bytes replaced by the CRC-32 of the rest."""
    head = record[:-4]
    return head + zlib.crc32(head).to_bytes(4, "little")


def unseal_entries(records: Sequence[bytes]) -> list[Entry]:
    """Decode many sealed records with one call (see ``unpack_entries``); not verified."""
    if not records:
        return []
    pairs = _unseal_many.decode(_array_header(len(records)) + b"".join(records))
    return _check_versions(list(map(_first, pairs)))


def unseal_entry(record: bytes) -> Entry:
    """Decode one sealed record, strictly (errors name the entry's path); not verified."""
    if len(record) < 6 or record[0] != 0x92 or record[-5] != 0xCE:
        raise msgspec.DecodeError("not a sealed MessagePack record")
    return _check_versions([_unpack_entry.decode(memoryview(record)[1:-5])])[0]


SEALED_CODEC = EntryCodec("sealed", seal_entry, unseal_entries, unseal_entry, SEALED_CRC)
"""Entries stored as sealed MessagePack records (SQLite schema 2)."""
