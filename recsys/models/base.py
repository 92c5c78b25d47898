"""The interface of a model whose items are searched by inner product.

A model keeps *item* state itself (every worker needs all items), as rows of the item row
space (:mod:`recsys.rows`), and takes *user* state in and out of each call, because user state
lives in the partitioned user table. Scores for one user rank items by
``query(user) @ vectors(rows)``. The engine works with rows; the id-based methods are
conveniences for tools and tests.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recsys.rows import Rows, RowSpace


@dataclass
class UserFactors:
    """A user's learned vector and bias, as stored in the user table."""

    vector: np.ndarray
    bias: float = 0.0


class VectorModel(abc.ABC):
    """Learns from weighted interactions; exposes vectors for inner-product retrieval."""

    rows: RowSpace

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Length of :meth:`query` and of each item vector."""

    @abc.abstractmethod
    def new_user(self, rng: random.Random) -> UserFactors:
        """Factors for a user the model has not seen."""

    @abc.abstractmethod
    def learn(self, user: UserFactors, item: int, weight: float, negatives: Rows) -> UserFactors:
        """One online step for the item of row ``item``: ``weight > 0`` pulls it towards the user,
        ``< 0`` pushes it away; each row of ``negatives`` is pushed away with unit weight. Returns
        the new factors."""

    @abc.abstractmethod
    def has(self, rows: Rows) -> np.ndarray:
        """Whether the model has learned a vector for each row (a bool array)."""

    @abc.abstractmethod
    def vectors(self, rows: Rows) -> np.ndarray:
        """The vector searched for each row (``(len(rows), dim)``, float32); a row the model has
        not seen gets its initial vector."""

    @abc.abstractmethod
    def add(self, rows: Rows, deltas: np.ndarray) -> None:
        """Add ``deltas`` (``(len(rows), dim)``: vector and bias) to the vectors of distinct ``rows``:
        another worker's learning step (:mod:`recsys.items.updates`); a row not seen before starts
        from its initial vector."""

    @abc.abstractmethod
    def query(self, user: UserFactors) -> np.ndarray:
        """The vector to search the item index with."""

    @abc.abstractmethod
    def item_rows(self) -> Rows:
        """Every row the model has a vector for, first used first."""

    @property
    @abc.abstractmethod
    def updates(self) -> int:
        """How many learning steps the model has taken (part of the model version)."""

    def scores(self, user: UserFactors, rows: Rows) -> np.ndarray:
        """The user's score of each row (float64)."""
        return np.asarray(self.vectors(rows) @ self.query(user), dtype=float)

    # --- conveniences by item id ----------------------------------------------------------
    def has_item(self, item_id: str) -> bool:
        row = self.rows.find(item_id)
        return row >= 0 and bool(self.has(np.array([row]))[0])

    def item_vector(self, item_id: str) -> np.ndarray:
        return self.vectors(np.array([self.rows.row(item_id)]))[0]

    def item_vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        return self.vectors(self.rows.rows(item_ids))

    def item_ids(self) -> list[str]:
        return self.rows.ids_of(self.item_rows().tolist())
