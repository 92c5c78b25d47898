"""Matrix-factorisation retrieval: nearest items to the user's vector in the ANN index."""

from __future__ import annotations

from recsys.ann import VectorIndex
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
        # Ask for extra results to make up for excluded ones, but not unboundedly: a user with
        # thousands of seen items would widen every search (hnswlib's ef grows with it).
        hits = self.index.query(self.model.query(request.factors), n + min(len(request.exclude), 2 * n))
        keep = [
            Candidate(item_id, score, self.name)
            for item_id, score in hits
            if item_id not in request.exclude and self.catalog.is_available(item_id)
        ]
        return keep[:n]
