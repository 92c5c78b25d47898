"""Most popular items: the fallback for users too new to have a vector."""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import Candidates, Generator
from recsys.request import Request
from recsys.rows import Rows


class MostPopular(Generator):
    """The available items with the largest summed positive weight; its signal is that weight."""

    name = "popular"
    priority = 7

    def generate(self, request: Request, n: int) -> Candidates:
        return self.items.catalog.most_popular(n, request.allowed)

    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        return self.items.catalog.popularity.data[rows]

    def reason(self, request: Request, row: int) -> str | None:
        return "popular"
