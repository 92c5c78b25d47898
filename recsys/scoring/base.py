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
from collections.abc import Iterable
from dataclasses import dataclass

from recsys.candidates.base import Candidate, Request


@dataclass(frozen=True)
class Scored:
    """A candidate with its final score and the sources that nominated it."""

    item_id: str
    score: float
    sources: tuple[str, ...]


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
