"""Blend several signals by rank fusion: each candidate's rank under each signal, fused as
``sum(weight / (offset + rank))``. Ranks, unlike raw scores, are comparable across signals
with different scales (a co-visitation count, an inner product, a popularity count).

The signals are the generators' (:meth:`recsys.candidates.Generator.signal`: ``mf``,
``covisit``, ``popular``, ``content``, ``trending``, ``fresh``, ``two_tower``, ``social``); one
whose weight is 0 is not computed.

Examples
--------
>>> import numpy as np
>>> signals = {"mf": np.array([0.9, 0.1]), "popular": np.array([1.0, 5.0])}
>>> fused = fuse_arrays(signals, {"mf": 2.0, "popular": 1.0}, offset=1.0, n=2)
>>> fused.round(3).tolist()  # a: 2/(1+1) + 1/(1+2); b: 2/(1+2) + 1/(1+1)
[1.333, 1.167]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recsys.request import Request
from recsys.scoring.base import Scorer, Signal


def signal_order(values: np.ndarray) -> np.ndarray:
    """Positions of the items a signal says something about (not NaN), best first, ties in
    list order."""
    present = np.flatnonzero(~np.isnan(values))
    return present[np.argsort(-values[present], kind="stable")]


def fuse_orders(orders: Mapping[str, np.ndarray], weights: Mapping[str, float], offset: float, n: int) -> np.ndarray:
    """:func:`fuse_arrays` from each signal's :func:`signal_order`."""
    fused = np.zeros(n)
    for signal, order in orders.items():
        weight = weights.get(signal, 0.0)
        if weight:
            fused[order] += weight / (offset + np.arange(1, len(order) + 1))
    return fused


def rank_contributions(
    orders: Mapping[str, np.ndarray], weights: Mapping[str, float], offset: float, listed: np.ndarray, rows: np.ndarray
) -> list[dict[str, float]]:
    """What each weighted signal added (``weight / (offset + rank)``) to each of ``rows`` in the
    list ``listed`` (item rows) fused by :func:`fuse_orders` (nothing for a row not in it).

    >>> rank_contributions({"mf": np.array([1, 0])}, {"mf": 2.0}, 1.0, np.array([7, 8]), np.array([7, 8, 9]))
    [{'mf': 0.666667}, {'mf': 1.0}, {}]
    """
    where = {row: p for p, row in enumerate(listed.tolist())}
    positions = [where.get(r) for r in rows.tolist()]
    out: list[dict[str, float]] = [{} for _ in positions]
    for signal, order in orders.items():
        weight = weights.get(signal, 0.0)
        if not weight:
            continue
        rank = np.zeros(len(listed), dtype=int)
        rank[order] = np.arange(1, len(order) + 1)
        for parts, p in zip(out, positions, strict=True):
            if p is not None and rank[p]:
                parts[signal] = round(float(weight / (offset + rank[p])), 6)
    return out


def fuse_arrays(signals: Mapping[str, np.ndarray], weights: Mapping[str, float], offset: float, n: int) -> np.ndarray:
    """Rank-fuse signals aligned with one list of ``n`` items (higher is better; NaN: the
    signal says nothing about that item): ``sum(weight / (offset + rank))``, ties in list order."""
    orders = {name: signal_order(values) for name, values in signals.items() if weights.get(name, 0.0)}
    return fuse_orders(orders, weights, offset, n)


class BlendScorer(Scorer):
    """Rank fusion of the weighted signals over the merged candidates."""

    def __init__(self, signals: Mapping[str, Signal], weights: Mapping[str, float], offset: float = 60.0) -> None:
        self.signals = {name: signal for name, signal in signals.items() if weights.get(name, 0.0)}
        self.weights = dict(weights)
        self.offset = offset
        self._last: tuple[str, np.ndarray, dict[str, np.ndarray]] | None = None

    def score(self, request: Request, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        values = {name: signal(request, rows) for name, signal in self.signals.items()}
        orders = {name: signal_order(v) for name, v in values.items() if v is not None}
        self._last = (request.user.user_id, rows, orders)
        return fuse_orders(orders, self.weights, self.offset, len(rows))

    def components(self, request: Request, rows: np.ndarray) -> list[dict[str, float]]:
        last = self._last
        if last is None or last[0] != request.user.user_id:
            return super().components(request, rows)
        return rank_contributions(last[2], self.weights, self.offset, last[1], rows)
