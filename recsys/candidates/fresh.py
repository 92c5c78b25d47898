"""Fresh candidates: the newest available items, as of the latest event time (see :mod:`recsys.items.fresh`)."""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import Candidates, Generator
from recsys.request import Request
from recsys.rows import Rows


class FreshSource(Generator):
    """The newest available items; its signal is minus the item's age at the event clock (NaN when
    unknown or not yet out)."""

    name = "fresh"
    priority = 4

    def generate(self, request: Request, n: int) -> Candidates:
        return self.items.fresh.newest(n, self.items.clock, request.allowed)

    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        return -self.items.catalog.ages(rows, self.items.clock)

    def reason(self, request: Request, row: int) -> str | None:
        """"new", only for an item published within ``new_item_max_age`` (the newest items may be old)."""
        age = float(self.items.catalog.ages(np.array([row]), request.now)[0])
        return "new" if age <= self.settings.new_item_max_age else None  # NaN (unknown age): not new
