"""Dead letters: the original bytes of a failed input, where they came from, and why.

Examples
--------
>>> from schemas import DeadLetter, decode
>>> raw = dead_letter(b'{"user_id": 1', key=b"u1", topic="interactions", partition=2, offset=7,
...                   error=ValueError("interaction: not valid JSON"), now=0.0)
>>> letter = decode(DeadLetter, raw)
>>> letter.reason, letter.value, letter.offset, letter.truncated
('interaction: not valid JSON', '{"user_id": 1', 7, False)

A letter always fits its topic: a copy that would not is cut (``truncated``), and the source's
topic, partition and offset find the whole original:

>>> raw = dead_letter(b"x" * 5000, key=b"u1", topic="interactions", partition=2, offset=8,
...                   error=ValueError("too large"), now=0.0, max_bytes=2000)
>>> letter = decode(DeadLetter, raw)
>>> len(raw) <= 2000, letter.truncated, letter.value, letter.value_bytes
(True, True, None, 5000)
>>> base64.b64decode(letter.value_base64) == b"x" * len(base64.b64decode(letter.value_base64))
True
"""

from __future__ import annotations

import base64
import time

from msgspec.structs import replace

from schemas import DeadLetter, encode


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None


MAX_BYTES = 512 * 1024  # a letter's size, under Kafka's default max.message.bytes (1 MiB)
MAX_REASON = 2000  # characters of the error kept in a letter
MAX_KEY = 1024  # characters of the source's key kept in a letter


def letter_key(key: bytes | None) -> bytes | None:
    """The Kafka key of the letter: the source's, cut to :data:`MAX_KEY` bytes (it must fit too)."""
    return key if key is None or len(key) <= MAX_KEY else key[:MAX_KEY]


def dead_letter(
    value: bytes | None,
    *,
    key: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    error: BaseException,
    now: float | None = None,
    max_bytes: int = MAX_BYTES,
) -> bytes:
    """Encode a :class:`~schemas.DeadLetter` for ``value`` that failed with ``error``, at most
    ``max_bytes`` long (the copy of ``value`` cut to fit, and marked so, when it would not)."""
    raw_value = value or b""
    reason = str(error) or type(error).__name__
    key_text = _text(key)
    letter = DeadLetter(
        reason=reason if len(reason) <= MAX_REASON else reason[:MAX_REASON] + f"... ({len(reason)} characters)",
        error=type(error).__name__,
        source_topic=topic,
        partition=partition,
        offset=offset,
        key=key_text if key_text is None or len(key_text) <= MAX_KEY else key_text[:MAX_KEY],
        value_base64=base64.b64encode(raw_value).decode(),
        value=_text(value),
        failed_at=time.time() if now is None else now,
        value_bytes=len(raw_value),
    )
    out = encode(letter)
    if len(out) <= max_bytes:
        return out
    empty = encode(replace(letter, value_base64="", value=None, truncated=True))
    keep = max(0, (max_bytes - len(empty)) // 4 * 3)  # base64: 4 characters per 3 bytes
    return encode(replace(letter, value_base64=base64.b64encode(raw_value[:keep]).decode(), value=None, truncated=True))
