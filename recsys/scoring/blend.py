"""Blend several signals by rank fusion: each candidate's rank under each signal, fused as
``sum(weight / (offset + rank))``. Ranks, unlike raw scores, are comparable across signals
with different scales (a co-visitation count, an inner product, a popularity count).

The signals are the generators' (:meth:`recsys.candidates.Generator.signal`: ``mf``,
``covisit``, ``popular``, ``content``, ``trending``, ``fresh``, ``two_tower``, ``social``); one
whose weight is 0 is not computed. :class:`Evidence` holds every signal of one candidate list
as one matrix, with each candidate's rank under each signal, so fusing, the learned scorer's
features and the explanation of a list are a few matrix operations, not a loop per signal.

Examples
--------
>>> import numpy as np
>>> evidence = Evidence.of({"mf": np.array([0.9, 0.1]), "popular": np.array([1.0, 5.0])})
>>> evidence.rank.tolist()
[[1, 2], [2, 1]]
>>> fuse(evidence, {"mf": 2.0, "popular": 1.0}, offset=1.0).round(3).tolist()  # a: 2/(1+1) + 1/(1+2)
[1.333, 1.167]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from recsys.request import Request
from recsys.rows import Rows
from recsys.scoring.base import Scorer, Signal


@dataclass(frozen=True)
class Evidence:
    """Every signal's value for each candidate of a list (``values``: one column per signal, NaN
    where a signal says nothing, a whole column when it says nothing for this user), whether it
    says something (``known``), and each candidate's 1-based rank among those a signal knows,
    best first, ties (at float32 precision) in list order (``rank``; 0 where unknown)."""

    names: list[str]
    values: np.ndarray
    known: np.ndarray
    rank: np.ndarray

    @classmethod
    def of(cls, columns: Mapping[str, np.ndarray | None], n: int | None = None) -> Evidence:
        """The evidence of the given signal values (a signal's None: it knows nothing)."""
        names = list(columns)
        n = next((len(v) for v in columns.values() if v is not None), 0) if n is None else n
        values = np.full((n, len(names)), np.nan)
        for column, v in enumerate(columns.values()):
            if v is not None:
                values[:, column] = v
        known = ~np.isnan(values)
        keys = np.where(known, -values, np.inf).astype(np.float32)  # unknown last; float32 sorts twice as fast
        order = np.argsort(keys, axis=0, kind="stable")
        rank = np.empty(values.shape, dtype=np.int64)
        np.put_along_axis(rank, order, np.arange(1, n + 1)[:, None], axis=0)
        rank[~known] = 0
        return cls(names, values, known, rank)

    @classmethod
    def gather(cls, signals: Mapping[str, Signal], request: Request, rows: Rows) -> Evidence:
        """Each signal's values for the candidate ``rows`` of ``request``."""
        return cls.of({name: signal(request, rows) for name, signal in signals.items()}, len(rows))

    def contributions(self, weights: Mapping[str, float], offset: float) -> np.ndarray:
        """What each signal adds to each candidate's fused score: ``weight / (offset + rank)``
        where it knows the candidate (one column per signal, 0 elsewhere)."""
        w = np.array([weights.get(name, 0.0) for name in self.names])
        with np.errstate(divide="ignore"):
            return np.where(self.known, w / (offset + self.rank), 0.0)


def fuse(evidence: Evidence, weights: Mapping[str, float], offset: float) -> np.ndarray:
    """Rank fusion: ``sum(weight / (offset + rank))`` over the signals that know each candidate."""
    return evidence.contributions(weights, offset).sum(axis=1)


def rank_contributions(
    evidence: Evidence, weights: Mapping[str, float], offset: float, positions: np.ndarray
) -> list[dict[str, float]]:
    """What each weighted signal added (``weight / (offset + rank)``) to the candidates at
    ``positions`` of the list (-1: not in it, nothing).

    >>> evidence = Evidence.of({"mf": np.array([0.1, 0.9])})
    >>> rank_contributions(evidence, {"mf": 2.0}, 1.0, np.array([0, 1, -1]))
    [{'mf': 0.666667}, {'mf': 1.0}, {}]
    """
    parts = evidence.contributions(weights, offset)
    weighted = [c for c, name in enumerate(evidence.names) if weights.get(name, 0.0)]
    out: list[dict[str, float]] = []
    for p in positions.tolist():
        row = parts[p] if p >= 0 else None
        out.append({} if row is None else {evidence.names[c]: round(float(row[c]), 6) for c in weighted if row[c]})
    return out


def positions_in(listed: Rows, rows: Rows) -> np.ndarray:
    """The position of each of ``rows`` in ``listed`` (-1 where absent).

    >>> positions_in(np.array([7, 3, 9]), np.array([9, 7, 5])).tolist()
    [2, 0, -1]
    """
    order = np.argsort(listed, kind="stable")
    at = np.minimum(np.searchsorted(listed[order], rows), max(len(listed) - 1, 0))
    found = (listed[order][at] == rows) if len(listed) else np.zeros(len(rows), dtype=bool)
    return np.where(found, order[at], -1)


class BlendScorer(Scorer):
    """Rank fusion of the weighted signals over the merged candidates."""

    def __init__(self, signals: Mapping[str, Signal], weights: Mapping[str, float], offset: float = 60.0) -> None:
        self.signals = {name: signal for name, signal in signals.items() if weights.get(name, 0.0)}
        self.weights = dict(weights)
        self.offset = offset
        self._last: tuple[str, Rows, Evidence] | None = None

    def score(self, request: Request, rows: Rows) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        evidence = Evidence.gather(self.signals, request, rows)
        self._last = (request.user.user_id, rows, evidence)
        return fuse(evidence, self.weights, self.offset)

    def components(self, request: Request, rows: Rows) -> list[dict[str, float]]:
        last = self._last
        if last is None or last[0] != request.user.user_id:
            return super().components(request, rows)
        _, listed, evidence = last
        return rank_contributions(evidence, self.weights, self.offset, positions_in(listed, rows))
