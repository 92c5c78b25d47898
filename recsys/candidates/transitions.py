"""Transition candidates: what users took next after the items this user took last.

Co-visitation (:mod:`recsys.candidates.covisitation`) is symmetric: an item counts with what
came before it as much as with what came after. Here the counts are directed
(:class:`recsys.items.covisitation.CoVisitation` with ``directed=True``): every positive adds to
the rows of the user's latest ``RECSYS_TRANSITION_WINDOW`` positives (the n-th latest weighing
1/sqrt(n)), so a query from the user's latest items gives the items users moved on to from
them, the last item weighing most: a first-order sequence model, decayed in event time by
``RECSYS_TRANSITION_HALF_LIFE``.
"""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import NONE, Candidates, Generator, top
from recsys.request import Request
from recsys.rows import Rows, lookup


class TransitionSource(Generator):
    """Items users took right after the user's latest positives; its signal is that transition count."""

    name = "transitions"
    priority = 0

    def _scores(self, request: Request) -> Candidates:
        """The user's summed transition counts (rows ascending), once per request."""
        found = request.memo.get("transitions")
        if found is None:
            found = request.memo["transitions"] = self.items.transitions.scores(request.recent.tolist())
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
        """Names the latest item most often followed by this one."""
        window = request.recent[-self.items.transitions.window :]
        if not len(window):
            return None
        counts = self.items.transitions.counts(window, np.array([row]))[:, 0]
        if counts.max() <= 0:
            return None
        return f"often taken next after {self.items.rows.ids[int(window[int(counts.argmax())])]}"
