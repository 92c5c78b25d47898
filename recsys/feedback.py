"""What users do right after clicking an item: the evidence that an item is click-bait.

An item that many users click and then skip or dislike promises more than it gives. This
keeps, per item, how many clicks it got and how many "bad after click" events followed (a
skip or a dislike by a user who had clicked the item before); the
:class:`~recsys.rerank.clickbait.ClickBait` step demotes items by that rate. A skip or a
dislike without an earlier click says nothing about the item's promise and is not counted.

Plain dicts of counts: it pickles into the engine snapshots as is.

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
(4, 0.5, None)
>>> fb.rate("unseen", min_clicks=1) is None
True
"""

from __future__ import annotations

#: The interaction kinds that, after a click on the same item, count against it.
BAD_AFTER_CLICK = frozenset({"skip", "dislike"})


class ItemFeedback:
    """Per-item counts of clicks and of skips or dislikes that followed a click."""

    def __init__(self) -> None:
        self._clicks: dict[str, int] = {}
        self._bad: dict[str, int] = {}

    def observe(self, item_id: str, kind: str, clicked_before: bool) -> None:
        """Count one interaction of type ``kind`` with ``item_id``; ``clicked_before`` says
        whether that user had clicked the item before this event."""
        if kind == "click":
            self._clicks[item_id] = self._clicks.get(item_id, 0) + 1
        elif kind in BAD_AFTER_CLICK and clicked_before:
            self._bad[item_id] = self._bad.get(item_id, 0) + 1

    def clicks(self, item_id: str) -> int:
        """How many clicks ``item_id`` got."""
        return self._clicks.get(item_id, 0)

    def bad(self, item_id: str) -> int:
        """How many skips or dislikes followed a click on ``item_id``."""
        return self._bad.get(item_id, 0)

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
