"""What users do right after clicking an item: the evidence that an item is click-bait.

An item that many users click and then skip or dislike promises more than it gives. This
keeps, per item, how many clicks it got and how many "bad after click" events followed (a
skip or a dislike by a user who had clicked the item before); the
:class:`~recsys.rerank.clickbait.ClickBait` step demotes items by that rate. A skip or a
dislike without an earlier click says nothing about the item's promise and is not counted.

With a ``half_life`` (event-time seconds) the counts decay, so the rate is the item's recent
behaviour: a title fixed after complaints recovers. Both counts of an item decay together, so
the rate is a recency-weighted share. Plain dicts: it pickles into the engine snapshots as is.

Examples
--------
>>> fb = ItemFeedback()
>>> for _ in range(4):
...     fb.observe("bait", "click", clicked_before=False)
>>> fb.observe("bait", "skip", clicked_before=True)
>>> fb.observe("bait", "dislike", clicked_before=True)
>>> fb.observe("bait", "skip", clicked_before=False)  # never clicked: not counted
>>> fb.observe("bait", "like", clicked_before=True)  # other kinds: ignored
>>> fb.clicks("bait"), fb.rate("bait", min_clicks=3), fb.rate("bait", min_clicks=5)
(4.0, 0.5, None)
>>> fb.rate("unseen", min_clicks=1) is None
True

Decayed: a week later (one half-life), new clicks without skips outweigh the old skips.

>>> recent = ItemFeedback(half_life=7 * 86400)
>>> for _ in range(4):
...     recent.observe("fixed", "click", clicked_before=False, at=0.0)
...     recent.observe("fixed", "skip", clicked_before=True, at=0.0)
>>> for _ in range(4):
...     recent.observe("fixed", "click", clicked_before=False, at=7 * 86400.0)
>>> round(recent.rate("fixed", min_clicks=1), 2)  # 2 / (2 + 4); undecayed it would be 0.5
0.33
"""

from __future__ import annotations

from recsys.event_types import CLICK, REGRETS


class ItemFeedback:
    """Per-item counts of clicks and of skips or dislikes that followed a click."""

    def __init__(self, half_life: float = 0.0) -> None:
        if half_life < 0:
            raise ValueError(f"half_life must be 0 (no decay) or positive seconds, got {half_life}")
        self.half_life = half_life
        self._clicks: dict[str, float] = {}
        self._bad: dict[str, float] = {}
        self._at: dict[str, float] = {}  # event time the item's counts are decayed to

    def observe(self, item_id: str, kind: str, clicked_before: bool, at: float = 0.0) -> None:
        """Count one interaction of type ``kind`` with ``item_id`` at event time ``at``;
        ``clicked_before`` says whether that user had clicked the item before this event."""
        bad = kind in REGRETS and clicked_before
        if kind != CLICK and not bad:
            return
        if self.half_life and item_id in self._at and at > self._at[item_id]:
            shrink = 0.5 ** ((at - self._at[item_id]) / self.half_life)
            self._clicks[item_id] = self._clicks.get(item_id, 0.0) * shrink
            self._bad[item_id] = self._bad.get(item_id, 0.0) * shrink
        self._at[item_id] = max(at, self._at.get(item_id, at))
        counts = self._bad if bad else self._clicks
        counts[item_id] = counts.get(item_id, 0.0) + 1.0

    def clicks(self, item_id: str) -> float:
        """How many clicks ``item_id`` got (decayed to its latest event)."""
        return self._clicks.get(item_id, 0.0)

    def bad(self, item_id: str) -> float:
        """How many skips or dislikes followed a click on ``item_id`` (decayed likewise)."""
        return self._bad.get(item_id, 0.0)

    def rate(self, item_id: str, min_clicks: int) -> float | None:
        """Skips and dislikes after a click per click, at most 1.0; None under ``min_clicks`` clicks
        (or with none at all): too little evidence to judge the item."""
        clicks = self.clicks(item_id)
        if clicks == 0 or clicks < min_clicks:
            return None
        return min(1.0, self.bad(item_id) / clicks)

    def __len__(self) -> int:
        """How many items have any count."""
        return len(self._clicks.keys() | self._bad.keys())
