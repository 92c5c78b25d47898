"""Most popular items: the fallback for users too new to have a vector."""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import Candidate, Generator
from recsys.request import Request


class MostPopular(Generator):
    """The available items with the largest summed positive weight; its signal is that weight."""

    name = "popular"
    priority = 7

    def generate(self, request: Request, n: int) -> list[Candidate]:
        top = self.items.catalog.most_popular(n, exclude=request.exclude)
        return [Candidate(item_id, score, self.name) for item_id, score in top]

    def signal(self, request: Request, ids: list[str]) -> np.ndarray | None:
        return self.items.catalog.popularity_of(ids)

    def reason(self, request: Request, item_id: str) -> str | None:
        return "popular"
