"""The scorer interface: one comparable score per merged candidate, and what each signal added.

Examples
--------
>>> Scored("a", 0.5, ("mf",)).moved(0.75, "new")
Scored(item_id='a', score=0.75, sources=('mf',), reasons=('new',))
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from recsys.request import Request
from recsys.rows import Rows

Signal = Callable[[Request, Rows], np.ndarray | None]
"""A generator's evidence for each candidate row (NaN where it says nothing), or None for this
user at all: :meth:`recsys.candidates.Generator.signal`."""


@dataclass(frozen=True)
class Scored:
    """A listed item with its score, the sources that nominated it, and the reasons the
    re-ranking steps that moved it give (``"new"``, ``"pinned by rule spring-sale"``...)."""

    item_id: str
    score: float
    sources: tuple[str, ...]
    reasons: tuple[str, ...] = ()

    def moved(self, score: float | None = None, reason: str = "") -> Scored:
        """A copy with a new score (default: the same) and one more reason (if given)."""
        reasons = (*self.reasons, reason) if reason and reason not in self.reasons else self.reasons
        return replace(self, score=self.score if score is None else score, reasons=reasons)


class Scorer(abc.ABC):
    """Gives every merged candidate one comparable score (higher is better)."""

    @abc.abstractmethod
    def score(self, request: Request, rows: Rows) -> np.ndarray:
        """One score per candidate row (float64)."""

    def components(self, request: Request, rows: Rows) -> list[dict[str, float]]:
        """What each signal added to the score of each of ``rows``, from this scorer's last
        :meth:`score` call for ``request`` (the explanation of a list); empty when unknown."""
        return [{} for _ in range(len(rows))]
