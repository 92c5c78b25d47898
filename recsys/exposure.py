"""How often each creator was listed (their exposure) over a rolling window of event time.

The fairness step (:mod:`recsys.rerank.fairness`) asks what share of recent exposure a
creator had: the engine records the creators of every list it serves, and a creator whose
share is far above the others' is held back while one nobody saw lately gets a slot.

Time (event-time seconds, the engine's clock) is cut into ``buckets`` buckets of
``window / buckets`` seconds each. The window at ``now`` is the bucket of ``now`` and the
``buckets - 1`` before it, so an exposure counts for between ``window - window / buckets``
and ``window`` seconds. Buckets that leave the window are dropped (their counts subtracted
from running totals), so memory is bounded by the creators seen in the window and both
:meth:`CreatorExposure.record` (per exposure) and :meth:`CreatorExposure.share` are O(1)
amortised. The state is plain dicts and a deque: it pickles with the engine's snapshot.

Examples
--------
>>> exposure = CreatorExposure(window=100.0, buckets=4)  # 25-second buckets
>>> exposure.record(["ann", "ann", "bob"], at=0.0)  # one list: two items by ann, one by bob
>>> exposure.record(["bob"], at=60.0)
>>> exposure.share("ann", now=60.0), exposure.total(now=60.0)
(0.5, 4)
>>> exposure.share("cy", now=60.0)  # never listed
0.0
>>> exposure.share("ann", now=110.0)  # the bucket of t=0 left the window at t=100
0.0
>>> exposure.share("bob", now=110.0), exposure.total(now=110.0)
(1.0, 1)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable


class CreatorExposure:
    """Exposures per creator over the last ``window`` seconds of event time, in ``buckets`` steps.

    Time is expected to move forward; a late exposure (older than the newest recorded) still
    lands in its own bucket if that bucket is in the window, and is ignored otherwise.
    """

    def __init__(self, window: float, buckets: int = 24) -> None:
        if not (isinstance(window, int | float) and math.isfinite(window) and window > 0):
            raise ValueError(f"window must be positive event-time seconds (e.g. 86400.0 for a day), got {window!r}")
        if not isinstance(buckets, int) or isinstance(buckets, bool) or buckets < 1:
            raise ValueError(f"buckets must be a positive integer (e.g. 24: one per hour of a day), got {buckets!r}")
        self.window = float(window)
        self.buckets = buckets
        self.width = self.window / buckets
        # (bucket index, creator -> exposures in that bucket), oldest first
        self._buckets: deque[tuple[int, dict[str, int]]] = deque()
        self._counts: dict[str, int] = {}  # creator -> exposures in the window (running total)
        self._total = 0

    def _index(self, at: float) -> int:
        if not math.isfinite(at):
            raise ValueError(f"time must be finite event-time seconds, got {at!r}")
        return math.floor(at / self.width)

    def _expire(self, now_index: int) -> None:
        """Drops the buckets that are out of the window ending at bucket ``now_index``."""
        oldest_kept = now_index - self.buckets + 1
        while self._buckets and self._buckets[0][0] < oldest_kept:
            _, counts = self._buckets.popleft()
            for creator, n in counts.items():
                left = self._counts[creator] - n
                if left:
                    self._counts[creator] = left
                else:
                    del self._counts[creator]
                self._total -= n

    def _bucket(self, index: int) -> dict[str, int] | None:
        """The counts of bucket ``index``, created if needed; None when it is already out of the window."""
        buckets = self._buckets
        if not buckets or buckets[-1][0] < index:
            buckets.append((index, {}))
            return buckets[-1][1]
        if index <= buckets[-1][0] - self.buckets:
            return None  # a late exposure from before the window
        for position in range(len(buckets) - 1, -1, -1):  # late exposure: at most `buckets` steps
            found, counts = buckets[position]
            if found == index:
                return counts
            if found < index:
                buckets.insert(position + 1, (index, {}))
                return buckets[position + 1][1]
        buckets.appendleft((index, {}))
        return buckets[0][1]

    def record(self, creators: Iterable[str | None], at: float) -> None:
        """Adds one exposure per listed item's creator (``None``: an item with no creator, skipped)."""
        index = self._index(at)
        self._expire(index)
        counts: dict[str, int] | None = None
        for creator in creators:
            if creator is None:
                continue
            if counts is None:
                counts = self._bucket(index)
                if counts is None:
                    return
            counts[creator] = counts.get(creator, 0) + 1
            self._counts[creator] = self._counts.get(creator, 0) + 1
            self._total += 1

    def total(self, now: float) -> int:
        """All exposures in the window at ``now``."""
        self._expire(self._index(now))
        return self._total

    def share(self, creator: str, now: float) -> float:
        """``creator``'s exposures in the window / all exposures in the window; 0 when there are none."""
        self._expire(self._index(now))
        return self._counts.get(creator, 0) / self._total if self._total else 0.0

    def shares(self, now: float) -> dict[str, float]:
        """Every creator exposed in the window at ``now`` -> their share."""
        self._expire(self._index(now))
        return {c: n / self._total for c, n in self._counts.items()}
