"""Item-to-item co-visitation: items that appeared near each other in users' recent histories.

What the user did just now is the strongest single signal measured on MovieLens (see the
architecture guide). Every positive event pairs its item with the user's previous
``window`` positives (weighted by how close they were), both directions; a user's
candidates are the items most co-visited with the user's own recent positives, the most
recent counting most. Rows are pruned to their strongest ``row_limit`` entries so memory
stays bounded by the number of items. With a ``half_life`` (event-time seconds) a pair's
count halves every half-life: a pair seen today outweighs one seen a year ago. Counts are
kept in the units of a reference time (a pair adds ``weight * 2**((at - reference) /
half_life)``) and read back at the latest event time, so nothing is rewritten per event.

Directed (``directed=True``), it counts only what came *after*: a positive adds to the rows of
the user's previous positives, not the other way round, so a query from the user's latest items
gives what users took next (:mod:`recsys.candidates.transitions`).

Items are rows of the item row space; each item's co-visits are two numpy arrays (the other
items' rows and the counts), so a query sums a user's few rows with a handful of vectorised
operations.

Examples
--------
>>> cv = CoVisitation(window=3)
>>> for items in [[0, 1, 2], [0, 1], [0, 3]]:  # three users' positives, as item rows
...     for n, item in enumerate(items):
...         cv.observe(items[:n], item)
>>> rows, counts = cv.scores([0])
>>> dict(zip(rows.tolist(), counts.tolist()))
{1: 2.0, 2: 0.7071067811865475, 3: 1.0}
>>> cv.count(0, 1), cv.count(3, 2)
(2.0, 0.0)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from recsys.rows import Rows

_RESCALE_AFTER = 50.0  # half-lives between rescales of every count; 2**50 is far from overflow
_EMPTY = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))


class _Row:
    """One item's co-visits: ``keys[:n]`` (item rows) and ``counts[:n]``."""

    __slots__ = ("counts", "keys", "n")

    def __init__(self) -> None:
        self.keys = np.empty(8, dtype=np.int64)
        self.counts = np.empty(8, dtype=np.float64)
        self.n = 0

    def add(self, key: int, weight: float, limit: int) -> None:
        n = self.n
        hit = np.flatnonzero(self.keys[:n] == key)
        if len(hit):
            self.counts[hit[0]] += weight
            return
        if n == len(self.keys):
            self.keys = np.concatenate([self.keys, np.empty(n, dtype=np.int64)])
            self.counts = np.concatenate([self.counts, np.empty(n, dtype=np.float64)])
        self.keys[n], self.counts[n] = key, weight
        self.n = n + 1
        if self.n > 2 * limit:  # keep the strongest ``limit`` (ties: the earlier)
            keep = np.sort(np.argsort(-self.counts[: self.n], kind="stable")[:limit])
            self.keys[:limit], self.counts[:limit] = self.keys[keep], self.counts[keep]
            self.n = limit


class CoVisitation:
    """Co-visitation counts between items (rows), symmetric or directed, with bounded rows."""

    def __init__(self, window: int = 20, row_limit: int = 500, half_life: float = 0.0, directed: bool = False) -> None:
        if half_life < 0:
            raise ValueError(f"half_life must be 0 (no decay) or positive seconds, got {half_life}")
        self.window = window
        self.row_limit = row_limit
        self.half_life = half_life
        self.directed = directed
        self.reference: float | None = None  # the event time whose units the counts are in
        self.now = -math.inf
        self.rows: dict[int, _Row] = {}

    def __len__(self) -> int:
        """How many items have a co-visit."""
        return len(self.rows)

    def _scale_at(self, at: float) -> float:
        """The factor one pair seen at ``at`` adds (1 without decay)."""
        if not self.half_life:
            return 1.0
        if self.reference is None:
            self.reference = at
        self.now = max(self.now, at)
        if (self.now - self.reference) / self.half_life > _RESCALE_AFTER:
            shrink = 2.0 ** ((self.reference - self.now) / self.half_life)
            for row in self.rows.values():
                row.counts[: row.n] *= shrink
            self.reference = self.now
        return float(2.0 ** ((at - self.reference) / self.half_life))

    def observe(self, recent: Sequence[int], item: int, at: float = 0.0) -> None:
        """``item`` was a positive at event time ``at`` right after ``recent`` (oldest first) for
        one user."""
        scale = self._scale_at(at)
        for distance, other in enumerate(reversed(recent[-self.window :]), start=1):
            if other == item:
                continue
            weight = scale / distance**0.5
            self._add(other, item, weight)
            if not self.directed:
                self._add(item, other, weight)

    def _add(self, a: int, b: int, weight: float) -> None:
        row = self.rows.get(a)
        if row is None:
            row = self.rows[a] = _Row()
        row.add(b, weight, self.row_limit)

    def _now(self) -> float:
        if self.half_life and self.reference is not None:
            return float(2.0 ** ((self.reference - self.now) / self.half_life))
        return 1.0

    def count(self, a: int, b: int) -> float:
        """The (decayed) co-visitation of ``a`` with ``b``."""
        row = self.rows.get(a)
        if row is None:
            return 0.0
        hit = np.flatnonzero(row.keys[: row.n] == b)
        return float(row.counts[hit[0]]) * self._now() if len(hit) else 0.0

    def counts(self, items: Rows, others: Rows) -> np.ndarray:
        """The (decayed) co-visitation of each of ``items`` with each of ``others``: one row per item.

        >>> c = CoVisitation(window=2)
        >>> c.observe([1], 2)
        >>> c.counts(np.array([1, 2, 3]), np.array([2, 1, 2])).tolist()
        [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
        """
        rows: list[tuple[int, _Row]] = []
        for n, item in enumerate(items.tolist()):
            row = self.rows.get(item)
            if row is not None and row.n:
                rows.append((n, row))
        if not rows or not len(others):
            return np.zeros((len(items), len(others)))
        columns, inverse = np.unique(others, return_inverse=True)
        keys = np.concatenate([row.keys[: row.n] for _, row in rows])
        weights = np.concatenate([row.counts[: row.n] for _, row in rows])
        owner = np.repeat([n for n, _ in rows], [row.n for _, row in rows])
        at = np.minimum(np.searchsorted(columns, keys), len(columns) - 1)
        hit = columns[at] == keys
        found = np.zeros((len(items), len(columns)))
        found[owner[hit], at[hit]] = weights[hit] * self._now()
        return found[:, inverse]

    def scores(self, recent: Sequence[int]) -> tuple[Rows, np.ndarray]:
        """Summed (decayed) co-visitation with ``recent`` (oldest first; the most recent weighs
        most): the item rows co-visited with any of them, ascending, and their sums."""
        now = self._now()
        keys: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        for distance, item in enumerate(reversed(recent[-self.window :]), start=1):
            row = self.rows.get(item)
            if row is None or row.n == 0:
                continue
            keys.append(row.keys[: row.n])
            counts.append(row.counts[: row.n] * (now / distance**0.5))
        if not keys:
            return _EMPTY
        if len(keys) == 1:
            order = np.argsort(keys[0])
            return keys[0][order], counts[0][order]
        unique, inverse = np.unique(np.concatenate(keys), return_inverse=True)
        return unique, np.bincount(inverse, weights=np.concatenate(counts), minlength=len(unique))
