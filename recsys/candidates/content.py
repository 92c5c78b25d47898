"""Content-based candidates: items whose attributes resemble those of the user's recent positives.

Content vectors are :class:`recsys.items.content.ContentVectors`; candidates are the nearest
items to the user's content query in the content index (hnswlib or exact, as for MF).
"""

from __future__ import annotations

import numpy as np

from recsys.ann.base import query_excluding
from recsys.candidates.base import Candidate, Generator
from recsys.request import Request

HISTORY = 20
"""Recent positives the content query is built from."""


class ContentSource(Generator):
    """Items most similar in content to the user's recent positives; its signal is that cosine."""

    name = "content"
    priority = 3

    def generate(self, request: Request, n: int) -> list[Candidate]:
        query = self.items.content.query_vector(request.user.recent_positives()[-HISTORY:])
        if query is None or n <= 0:
            return []
        hits = query_excluding(self.indexes.content, query, n, request.exclude, self.items.catalog.is_available)
        return [Candidate(i, s, self.name) for i, s in hits]

    def signal(self, request: Request, ids: list[str]) -> np.ndarray | None:
        content = self.items.content
        query = content.query_vector(request.user.recent_positives()[-HISTORY:])
        if query is None:
            return None
        vectors = content.vectors
        return np.fromiter(
            (float(vectors[i] @ query) if i in vectors else np.nan for i in ids), dtype=float, count=len(ids)
        )

    def reason(self, request: Request, item_id: str) -> str | None:
        return "like items you liked"
