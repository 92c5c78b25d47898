"""A slot for a new item that fits the user's taste: cold items get seen before anyone took them.

A brand-new item has no co-visitation and no MF evidence, so a scorer that leans on them
ranks it below every item with a history, however well it fits. This step finds, among the
ranked candidates, items published less than ``max_age`` seconds ago (event clock) and,
when none is already in the top ``request.k``, moves the one that fits the user best into the
last slot, but only when it fits at least as well as the item it displaces: its ``fit`` (the
two-tower score in the engine) against the user is at least that of the ``k``-th item. A
user of another taste does not get it.

Examples
--------
>>> import numpy as np
>>> from recsys.items.catalog import Catalog
>>> from recsys.state import UserState
>>> from recsys.request import Request
>>> from recsys.rerank.base import Ranked
>>> from recsys.scoring import Scored
>>> from schemas import Item
>>> cat = Catalog()
>>> for i, at in [("old1", 0.0), ("old2", 0.0), ("old3", 0.0), ("new", 95.0)]:
...     _ = cat.upsert(Item(i, published_at=at))
>>> fit = {"old1": 0.9, "old2": 0.5, "old3": 0.1, "new": 0.8}
>>> fits = lambda r, rows: np.array([fit[i] for i in cat.rows.ids_of(rows.tolist())])
>>> slot = NewItemSlot(cat, lambda: 100.0, fits, max_age=10.0)
>>> ranked = Ranked.of(cat.rows, [Scored(i, 1.0, ("mf",)) for i in ["old1", "old2", "old3", "new"]])
>>> slot.rerank(Request(UserState("u"), None, k=2), ranked).ids
['old1', 'new', 'old2', 'old3']
>>> fit["new"] = 0.4  # it fits less than the item it would displace: it stays where it was
>>> slot.rerank(Request(UserState("u"), None, k=2), ranked).ids
['old1', 'old2', 'old3', 'new']
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recsys.items.catalog import Catalog
from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker
from recsys.rows import Rows

Fit = Callable[[Request, Rows], np.ndarray | None]


class NewItemSlot(Reranker):
    """Moves the best-fitting new item into the last of the top ``k`` when it fits at least as
    well as the item it displaces."""

    name = "new_item_slot"

    def __init__(self, catalog: Catalog, clock: Callable[[], float], fit: Fit, max_age: float = 86400.0) -> None:
        if max_age <= 0:
            raise ValueError(f"max_age must be positive seconds, got {max_age}")
        self.catalog = catalog
        self.clock = clock
        self.fit = fit
        self.max_age = max_age

    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        k = request.k
        if len(ranked) <= k or k < 2:
            return ranked
        with np.errstate(invalid="ignore"):
            is_new = self.catalog.ages(ranked.rows, self.clock()) <= self.max_age  # NaN (unknown age): not new
        if is_new[:k].any():
            return ranked
        new = np.flatnonzero(is_new[k:]) + k
        if not len(new):
            return ranked
        raw = self.fit(request, np.concatenate([ranked.rows[:k], ranked.rows[new]]))
        if raw is None:
            return ranked
        fit = np.asarray(raw, dtype=float)
        listed, candidates = fit[:k], fit[k:]
        if np.isnan(candidates).all() or np.isnan(listed).all():
            return ranked
        best = int(np.nanargmax(candidates))
        if np.isnan(listed[-1]) or candidates[best] < listed[-1]:
            return ranked
        chosen = int(new[best])
        order = [*range(k - 1), chosen, *range(k - 1, chosen), *range(chosen + 1, len(ranked))]
        return ranked.take(order).with_reason(np.array([k - 1]), "new")
