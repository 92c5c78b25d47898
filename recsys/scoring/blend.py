"""Blend several signals by rank fusion: each candidate's rank under each signal, fused as
``sum(weight / (offset + rank))``. Ranks, unlike raw scores, are comparable across signals
with different scales (a co-visitation count, an inner product, a popularity count).

Signals: ``mf`` (exact inner product with current vectors; absent for a user with no
vector), ``covisit`` (co-visitation with the user's recent items), ``popular``.

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

from recsys.candidates.base import Request
from recsys.candidates.covisitation import CoVisitation, recent_positives
from recsys.catalog import Catalog
from recsys.models.base import VectorModel
from recsys.scoring.base import Scored, Scorer


def fuse_arrays(signals: Mapping[str, np.ndarray], weights: Mapping[str, float], offset: float, n: int) -> np.ndarray:
    """Rank-fuse signals aligned with one list of ``n`` items (higher is better; NaN: the
    signal says nothing about that item): ``sum(weight / (offset + rank))``, ties in list order."""
    fused = np.zeros(n)
    for signal, values in signals.items():
        weight = weights.get(signal, 0.0)
        if weight == 0:
            continue
        present = np.flatnonzero(~np.isnan(values))
        order = present[np.argsort(-values[present], kind="stable")]
        fused[order] += weight / (offset + np.arange(1, len(order) + 1))
    return fused


class BlendScorer(Scorer):
    """Rank fusion of MF, co-visitation and popularity over the merged candidates."""

    def __init__(
        self,
        model: VectorModel,
        catalog: Catalog,
        covisitation: CoVisitation,
        weights: Mapping[str, float],
        offset: float = 60.0,
    ) -> None:
        self.model = model
        self.catalog = catalog
        self.covisitation = covisitation
        self.weights = dict(weights)
        self.offset = offset

    def score(self, request: Request, candidates: dict[str, dict[str, float]]) -> list[Scored]:
        ids = list(candidates)
        if not ids:
            return []
        # one array per signal, NaN where the signal says nothing about the item
        signals: dict[str, np.ndarray] = {}
        pop = self.catalog.popularity
        signals["popular"] = np.fromiter((pop.get(i, 0.0) for i in ids), dtype=float, count=len(ids))
        if request.factors is not None and self.weights.get("mf", 0):
            signals["mf"] = np.asarray(self.model.item_vectors(ids) @ self.model.query(request.factors), dtype=float)
        recent = recent_positives(request)
        if recent and self.weights.get("covisit", 0):
            covisit = self.covisitation.scores(recent)
            signals["covisit"] = np.fromiter((covisit.get(i, np.nan) for i in ids), dtype=float, count=len(ids))
        fused = fuse_arrays(signals, self.weights, self.offset, len(ids))
        return [Scored(i, s, tuple(candidates[i])) for i, s in zip(ids, fused.tolist(), strict=True)]
