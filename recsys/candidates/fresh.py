"""Fresh candidates: the newest available items, as of the latest event time (see :mod:`recsys.items.fresh`)."""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import Candidate, Generator
from recsys.request import Request


class FreshSource(Generator):
    """The newest available items; its signal is minus the item's age at the event clock (NaN when
    unknown or not yet out)."""

    name = "fresh"
    priority = 4

    def generate(self, request: Request, n: int) -> list[Candidate]:
        exclude, available = request.exclude, self.items.catalog.is_available
        picked = self.items.fresh.newest(n, self.items.clock, keep=lambda i: i not in exclude and available(i))
        return [Candidate(i, at, self.name) for i, at in picked]

    def signal(self, request: Request, ids: list[str]) -> np.ndarray | None:
        now, age = self.items.clock, self.items.catalog.age
        ages = (age(item_id, now) for item_id in ids)
        return -np.fromiter((np.nan if a is None else a for a in ages), dtype=float, count=len(ids))

    def reason(self, request: Request, item_id: str) -> str | None:
        """"new", only for an item published within ``new_item_max_age`` (the newest items may be old)."""
        age = self.items.catalog.age(item_id, request.now)
        return "new" if age is not None and age <= self.settings.new_item_max_age else None
