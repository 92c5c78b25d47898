"""Blend several signals by rank fusion: each candidate's rank under each signal, fused as
``sum(weight / (offset + rank))``. Ranks, unlike raw scores, are comparable across signals
with different scales (a co-visitation count, an inner product, a popularity count).

Signals: ``mf`` (exact inner product with current vectors; absent for a user with no
vector), ``covisit`` (co-visitation with the user's recent items), ``popular``.

Examples
--------
>>> fused = fuse({"a": {"mf": 0.9, "popular": 1.0}, "b": {"mf": 0.1, "popular": 5.0}}, {"mf": 2.0, "popular": 1.0}, 1.0)
>>> {item: round(score, 3) for item, score in fused.items()}  # a: 2/(1+1) + 1/(1+2); b: 2/(1+2) + 1/(1+1)
{'a': 1.333, 'b': 1.167}
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recsys.candidates.base import Request
from recsys.candidates.covisitation import CoVisitation, recent_positives
from recsys.catalog import Catalog
from recsys.models.base import VectorModel
from recsys.scoring.base import Scored, Scorer


def fuse(features: Mapping[str, Mapping[str, float]], weights: Mapping[str, float], offset: float) -> dict[str, float]:
    """Rank-fuse per-item signal values (higher is better; a missing signal adds nothing)."""
    fused = dict.fromkeys(features, 0.0)
    for signal, weight in weights.items():
        if weight == 0:
            continue
        values = sorted(((v[signal], item) for item, v in features.items() if signal in v), key=lambda t: -t[0])
        for rank, (_, item) in enumerate(values, start=1):
            fused[item] += weight / (offset + rank)
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
        features: dict[str, dict[str, float]] = {i: {} for i in ids}
        pop = self.catalog.popularity
        for i in ids:
            features[i]["popular"] = pop.get(i, 0.0)
        if request.factors is not None and self.weights.get("mf", 0):
            values = self.model.item_vectors(ids) @ self.model.query(request.factors)
            for i, v in zip(ids, np.asarray(values).tolist(), strict=True):
                features[i]["mf"] = v
        recent = recent_positives(request)
        if recent and self.weights.get("covisit", 0):
            covisit = self.covisitation.scores(recent)
            for i in ids:
                if i in covisit:
                    features[i]["covisit"] = covisit[i]
        fused = fuse(features, self.weights, self.offset)
        return [Scored(i, fused[i], tuple(candidates[i])) for i in ids]
