"""Hard filters: removed, never merely pushed down.

An item leaves the list when the user interacted with it in a way the ``exclude_types``
setting names or disliked it (the request's ``exclude``, with the per-request exclude list),
when it is unavailable or deleted, when its creator is among those the user blocked (a
profile attribute), or when it was published longer ago than ``max_age``. The engine runs
these first, on every list and on its exhaustive fallback, so an excluded item never comes
back even when ``k`` exceeds what is left.

Examples
--------
>>> from recsys.items.catalog import Catalog
>>> from recsys.state import UserState
>>> from recsys.request import Request
>>> from recsys.scoring import Scored
>>> from schemas import Item
>>> cat = Catalog()
>>> for i, by, at in [("a", "ann", 0.0), ("b", "bob", 0.0), ("c", "cy", 90.0), ("old", "cy", 0.0)]:
...     _ = cat.upsert(Item(i, attributes={"creator": by}, published_at=at))
>>> user = UserState("u", attributes={"blocked_creators": ["bob"]})
>>> request = Request(user, None, {"a"}, now=100.0)
>>> ranked = [Scored(i, 1.0, ("mf",)) for i in ["a", "b", "c", "old", "gone"]]
>>> [s.item_id for s in HardFilters(cat).rerank(request, ranked)]
['c', 'old']
>>> [s.item_id for s in HardFilters(cat, max_age=50.0).rerank(request, ranked)]
['c']
"""

from __future__ import annotations

from collections.abc import Collection

from recsys.items.catalog import Catalog
from recsys.request import Request
from recsys.rerank.base import Reranker
from recsys.scoring.base import Scored


class HardFilters(Reranker):
    """Drops every excluded, unavailable, blocked-creator or too-old item, and any duplicate."""

    name = "filters"

    def __init__(
        self,
        catalog: Catalog,
        creator_attribute: str = "creator",
        blocked_attribute: str = "blocked_creators",
        max_age: float = 0.0,
    ) -> None:
        if max_age < 0:
            raise ValueError(f"max_age must be 0 (no limit) or positive seconds, got {max_age}")
        self.catalog = catalog
        self.creator_attribute = creator_attribute
        self.blocked_attribute = blocked_attribute
        self.max_age = max_age

    def blocked(self, request: Request) -> Collection[str]:
        """The creators the user blocked (their profile attribute: a list, or one name)."""
        value = request.user.attributes.get(self.blocked_attribute)
        if not value:
            return ()
        return {str(value)} if isinstance(value, str) else {str(v) for v in value}

    def allowed(self, request: Request, item_id: str, blocked: Collection[str] | None = None) -> bool:
        """Whether ``item_id`` may be listed for ``request`` at all."""
        if item_id in request.exclude or not self.catalog.is_available(item_id):
            return False
        blocked = self.blocked(request) if blocked is None else blocked
        info = self.catalog.items[item_id]
        if blocked and str(info.attributes.get(self.creator_attribute)) in blocked:
            return False
        if self.max_age and info.published_at is not None and request.now - info.published_at > self.max_age:
            return False
        return True

    def rerank(self, request: Request, ranked: list[Scored]) -> list[Scored]:
        blocked = self.blocked(request)
        kept: list[Scored] = []
        taken: set[str] = set()
        for s in ranked:
            if s.item_id in taken or not self.allowed(request, s.item_id, blocked):
                continue
            taken.add(s.item_id)
            kept.append(s)
        return kept
