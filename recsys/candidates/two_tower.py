"""Two-tower retrieval: items nearest the user's tower embedding, in an index of their own.

This is the generator that serves brand-new items and users: the item tower embeds an item
from its attributes before anyone touched it, the user tower a user from their profile
(:mod:`recsys.models.two_tower`, :mod:`recsys.items.towers`).
"""

from __future__ import annotations

import numpy as np

from recsys.ann.base import query_excluding
from recsys.candidates.base import Candidate, Generator
from recsys.request import Request


class TwoTowerSource(Generator):
    """Items whose item-tower embeddings are nearest the user-tower embedding; its signal is the
    two-tower score with the current embeddings (NaN for an item not embedded yet)."""

    name = "two_tower"
    priority = 6

    def generate(self, request: Request, n: int) -> list[Candidate]:
        index = self.indexes.tower
        if n <= 0 or len(index) == 0:
            return []
        query = self.items.tower_items.user_vector(request.user)
        hits = query_excluding(index, query, n, request.exclude, self.items.catalog.is_available)
        return [Candidate(i, s, self.name) for i, s in hits]

    def signal(self, request: Request, ids: list[str]) -> np.ndarray | None:
        towers = self.items.tower_items
        return towers.scores(towers.user_vector(request.user), ids)

    def reason(self, request: Request, item_id: str) -> str | None:
        return "fits your profile"
