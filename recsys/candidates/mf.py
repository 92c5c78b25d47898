"""Matrix-factorisation retrieval: the nearest items to the user's vector in the MF index."""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import NONE, Candidates, Generator
from recsys.request import Request
from recsys.rows import Rows


class MFRetrieval(Generator):
    """Items whose MF vectors have the largest inner product with the user's; its signal is that
    inner product with current vectors (the index may lag a refresh behind)."""

    name = "mf"
    priority = 5

    def generate(self, request: Request, n: int) -> Candidates:
        if request.factors is None:
            return NONE
        return self.indexes.search("mf", self.items.model.query(request.factors), n, request.allowed)

    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        if request.factors is None:
            return None
        return self.items.model.scores(request.factors, rows)

    def reason(self, request: Request, row: int) -> str | None:
        return "matches your taste"
