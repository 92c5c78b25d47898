"""Score by the MF model's exact inner product; popularity for users with no vector."""

from __future__ import annotations

import numpy as np

from recsys.items.catalog import Catalog
from recsys.models.base import VectorModel
from recsys.request import Request
from recsys.rows import Rows
from recsys.scoring.base import Scorer


class MFScorer(Scorer):
    """Exact MF score with current vectors (the index may lag a refresh behind)."""

    def __init__(self, model: VectorModel, catalog: Catalog) -> None:
        self.model = model
        self.catalog = catalog

    def score(self, request: Request, rows: Rows) -> np.ndarray:
        if request.factors is None:
            return np.log1p(np.maximum(self.catalog.popularity.data[rows], 0.0))
        return self.model.scores(request.factors, rows)
