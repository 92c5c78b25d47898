"""JSON on the wire: bytes in, typed records out, and back (msgspec, in one pass).

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
schemas.errors.SchemaError: interaction: not valid JSON (JSON is malformed: object keys must be \
strings (byte 1))
"""

from __future__ import annotations

import functools
import re
import typing
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from schemas.errors import SchemaError
from schemas.events import Record, fail

R = TypeVar("R", bound=Record)

_ENCODER = msgspec.json.Encoder()


def encode(record: Record) -> bytes:
    """Serialise a record to compact UTF-8 JSON."""
    return _ENCODER.encode(record)


def encode_many(records: list[Any]) -> bytes:
    """Serialise records as one JSON array: a batch in one message (the workers' shared topics)."""
    return _ENCODER.encode(records)


def encode_batches(records: list[Any], max_bytes: int) -> list[bytes]:
    """:func:`encode_many` in as many arrays as keep each under ``max_bytes`` (a record larger
    than that alone gets an array of its own): Kafka refuses a message over its size limit
    (``max.message.bytes``, 1 MiB by default).

    >>> from schemas.events import Like
    >>> likes = [Like(f"e{n}", "u1", "i1", 1.0, 5.0) for n in range(5)]
    >>> [len(decode_many(Like, raw)) for raw in encode_batches(likes, max_bytes=250)]
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


@functools.cache
def _decoder(cls: Any, many: bool) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(list[cls] if many else cls)


def decode_many(cls: type[R], raw: bytes | str | None) -> list[R]:
    """Parse a JSON array of ``cls`` records (:func:`encode_many`); :class:`SchemaError` if any is not one."""
    out: list[R] = _decode(cls, raw, many=True)
    return out


def decode(cls: type[R], raw: bytes | str | None) -> R:
    """Parse and validate ``raw`` as a ``cls`` record; raise :class:`SchemaError` if it is not one."""
    out: R = _decode(cls, raw, many=False)
    return out


REGISTRY_MAGIC = b"\x00"
"""The first byte of a value framed by a schema registry's serializer (Confluent's wire format:
the magic byte, a 4-byte big-endian schema id, then the JSON). JSON never starts with it, so such
a value is read as its JSON; the id is not looked up (the record is validated as always)."""


def _decode(cls: type[Record], raw: bytes | str | None, many: bool) -> Any:
    if raw is None:
        raise SchemaError(f"{cls.RECORD}: the message has no value (a tombstone?)")
    if isinstance(raw, bytes) and raw[:1] == REGISTRY_MAGIC:
        if len(raw) < 5:
            raise SchemaError(f"{cls.RECORD}: a schema registry frame needs 5 bytes before the JSON (got {len(raw)})")
        raw = raw[5:]
    try:
        return _decoder(cls, many).decode(raw)
    except msgspec.DecodeError as exc:
        if isinstance(exc, msgspec.ValidationError):
            raise explain(cls, exc, many) from None
        if isinstance(raw, bytes):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as bad:
                raise SchemaError(f"{cls.RECORD}: not UTF-8 text ({bad.reason} at byte {bad.start})") from None
        raise SchemaError(f"{cls.RECORD}: not valid JSON ({exc})") from None
    except RecursionError as exc:
        raise explain(cls, exc, many) from None


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_TYPES = {
    "bool": "true or false",
    "str": "a string",
    "str | int": "a string",
    "str | null": "a string or null",
    "int": "a whole number",
    "float": "a number",
    "float | null": "a number or null",
    "float | str": "epoch seconds or an ISO-8601 string with a timezone",
    "float | str | null": "epoch seconds, an ISO-8601 string with a timezone, or null",
    "int | float | null": "a whole number, 0 or more",
    "array": "a list",
    "object": "a JSON object",
    "object | null": "a JSON object or null",
}
_BOUNDS = {
    ">= 0": "must not be negative",
    ">= 0.0": "must not be negative",
    "> 0": "must be positive",
    "> 0.0": "must be positive",
}


def explain(cls: type[Record], exc: BaseException, many: bool = False) -> SchemaError:
    """msgspec's complaint about a ``cls`` record as a :class:`SchemaError` that names the field and the fix."""
    record = cls.RECORD
    if isinstance(exc, RecursionError):
        return SchemaError(f"{record}: JSON nested too deeply to decode (records nest a few levels; "
                           "free-form values at most 8)")  # fmt: skip
    found = _AT.match(str(exc))
    assert found is not None  # the pattern matches any text
    message, path = found["message"], found["path"] or ""
    prefix = record
    batch = re.match(r"^\[(\d+)\]\.?", path) if many else None
    if batch:
        prefix, path = f"{record} {int(batch[1]) + 1} of the batch", path[batch.end() :]
    if message.startswith(tuple(f"{c.RECORD}: " for c in Record.__subclasses__())):
        return fail(prefix, message.split(": ", 1)[1] + (f" (at {path.lstrip('.')})" if path else ""))
    top = "." not in path.lstrip(".") and "[" not in path
    name = path.lstrip(".")
    if found := re.fullmatch(r"Object missing required field `(\w+)`", message):
        field = f"{name}.{found[1]}" if name else found[1]
        choices = _choices(cls, field) if top else None
        if choices:
            return fail(prefix, f"field {field!r} must be one of {', '.join(choices)} (it is missing)")
        hint = _description(cls, field) if top else ""
        return fail(prefix, f"field {field!r} is required" + (f" ({hint})" if hint else ""))
    if found := re.fullmatch(r"Object contains unknown field `(.*)`", message, re.S):
        allowed = ", ".join(f.name for f in msgspec.structs.fields(cls)) if not name else ""
        return fail(prefix, f"unknown field(s) {found[1]!r}" + (f" in {name!r}" if name else "")
                    + (f"; allowed: {allowed}" if allowed else ""))  # fmt: skip
    if not name:
        if found := re.fullmatch(r"Expected `object`, got `(\w+)`", message):
            return fail(prefix, f"expected a JSON object, got {found[1]}")
        return fail(prefix, message)
    if found := re.fullmatch(r"Invalid enum value (.*)", message, re.S):
        choices = _choices(cls, name) if top else None
        return fail(prefix, f"field {name!r} must be one of {', '.join(choices or ('the values its schema lists',))} "
                            f"(got {found[1]})")  # fmt: skip
    if found := re.fullmatch(r"Expected `(str|array|object)` of length ([<>]=) (\d+)", message):
        kind, op, size = found.groups()
        if op == ">=" and size == "1":
            return fail(prefix, f"field {name!r} must not be empty")
        if op == ">=":
            return fail(prefix, f"field {name!r} must hold at least {size}")
        noun = {"str": "characters", "array": "elements", "object": "keys"}[kind]
        if kind == "str":
            return fail(prefix, f"field {name!r} is longer than {size} characters")
        return fail(prefix, f"field {name!r} has too many {noun}; the limit is {size}")
    if found := re.fullmatch(r"Expected `[\w| ]+` ([<>]=? -?[\d.]+)", message):
        bound = found[1]
        return fail(prefix, f"field {name!r} {_BOUNDS.get(bound, 'must be ' + bound)}")
    if found := re.fullmatch(r"Expected `([^`]+)`, got `(\w+)`", message):
        expected, got = found.groups()
        return fail(prefix, f"field {name!r} must be {_TYPES.get(expected, expected)} (got {got})")
    if message in ("Integer value out of range", "Number out of range"):
        return fail(prefix, f"field {name!r} is out of range ({message.lower()})")
    return fail(prefix, f"field {name!r}: {message}")


@functools.cache
def _field_type(cls: type[Record], name: str) -> Any:
    for field in msgspec.structs.fields(cls):
        if field.name == name:
            return field.type
    return None


def _choices(cls: type[Record], name: str) -> tuple[str, ...] | None:
    kind = _field_type(cls, name)
    while typing.get_origin(kind) is Annotated:
        kind = kind.__origin__
    return typing.get_args(kind) if typing.get_origin(kind) is Literal else None


def _description(cls: type[Record], name: str) -> str:
    kind = _field_type(cls, name)
    if typing.get_origin(kind) is Annotated:
        for meta in kind.__metadata__:
            if isinstance(meta, msgspec.Meta) and meta.description:
                return meta.description
    return ""

