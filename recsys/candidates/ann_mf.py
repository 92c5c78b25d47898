"""Matrix-factorisation retrieval: nearest items to the user's vector in the ANN index."""

from __future__ import annotations

from recsys.ann import VectorIndex
from recsys.ann.base import query_excluding
from recsys.candidates.base import Candidate, CandidateSource, Request
from recsys.catalog import Catalog
from recsys.models.base import VectorModel


class MFRetrieval(CandidateSource):
    """Items whose MF vectors have the largest inner product with the user's."""

    name = "mf"

    def __init__(self, model: VectorModel, index: VectorIndex, catalog: Catalog) -> None:
        self.model = model
        self.index = index
        self.catalog = catalog

    def generate(self, request: Request, n: int) -> list[Candidate]:
        if request.factors is None:
            return []
        query = self.model.query(request.factors)
        hits = query_excluding(self.index, query, n, request.exclude, self.catalog.is_available)
        return [Candidate(item_id, score, self.name) for item_id, score in hits]
