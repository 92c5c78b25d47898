"""Two-tower retrieval: items nearest the user's tower embedding, in an index of their own.

This is the generator that serves brand-new items and users: the item tower embeds an item
from its attributes before anyone touched it, the user tower a user from their profile
(:mod:`recsys.models.two_tower`, :mod:`recsys.items.towers`).
"""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import NONE, Candidates, Generator
from recsys.request import Request
from recsys.rows import Rows


class TwoTowerSource(Generator):
    """Items whose item-tower embeddings are nearest the user-tower embedding; its signal is the
    two-tower score with the current embeddings (NaN for an item not embedded yet)."""

    name = "two_tower"
    priority = 6

    def _user(self, request: Request) -> np.ndarray:
        if "two_tower" not in request.memo:
            request.memo["two_tower"] = self.items.tower_items.user_vector(request.user, request.recent)
        return request.memo["two_tower"]

    def generate(self, request: Request, n: int) -> Candidates:
        if n <= 0 or len(self.indexes.tower) == 0:
            return NONE
        return self.indexes.search("tower", self._user(request), n, request.allowed)

    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        return self.items.tower_items.scores(self._user(request), rows)

    def reason(self, request: Request, row: int) -> str | None:
        return "fits your profile"
