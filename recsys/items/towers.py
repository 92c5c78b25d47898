"""The two-tower model's item embeddings: the current ones, one row per item, refreshed in batches.

The item tower embeds an item from its id and attributes, so an item published a moment ago
has an embedding before anyone touched it; the user tower embeds a user from their id,
profile and recent positives (:mod:`recsys.models.two_tower`).

Hashing an item's tokens into the towers' tables is the costly part of an embedding, so each
item's codes (table rows and pooling coefficients of its tokens) are kept per row
(:class:`~recsys.rows.Ragged`), computed when its catalogue record arrives; a learning step and
an embedding then gather them with a few numpy operations.

Item embeddings move as the towers learn, and not only for the items in an event: a step on
``genre=drama`` moves every drama. The items of each event are marked and re-embedded at the
next refresh, and the whole catalogue is re-embedded in slices as the towers learn
(:mod:`recsys.indexing`); the two-tower signal scores with these embeddings, and the index is
written from what each refresh returns.
"""

from __future__ import annotations

import numpy as np

from recsys.items.catalog import Catalog
from recsys.models.two_tower import Codes, ItemCodes, TwoTower
from recsys.rows import Ragged, Rows, RowSpace
from recsys.state import UserState


class TowerEmbeddings:
    """The item embeddings of a :class:`TwoTower`, as columns of the item row space."""

    def __init__(self, model: TwoTower, rows: RowSpace, catalog: Catalog, history: int = 20) -> None:
        self.model = model
        self.rows = rows
        self.catalog = catalog
        self.history = history  # recent positives in the user tower's input
        self.dirty: set[int] = set()  # rows whose embedding may have changed since the last refresh
        self.matrix = rows.column(np.float32, width=model.dim)
        self.embedded = rows.column(np.bool_)
        self._codes = Ragged(rows, [np.int64, np.float64])  # each item's token rows and pooling coefficients
        self._recent = rows.column(np.int64, fill=-1)  # the table row of each item's ``recent=`` token
        self._recent_weight = rows.column(np.float64)

    @property
    def dim(self) -> int:
        return self.model.dim

    # ---------------------------------------------------------------- codes
    def encode(self, row: int) -> None:
        """(Re)compute the item's codes from its catalogue record (id and attributes)."""
        info = self.catalog.record(row)
        attributes = {} if info is None else info.attributes
        buckets, coef, _ = self.model.item_codes([(self.rows.ids[row], attributes)])
        self._codes.set(row, [buckets, coef])

    def item_codes(self, rows: Rows) -> ItemCodes:
        """The codes of ``rows`` (computed for any row without them yet)."""
        for row in rows[self._codes.count(rows) == 0].tolist():
            self.encode(row)
        (buckets, coef), owner = self._codes.gather(rows)
        counts = self._codes.count(rows).astype(np.int64)
        return buckets, coef, np.cumsum(counts) - counts

    def user_codes(self, user: UserState, recent: Rows) -> Codes:
        """The user tower's codes: id, profile, and the user's last ``history`` positives (``recent``,
        item rows, oldest first)."""
        recent = recent[-self.history :] if self.history else recent[:0]
        missing = recent[self._recent.data[recent] < 0]
        if len(missing):
            buckets, weights = self.model.recent_codes(self.rows.ids_of(missing.tolist()))
            self._recent.data[missing], self._recent_weight.data[missing] = buckets, weights
        codes = (self._recent.data[recent], self._recent_weight.data[recent])
        return self.model.user_codes(user.user_id, user.attributes, codes)

    # ---------------------------------------------------------------- embeddings
    def mark(self, row: int) -> None:
        """The item's embedding may have changed (re-embedded at the next refresh)."""
        self.dirty.add(row)

    def discard(self, row: int) -> None:
        self.dirty.discard(row)

    def take_dirty(self) -> Rows:
        """The marked rows that are available, sorted; the marks are cleared."""
        rows = np.fromiter(self.dirty, dtype=np.int64, count=len(self.dirty))
        self.dirty.clear()
        rows.sort()
        return rows[self.catalog.available.data[rows]]

    def refresh(self, rows: Rows) -> np.ndarray:
        """Re-embed ``rows`` with the current towers; returns their new embeddings."""
        if len(rows) == 0:
            return np.empty((0, self.dim), dtype=np.float32)
        fresh = self.model.embed_codes(self.item_codes(rows))
        self.matrix.data[rows] = fresh
        self.embedded.data[rows] = True
        return fresh

    def user_vector(self, user: UserState, recent: Rows) -> np.ndarray:
        """The user tower's embedding of ``user`` with their recent positives ``recent``."""
        return self.model.embed_user(self.user_codes(user, recent))

    def scores(self, user_vector: np.ndarray, rows: Rows) -> np.ndarray:
        """Current two-tower scores of ``rows`` (NaN for an item not embedded yet)."""
        scores = self.matrix.data[rows] @ user_vector.astype(np.float32)
        return np.where(self.embedded.data[rows], scores.astype(np.float64), np.nan)

    # ---------------------------------------------------------------- learning
    def learn(self, user: UserState, recent: Rows, item: int, negatives: Rows) -> float:
        """One sampled-softmax step: the item of row ``item`` against ``negatives`` for ``user``
        (whose recent positives before this event are ``recent``); every item in it is marked."""
        negatives = negatives[negatives != item]
        if len(negatives) == 0:
            return 0.0
        items = np.concatenate([[item], negatives]).astype(np.int64)
        loss = self.model.learn_codes(self.user_codes(user, recent), self.item_codes(items))
        self.dirty.update(items.tolist())
        return loss
