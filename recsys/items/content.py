"""Content vectors: a random projection of each item's attributes, for content-based similarity.

An item's attributes become tokens (:func:`recsys.features.item_tokens`: genres, tags,
creator, decade); each token has a fixed pseudo-random direction (seeded by a stable hash of
the token), and the item's content vector is the normalised, weighted sum of its tokens'
directions: a random projection of its bag of attributes, which keeps cosine similarity
(Johnson-Lindenstrauss). A user's query is the recency-weighted mean of the content vectors
of their recent positives. Content vectors change only when the catalogue does; the content
index (:mod:`recsys.indexing`) is written from them on catalogue updates, never on
interactions.

Examples
--------
>>> content = ContentVectors(dim=64)
>>> content.upsert("alien", {"genres": ["Sci-Fi", "Horror"], "creator": "scott"})
True
>>> content.upsert("alien", {"genres": ["Sci-Fi", "Horror"], "creator": "scott"})  # the same record again
False
>>> content.upsert("blade-runner", {"genres": ["Sci-Fi"], "creator": "scott"})
True
>>> query = content.query_vector(["alien"])
>>> round(float(content.vectors["blade-runner"] @ query), 2)
0.81
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recsys.features import item_tokens, stable_hash

KIND_WEIGHTS = {"genre": 1.0, "tag": 1.0, "creator": 1.0, "decade": 0.5}
"""How much each kind of attribute counts; several values of one kind share its weight."""


class ContentVectors:
    """The unit content vector of every item with usable attributes."""

    def __init__(self, dim: int, seed: int = 42) -> None:
        self.dim = dim
        self.seed = seed
        self.vectors: dict[str, np.ndarray] = {}
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

    def upsert(self, item_id: str, attributes: Mapping[str, Any]) -> bool:
        """Embed an item from its attributes; True when its vector changed (the index must be
        rewritten), also when it lost its vector (no usable attributes left)."""
        vector = self.embed(attributes)
        if vector is None:
            return self.remove(item_id)
        old = self.vectors.get(item_id)
        if old is not None and np.array_equal(old, vector):
            return False  # the same record again (the catalogue is re-read at start-up)
        self.vectors[item_id] = vector
        return True

    def remove(self, item_id: str) -> bool:
        """Forget an item's vector; True when it had one."""
        return self.vectors.pop(item_id, None) is not None

    def query_vector(self, recent: Sequence[str]) -> np.ndarray | None:
        """Recency-weighted mean of the content vectors of ``recent`` (oldest first)."""
        total = np.zeros(self.dim)
        for distance, item_id in enumerate(reversed(recent), start=1):
            vector = self.vectors.get(item_id)
            if vector is not None:
                total += vector / distance**0.5
        norm = float(np.linalg.norm(total))
        return total / norm if norm > 0 else None
