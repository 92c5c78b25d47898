"""Trending items: time-decayed counts of positive events, globally and per segment.

A count decays by half every ``half_life`` seconds of event time. Ranking within a set of
counts does not depend on *when* it is asked (every count decays by the same factor), so
each count is kept as its value at a reference time and never touched between events;
when the reference falls far behind, all counts are rescaled at once.

Segments are the item's genres (``genre=drama``) and the acting user's country
(``country=nz``); the trending generator (:mod:`recsys.candidates.trending`) merges the global
counts with the segments a user belongs to.

Examples
--------
>>> t = DecayedCounts(half_life=10.0)
>>> t.add("old", 4.0, at=0.0); t.add("new", 1.0, at=30.0)
>>> t.top(2)  # 4 halved three times is 0.5, below the fresh 1
[('new', 1.0), ('old', 0.5)]
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

from recsys.features import item_tokens, tokens

Attrs = Mapping[str, Any]
_RESCALE_AFTER = 50.0  # half-lives; 2**50 is far from float overflow


class DecayedCounts:
    """Exponentially decayed counts per item, with a fast top-n."""

    def __init__(self, half_life: float) -> None:
        if half_life <= 0:
            raise ValueError(f"half_life must be positive seconds, got {half_life}")
        self.half_life = half_life
        self.reference: float | None = None
        self.now = -math.inf
        self._rows: dict[str, int] = {}
        self._ids: list[str] = []
        self._values = np.zeros(64)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, item_id: str, weight: float, at: float) -> None:
        """Count ``weight`` for ``item_id`` at event time ``at`` (seconds)."""
        if self.reference is None:
            self.reference = at
        self.now = max(self.now, at)
        if (self.now - self.reference) / self.half_life > _RESCALE_AFTER:
            self._values *= 2.0 ** ((self.reference - self.now) / self.half_life)
            self.reference = self.now
        row = self._rows.get(item_id)
        if row is None:
            row = self._rows[item_id] = len(self._ids)
            self._ids.append(item_id)
            if row >= len(self._values):
                self._values = np.concatenate([self._values, np.zeros_like(self._values)])
        self._values[row] += weight * 2.0 ** ((at - self.reference) / self.half_life)

    def value(self, item_id: str) -> float:
        """The decayed count at the latest event time seen."""
        row = self._rows.get(item_id)
        if row is None or self.reference is None:
            return 0.0
        return float(self._values[row] * 2.0 ** ((self.reference - self.now) / self.half_life))

    def top(self, n: int, exclude: Collection[str] = ()) -> list[tuple[str, float]]:
        """Up to ``n`` items with the largest decayed counts, none in ``exclude``, best first."""
        size = len(self._ids)
        if size == 0 or n <= 0 or self.reference is None:
            return []
        values = self._values[:size]
        want = min(size, n + len(exclude))
        rows = np.argpartition(-values, want - 1)[:want] if want < size else np.arange(size)
        rows = rows[np.argsort(-values[rows], kind="stable")]
        scale = 2.0 ** ((self.reference - self.now) / self.half_life)
        picked = [(self._ids[r], float(values[r] * scale)) for r in rows if self._ids[r] not in exclude]
        return picked[:n]


class Trending:
    """Decayed counts globally and per segment (item genre, user country)."""

    def __init__(self, half_life: float) -> None:
        self.half_life = half_life
        self.overall = DecayedCounts(half_life)
        self.segments: dict[str, DecayedCounts] = {}

    def observe(
        self,
        item_id: str,
        weight: float,
        at: float,
        item_attributes: Mapping[str, Any],
        user_attributes: Mapping[str, Any],
    ) -> None:
        """A positive event of strength ``weight`` on ``item_id`` at event time ``at``."""
        self.overall.add(item_id, weight, at)
        for segment in segments_of(item_attributes, user_attributes):
            counts = self.segments.get(segment)
            if counts is None:
                counts = self.segments[segment] = DecayedCounts(self.half_life)
            counts.add(item_id, weight, at)


def segments_of(item_attributes: Mapping[str, Any], user_attributes: Mapping[str, Any]) -> list[str]:
    """The segments an event counts in: the item's genres and the user's country."""
    genres = [t for t in item_tokens(item_attributes) if t.startswith("genre=")]
    return genres + tokens("country", user_attributes.get("country"))
