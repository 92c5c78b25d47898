"""The two-tower model's item embeddings: the current ones, one row per item, refreshed in batches.

The item tower embeds an item from its id and attributes, so an item published a moment ago
has an embedding before anyone touched it; the user tower embeds a user from their id,
profile and recent positives (:mod:`recsys.models.two_tower`).

Item embeddings move as the towers learn, and not only for the items in an event: a step on
``genre=drama`` moves every drama. :class:`TowerEmbeddings` therefore re-embeds the items
marked by each event at the next refresh, and the whole catalogue every ``reembed_events``
steps (:meth:`TowerEmbeddings.refresh` with ``everything``); the two-tower signal scores with
these embeddings, and the index (:mod:`recsys.indexing`) is written from what each refresh
returns.
"""

from __future__ import annotations

import numpy as np

from recsys.items.catalog import Catalog
from recsys.models.two_tower import TwoTower
from recsys.rows import RowSpace
from recsys.state import UserState


class TowerEmbeddings:
    """The item embeddings of a :class:`TwoTower`, as columns of the item row space."""

    def __init__(self, model: TwoTower, rows: RowSpace, catalog: Catalog, history: int = 20) -> None:
        self.model = model
        self.rows = rows
        self.catalog = catalog
        self.history = history  # recent positives in the user tower's input
        self.dirty: set[str] = set()
        self.matrix = rows.column(np.float32, width=model.dim)
        self.embedded = rows.column(np.bool_)

    @property
    def dim(self) -> int:
        return self.model.dim

    def mark(self, item_id: str) -> None:
        """``item_id``'s embedding may have changed (re-embedded at the next :meth:`refresh`)."""
        self.dirty.add(item_id)

    def discard(self, item_id: str) -> None:
        self.dirty.discard(item_id)

    def refresh(self, everything: bool = False) -> tuple[list[str], np.ndarray]:
        """Re-embed the marked items (or all available ones); returns their ids (sorted) and new
        embeddings, for the index."""
        pool = self.catalog.available_ids() if everything else self.dirty
        ids = sorted(i for i in pool if self.catalog.is_available(i))
        self.dirty.clear()
        if not ids:
            return [], np.empty((0, self.dim), dtype=np.float32)
        items = self.catalog.items
        fresh = self.model.item_embeddings([(i, items[i].attributes) for i in ids])
        rows = self.rows.rows(ids)
        self.matrix.data[rows] = fresh
        self.embedded.data[rows] = True
        return ids, fresh

    def user_vector(self, user: UserState) -> np.ndarray:
        """The user tower's embedding of ``user`` (id, profile, recent positives)."""
        return self.model.user_embedding(user.user_id, user.attributes, user.recent_positives()[-self.history :])

    def scores(self, user_vector: np.ndarray, ids: list[str]) -> np.ndarray:
        """Current two-tower scores of ``ids`` (NaN for an item not embedded yet)."""
        rows = self.rows.lookup(ids)
        known = rows >= 0
        known[known] = self.embedded.data[rows[known]]
        out = self.matrix.data[np.where(known, rows, 0)] @ user_vector
        return np.where(known, out, np.nan).astype(float)
