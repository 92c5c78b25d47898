"""Co-visitation candidates: items most often taken next to the user's recent positives.

The counts are :class:`recsys.items.covisitation.CoVisitation`; what the user did just now is
the strongest single signal measured on MovieLens (see the architecture guide).
"""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import NONE, Candidates, Generator, top
from recsys.items.covisitation import CoVisitation
from recsys.request import Request
from recsys.rows import Rows, lookup


class CoVisitationSource(Generator):
    """Items most co-visited with the user's recent positive items; its signal is that co-visitation."""

    name = "covisit"
    priority = 0

    def counts(self) -> CoVisitation:
        """The counts it reads (a subclass may read other counts of the same kind)."""
        return self.items.covisitation

    def _scores(self, request: Request) -> Candidates:
        """The user's summed counts with their recent positives (rows ascending), once per request."""
        found = request.memo.get(self.name)
        if found is None:
            found = request.memo[self.name] = self.counts().scores(request.recent.tolist())
        return found

    def generate(self, request: Request, n: int) -> Candidates:
        rows, scores = self._scores(request)
        if not len(rows):
            return NONE
        return top(rows, scores, n, request.mask(rows))

    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        if not len(request.recent):
            return None
        return lookup(rows, *self._scores(request))

    def reason(self, request: Request, row: int) -> str | None:
        return self.reasons(request, np.array([row]))[0]

    def reasons(self, request: Request, rows: Rows) -> list[str | None]:
        ids = self.items.rows.ids
        return [
            "often taken with what you liked" if liked < 0 else f"because you liked {ids[liked]}"
            for liked in self.liked_with(request.recent, rows).tolist()
        ]

    def liked_with(self, recent: Rows, rows: Rows) -> Rows:
        """For each of ``rows``, the item of ``recent`` (within the counts' window) most counted with
        it in :meth:`counts` (-1 if none is; ties: the older)."""
        covisitation = self.counts()
        window = recent[-covisitation.window :]
        counts = covisitation.counts(window, rows)  # one row per recent item
        best = np.full(len(rows), -1, dtype=np.int64)
        if len(window):
            top = counts.argmax(axis=0)
            found = counts[top, np.arange(len(rows))] > 0
            best[found] = window[top[found]]
        return best
