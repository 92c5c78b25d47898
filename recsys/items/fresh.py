"""Fresh items: the most recently published, as of the latest event time.

Items enter with the ``published_at`` of their catalogue record. "Now" is the engine's event
clock (the latest event timestamp), not the wall clock, so a replay of old events sees the
catalogue as it was: an item published after the event being replayed is not yet fresh.
An item with no ``published_at`` is never fresh. The score is the item's publication time,
newest first.

Examples
--------
>>> fresh = FreshItems()
>>> for item_id, at in [("a", 10.0), ("b", 20.0), ("c", 30.0)]:
...     fresh.publish(item_id, at)
>>> fresh.newest(2, now=25.0)
[('b', 20.0), ('a', 10.0)]
"""

from __future__ import annotations

import bisect
from collections.abc import Callable


class FreshItems:
    """Items ordered by publication time."""

    def __init__(self) -> None:
        self._order: list[tuple[float, str]] = []
        self._published: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._order)

    def publish(self, item_id: str, published_at: float | None) -> None:
        """Record (or move, or with None forget) an item's publication time."""
        old = self._published.pop(item_id, None)
        if old is not None:
            self._order.pop(bisect.bisect_left(self._order, (old, item_id)))
        if published_at is not None:
            self._published[item_id] = published_at
            bisect.insort(self._order, (published_at, item_id))

    def newest(self, n: int, now: float, keep: Callable[[str], bool] = lambda _: True) -> list[tuple[str, float]]:
        """Up to ``n`` items published at or before ``now`` that ``keep`` accepts, newest first."""
        out: list[tuple[str, float]] = []
        end = bisect.bisect_right(self._order, (now, "\U0010ffff"))
        for position in range(end - 1, -1, -1):
            if len(out) == n:
                break
            at, item_id = self._order[position]
            if keep(item_id):
                out.append((item_id, at))
        return out
