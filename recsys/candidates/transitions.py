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

from recsys.candidates.covisitation import CoVisitationSource
from recsys.items.covisitation import CoVisitation
from recsys.request import Request
from recsys.rows import Rows


class TransitionSource(CoVisitationSource):
    """Items users took right after the user's latest positives; its signal is that transition count."""

    name = "transitions"
    priority = 0

    def counts(self) -> CoVisitation:
        return self.items.transitions

    def reasons(self, request: Request, rows: Rows) -> list[str | None]:
        return [self.reason(request, row) for row in rows.tolist()]

    def reason(self, request: Request, row: int) -> str | None:
        """Names the latest item most often followed by this one."""
        window = request.recent[-self.items.transitions.window :]
        if not len(window):
            return None
        counts = self.items.transitions.counts(window, np.array([row]))[:, 0]
        if counts.max() <= 0:
            return None
        return f"often taken next after {self.items.rows.ids[int(window[int(counts.argmax())])]}"
