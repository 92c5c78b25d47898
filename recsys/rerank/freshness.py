"""Freshness: a just-published item gains relevance, a boost that halves every half-life.

Scores reach the re-ranking steps as relevance in [0, 1] (see :mod:`recsys.rerank.base`), so
``weight`` is in those units: with ``weight=0.2`` an item published right now gains 0.2, one
a half-life old gains 0.1, one two half-lives old 0.05. The age is the event-time seconds
since the item's ``published_at`` at ``request.now`` (:meth:`~recsys.items.catalog.Catalog.ages`);
an item of unknown age (or published "in the future") gains nothing. The list is then sorted
again, best first; an item at most one half-life old carries the reason ``"new"``.

Examples
--------
>>> from recsys.items.catalog import Catalog
>>> from recsys.state import UserState
>>> from recsys.request import Request
>>> from recsys.rerank.base import Ranked
>>> from recsys.scoring import Scored
>>> from schemas import Item
>>> cat = Catalog()
>>> for i, at in [("old", 0.0), ("fresh", 990.0), ("unknown", None)]:
...     _ = cat.upsert(Item(i, published_at=at))
>>> request = Request(UserState("u"), None, now=1000.0)
>>> ranked = Ranked.of(cat.rows, [Scored("old", 1.0, ("mf",)), Scored("unknown", 0.95, ("mf",)),
...                               Scored("fresh", 0.9, ("mf",))])
>>> boosted = Freshness(cat, weight=0.3, half_life=10.0).rerank(request, ranked)
>>> [(s.item_id, round(s.score, 3), s.reasons) for s in boosted.scored()]
[('fresh', 1.05, ('new',)), ('old', 1.0, ()), ('unknown', 0.95, ())]
>>> Freshness(cat, weight=0.0, half_life=10.0).rerank(request, ranked) is ranked
True
"""

from __future__ import annotations

import numpy as np

from recsys.items.catalog import Catalog
from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker


class Freshness(Reranker):
    """Adds ``weight * 0.5 ** (age / half_life)`` to every item of known age, then re-sorts."""

    name = "freshness"

    def __init__(self, catalog: Catalog, weight: float, half_life: float) -> None:
        if not weight >= 0:
            raise ValueError(f"freshness weight must be 0 (off) or positive relevance, got {weight}")
        if not half_life > 0:
            raise ValueError(f"freshness half_life must be positive event-time seconds, got {half_life}")
        self.catalog = catalog
        self.weight = weight
        self.half_life = half_life

    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        if self.weight == 0 or not len(ranked):
            return ranked
        age = self.catalog.ages(ranked.rows, request.now)
        known = ~np.isnan(age)
        boost = np.where(known, self.weight * 0.5 ** (np.nan_to_num(age) / self.half_life), 0.0)
        out = ranked.with_scores(ranked.scores + boost)
        with np.errstate(invalid="ignore"):
            out = out.with_reason(np.flatnonzero(known & (age <= self.half_life)), "new")
        return out.resorted()
