"""Byte layouts of a user's records in the user table: keys, the hot record, log chunks, profile, followees.

Keys (``<user>`` is the user id; ``\\x1f``, the ASCII unit separator, cannot occur in it):

==================  =============================================================================
``<user>``          the hot record, rewritten on every event (a legacy JSON state record before)
``<user>\\x1fl<n>``  log chunk ``n`` (0, 1, 2, ...), written once when the tail fills, deleted when old
``<user>\\x1fp``     the profile attributes, JSON, written when they change
``<user>\\x1ff``     the followees, a JSON list, written when they change
==================  =============================================================================

The hot record, little-endian::

    magic 0xB5, layout 2                          2 bytes (a legacy record starts with "{")
    first kept chunk, next chunk number           u32, u32
    events u64, epoch u32, bias f64               20 bytes
    source offset i64                             8 bytes (layout 2; -1 none; layout 1 lacks it)
    vector length n (0xFFFF: none), n x float32   2 + 4n bytes
    context: length, compact JSON                 u32 + bytes
    tail: entry count, entries                    u16 + entries

The source offset is that of the last interaction applied to the user (the input partition's
offset): a redelivered message is at or before it, a fresh one after it. A chunk is ``magic 0xB6,
layout 1, u16 count, entries``. An entry is one flags byte (bit 0 a
dislike, bit 1 excluded, bit 6 has an item, bit 7 has an event hash), the 8-byte event hash
when there is one, then the item: its UTF-8 length in one byte (or 0xFF and a u16) and the
bytes. With 36-character ids an entry is 46 bytes.

Examples
--------
>>> entries = [(b"\\x01" * 8, "matrix", EXCLUDE), (b"\\x02" * 8, None, 0), (None, "alien", DISLIKE)]
>>> raw = encode_entries(entries)
>>> len(raw), decode_chunk(encode_chunk(raw, 3)) == entries
(32, True)
>>> hot = Hot(vector=[0.5, -1.0], bias=0.1, events=3, epoch=1, context={"device": "tv"}, first=2, next=5,
...           tail=entries[:1], offset=41)
>>> decode_hot(encode_hot(hot)) == hot, len(encode_hot(hot))
(True, 85)
>>> chunk_key("alice", 3), is_legacy(b'{"user_id": "alice"}')
('alice\\x1fl3', True)
"""

from __future__ import annotations

import json
import struct
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsys.errors import StateError
from recsys.users.log import DISLIKE, EXCLUDE, Entry

__all__ = [
    "SEP", "Hot", "chunk_key", "decode_chunk", "decode_followees", "decode_hot", "decode_profile", "encode_chunk",
    "encode_entries", "encode_fields", "encode_followees", "encode_hot", "encode_profile", "entry_size",
    "followees_key", "is_legacy", "profile_key",
]  # fmt: skip

SEP = "\x1f"
"""Separates the user id from the kind of record in a key; user ids must not contain it."""

HOT_MAGIC, CHUNK_MAGIC, LAYOUT = 0xB5, 0xB6, 1
HOT_LAYOUT = 2  # 2 added the source offset; layout 1 records still read (offset -1)
_HAS_ITEM, _HAS_ID, _FLAGS = 0x40, 0x80, DISLIKE | EXCLUDE
_NO_VECTOR = 0xFFFF
_PREFIX = struct.Struct("<BBII")  # magic, layout, first chunk, next chunk
_SCALARS = struct.Struct("<QIdH")  # events, epoch, bias, vector length
_U16, _U32, _I64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<q")
_CHUNK = struct.Struct("<BBH")  # magic, layout, count


def profile_key(user_id: str) -> str:
    return f"{user_id}{SEP}p"


def followees_key(user_id: str) -> str:
    return f"{user_id}{SEP}f"


def chunk_key(user_id: str, number: int) -> str:
    return f"{user_id}{SEP}l{number}"


@dataclass
class Hot:
    """The hot record's contents: the state's small fields, the chunk range kept and the tail."""

    vector: list[float] | None = None
    bias: float = 0.0
    events: int = 0
    epoch: int = 0
    context: dict[str, Any] = field(default_factory=dict)
    first: int = 0  # the oldest chunk kept
    next: int = 0  # the number the next sealed chunk gets
    tail: list[Entry] = field(default_factory=list)
    offset: int = -1  # the source offset of the last interaction applied (-1: none known)


# ---------------------------------------------------------------------------- entries
def entry_size(entry: Entry) -> int:
    """Encoded bytes of one entry."""
    item = entry[1]
    n = 0 if item is None else len(item.encode("utf-8", "surrogatepass"))
    return 1 + (8 if entry[0] is not None else 0) + (0 if item is None else n + (1 if n < 255 else 3))


def encode_entries(entries: Iterable[Entry]) -> bytes:
    out = bytearray()
    for digest, item, flags in entries:
        head = flags & _FLAGS
        if digest is not None:
            head |= _HAS_ID
        if item is not None:
            head |= _HAS_ITEM
        out.append(head)
        if digest is not None:
            out += digest
        if item is not None:
            raw = item.encode("utf-8", "surrogatepass")
            if len(raw) < 255:
                out.append(len(raw))
            else:
                out.append(255)
                out += _U16.pack(len(raw))
            out += raw
    return bytes(out)


