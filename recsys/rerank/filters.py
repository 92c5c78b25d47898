"""Hard filters: removed, never merely pushed down.

An item leaves the list when the user interacted with it in a way the ``exclude_types``
setting names or disliked it (the request's ``exclude``, with the per-request exclude list),
when it is unavailable or deleted, when its creator is among those the user blocked (a
profile attribute), or when it was published longer ago than ``max_age``. The engine hands
these to every generator as the request's ``allowed`` mask, so nothing filtered is nominated,
and runs them on every list and on its exhaustive fallback, so an excluded item never comes
back even when ``k`` exceeds what is left.

Examples
--------
>>> import numpy as np
>>> from recsys.items.catalog import Catalog
>>> from recsys.state import UserState
>>> from recsys.request import Request
>>> from schemas import Item
>>> cat = Catalog()
>>> for i, by, at in [("a", "ann", 0.0), ("b", "bob", 0.0), ("c", "cy", 90.0), ("old", "cy", 0.0)]:
...     _ = cat.upsert(Item(i, attributes={"creator": by}, published_at=at))
>>> user = UserState("u", attributes={"blocked_creators": ["bob"]})
>>> request = Request(user, None, {"a"}, now=100.0, excluded=cat.rows.lookup(["a"]))
>>> rows = cat.rows.rows(["a", "b", "c", "old", "gone"])
>>> cat.rows.ids_of(rows[HardFilters(cat).mask(request, rows)])
['c', 'old']
>>> cat.rows.ids_of(rows[HardFilters(cat, max_age=50.0).mask(request, rows)])
['c']
"""

from __future__ import annotations

import numpy as np

from recsys.items.catalog import Catalog
from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker
from recsys.rows import Rows, member


class HardFilters(Reranker):
    """Drops every excluded, unavailable, blocked-creator or too-old item."""

    name = "filters"

    def __init__(self, catalog: Catalog, blocked_attribute: str = "blocked_creators", max_age: float = 0.0) -> None:
        if max_age < 0:
            raise ValueError(f"max_age must be 0 (no limit) or positive seconds, got {max_age}")
        self.catalog = catalog
        self.blocked_attribute = blocked_attribute
        self.max_age = max_age

    def blocked(self, request: Request) -> np.ndarray:
        """The interned ids of the creators the user blocked (their profile attribute: a list, or one name)."""
        value = request.user.attributes.get(self.blocked_attribute)
        if not value:
            return np.empty(0, dtype=np.int32)
        names = [str(value)] if isinstance(value, str) else [str(v) for v in value]
        known = self.catalog._creators
        return np.array(sorted(known[n] for n in names if n in known), dtype=np.int32)

    def mask(self, request: Request, rows: Rows) -> np.ndarray:
        """Whether each of ``rows`` may be listed for ``request`` at all."""
        catalog = self.catalog
        keep = catalog.available.data[rows] & ~member(rows, request.excluded)
        blocked = self.blocked(request)
        if len(blocked):
            keep &= ~np.isin(catalog.creator.data[rows], blocked)
        if self.max_age:
            with np.errstate(invalid="ignore"):
                keep &= ~(request.now - catalog.published.data[rows] > self.max_age)
        return keep

    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        keep = self.mask(request, ranked.rows)
        return ranked if keep.all() else ranked.take(np.flatnonzero(keep))
