"""Variety in the top of the list: maximal marginal relevance (MMR) over item vectors.

A list of ten near-identical items is a worse list than ten good, different ones. This step
picks the first ``request.k`` items greedily from the best ``pool * request.k`` candidates:
each next item is the one with the best

    ``lam * relevance - (1 - lam) * (highest cosine similarity to an item already picked)``

so ``lam = 1`` keeps the relevance order and a lower ``lam`` trades relevance for variety.
The scores are the engine's relevance in [0, 1], so ``lam`` means the same whatever the
scorer. The unpicked items follow in their original order: nothing is dropped. An item MMR
placed earlier than its relevance position carries the reason ``"for variety"``; scores are
kept as they were.

``vectors(ids)`` gives one row per id (a row of zeros for an unknown item: it is similar to
nothing) or None (the list is left unchanged); :func:`genre_vectors` builds multi-hot genre
rows, embeddings work as well.

Examples
--------
>>> from recsys.request import Request
>>> from recsys.rerank.base import Ranked
>>> from recsys.rows import RowSpace
>>> from recsys.scoring import Scored
>>> from recsys.state import UserState
>>> genres = {"a": ("Drama",), "a2": ("Drama",), "b": ("Comedy",), "c": ()}
>>> mmr = MaximalMarginalRelevance(genre_vectors(lambda i: genres[i]), lam=0.5)
>>> ranked = Ranked.of(RowSpace(), [Scored("a", 1.0, ("mf",)), Scored("a2", 0.9, ("mf",)), Scored("b", 0.6, ("mf",)),
...                                 Scored("c", 0.0, ())])
>>> out = mmr.rerank(Request(UserState("u"), None, k=2), ranked)
>>> [(s.item_id, s.reasons) for s in out.scored()]
[('a', ()), ('b', ('for variety',)), ('a2', ()), ('c', ())]
>>> mmr.lam = 1.0  # relevance only: unchanged
>>> mmr.rerank(Request(UserState("u"), None, k=2), ranked).ids
['a', 'a2', 'b', 'c']
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker

Vectors = Callable[[list[str]], np.ndarray | None]

REASON = "for variety"


def genre_vectors(genres_of: Callable[[str], tuple[str, ...]]) -> Callable[[list[str]], np.ndarray]:
    """``vectors`` for :class:`MaximalMarginalRelevance`: multi-hot genre rows for the ids given,
    one column per genre seen among them (first seen first); an item without genres is a row of
    zeros.

    >>> genres = {"a": ("Drama", "War"), "b": ("Comedy",), "c": ()}
    >>> genre_vectors(lambda i: genres[i])(["a", "b", "c"])
    array([[1., 1., 0.],
           [0., 0., 1.],
           [0., 0., 0.]])
    """

    def vectors(ids: list[str]) -> np.ndarray:
        columns: dict[str, int] = {}
        rows = [[columns.setdefault(g, len(columns)) for g in genres_of(item_id)] for item_id in ids]
        out = np.zeros((len(ids), len(columns)))
        for r, cols in enumerate(rows):
            out[r, cols] = 1.0
        return out

    return vectors


def cosine_similarities(vectors: np.ndarray) -> np.ndarray:
    """The matrix of pairwise cosine similarities of the rows; a row of zeros is 0 to everything.

    >>> cosine_similarities(np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 0.0]]))
    array([[1., 1., 0.],
           [1., 1., 0.],
           [0., 0., 0.]])
    """
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    return unit @ unit.T


class MaximalMarginalRelevance(Reranker):
    """Greedy MMR for the top ``request.k`` from the best ``pool * request.k`` items; the rest
    follows in its original order."""

    name = "diversity"

    def __init__(self, vectors: Vectors, lam: float, pool: int = 5) -> None:
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1] (1 = relevance only, lower = more variety), got {lam}")
        if pool < 1:
            raise ValueError(f"pool must be a positive multiple of k (candidates considered per slot), got {pool}")
        self.vectors = vectors
        self.lam = lam
        self.pool = pool

    def order(self, relevance: np.ndarray, similarity: np.ndarray, k: int) -> list[int]:
        """The indexes of the ``k`` items MMR picks, in pick order (ties: the better-ranked one).

        >>> sim = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        >>> MaximalMarginalRelevance(lambda ids: None, lam=0.5).order(np.array([1.0, 0.9, 0.5]), sim, 2)
        [0, 2]
        """
        n = len(relevance)
        gain = self.lam * relevance
        closest = np.full(n, -np.inf)  # highest similarity to a picked item
        available = np.ones(n, dtype=bool)
        picked: list[int] = []
        for _ in range(min(k, n)):
            value = gain - (1.0 - self.lam) * closest if picked else gain.copy()
            value[~available] = -np.inf
            best = int(np.argmax(value))
            picked.append(best)
            available[best] = False
            closest = np.maximum(closest, similarity[best])
        return picked

    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        k = request.k
        if self.lam >= 1.0 or k < 2 or len(ranked) < 2:
            return ranked
        pool = min(len(ranked), self.pool * k)
        ids = ranked.space.ids_of(ranked.rows[:pool].tolist())
        raw = self.vectors(ids)
        if raw is None:
            return ranked
        vectors = np.asarray(raw, dtype=float)
        if vectors.ndim != 2 or vectors.shape[0] != len(ids):
            raise ValueError(
                f"vectors(ids) must return one row per id ({len(ids)} rows, zeros for an unknown item) "
                f"or None, got an array of shape {vectors.shape}"
            )
        picked = self.order(ranked.scores[:pool], cosine_similarities(vectors), k)
        chosen = set(picked)
        order = picked + [i for i in range(pool) if i not in chosen] + list(range(pool, len(ranked)))
        moved_up = [position for position, i in enumerate(picked) if position < i]
        return ranked.take(order).with_reason(moved_up, REASON)
