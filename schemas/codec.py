"""JSON on the wire: bytes in, typed records out, and back.

Examples
--------
>>> from schemas.events import Interaction
>>> raw = b'{"event_id": "e1", "user_id": "u1", "item_id": "i1", "type": "view", "timestamp": 5}'
>>> decode(Interaction, raw)
Interaction(event_id='e1', user_id='u1', item_id='i1', type='view', timestamp=5.0, value=None, context={})
>>> decode(Interaction, encode(decode(Interaction, raw))) == decode(Interaction, raw)
True
>>> from schemas.events import Like
>>> batch = encode_many([Like("e1", "u1", "i1", 2.0, 5.0), Like("e2", "u2", "i1", 1.0, 6.0)])
>>> [like.user_id for like in decode_many(Like, batch)]
['u1', 'u2']
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


def decode_many(cls: _Decodable[R], raw: bytes | str | None) -> list[R]:
    """Parse a JSON array of ``cls`` records (:func:`encode_many`); :class:`SchemaError` if any is not one."""
    data = _parse(cls, raw)
    if not isinstance(data, list):
        raise SchemaError(f"{cls.RECORD}: a batch must be a JSON array of records (got {type(data).__name__})")
    return [cls.from_dict(item) for item in data]


def decode(cls: _Decodable[R], raw: bytes | str | None) -> R:
    """Parse and validate ``raw`` as a ``cls`` record; raise :class:`SchemaError` if it is not one."""
    return cls.from_dict(_parse(cls, raw))


def _parse(cls: _Decodable[R], raw: bytes | str | None) -> Any:
    if raw is None:
        raise SchemaError(f"{cls.RECORD}: the message has no value (a tombstone?)")
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{cls.RECORD}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{cls.RECORD}: not valid JSON ({exc})") from None
    return data
