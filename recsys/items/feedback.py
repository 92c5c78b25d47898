"""What users do right after clicking an item: the evidence that an item is click-bait.

An item that many users click and then skip or dislike promises more than it gives. This
keeps, per item, how many clicks it got and how many "bad after click" events followed (a
skip or a dislike by a user who had clicked the item before); the
:class:`~recsys.rerank.clickbait.ClickBait` step demotes items by that rate. A skip or a
dislike without an earlier click says nothing about the item's promise and is not counted.

With a ``half_life`` (event-time seconds) the counts decay, so the rate is the item's recent
behaviour: a title fixed after complaints recovers. Both counts of an item decay together, so
the rate is a recency-weighted share. The counts are columns of the item row space, so a
list reads the rates of all its candidates at once.

Examples
--------
>>> bait, good = 0, 1
>>> fb = ItemFeedback()
>>> for _ in range(4):
...     fb.observe(bait, "click", clicked_before=False)
>>> fb.observe(bait, "skip", clicked_before=True)
>>> fb.observe(bait, "dislike", clicked_before=True)
>>> fb.observe(bait, "skip", clicked_before=False)  # never clicked: not counted
>>> fb.observe(bait, "like", clicked_before=True)  # other kinds: ignored
>>> fb.clicks(bait), fb.rate(bait, min_clicks=3), fb.rate(bait, min_clicks=5)
(4.0, 0.5, None)
>>> fb.rate(good, min_clicks=1) is None
True
>>> fb.rates(np.array([bait, good]), min_clicks=3).tolist()
[0.5, nan]

Decayed: a week later (one half-life), new clicks without skips outweigh the old skips.

>>> recent = ItemFeedback(half_life=7 * 86400)
>>> for _ in range(4):
...     recent.observe(bait, "click", clicked_before=False, at=0.0)
...     recent.observe(bait, "skip", clicked_before=True, at=0.0)
>>> for _ in range(4):
...     recent.observe(bait, "click", clicked_before=False, at=7 * 86400.0)
>>> round(recent.rate(bait, min_clicks=1), 2)  # 2 / (2 + 4); undecayed it would be 0.5
0.33
"""

from __future__ import annotations

import numpy as np

from recsys.event_types import CLICK, REGRETS
from recsys.rows import Rows, RowSpace


class ItemFeedback:
    """Per-item counts of clicks and of skips or dislikes that followed a click."""

    def __init__(self, half_life: float = 0.0, rows: RowSpace | None = None) -> None:
        if half_life < 0:
            raise ValueError(f"half_life must be 0 (no decay) or positive seconds, got {half_life}")
        self.half_life = half_life
        rows = RowSpace() if rows is None else rows
        self._clicks = rows.column(np.float64)
        self._bad = rows.column(np.float64)
        self._at = rows.column(np.float64, fill=np.nan)  # event time the item's counts are decayed to
        self._counted = 0

    def observe(self, row: int, kind: str, clicked_before: bool, at: float = 0.0) -> None:
        """Count one interaction of type ``kind`` with the item of ``row`` at event time ``at``;
        ``clicked_before`` says whether that user had clicked the item before this event."""
        bad = kind in REGRETS and clicked_before
        if kind != CLICK and not bad:
            return
        clicks, regrets, when = self._clicks.data, self._bad.data, self._at.data
        last = when[row]
        if last != last:  # NaN: first count
            self._counted += 1
        elif self.half_life and at > last:
            shrink = 0.5 ** ((at - last) / self.half_life)
            clicks[row] *= shrink
            regrets[row] *= shrink
        when[row] = at if last != last else max(at, last)
        if bad:
            regrets[row] += 1.0
        else:
            clicks[row] += 1.0

    def clicks(self, row: int) -> float:
        """How many clicks the item got (decayed to its latest event)."""
        return float(self._clicks.data[row])

    def bad(self, row: int) -> float:
        """How many skips or dislikes followed a click on the item (decayed likewise)."""
        return float(self._bad.data[row])

    def rates(self, rows: Rows, min_clicks: int) -> np.ndarray:
        """Skips and dislikes after a click per click of each row, at most 1.0; NaN under
        ``min_clicks`` clicks (or with none at all): too little evidence to judge the item."""
        clicks, bad = self._clicks.data[rows], self._bad.data[rows]
        enough = (clicks > 0) & (clicks >= min_clicks)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(enough, np.minimum(1.0, bad / clicks), np.nan)

    def rate(self, row: int, min_clicks: int) -> float | None:
        rate = float(self.rates(np.array([row]), min_clicks)[0])
        return None if rate != rate else rate

    def __len__(self) -> int:
        """How many items have any count."""
        return self._counted
