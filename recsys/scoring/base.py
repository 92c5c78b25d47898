"""The scorer interface, and merging the candidates of several sources.

Examples
--------
>>> from recsys.candidates import Candidate
>>> merged = merge([[Candidate("a", 0.9, "mf")], [Candidate("a", 3.0, "popular"), Candidate("b", 1.0, "popular")]])
>>> merged["a"]
{'mf': 0.9, 'popular': 3.0}
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from recsys.candidates.base import Candidate
from recsys.request import Request

Signal = Callable[[Request, list[str]], np.ndarray | None]
"""A generator's evidence for each candidate id (NaN where it says nothing), or None for this
user at all: :meth:`recsys.candidates.Generator.signal`."""


@dataclass(frozen=True)
class Scored:
    """A candidate with its score, the sources that nominated it, and the reasons the
    re-ranking steps that moved it give (``"new"``, ``"pinned by rule spring-sale"``...).

    >>> Scored("a", 0.5, ("mf",)).moved(0.75, "new")
    Scored(item_id='a', score=0.75, sources=('mf',), reasons=('new',))
    """

    item_id: str
    score: float
    sources: tuple[str, ...]
    reasons: tuple[str, ...] = ()

    def moved(self, score: float | None = None, reason: str = "") -> Scored:
        """A copy with a new score (default: the same) and one more reason (if given)."""
        reasons = (*self.reasons, reason) if reason and reason not in self.reasons else self.reasons
        return replace(self, score=self.score if score is None else score, reasons=reasons)


def merge(lists: Iterable[list[Candidate]]) -> dict[str, dict[str, float]]:
    """item id -> {source: that source's score}, in first-nominated order."""
    merged: dict[str, dict[str, float]] = {}
    for candidates in lists:
        for c in candidates:
            merged.setdefault(c.item_id, {})[c.source] = c.score
    return merged


class Scorer(abc.ABC):
    """Gives every merged candidate one comparable score (higher is better)."""

    @abc.abstractmethod
    def score(self, request: Request, candidates: dict[str, dict[str, float]]) -> list[Scored]:
        """One :class:`Scored` per candidate, in any order."""

    def components(self, request: Request, ids: list[str]) -> list[dict[str, float]]:
        """What each signal added to the score of each of ``ids``, from this scorer's last
        :meth:`score` call for ``request`` (the explanation of a list); empty when unknown."""
        return [{} for _ in ids]
