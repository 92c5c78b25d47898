"""Matrix-factorisation retrieval: the nearest items to the user's vector in the MF index."""

from __future__ import annotations

import numpy as np

from recsys.ann.base import query_excluding
from recsys.candidates.base import Candidate, Generator
from recsys.request import Request


class MFRetrieval(Generator):
    """Items whose MF vectors have the largest inner product with the user's; its signal is that
    inner product with current vectors (the index may lag a refresh behind)."""

    name = "mf"
    priority = 5

    def generate(self, request: Request, n: int) -> list[Candidate]:
        if request.factors is None:
            return []
        model, catalog = self.items.model, self.items.catalog
        hits = query_excluding(self.indexes.mf, model.query(request.factors), n, request.exclude, catalog.is_available)
        return [Candidate(item_id, score, self.name) for item_id, score in hits]

    def signal(self, request: Request, ids: list[str]) -> np.ndarray | None:
        if request.factors is None:
            return None
        model = self.items.model
        return np.asarray(model.item_vectors(ids) @ model.query(request.factors), dtype=float)

    def reason(self, request: Request, item_id: str) -> str | None:
        return "matches your taste"
