"""Transition candidates: what users took next after the items this user took last.

Co-visitation (:mod:`recsys.candidates.covisitation`) is symmetric: an item counts with what
came before it as much as with what came after. Here the counts are directed
(:class:`recsys.items.covisitation.CoVisitation` with ``directed=True``): every positive adds to
the rows of the user's latest ``RECSYS_TRANSITION_WINDOW`` positives (the n-th latest weighing
1/sqrt(n)), so a query from the user's latest items gives the items users moved on to from
them, the last item weighing most: a first-order sequence model (sequential rules), decayed in
event time by ``RECSYS_TRANSITION_HALF_LIFE``.

:class:`AdjacentSource` reads the same counts taken both ways over the same short window (what
users took right before or right after the user's latest items: association rules over a
session's neighbours). Where browsing runs both ways, as along a shelf, the undirected counts see
twice the evidence; where order matters, as in a series, the directed ones keep it. Each is a
signal of the learned scorer, which weighs them by what the users take.
"""

from __future__ import annotations

from recsys.candidates.covisitation import CoVisitationSource
from recsys.items.covisitation import CoVisitation
from recsys.request import Request
from recsys.rows import Rows


class TransitionSource(CoVisitationSource):
    """Items users took right after the user's latest positives; its signal is that transition count."""

    name = "transitions"
    priority = 0
    phrase = "often taken next after"
    """How its reason names the latest item the candidate is counted with."""

    def counts(self) -> CoVisitation:
        return self.items.transitions

    def reasons(self, request: Request, rows: Rows) -> list[str | None]:
        """Names, for each of ``rows``, the latest item most often counted with it."""
        ids = self.items.rows.ids
        return [None if at < 0 else f"{self.phrase} {ids[at]}" for at in self.liked_with(request.recent, rows).tolist()]


class AdjacentSource(TransitionSource):
    """Items users took right before or after the user's latest positives; its signal is that count."""

    name = "adjacent"
    phrase = "often taken next to"

    def counts(self) -> CoVisitation:
        return self.items.adjacent
