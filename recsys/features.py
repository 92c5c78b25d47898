"""Attributes as tokens, and a stable hash for them.

Item and user attributes arrive as free-form JSON (``schemas.Item.attributes``,
``schemas.User.attributes``). Models that learn from them see tokens ``kind=value``: one per
scalar, one per element of a list, numbers bucketed. The hash is stable across processes
(Python's ``hash`` of a string is salted per process), so a token maps to the same row or
direction in every worker and after every restart.

Examples
--------
>>> item_tokens({"genres": ["Drama", "War"], "year": 1957, "creator": "lean"})
['genre=drama', 'genre=war', 'creator=lean', 'decade=1950']
>>> user_tokens({"age": 34, "country": "NZ", "preferred_genres": ["Comedy"]})
['age=30', 'country=nz', 'preferred_genres=comedy']
>>> stable_hash("genre=drama") == stable_hash("genre=drama"), stable_hash("a") == stable_hash("a", seed=1)
(True, False)
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

ITEM_KINDS = {"genres": "genre", "tags": "tag", "creator": "creator"}
"""Item attributes read as content, and the token kind each becomes (``year`` becomes ``decade``)."""


def stable_hash(token: str, seed: int = 0) -> int:
    """A 64-bit hash of ``token`` that is the same in every process."""
    digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8, key=str(seed).encode())
    return int.from_bytes(digest.digest(), "little")


def _norm(value: Any) -> str:
    return str(value).strip().lower()


def tokens(kind: str, value: Any) -> list[str]:
    """``kind=value`` for a scalar, one per element for a list, none for None or a mapping.

    >>> tokens("genre", ["Drama", " "]), tokens("country", "NZ"), tokens("country", None)
    (['genre=drama'], ['country=nz'], [])
    """
    values = value if isinstance(value, list) else [] if value is None or isinstance(value, dict) else [value]
    return [f"{kind}={_norm(v)}" for v in values if _norm(v)]


def item_tokens(attributes: Mapping[str, Any]) -> list[str]:
    """Content tokens of an item: genres, tags, creator, and the decade of ``year``."""
    out: list[str] = []
    for key, kind in ITEM_KINDS.items():
        out += tokens(kind, attributes.get(key))
    year = attributes.get("year")
    if isinstance(year, int | float) and not isinstance(year, bool):
        out.append(f"decade={int(year) // 10 * 10}")
    return out


def user_tokens(attributes: Mapping[str, Any]) -> list[str]:
    """Profile tokens of a user: every attribute, lists one token per element, ``age`` by decade."""
    out: list[str] = []
    for key, value in attributes.items():
        if key == "age" and isinstance(value, int | float) and not isinstance(value, bool):
            out.append(f"age={int(value) // 10 * 10}")
        else:
            out += tokens(key, value)
    return out
