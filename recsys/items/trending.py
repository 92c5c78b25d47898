"""Trending items: time-decayed counts of positive events, globally and per segment.

A count decays by half every ``half_life`` seconds of event time. Ranking within a set of
counts does not depend on *when* it is asked (every count decays by the same factor), so
each count is kept as its value at a reference time and never touched between events;
when the reference falls far behind, all counts are rescaled at once.

Segments are the item's genres (``genre=drama``) and the acting user's country
(``country=nz``); the trending generator (:mod:`recsys.candidates.trending`) merges the global
counts with the segments a user belongs to. The overall counts are a column of the item row
space (every item may trend); a segment's counts are kept for its own items only.

Examples
--------
>>> t = DecayedCounts(half_life=10.0)
>>> t.add(7, 4.0, at=0.0); t.add(9, 1.0, at=30.0)
>>> rows, values = t.top(2)  # 4 halved three times is 0.5, below the fresh 1
>>> rows.tolist(), values.tolist()
([9, 7], [1.0, 0.5])
>>> t.values(np.array([7, 8])).tolist()
[0.5, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from recsys.features import tokens
from recsys.rows import Mask, Rows, RowSpace

_RESCALE_AFTER = 50.0  # half-lives; 2**50 is far from float overflow


class DecayedCounts:
    """Exponentially decayed counts per item row, with a fast top-n.

    With a row space, the counts are a column of it (local position = item row); without one,
    only the items counted have a place, in the order they were first counted.
    """

    def __init__(self, half_life: float, rows: RowSpace | None = None) -> None:
        if half_life <= 0:
            raise ValueError(f"half_life must be positive seconds, got {half_life}")
        self.half_life = half_life
        self.reference: float | None = None
        self.now = -math.inf
        self._dense = rows is not None
        self._column = rows.column(np.float64) if rows is not None else None
        self._marked = rows.column(np.bool_) if rows is not None else None  # dense: counted yet
        self._local: dict[int, int] = {}  # sparse: item row -> position in _values
        self._values = np.zeros(64)
        self._counted: list[int] = []  # item rows counted, first counted first

    def __len__(self) -> int:
        return len(self._counted)

    def _array(self) -> np.ndarray:
        return self._column.data if self._column is not None else self._values

    def add(self, row: int, weight: float, at: float) -> None:
        """Count ``weight`` for the item of ``row`` at event time ``at`` (seconds)."""
        if self.reference is None:
            self.reference = at
        self.now = max(self.now, at)
        if (self.now - self.reference) / self.half_life > _RESCALE_AFTER:
            self._array()[:] *= 2.0 ** ((self.reference - self.now) / self.half_life)
            self.reference = self.now
        if self._marked is not None:
            position = row
            if not self._marked.data[row]:
                self._marked.data[row] = True
                self._counted.append(row)
        else:
            found = self._local.get(row)
            if found is None:
                found = self._local[row] = len(self._counted)
                self._counted.append(row)
                if found >= len(self._values):
                    self._values = np.concatenate([self._values, np.zeros_like(self._values)])
            position = found
        self._array()[position] += weight * 2.0 ** ((at - self.reference) / self.half_life)

    def _positions(self, rows: Rows) -> np.ndarray:
        if self._dense:
            return rows
        return np.fromiter((self._local[r] for r in rows.tolist()), dtype=np.int64, count=len(rows))

    def _scale(self) -> float:
        return 2.0 ** ((self.reference - self.now) / self.half_life) if self.reference is not None else 0.0

    def values(self, rows: Rows) -> np.ndarray:
        """The decayed counts of ``rows`` at the latest event time seen (0 where none)."""
        if self.reference is None:
            return np.zeros(len(rows))
        if self._dense:
            return self._array()[rows] * self._scale()
        get = self._local.get
        positions = np.fromiter((get(r, -1) for r in rows.tolist()), dtype=np.int64, count=len(rows))
        out = np.where(positions >= 0, self._values[np.maximum(positions, 0)], 0.0)
        return out * self._scale()

    def value(self, row: int) -> float:
        return float(self.values(np.array([row], dtype=np.int64))[0])

    def top(self, n: int, allowed: Mask | None = None) -> tuple[Rows, np.ndarray]:
        """Up to ``n`` allowed rows with the largest decayed counts, best first (ties: the first
        counted), and their counts."""
        counted = np.asarray(self._counted, dtype=np.int64)
        if len(counted) == 0 or n <= 0 or self.reference is None:
            return counted[:0], np.zeros(0)
        values = self._array()[self._positions(counted)]
        want = n
        while True:
            pick = np.argpartition(-values, want - 1)[:want] if want < len(values) else np.arange(len(values))
            pick = pick[np.lexsort((pick, -values[pick]))]
            rows = counted[pick]
            keep = allowed(rows) if allowed is not None else np.ones(len(rows), dtype=bool)
            if keep.sum() >= n or want >= len(values):
                chosen = pick[keep][:n]
                return counted[chosen], values[chosen] * self._scale()
            want = min(len(values), 4 * want)


class Trending:
    """Decayed counts globally (a column of the item row space) and per segment (item genre,
    user country)."""

    def __init__(self, half_life: float, rows: RowSpace | None = None) -> None:
        self.half_life = half_life
        self.overall = DecayedCounts(half_life, RowSpace() if rows is None else rows)
        self.segments: dict[str, DecayedCounts] = {}

    def observe(self, row: int, weight: float, at: float, segments: Iterable[str]) -> None:
        """A positive event of strength ``weight`` on the item of ``row`` at event time ``at``,
        counted overall and in each of ``segments`` (:func:`segments_of`)."""
        self.overall.add(row, weight, at)
        for segment in segments:
            counts = self.segments.get(segment)
            if counts is None:
                counts = self.segments[segment] = DecayedCounts(self.half_life)
            counts.add(row, weight, at)


def segments_of(genres: Iterable[str], user_attributes: Mapping[str, Any]) -> list[str]:
    """The segments an event counts in: the item's genres and the user's country.

    >>> segments_of(["Drama"], {"country": "NZ"})
    ['genre=Drama', 'country=NZ']
    """
    return tokens("genre", list(genres)) + tokens("country", user_attributes.get("country"))
