"""JSON on the wire: bytes in, typed records out, and back.

Examples
--------
>>> from schemas.events import Interaction
>>> raw = b'{"event_id": "e1", "user_id": "u1", "item_id": "i1", "type": "view", "timestamp": 5}'
>>> event = decode(Interaction, raw)
>>> event.event_id, event.user_id, event.item_id, event.type, event.timestamp, event.value, event.list_id
('e1', 'u1', 'i1', 'view', 5.0, None, '')
>>> decode(Interaction, encode(decode(Interaction, raw))) == decode(Interaction, raw)
True
>>> from schemas.events import Like
>>> batch = encode_many([Like("e1", "u1", "i1", 2.0, 5.0), Like("e2", "u2", "i1", 1.0, 6.0)])
>>> [like.user_id for like in decode_many(Like, batch)]
['u1', 'u2']
>>> framed = bytes(1) + (7).to_bytes(4, "big") + raw  # a schema registry serializer's framing
>>> decode(Interaction, framed) == decode(Interaction, raw)
True
>>> decode(Interaction, b'{oops')
Traceback (most recent call last):
...
schemas.errors.SchemaError: interaction: not valid JSON (Expecting property name enclosed in \
double quotes: line 1 column 2 (char 1))
"""

from __future__ import annotations

import json
from typing import Any, Protocol, TypeVar

from schemas.errors import SchemaError


class _Record(Protocol):
    RECORD: str

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R")


class _Decodable(Protocol[R]):  # type: ignore[misc]
    RECORD: str

    def from_dict(self, data: Any) -> R: ...


def encode(record: _Record) -> bytes:
    """Serialise a record to compact UTF-8 JSON."""
    return json.dumps(record.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()


def encode_many(records: list[Any]) -> bytes:
    """Serialise records as one JSON array: a batch in one message (the workers' shared topics)."""
    return json.dumps([r.to_dict() for r in records], separators=(",", ":"), ensure_ascii=False).encode()


def encode_batches(records: list[Any], max_bytes: int) -> list[bytes]:
    """:func:`encode_many` in as many arrays as keep each under ``max_bytes`` (a record larger
    than that alone gets an array of its own): Kafka refuses a message over its size limit
    (``max.message.bytes``, 1 MiB by default).

    >>> from schemas.events import Like
    >>> likes = [Like(f"e{n}", "u1", "i1", 1.0, 5.0) for n in range(5)]
    >>> [len(decode_many(Like, raw)) for raw in encode_batches(likes, max_bytes=200)]
    [2, 2, 1]
    """
    out: list[bytes] = []
    parts: list[bytes] = []
    size = 2
    for record in records:
        raw = encode(record)
        if parts and size + len(raw) + 1 > max_bytes:
            out.append(b"[" + b",".join(parts) + b"]")
            parts, size = [], 2
        parts.append(raw)
        size += len(raw) + 1
    if parts:
        out.append(b"[" + b",".join(parts) + b"]")
    return out


def decode_many(cls: _Decodable[R], raw: bytes | str | None) -> list[R]:
    """Parse a JSON array of ``cls`` records (:func:`encode_many`); :class:`SchemaError` if any is not one."""
    data = _parse(cls, raw)
    if not isinstance(data, list):
        raise SchemaError(f"{cls.RECORD}: a batch must be a JSON array of records (got {type(data).__name__})")
    return [cls.from_dict(item) for item in data]


def decode(cls: _Decodable[R], raw: bytes | str | None) -> R:
    """Parse and validate ``raw`` as a ``cls`` record; raise :class:`SchemaError` if it is not one."""
    return cls.from_dict(_parse(cls, raw))


REGISTRY_MAGIC = b"\x00"
"""The first byte of a value framed by a schema registry's serializer (Confluent's wire format:
the magic byte, a 4-byte big-endian schema id, then the JSON). JSON never starts with it, so such
a value is read as its JSON; the id is not looked up (the record is validated as always)."""


def _parse(cls: _Decodable[R], raw: bytes | str | None) -> Any:
    if raw is None:
        raise SchemaError(f"{cls.RECORD}: the message has no value (a tombstone?)")
    if isinstance(raw, bytes) and raw[:1] == REGISTRY_MAGIC:
        if len(raw) < 5:
            raise SchemaError(f"{cls.RECORD}: a schema registry frame needs 5 bytes before the JSON (got {len(raw)})")
        raw = raw[5:]
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{cls.RECORD}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{cls.RECORD}: not valid JSON ({exc})") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise SchemaError(f"{cls.RECORD}: not valid JSON ({str(exc)[:200]})") from None
    except RecursionError:
        raise SchemaError(
            f"{cls.RECORD}: JSON nested too deeply to decode (records nest a few levels; "
            "free-form values at most 8)"
        ) from None
    return data
