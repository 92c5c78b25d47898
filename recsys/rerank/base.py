"""The re-ranker interface: a step of the pipeline from scored candidates to the list.

The engine scores the candidates, applies the hard filters (:mod:`recsys.rerank.filters`,
always first, also to the exhaustive fallback), scales the scores to relevance in [0, 1]
(best 1, min-max over the list, order kept) and then runs the steps named in the
``rerank_steps`` setting, in that order. So a step can add or take relevance in the same
units whatever the scorer ("a just-published item gains 0.2").

What every step promises (the contract test runs every step through it):

- the input is best first; the output is best first and the engine lists its first ``k``;
- it never drops an item it was given, except a hard filter, and never lists one twice;
- it never lists an item of ``request.exclude`` or an unavailable one (a step that adds
  items, such as pins, checks with :class:`~recsys.rerank.filters.HardFilters`);
- an item a step moved or changed carries the step's reason (:meth:`Scored.moved`), which
  the list shows to the user ("new", "pinned by rule spring-sale");
- a step whose setting turns it off returns the list unchanged.
"""

from __future__ import annotations

import abc

from recsys.request import Request
from recsys.scoring.base import Scored


class Reranker(abc.ABC):
    """Takes the list best first and returns it changed (filtered, reordered)."""

    name: str = "step"

    @abc.abstractmethod
    def rerank(self, request: Request, ranked: list[Scored]) -> list[Scored]:
        """The new list, best first."""


def resort(ranked: list[Scored]) -> list[Scored]:
    """Best first after scores changed: by score, ties in the order given (stable).

    >>> [s.item_id for s in resort([Scored("a", 0.2, ()), Scored("b", 0.9, ()), Scored("c", 0.2, ())])]
    ['b', 'a', 'c']
    """
    return sorted(ranked, key=lambda s: -s.score)


def normalise(ranked: list[Scored]) -> list[Scored]:
    """Scores scaled to [0, 1] by min-max over the list (best 1), order kept; all equal: 1.

    >>> [s.score for s in normalise([Scored("a", 4.0, ()), Scored("b", 2.0, ()), Scored("c", 0.0, ())])]
    [1.0, 0.5, 0.0]
    """
    if not ranked:
        return ranked
    scores = [s.score for s in ranked]
    low, high = min(scores), max(scores)
    span = high - low
    return [Scored(s.item_id, (s.score - low) / span if span > 0 else 1.0, s.sources, s.reasons) for s in ranked]
