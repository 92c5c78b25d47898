"""Most popular items: the fallback for users too new to have a vector."""

from __future__ import annotations

from recsys.candidates.base import Candidate, CandidateSource, Request
from recsys.catalog import Catalog


class MostPopular(CandidateSource):
    """The available items with the largest summed positive weight."""

    name = "popular"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def generate(self, request: Request, n: int) -> list[Candidate]:
        top = self.catalog.most_popular(n, exclude=request.exclude)
        return [Candidate(item_id, score, self.name) for item_id, score in top]