def _decode_entries(buf: bytes, pos: int, count: int) -> tuple[list[Entry], int]:
    out: list[Entry] = []
    intern = sys.intern  # the same item ids recur across users held in memory
    for _ in range(count):
        head = buf[pos]
        pos += 1
        digest = None
        if head & _HAS_ID:
            digest = buf[pos : pos + 8]
            pos += 8
        item = None
        if head & _HAS_ITEM:
            n = buf[pos]
            pos += 1
            if n == 255:
                n = _U16.unpack_from(buf, pos)[0]
                pos += 2
            item = intern(buf[pos : pos + n].decode("utf-8", "surrogatepass"))
            pos += n
        out.append((digest, item, head & _FLAGS))
    return out, pos


# ---------------------------------------------------------------------------- hot record and chunks
def encode_fields(
    vector: list[float] | None, bias: float, events: int, epoch: int, context: dict[str, Any], offset: int = -1
) -> bytes:
    """The hot record's middle part: the state's own small fields (the vector as float32)."""
    if vector is None:
        head, values = _SCALARS.pack(events, epoch, bias, _NO_VECTOR), b""
    else:
        head, values = _SCALARS.pack(events, epoch, bias, len(vector)), np.asarray(vector, "<f4").tobytes()
    text = json.dumps(context, separators=(",", ":")).encode() if context else b""
    return _I64.pack(offset) + head + values + _U32.pack(len(text)) + text


def encode_hot(hot: Hot, fields: bytes | None = None, tail: bytes | None = None) -> bytes:
    """The hot record; ``fields`` (:func:`encode_fields`) and ``tail`` (:func:`encode_entries`) when
    already encoded."""
    if fields is None:
        fields = encode_fields(hot.vector, hot.bias, hot.events, hot.epoch, hot.context, hot.offset)
    if tail is None:
        tail = encode_entries(hot.tail)
    return b"".join((_PREFIX.pack(HOT_MAGIC, HOT_LAYOUT, hot.first, hot.next), fields, _U16.pack(len(hot.tail)),
                     tail))  # fmt: skip


def decode_hot(raw: bytes, user_id: str = "?") -> Hot:
    try:
        magic, layout, first, next_ = _PREFIX.unpack_from(raw, 0)
        _check(magic == HOT_MAGIC and layout in (1, HOT_LAYOUT), user_id, "hot record", raw)
        pos, offset = _PREFIX.size, -1
        if layout == HOT_LAYOUT:
            offset = _I64.unpack_from(raw, pos)[0]
            pos += _I64.size
        events, epoch, bias, n = _SCALARS.unpack_from(raw, pos)
        pos += _SCALARS.size
        vector = None
        if n != _NO_VECTOR:
            vector = np.frombuffer(raw, "<f4", n, pos).astype(float).tolist()
            pos += 4 * n
        length = _U32.unpack_from(raw, pos)[0]
        pos += 4
        context = json.loads(raw[pos : pos + length]) if length else {}
        pos += length
        count = _U16.unpack_from(raw, pos)[0]
        tail, _ = _decode_entries(raw, pos + 2, count)
    except (struct.error, ValueError, IndexError) as exc:
        raise _corrupt(user_id, "hot record", raw) from exc
    return Hot(vector, bias, events, epoch, context, first, next_, tail, offset)


def encode_chunk(entries: bytes, count: int) -> bytes:
    """A sealed chunk of ``count`` entries already encoded (:func:`encode_entries`)."""
    return _CHUNK.pack(CHUNK_MAGIC, LAYOUT, count) + entries


def decode_chunk(raw: bytes, user_id: str = "?") -> list[Entry]:
    try:
        magic, layout, count = _CHUNK.unpack_from(raw, 0)
        _check(magic == CHUNK_MAGIC and layout == LAYOUT, user_id, "log chunk", raw)
        return _decode_entries(raw, _CHUNK.size, count)[0]
    except (struct.error, ValueError, IndexError) as exc:
        raise _corrupt(user_id, "log chunk", raw) from exc


def is_legacy(raw: bytes) -> bool:
    """A state record from before the split: one JSON document (``UserState.to_dict()``)."""
    return raw[:1] == b"{"


# ---------------------------------------------------------------------------- profile and followees
def encode_profile(attributes: dict[str, Any]) -> bytes:
    return json.dumps(attributes, separators=(",", ":")).encode()


def decode_profile(raw: bytes) -> dict[str, Any]:
    return dict(json.loads(raw))


def encode_followees(following: list[str]) -> bytes:
    return json.dumps(following, separators=(",", ":")).encode()


def decode_followees(raw: bytes) -> list[str]:
    return list(json.loads(raw))


def _check(ok: bool, user_id: str, what: str, raw: bytes) -> None:
    if not ok:
        raise _corrupt(user_id, what, raw)


def _corrupt(user_id: str, what: str, raw: bytes) -> StateError:
    return StateError(
        f"user {user_id!r}: the stored {what} is not in a layout this version reads (starts {raw[:4]!r}); "
        "it was written by another version or is damaged: run the version that wrote it, or delete the "
        "user's keys from the user table (the user then starts afresh)"
    )
