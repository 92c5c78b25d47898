"""Signals: per-candidate evidence that scorers combine (the blend now, a learned model later).

A signal maps a request and a list of candidate ids to one value per id (higher is better;
NaN where the signal says nothing about that item), or None when it says nothing at all
for this user. Each is computed for every merged candidate, whichever source nominated it.

Examples
--------
>>> from recsys.catalog import Catalog
>>> catalog = Catalog(); catalog.observe("a"); catalog.add_popularity("a", 2.0)
True
>>> popular_signal(catalog)(None, ["a", "b"]).tolist()  # type: ignore[arg-type]
[2.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recsys.candidates.base import Request
from recsys.candidates.content import ContentIndex
from recsys.candidates.covisitation import CoVisitation, recent_positives
from recsys.candidates.social import RecentLikes
from recsys.candidates.trending import Trending
from recsys.candidates.two_tower import TowerItems
from recsys.catalog import Catalog
from recsys.models.base import VectorModel

Signal = Callable[[Request, list[str]], np.ndarray | None]


def mf_signal(model: VectorModel) -> Signal:
    """The MF inner product with current vectors (the index may lag a refresh behind)."""

    def signal(request: Request, ids: list[str]) -> np.ndarray | None:
        if request.factors is None:
            return None
        return np.asarray(model.item_vectors(ids) @ model.query(request.factors), dtype=float)

    return signal


def covisit_signal(covisitation: CoVisitation) -> Signal:
    """Co-visitation with the user's recent positives."""

    def signal(request: Request, ids: list[str]) -> np.ndarray | None:
        recent = recent_positives(request)
        if not recent:
            return None
        scores = covisitation.scores(recent)
        return np.fromiter((scores.get(i, np.nan) for i in ids), dtype=float, count=len(ids))

    return signal


def popular_signal(catalog: Catalog) -> Signal:
    """All-time popularity (summed positive weight)."""

    def signal(request: Request, ids: list[str]) -> np.ndarray:
        pop = catalog.popularity
        return np.fromiter((pop.get(i, 0.0) for i in ids), dtype=float, count=len(ids))

    return signal


def content_signal(content: ContentIndex, history: int = 20) -> Signal:
    """Cosine similarity of each item's content with the user's recent positives."""

    def signal(request: Request, ids: list[str]) -> np.ndarray | None:
        query = content.query_vector(recent_positives(request)[-history:])
        if query is None:
            return None
        vectors = content.vectors
        return np.fromiter(
            (float(vectors[i] @ query) if i in vectors else np.nan for i in ids), dtype=float, count=len(ids)
        )

    return signal


def trending_signal(trending: Trending) -> Signal:
    """The decayed count of recent positive events, overall."""

    def signal(request: Request, ids: list[str]) -> np.ndarray:
        value = trending.overall.value
        return np.fromiter((value(i) for i in ids), dtype=float, count=len(ids))

    return signal


def fresh_signal(catalog: Catalog, clock: Callable[[], float]) -> Signal:
    """Newness: minus the item's age at the event clock (NaN when unknown or not yet out)."""

    def signal(request: Request, ids: list[str]) -> np.ndarray:
        now, age = clock(), catalog.age
        ages = (age(item_id, now) for item_id in ids)
        return -np.fromiter((np.nan if a is None else a for a in ages), dtype=float, count=len(ids))

    return signal


def two_tower_signal(items: TowerItems) -> Signal:
    """The two-tower score: user-tower embedding against current item-tower embeddings."""

    def signal(request: Request, ids: list[str]) -> np.ndarray:
        return items.scores(items.user_vector(request), ids)

    return signal


def social_signal(likes: RecentLikes, clock: Callable[[], float], half_life: float) -> Signal:
    """The followees' decayed positive weight on each item (NaN where none of them engaged)."""

    def signal(request: Request, ids: list[str]) -> np.ndarray | None:
        if not request.user.following:
            return None
        scores = likes.scores(request.user.following, clock(), half_life)
        return np.fromiter((scores.get(i, np.nan) for i in ids), dtype=float, count=len(ids))

    return signal
