"""The interface of a model whose items are searched by inner product.

A model keeps *item* state itself (every worker needs all items) and takes *user* state
in and out of each call, because user state lives in the partitioned user table.
Scores for one user rank items by ``query(user) @ item_vector(item)``.
"""

from __future__ import annotations

import abc
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class UserFactors:
    """A user's learned vector and bias, as stored in the user table."""

    vector: np.ndarray
    bias: float = 0.0


class VectorModel(abc.ABC):
    """Learns from weighted interactions; exposes vectors for inner-product retrieval."""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Length of :meth:`query` and :meth:`item_vector`."""

    @abc.abstractmethod
    def new_user(self, rng: random.Random) -> UserFactors:
        """Factors for a user the model has not seen."""

    @abc.abstractmethod
    def learn(self, user: UserFactors, item_id: str, weight: float, negatives: Sequence[str]) -> UserFactors:
        """One online step: ``weight > 0`` pulls the item towards the user, ``< 0`` pushes it
        away; each of ``negatives`` is pushed away with unit weight. Returns the new factors."""

    @abc.abstractmethod
    def has_item(self, item_id: str) -> bool:
        """Whether the model has learned a vector for ``item_id``."""

    @abc.abstractmethod
    def item_vector(self, item_id: str) -> np.ndarray:
        """The vector searched for ``item_id`` (a new random one if unseen)."""

    def item_vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        """:meth:`item_vector` of each id, stacked (``(len(item_ids), dim)``, float32)."""
        if not item_ids:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.stack([self.item_vector(i) for i in item_ids]).astype(np.float32)

    @abc.abstractmethod
    def query(self, user: UserFactors) -> np.ndarray:
        """The vector to search the item index with."""

    @abc.abstractmethod
    def item_ids(self) -> list[str]:
        """Every item the model has a vector for."""

    @property
    @abc.abstractmethod
    def updates(self) -> int:
        """How many learning steps the model has taken (part of the model version)."""
