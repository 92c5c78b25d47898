"""Score by the MF model's exact inner product; popularity for users with no vector."""

from __future__ import annotations

import math

from recsys.items.catalog import Catalog
from recsys.models.base import VectorModel
from recsys.request import Request
from recsys.scoring.base import Scored, Scorer


class MFScorer(Scorer):
    """Exact MF score with current vectors (the index may lag a refresh behind)."""

    def __init__(self, model: VectorModel, catalog: Catalog) -> None:
        self.model = model
        self.catalog = catalog

    def score(self, request: Request, candidates: dict[str, dict[str, float]]) -> list[Scored]:
        ids = list(candidates)
        if not ids:
            return []
        if request.factors is None:
            values = [math.log1p(max(p, 0.0)) for p in self.catalog.popularity_of(ids).tolist()]
        else:
            matrix = self.model.item_vectors(ids)
            values = (matrix @ self.model.query(request.factors)).tolist()
        return [Scored(i, float(v), tuple(candidates[i])) for i, v in zip(ids, values, strict=True)]
