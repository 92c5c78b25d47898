"""Co-visitation candidates: items most often taken next to the user's recent positives.

The counts are :class:`recsys.items.covisitation.CoVisitation`; what the user did just now is
the strongest single signal measured on MovieLens (see the architecture guide).
"""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import NONE, Candidates, Generator, top
from recsys.request import Request
from recsys.rows import Rows


class CoVisitationSource(Generator):
    """Items most co-visited with the user's recent positive items; its signal is that co-visitation."""

    name = "covisit"
    priority = 0

    def _scores(self, request: Request) -> Candidates:
        """The user's co-visitation sums (rows ascending), once per request."""
        found = request.memo.get("covisit")
        if found is None:
            found = request.memo["covisit"] = self.items.covisitation.scores(request.recent.tolist())
        return found

    def generate(self, request: Request, n: int) -> Candidates:
        rows, scores = self._scores(request)
        if not len(rows):
            return NONE
        return top(rows, scores, n, request.mask(rows))

    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        if not len(request.recent):
            return None
        keys, scores = self._scores(request)
        if not len(keys):
            return np.full(len(rows), np.nan)
        at = np.minimum(np.searchsorted(keys, rows), len(keys) - 1)
        return np.where(keys[at] == rows, scores[at], np.nan)

    def reason(self, request: Request, row: int) -> str | None:
        liked = self.liked_with(request.recent.tolist(), row)
        if liked is None:
            return "often taken with what you liked"
        return f"because you liked {self.items.rows.ids[liked]}"

    def liked_with(self, recent: list[int], row: int) -> int | None:
        """The item of ``recent`` most co-visited with ``row`` (None if none is)."""
        covisitation = self.items.covisitation
        best, best_count = None, 0.0
        for other in recent[-covisitation.window :]:
            count = covisitation.count(other, row)
            if count > best_count:
                best, best_count = other, count
        return best
