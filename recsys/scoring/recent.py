"""Features of a candidate against the user's latest items, for the learned scorer (``RECSYS_LEARNED_FEATURES``).

The generators' signals already say how a candidate relates to the user's recent items as a
whole; these say how it relates to the very last ones, so the scorer can weigh what the user did
a moment ago apart from what they did before. Each returns one or more columns per candidate
(0 where it says nothing):

* ``last_similarity``: the cosine of the candidate's content vector with each of the user's
  latest ``LAST`` positives, one column each (the scorer learns how much each position weighs);
* ``genre_continuation``: the share of the candidate's genres that the last positive has too;
* ``popularity_match``: minus the distance between the candidate's log popularity and the
  recency-weighted mean log popularity of the user's latest positives (users browsing the long
  tail tend to stay in it, users on the hits on the hits).

Examples
--------
>>> sorted(FEATURES), columns(["last_similarity", "genre_continuation"])
(['genre_continuation', 'last_similarity', 'popularity_match'], ['last_similarity:1', 'last_similarity:2', \
'last_similarity:3', 'genre_continuation'])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from recsys.items.catalog import Catalog
from recsys.items.content import ContentVectors
from recsys.request import Request
from recsys.rows import Rows
from recsys.settings import LEARNED_FEATURES

LAST = 3
"""How many of the latest positives ``last_similarity`` compares with, one column each."""

Feature = Callable[[Request, Rows, Catalog, ContentVectors], np.ndarray]


def last_similarity(request: Request, rows: Rows, catalog: Catalog, content: ContentVectors) -> np.ndarray:
    out = np.zeros((len(rows), LAST))
    latest = request.recent[::-1][:LAST]  # the latest first
    if not len(latest) or not len(rows):
        return out
    has = content.has.data
    vectors = content.matrix.data
    sims = (vectors[latest] @ vectors[rows].T).astype(np.float64)  # unit vectors: cosines
    sims[~has[latest]] = 0.0
    sims[:, ~has[rows]] = 0.0
    out[:, : len(latest)] = sims.T
    return out


def candidate_genres(request: Request, rows: Rows, catalog: Catalog) -> tuple[np.ndarray, Rows]:
    """``catalog.genre_matrix(rows)``, computed once per request for the same ``rows``."""
    found = request.memo.get("candidate_genres")
    if found is None or found[0] is not rows:
        found = request.memo["candidate_genres"] = (rows, *catalog.genre_matrix(rows))
    return found[1], found[2]


def genre_continuation(request: Request, rows: Rows, catalog: Catalog, content: ContentVectors) -> np.ndarray:
    out = np.zeros((len(rows), 1))
    if not len(request.recent) or not len(rows):
        return out
    last = catalog.genre_matrix(request.recent[-1:])[0]
    genres, owner = candidate_genres(request, rows, catalog)
    if not len(last) or not len(genres):
        return out
    shared = (genres[:, None] == last[None, :]).any(axis=1)  # the last item has a few genres
    hits = np.bincount(owner, weights=shared, minlength=len(rows))
    total = np.bincount(owner, minlength=len(rows))
    out[:, 0] = np.divide(hits, total, out=np.zeros(len(rows)), where=total > 0)
    return out


def popularity_match(request: Request, rows: Rows, catalog: Catalog, content: ContentVectors) -> np.ndarray:
    out = np.zeros((len(rows), 1))
    latest = request.recent[-5:]
    if not len(latest) or not len(rows):
        return out
    weights = 1.0 / np.sqrt(np.arange(len(latest), 0, -1))
    pop = catalog.popularity.data
    centre = float(weights @ np.log1p(np.maximum(pop[latest], 0.0)) / weights.sum())
    out[:, 0] = -np.abs(np.log1p(np.maximum(pop[rows], 0.0)) - centre)
    return out


FEATURES: dict[str, tuple[Feature, list[str]]] = {
    "last_similarity": (last_similarity, [f"last_similarity:{n}" for n in range(1, LAST + 1)]),
    "genre_continuation": (genre_continuation, ["genre_continuation"]),
    "popularity_match": (popularity_match, ["popularity_match"]),
}
"""Each optional feature: the function and the names of its columns."""
assert tuple(FEATURES) == LEARNED_FEATURES, "recsys.settings.LEARNED_FEATURES lists these features"


def columns(names: Sequence[str]) -> list[str]:
    """The column names of the features ``names``, in order."""
    return [column for name in names for column in FEATURES[name][1]]


def compute(
    names: Sequence[str], request: Request, rows: Rows, catalog: Catalog, content: ContentVectors
) -> np.ndarray:
    """The columns of the features ``names`` for ``rows`` (``(len(rows), len(columns(names)))``)."""
    if not names:
        return np.zeros((len(rows), 0))
    return np.concatenate([FEATURES[name][0](request, rows, catalog, content) for name in names], axis=1)
