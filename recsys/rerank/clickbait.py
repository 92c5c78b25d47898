"""Click-bait: items users often skip or dislike right after clicking sink, as do flagged ones.

Two signals, both in relevance units (scores are in [0, 1] here, see :mod:`recsys.rerank.base`):

- the behaviour: an item with at least ``min_clicks`` clicks loses ``weight * rate``, where
  ``rate`` is its share of clicks followed by a skip or a dislike
  (:meth:`~recsys.feedback.ItemFeedback.rate`); it carries the reason
  ``"demoted: skipped after a click 40% of the time"``;
- the catalogue: an item whose ``flag_attribute`` is true (``True``, ``1``, ``"true"``,
  ``"yes"``) loses ``flag_weight`` and carries ``"demoted: flagged as click-bait"``.

The list is then sorted again, best first. Nothing is dropped: a demoted item only moves down.

Examples
--------
>>> from recsys.items.catalog import Catalog
>>> from recsys.feedback import ItemFeedback
>>> from recsys.state import UserState
>>> from recsys.request import Request
>>> from recsys.scoring import Scored
>>> from schemas import Item
>>> cat = Catalog()
>>> for i, attributes in [("bait", {}), ("flagged", {"clickbait": "yes"}), ("good", {})]:
...     _ = cat.upsert(Item(i, attributes=attributes))
>>> fb = ItemFeedback()
>>> for i, bad in [("bait", 4), ("good", 0)]:
...     for n in range(10):
...         fb.observe(i, "click", clicked_before=False)
...         if n < bad:
...             fb.observe(i, "skip", clicked_before=True)
>>> ranked = [Scored(i, s, ("mf",)) for i, s in [("bait", 1.0), ("flagged", 0.9), ("good", 0.8)]]
>>> request = Request(UserState("u"), None)
>>> step = ClickBait(cat, fb, weight=1.0, min_clicks=5)
>>> for s in step.rerank(request, ranked):
...     print(s.item_id, round(s.score, 2), s.reasons)
good 0.8 ()
bait 0.6 ('demoted: skipped after a click 40% of the time',)
flagged 0.4 ('demoted: flagged as click-bait',)
>>> ClickBait(cat, fb, weight=0.0, min_clicks=5, flag_weight=0.0).rerank(request, ranked) is ranked
True
"""

from __future__ import annotations

from typing import Any

from recsys.feedback import ItemFeedback
from recsys.items.catalog import Catalog
from recsys.request import Request
from recsys.rerank.base import Reranker, resort
from recsys.scoring.base import Scored

FLAGGED = "demoted: flagged as click-bait"


def is_flagged(value: Any) -> bool:
    """Whether an attribute value means "true": ``True``, ``1``, or ``"true"``/``"yes"``/``"1"`` in any case.

    >>> [is_flagged(v) for v in [True, 1, "Yes", "true", "1", None, False, 0, "no", "", 2]]
    [True, True, True, True, True, False, False, False, False, False, False]
    """
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    if isinstance(value, bool | int | float):
        return value == 1
    return False


class ClickBait(Reranker):
    """Subtracts ``weight`` times an item's skip-after-click rate, and ``flag_weight`` when it is
    flagged as click-bait, then re-sorts; never drops an item."""

    name = "clickbait"

    def __init__(
        self,
        catalog: Catalog,
        feedback: ItemFeedback,
        weight: float,
        min_clicks: int,
        flag_attribute: str = "clickbait",
        flag_weight: float = 0.5,
    ) -> None:
        if not weight >= 0:
            raise ValueError(f"clickbait weight must be 0 (off) or positive relevance, got {weight}")
        if not flag_weight >= 0:
            raise ValueError(f"clickbait flag_weight must be 0 (off) or positive relevance, got {flag_weight}")
        if min_clicks < 1:
            raise ValueError(f"clickbait min_clicks must be at least 1 click, got {min_clicks}")
        self.catalog = catalog
        self.feedback = feedback
        self.weight = weight
        self.min_clicks = min_clicks
        self.flag_attribute = flag_attribute
        self.flag_weight = flag_weight
        self._flags: dict[str, tuple[object, bool]] = {}

    def flagged(self, item_id: str) -> bool:
        """Whether the catalogue marks ``item_id`` as click-bait (read once per catalogue record:
        every list asks this of its hundreds of candidates)."""
        info = self.catalog.items.get(item_id)
        if info is None:
            return False
        cached = self._flags.get(item_id)
        if cached is not None and cached[0] is info:  # the catalogue replaces the record on a change
            return cached[1]
        flag = is_flagged(info.attributes.get(self.flag_attribute))
        self._flags[item_id] = (info, flag)
        return flag

    def rerank(self, request: Request, ranked: list[Scored]) -> list[Scored]:
        if (self.weight == 0 and self.flag_weight == 0) or not ranked:
            return ranked
        changed = False
        out: list[Scored] = []
        for s in ranked:
            if self.weight > 0:
                rate = self.feedback.rate(s.item_id, self.min_clicks)
                if rate:  # None (too few clicks) or 0: nothing to take
                    s = s.moved(s.score - self.weight * rate, f"demoted: skipped after a click {rate:.0%} of the time")
                    changed = True
            if self.flag_weight > 0 and self.flagged(s.item_id):
                s = s.moved(s.score - self.flag_weight, FLAGGED)
                changed = True
            out.append(s)
        return resort(out) if changed else ranked
