"""Fresh items: the most recently published, as of the latest event time.

Items enter with the ``published_at`` of their catalogue record. "Now" is the engine's event
clock (the latest event timestamp), not the wall clock, so a replay of old events sees the
catalogue as it was: an item published after the event being replayed is not yet fresh.
An item with no ``published_at`` is never fresh. The score is the item's publication time,
newest first.

The order is two sorted arrays (publication time, item row): a new record is buffered and
merged in before the next read, and an entry the catalogue has since re-dated or withdrawn is
skipped when read and dropped at the next merge, so a catalogue of a million items costs 16
bytes an item and no per-record insertion into a million-entry list.

Examples
--------
>>> from recsys.rows import RowSpace
>>> import numpy as np
>>> published = RowSpace().column(np.float64, fill=np.nan)
>>> fresh = FreshItems(published)
>>> for row, at in [(0, 10.0), (1, 20.0), (2, 30.0)]:
...     published.data[row] = at
...     fresh.publish(row, at)
>>> rows, at = fresh.newest(2, now=25.0)
>>> rows.tolist(), at.tolist()
([1, 0], [20.0, 10.0])
"""

from __future__ import annotations

import math

import numpy as np

from recsys.rows import Column, Mask, Rows

_MERGE_ALL = 4096  # buffered records beyond which the whole order is sorted again, not merged in one by one


class FreshItems:
    """Items ordered by publication time; ``published`` is the catalogue's column (the truth)."""

    def __init__(self, published: Column) -> None:
        self.published = published
        self._at = np.empty(0, dtype=np.float64)
        self._rows = np.empty(0, dtype=np.int64)
        self._pending: list[tuple[float, int]] = []

    def __len__(self) -> int:
        self._merge()
        return len(self._rows)

    def publish(self, row: int, published_at: float | None) -> None:
        """Record an item's publication time (a later record of the same item supersedes it; None:
        the item is never fresh)."""
        if published_at is not None:
            self._pending.append((published_at, row))

    def _merge(self) -> None:
        if not self._pending:
            return
        pending = sorted(self._pending)
        self._pending = []
        at = np.array([p for p, _ in pending])
        rows = np.array([r for _, r in pending], dtype=np.int64)
        if len(pending) <= _MERGE_ALL and len(self._rows):  # a few new records: insert them in place
            where = np.searchsorted(self._at, at, side="right")
            self._at, self._rows = np.insert(self._at, where, at), np.insert(self._rows, where, rows)
            return
        at = np.concatenate([self._at, at])
        rows = np.concatenate([self._rows, rows])
        current = self.published.data[rows] == at  # drop entries re-dated since
        at, rows = at[current], rows[current]
        order = np.lexsort((rows, at))
        at, rows = at[order], rows[order]
        if len(rows) > 1:  # one entry per item (a record repeated with the same time)
            keep = np.concatenate([[True], (rows[1:] != rows[:-1]) | (at[1:] != at[:-1])])
            at, rows = at[keep], rows[keep]
        self._at, self._rows = at, rows

    def newest(self, n: int, now: float, allowed: Mask | None = None) -> tuple[Rows, np.ndarray]:
        """Up to ``n`` items published at or before ``now`` that ``allowed`` accepts, newest first
        (ties: the later recorded first), with their publication times."""
        self._merge()
        end = int(np.searchsorted(self._at, now, side="right")) if not math.isnan(now) else 0
        picked_rows: list[np.ndarray] = []
        picked_at: list[np.ndarray] = []
        found, chunk = 0, max(2 * n, 256)
        while end > 0 and found < n:
            start = max(0, end - chunk)
            rows, at = self._rows[start:end][::-1], self._at[start:end][::-1]
            keep = self.published.data[rows] == at
            if allowed is not None:
                keep &= allowed(rows)
            rows, at = rows[keep][: n - found], at[keep][: n - found]
            picked_rows.append(rows)
            picked_at.append(at)
            found += len(rows)
            end, chunk = start, 2 * chunk
        if not picked_rows:
            return np.empty(0, dtype=np.int64), np.empty(0)
        rows, at = np.concatenate(picked_rows), np.concatenate(picked_at)
        _, first = np.unique(rows, return_index=True)  # an item recorded twice with the same time
        if len(first) < len(rows):
            keep = np.sort(first)
            rows, at = rows[keep], at[keep]
        return rows, at
