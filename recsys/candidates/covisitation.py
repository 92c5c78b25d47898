"""Co-visitation candidates: items most often taken next to the user's recent positives.

The counts are :class:`recsys.items.covisitation.CoVisitation`; what the user did just now is
the strongest single signal measured on MovieLens (see the architecture guide).
"""

from __future__ import annotations

import heapq

import numpy as np

from recsys.candidates.base import Candidate, Generator
from recsys.request import Request


class CoVisitationSource(Generator):
    """Items most co-visited with the user's recent positive items; its signal is that co-visitation."""

    name = "covisit"
    priority = 0

    def generate(self, request: Request, n: int) -> list[Candidate]:
        recent = request.user.recent_positives()
        if not recent:
            return []
        scored = self.items.covisitation.scores(recent)
        exclude, available = request.exclude, self.items.catalog.is_available
        pool = ((score, item_id) for item_id, score in scored.items() if item_id not in exclude and available(item_id))
        return [Candidate(item_id, score, self.name) for score, item_id in heapq.nlargest(n, pool)]

    def signal(self, request: Request, ids: list[str]) -> np.ndarray | None:
        recent = request.user.recent_positives()
        if not recent:
            return None
        scores = self.items.covisitation.scores(recent)
        return np.fromiter((scores.get(i, np.nan) for i in ids), dtype=float, count=len(ids))

    def reason(self, request: Request, item_id: str) -> str | None:
        liked = self.liked_with(request.user.recent_positives(), item_id)
        return f"because you liked {liked}" if liked else "often taken with what you liked"

    def liked_with(self, recent: list[str], item_id: str) -> str | None:
        """The item of ``recent`` most co-visited with ``item_id`` (None if none is)."""
        covisitation = self.items.covisitation
        best, best_count = None, 0.0
        for other in recent[-covisitation.window :]:
            count = covisitation.rows.get(other, {}).get(item_id, 0.0)
            if count > best_count:
                best, best_count = other, count
        return best
