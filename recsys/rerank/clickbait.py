"""Click-bait: items users often skip or dislike right after clicking sink, as do flagged ones.

Two signals, both in relevance units (scores are in [0, 1] here, see :mod:`recsys.rerank.base`):

- the behaviour: an item with at least ``min_clicks`` clicks loses ``weight * rate``, where
  ``rate`` is its share of clicks followed by a skip or a dislike
  (:meth:`~recsys.items.feedback.ItemFeedback.rates`); it carries the reason
  ``"demoted: skipped after a click 40% of the time"``;
- the catalogue: an item whose flag attribute (``RECSYS_CLICKBAIT_FLAG``) is true (``True``,
  ``1``, ``"true"``, ``"yes"``) loses ``flag_weight`` and carries ``"demoted: flagged as click-bait"``.

The list is then sorted again, best first. Nothing is dropped: a demoted item only moves down.

Examples
--------
>>> from recsys.items.catalog import Catalog
>>> from recsys.items.feedback import ItemFeedback
>>> from recsys.state import UserState
>>> from recsys.request import Request
>>> from recsys.rerank.base import Ranked
>>> from recsys.scoring import Scored
>>> from schemas import Item
>>> cat = Catalog()
>>> for i, attributes in [("bait", {}), ("flagged", {"clickbait": "yes"}), ("good", {})]:
...     _ = cat.upsert(Item(i, attributes=attributes))
>>> fb = ItemFeedback(rows=cat.rows)
>>> for i, bad in [("bait", 4), ("good", 0)]:
...     for n in range(10):
...         fb.observe(cat.rows.find(i), "click", clicked_before=False)
...         if n < bad:
...             fb.observe(cat.rows.find(i), "skip", clicked_before=True)
>>> ranked = Ranked.of(cat.rows, [Scored(i, s, ("mf",)) for i, s in [("bait", 1.0), ("flagged", 0.9), ("good", 0.8)]])
>>> request = Request(UserState("u"), None)
>>> step = ClickBait(cat, fb, weight=1.0, min_clicks=5)
>>> for s in step.rerank(request, ranked).scored():
...     print(s.item_id, round(s.score, 2), s.reasons)
good 0.8 ()
bait 0.6 ('demoted: skipped after a click 40% of the time',)
flagged 0.4 ('demoted: flagged as click-bait',)
>>> ClickBait(cat, fb, weight=0.0, min_clicks=5, flag_weight=0.0).rerank(request, ranked) is ranked
True
"""

from __future__ import annotations

import numpy as np

from recsys.items.catalog import Catalog, is_flagged
from recsys.items.feedback import ItemFeedback
from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker

__all__ = ["FLAGGED", "ClickBait", "is_flagged"]

FLAGGED = "demoted: flagged as click-bait"


class ClickBait(Reranker):
    """Subtracts ``weight`` times an item's skip-after-click rate, and ``flag_weight`` when it is
    flagged as click-bait, then re-sorts; never drops an item."""

    name = "clickbait"

    def __init__(
        self, catalog: Catalog, feedback: ItemFeedback, weight: float, min_clicks: int, flag_weight: float = 0.5
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
        self.flag_weight = flag_weight

    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        if (self.weight == 0 and self.flag_weight == 0) or not len(ranked):
            return ranked
        scores = ranked.scores
        reasons: list[tuple[np.ndarray, str]] = []
        if self.weight > 0:
            rates = self.feedback.rates(ranked.rows, self.min_clicks)
            hit = np.flatnonzero(np.nan_to_num(rates) > 0)  # NaN (too few clicks) or 0: nothing to take
            if len(hit):
                scores = scores.copy()
                scores[hit] -= self.weight * rates[hit]
                for p in hit.tolist():
                    reasons.append((np.array([p]), f"demoted: skipped after a click {rates[p]:.0%} of the time"))
        if self.flag_weight > 0:
            flagged = np.flatnonzero(self.catalog.flagged.data[ranked.rows])
            if len(flagged):
                scores = scores.copy() if scores is ranked.scores else scores
                scores[flagged] -= self.flag_weight
                reasons.append((flagged, FLAGGED))
        if not reasons:
            return ranked
        out = ranked.with_scores(scores)
        for positions, reason in reasons:
            out = out.with_reason(positions, reason)
        return out.resorted()
