"""Attributes as tokens, and a stable hash for them.

Item and user attributes arrive as free-form JSON (``schemas.Item.attributes``,
``schemas.User.attributes``). Models that learn from them see tokens ``kind=value``: one per
scalar, one per element of a list, numbers bucketed. The hash is stable across processes
(Python's ``hash`` of a string is salted per process), so a token maps to the same row or
direction in every worker and after every restart.

Examples
--------
>>> item_tokens({"genres": ["Drama", "War"], "year": 1957, "creator": "lean"})
['genre=Drama', 'genre=War', 'creator=lean', 'decade=1950']
>>> user_tokens({"age": 34, "country": "NZ", "preferred_genres": ["Comedy"]})
['age=30', 'country=NZ', 'preferred_genres=Comedy']
>>> stable_hash("genre=drama") == stable_hash("genre=drama"), stable_hash("a") == stable_hash("a", seed=1)
(True, False)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

ITEM_KINDS = {"genres": "genre", "tags": "tag", "creator": "creator"}
"""Item attributes read as content, and the token kind each becomes (``year`` becomes ``decade``)."""


def stable_hash(token: str, seed: int = 0) -> int:
    """A 64-bit hash of ``token`` that is the same in every process."""
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8, salt=seed.to_bytes(8, "little", signed=True))
    return int.from_bytes(digest.digest(), "little")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def tokens(kind: str, value: Any) -> list[str]:
    """``kind=value`` for a scalar, one per element of a list, ``kind.key=...`` for a mapping.

    >>> tokens("genre", ["Drama", " "]), tokens("country", "NZ"), tokens("size", {"w": 2.0}), tokens("x", None)
    (['genre=Drama'], ['country=NZ'], ['size.w=2'], [])
    """
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [t for key, sub in value.items() for t in tokens(f"{kind}.{key}", sub)]
    if isinstance(value, list | tuple | set | frozenset):
        values = [v for v in value if v is not None and not isinstance(v, Mapping | list | tuple)]
    else:
        values = [value]
    return [f"{kind}={_text(v)}" for v in values if _text(v)]


def decade(value: Any) -> int | None:
    """The decade of a year or an age (None when it is not a finite number).

    >>> decade(1957), decade("34"), decade("unknown")
    (1950, 30, None)
    """
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number // 10 * 10) if math.isfinite(number) else None


def item_genres(attributes: Mapping[str, Any]) -> tuple[str, ...]:
    """An item's genres: a list, or one string (``|``-separated, as MovieLens writes them).

    >>> item_genres({"genres": ["Drama", " War", ""]}), item_genres({"genres": "Action|Sci-Fi"}), item_genres({})
    (('Drama', 'War'), ('Action', 'Sci-Fi'), ())
    """
    value = attributes.get("genres")
    if isinstance(value, str):
        value = value.split("|")
    if not isinstance(value, list | tuple | set | frozenset):
        return ()
    return tuple(text for text in (str(g).strip() for g in value if g is not None) if text)


def item_tokens(attributes: Mapping[str, Any]) -> list[str]:
    """Content tokens of an item: genres, tags, creator, and the decade of ``year``."""
    out: list[str] = []
    for key, kind in ITEM_KINDS.items():
        out += tokens(kind, attributes.get(key))
    year = decade(attributes.get("year"))
    if year is not None:
        out.append(f"decade={year}")
    return out


def user_tokens(attributes: Mapping[str, Any]) -> list[str]:
    """Profile tokens of a user: every attribute, lists one token per element, ``age`` by decade."""
    out: list[str] = []
    for key, value in attributes.items():
        age = decade(value) if key == "age" and not isinstance(value, str) else None
        out += [f"age={age}"] if age is not None else tokens(key, value)
    return out
