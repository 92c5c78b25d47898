"""Content-based candidates: items whose attributes resemble those of the user's recent positives.

An item's attributes become tokens (:func:`recsys.features.item_tokens`: genres, tags,
creator, decade); each token has a fixed pseudo-random direction (seeded by a stable hash of
the token), and the item's content vector is the normalised, weighted sum of its tokens'
directions: a random projection of its bag of attributes, which keeps cosine similarity
(Johnson-Lindenstrauss). The user's query is the recency-weighted mean of the content vectors
of their recent positives; candidates are the nearest items in a content index (hnswlib or
exact, as for MF). Content vectors change only when the catalogue does, so the index is
written on catalogue updates, never on interactions.

Examples
--------
>>> from recsys.ann import make_index
>>> content = ContentIndex(make_index("brute", 64))
>>> content.upsert("alien", {"genres": ["Sci-Fi", "Horror"], "creator": "scott"})
>>> content.upsert("blade-runner", {"genres": ["Sci-Fi"], "creator": "scott"})
>>> content.upsert("notting-hill", {"genres": ["Romance", "Comedy"]})
>>> [item for item, _ in content.similar(["alien"], n=2, exclude={"alien"})]
['blade-runner', 'notting-hill']
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np

from recsys.ann import VectorIndex
from recsys.ann.base import query_excluding
from recsys.candidates.base import Candidate, CandidateSource, Request
from recsys.candidates.covisitation import recent_positives
from recsys.catalog import Catalog
from recsys.features import item_tokens, stable_hash

KIND_WEIGHTS = {"genre": 1.0, "tag": 1.0, "creator": 1.0, "decade": 0.5}
"""How much each kind of attribute counts; several values of one kind share its weight."""


class ContentIndex:
    """Content vectors of the catalogue's items, searchable by similarity."""

    def __init__(self, index: VectorIndex, seed: int = 42) -> None:
        self.index = index
        self.dim = index.dim
        self.seed = seed
        self.vectors: dict[str, np.ndarray] = {}
        self.pending: set[str] = set()  # upserted, not yet written to the index (see flush)
        self._directions: dict[str, np.ndarray] = {}

    def _direction(self, token: str) -> np.ndarray:
        vec = self._directions.get(token)
        if vec is None:
            vec = np.random.default_rng(stable_hash(token, self.seed)).standard_normal(self.dim)
            vec = self._directions[token] = vec / np.linalg.norm(vec)
        return vec

    def embed(self, attributes: Mapping[str, Any]) -> np.ndarray | None:
        """The unit content vector of an item with these attributes (None: nothing to go on)."""
        by_kind: dict[str, list[str]] = {}
        for token in item_tokens(attributes):
            by_kind.setdefault(token.split("=", 1)[0], []).append(token)
        total = np.zeros(self.dim)
        for kind, tokens in by_kind.items():
            weight = KIND_WEIGHTS.get(kind, 0.5) / len(tokens) ** 0.5
            for token in tokens:
                total += weight * self._direction(token)
        norm = float(np.linalg.norm(total))
        return total / norm if norm > 0 else None

    def upsert(self, item_id: str, attributes: Mapping[str, Any]) -> None:
        """Index (or re-index) an item from its attributes; written to the index in batches
        (:meth:`flush`), because one hnswlib insert per catalogue record is slow."""
        vector = self.embed(attributes)
        if vector is None:
            self.remove(item_id)
            return
        old = self.vectors.get(item_id)
        if old is not None and np.array_equal(old, vector):
            return  # the same record again (the catalogue is re-read at start-up)
        self.vectors[item_id] = vector
        self.pending.add(item_id)

    def flush(self) -> int:
        """Write pending content vectors to the index in one batch; returns how many."""
        ids = sorted(i for i in self.pending if i in self.vectors)
        self.pending.clear()
        if ids:
            self.index.upsert(ids, np.stack([self.vectors[i] for i in ids]))
        return len(ids)

    def remove(self, item_id: str) -> None:
        self.pending.discard(item_id)
        if self.vectors.pop(item_id, None) is not None:
            self.index.remove(item_id)

    def query_vector(self, recent: Sequence[str]) -> np.ndarray | None:
        """Recency-weighted mean of the content vectors of ``recent`` (oldest first)."""
        total = np.zeros(self.dim)
        for distance, item_id in enumerate(reversed(recent), start=1):
            vector = self.vectors.get(item_id)
            if vector is not None:
                total += vector / distance**0.5
        norm = float(np.linalg.norm(total))
        return total / norm if norm > 0 else None

    def similar(
        self, recent: Sequence[str], n: int, exclude: Collection[str] = (), keep: Callable[[str], bool] = lambda _: True
    ) -> list[tuple[str, float]]:
        """Up to ``n`` items most similar to ``recent`` that ``keep`` accepts, none in ``exclude``."""
        query = self.query_vector(recent)
        if query is None or n <= 0:
            return []
        if self.pending:
            self.flush()
        return query_excluding(self.index, query, n, exclude, keep)


class ContentSource(CandidateSource):
    """Items most similar in content to the user's recent positives."""

    name = "content"

    def __init__(self, content: ContentIndex, catalog: Catalog, history: int = 20) -> None:
        self.content = content
        self.catalog = catalog
        self.history = history

    def generate(self, request: Request, n: int) -> list[Candidate]:
        recent = recent_positives(request)[-self.history :]
        hits = self.content.similar(recent, n, request.exclude, self.catalog.is_available)
        return [Candidate(i, s, self.name) for i, s in hits]
