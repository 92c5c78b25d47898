"""JSON on the wire: bytes in, typed records out, and back.

Examples
--------
>>> from schemas.events import Interaction
>>> raw = b'{"event_id": "e1", "user_id": "u1", "item_id": "i1", "type": "view", "timestamp": 5}'
>>> decode(Interaction, raw)
Interaction(event_id='e1', user_id='u1', item_id='i1', type='view', timestamp=5.0, value=None, context={})
>>> decode(Interaction, encode(decode(Interaction, raw))) == decode(Interaction, raw)
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


def decode(cls: _Decodable[R], raw: bytes | str | None) -> R:
    """Parse and validate ``raw`` as a ``cls`` record; raise :class:`SchemaError` if it is not one."""
    if raw is None:
        raise SchemaError(f"{cls.RECORD}: the message has no value (a tombstone?)")
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except UnicodeDecodeError as exc:
        raise SchemaError(f"{cls.RECORD}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{cls.RECORD}: not valid JSON ({exc})") from None
    return cls.from_dict(data)
