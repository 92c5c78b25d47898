"""Two-tower retrieval: items nearest the user's tower embedding, in an index of their own.

The item tower embeds an item from its id and attributes, so an item published a moment ago
has an embedding before anyone touched it; the user tower embeds a user from their id,
profile and recent positives, so a user with only a profile has one too. This is the
generator that serves brand-new items and users (:mod:`recsys.models.two_tower`).

Item embeddings move as the towers learn, and not only for the items in an event: a step on
``genre=drama`` moves every drama. :class:`TowerItems` therefore re-embeds the items of each
event at the next refresh and the whole catalogue every ``reembed_events`` events; an item is
rewritten in the index only when it moved by more than ``tolerance`` of its length (lists are
scored with the current embeddings anyway, through :attr:`TowerItems.matrix`).
"""

from __future__ import annotations

import numpy as np

from recsys.ann import VectorIndex
from recsys.ann.base import moved_since_indexed, query_excluding
from recsys.candidates.base import Candidate, CandidateSource, Request
from recsys.candidates.covisitation import recent_positives
from recsys.catalog import Catalog
from recsys.models.two_tower import TwoTower


class TowerItems:
    """The item embeddings of a :class:`TwoTower`: current ones in a matrix, and an ANN index."""

    def __init__(self, model: TwoTower, index: VectorIndex, catalog: Catalog, tolerance: float = 0.5) -> None:
        self.model = model
        self.index = index
        self.catalog = catalog
        self.tolerance = tolerance
        self.dirty: set[str] = set()
        self.rows: dict[str, int] = {}
        self.matrix = np.zeros((1024, index.dim), dtype=np.float32)

    def mark(self, item_id: str) -> None:
        """``item_id``'s embedding may have changed (written at the next :meth:`refresh`)."""
        self.dirty.add(item_id)

    def refresh(self, everything: bool = False) -> int:
        """Re-embed the marked items (or all available ones); returns how many the index rewrote."""
        pool = self.catalog.available_ids() if everything else self.dirty
        ids = sorted(i for i in pool if self.catalog.is_available(i))
        self.dirty.clear()
        if not ids:
            return 0
        items = self.catalog.items
        fresh = self.model.item_embeddings([(i, items[i].attributes) for i in ids])
        for n, item_id in enumerate(ids):
            row = self.rows.get(item_id)
            if row is None:
                row = self.rows[item_id] = len(self.rows)
                if row >= len(self.matrix):
                    self.matrix = np.concatenate([self.matrix, np.zeros_like(self.matrix)])
            self.matrix[row] = fresh[n]
        moved = moved_since_indexed(self.index, ids, fresh, self.tolerance)
        if moved:
            self.index.upsert([ids[n] for n in moved], fresh[moved])
        return len(moved)

    def remove(self, item_id: str) -> None:
        self.dirty.discard(item_id)
        self.index.remove(item_id)

    def user_vector(self, request: Request, history: int = 20) -> np.ndarray:
        user = request.user
        return self.model.user_embedding(user.user_id, user.attributes, recent_positives(request)[-history:])

    def scores(self, user_vector: np.ndarray, ids: list[str]) -> np.ndarray:
        """Current two-tower scores of ``ids`` (NaN for an item not embedded yet)."""
        rows = np.array([self.rows.get(i, -1) for i in ids], dtype=int)
        out = self.matrix[np.maximum(rows, 0)] @ user_vector
        return np.where(rows >= 0, out, np.nan).astype(float)


class TwoTowerSource(CandidateSource):
    """Items whose item-tower embeddings are nearest the user-tower embedding."""

    name = "two_tower"

    def __init__(self, items: TowerItems) -> None:
        self.items = items

    def generate(self, request: Request, n: int) -> list[Candidate]:
        if n <= 0 or len(self.items.index) == 0:
            return []
        query = self.items.user_vector(request)
        hits = query_excluding(self.items.index, query, n, request.exclude, self.items.catalog.is_available)
        return [Candidate(i, s, self.name) for i, s in hits]
