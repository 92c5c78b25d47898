"""Content vectors: a random projection of each item's attributes, for content-based similarity.

An item's attributes become tokens (:func:`recsys.features.item_tokens`: genres, tags,
creator, decade); each token has a fixed pseudo-random direction (seeded by a stable hash of
the token), and the item's content vector is the normalised, weighted sum of its tokens'
directions: a random projection of its bag of attributes, which keeps cosine similarity
(Johnson-Lindenstrauss). A user's query is the recency-weighted mean of the content vectors
of their recent positives. Content vectors change only when the catalogue does; the content
index (:mod:`recsys.indexing`) is written from them on catalogue updates, never on
interactions. The vectors are a float32 column of the item row space.

Examples
--------
>>> content = ContentVectors(dim=64)
>>> alien, blade_runner = content.rows.rows(["alien", "blade-runner"])
>>> content.upsert(alien, {"genres": ["Sci-Fi", "Horror"], "creator": "scott"})
True
>>> content.upsert(alien, {"genres": ["Sci-Fi", "Horror"], "creator": "scott"})  # the same record again
False
>>> content.upsert(blade_runner, {"genres": ["Sci-Fi"], "creator": "scott"})
True
>>> query = content.query_vector(np.array([alien]))
>>> content.similarity(np.array([blade_runner, 99]), query).round(2).tolist()
[0.81, nan]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from recsys.features import item_tokens, stable_hash
from recsys.rows import Rows, RowSpace

KIND_WEIGHTS = {"genre": 1.0, "tag": 1.0, "creator": 1.0, "decade": 0.5}
"""How much each kind of attribute counts; several values of one kind share its weight."""


class ContentVectors:
    """The unit content vector of every item with usable attributes, by row."""

    def __init__(self, dim: int, seed: int = 42, rows: RowSpace | None = None) -> None:
        self.dim = dim
        self.seed = seed
        self.rows = RowSpace() if rows is None else rows
        self.matrix = self.rows.column(np.float32, width=dim)
        self.has = self.rows.column(np.bool_)
        self.count = 0
        self._directions: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return self.count

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
        return (total / norm).astype(np.float32) if norm > 0 else None

    def upsert(self, row: int, attributes: Mapping[str, Any]) -> bool:
        """Embed the item of ``row`` from its attributes; True when its vector changed (the index
        must be rewritten), also when it lost its vector (no usable attributes left)."""
        vector = self.embed(attributes)
        if vector is None:
            return self.remove(row)
        if self.has.data[row] and np.array_equal(self.matrix.data[row], vector):
            return False  # the same record again (the catalogue is re-read at start-up)
        self.count += not self.has.data[row]
        self.matrix.data[row] = vector
        self.has.data[row] = True
        return True

    def remove(self, row: int) -> bool:
        """Forget an item's vector; True when it had one."""
        had = bool(self.has.data[row])
        self.has.data[row] = False
        self.count -= had
        return had

    def rows_with_vectors(self) -> Rows:
        return np.flatnonzero(self.has.data[: len(self.rows)]).astype(np.int64)

    def query_vector(self, recent: Rows) -> np.ndarray | None:
        """Recency-weighted mean of the content vectors of ``recent`` (oldest first)."""
        if len(recent) == 0:
            return None
        recent = recent[::-1]  # the most recent first: distance 1
        present = self.has.data[recent]
        if not present.any():
            return None
        weights = np.where(present, 1.0 / np.sqrt(np.arange(1, len(recent) + 1)), 0.0)
        total = weights @ self.matrix.data[recent].astype(np.float64)
        norm = float(np.linalg.norm(total))
        return total / norm if norm > 0 else None

    def similarity(self, rows: Rows, query: np.ndarray) -> np.ndarray:
        """Cosine of each row's content vector with ``query`` (NaN where an item has none)."""
        return np.where(self.has.data[rows], self.matrix.data[rows] @ query, np.nan)
