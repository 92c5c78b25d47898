"""Dead letters: the original bytes of a failed input, where they came from, and why.

Examples
--------
>>> from schemas import DeadLetter, decode
>>> raw = dead_letter(b'{"user_id": 1', key=b"u1", topic="interactions", partition=2, offset=7,
...                   error=ValueError("interaction: not valid JSON"), now=0.0)
>>> letter = decode(DeadLetter, raw)
>>> letter.reason, letter.value, letter.offset
('interaction: not valid JSON', '{"user_id": 1', 7)
"""

from __future__ import annotations

import base64
import time

from schemas import DeadLetter, encode


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return None


def dead_letter(
    value: bytes | None,
    *,
    key: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    error: BaseException,
    now: float | None = None,
) -> bytes:
    """Encode a :class:`~schemas.DeadLetter` for ``value`` that failed with ``error``."""
    letter = DeadLetter(
        reason=str(error) or type(error).__name__,
        error=type(error).__name__,
        source_topic=topic,
        partition=partition,
        offset=offset,
        key=_text(key),
        value_base64=base64.b64encode(value or b"").decode(),
        value=_text(value),
        failed_at=time.time() if now is None else now,
    )
    return encode(letter)
