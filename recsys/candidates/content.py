"""Content-based candidates: items whose attributes resemble those of the user's recent positives.

Content vectors are :class:`recsys.items.content.ContentVectors`; candidates are the nearest
items to the user's content query in the content index (hnswlib or exact, as for MF).
"""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import NONE, Candidates, Generator
from recsys.request import Request
from recsys.rows import Rows

HISTORY = 20
"""Recent positives the content query is built from."""


class ContentSource(Generator):
    """Items most similar in content to the user's recent positives; its signal is that cosine."""

    name = "content"
    priority = 3

    def _query(self, request: Request) -> np.ndarray | None:
        if "content" not in request.memo:
            request.memo["content"] = self.items.content.query_vector(request.recent[-HISTORY:])
        return request.memo["content"]

    def generate(self, request: Request, n: int) -> Candidates:
        query = self._query(request)
        if query is None or n <= 0:
            return NONE
        return self.indexes.search("content", query, n, request.allowed)

    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        query = self._query(request)
        return None if query is None else self.items.content.similarity(rows, query)

    def reason(self, request: Request, row: int) -> str | None:
        return "like items you liked"
