"""The ANN indexes, kept in step with the item vectors they are derived from.

Three indexes, one per kind of item vector: MF vectors (searched by the ``mf`` generator),
two-tower item embeddings (``two_tower``) and content vectors (``content``). They are derived
state: each can be rebuilt from :class:`~recsys.items.state.ItemState` at any time, and only the
MF index is saved in snapshots (the others are rebuilt on load).

Writes are batched, because an hnswlib write costs 0.1 to 3 ms: learning marks changed MF
vectors (:meth:`Indexes.changed`) and the towers mark the items they moved; :meth:`Indexes.refresh`
writes them when ``index_refresh_events`` piled up or ``index_refresh_seconds`` passed
(:meth:`Indexes.maybe_refresh`). An item already indexed is rewritten only when its vector
moved by more than ``index_tolerance`` of its indexed length; lists are scored with current
vectors anyway. Content vectors change only with the catalogue and are written before the
next content search. A withdrawn item leaves every index at once.

Concurrency: one writer. The engine is driven by one thread (the worker's event loop), which
also queries; hnswlib's writes are not safe next to its queries (see :mod:`recsys.ann.hnsw`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from recsys.ann import VectorIndex, make_index
from recsys.ann.base import moved_since_indexed
from recsys.items.state import ItemState
from recsys.settings import Settings


def new_index(settings: Settings, dim: int) -> VectorIndex:
    """An empty index of the configured backend and parameters."""
    s = settings
    params: dict[str, Any] = {}
    if s.ann_backend == "hnsw":
        params = {"m": s.hnsw_m, "ef_construction": s.hnsw_ef_construction, "ef": s.hnsw_ef, "seed": s.seed}
    return make_index(s.ann_backend, dim, **params)


class Indexes:
    """The MF, two-tower and content indexes of one :class:`ItemState`, and their pending writes."""

    def __init__(self, items: ItemState, settings: Settings, mf: VectorIndex | None = None) -> None:
        self.items = items
        self.settings = settings
        s = settings
        # the towers learn only when something uses them (they cost ~0.5 ms per event)
        self.uses_towers = "two_tower" in s.generators or bool(s.blend_weights.get("two_tower"))
        self.mf = new_index(s, items.model.dim) if mf is None else mf
        self.tower = new_index(s, s.tower_dim)
        self._content = new_index(s, s.content_dim)
        self.dirty: set[str] = set()  # items whose MF vector changed since the last refresh
        self.content_pending: set[str] = set()  # content vectors not yet written
        self.last_refresh = time.monotonic()

    # ---------------------------------------------------------------- marks
    def changed(self, item_id: str) -> None:
        """An item's MF vector changed: written at the next refresh (if the item is available)."""
        if self.items.catalog.is_available(item_id):
            self.dirty.add(item_id)

    def content_changed(self, item_id: str) -> None:
        """An item's content vector changed (or it lost it): written before the next content search."""
        if item_id in self.items.content.vectors:
            self.content_pending.add(item_id)
        else:
            self.content_pending.discard(item_id)
            self._content.remove(item_id)

    def withdraw(self, item_id: str) -> None:
        """An item is no longer available: out of every index now (cheap), not at the next refresh."""
        self.dirty.discard(item_id)
        self.mf.remove(item_id)
        self.content_pending.discard(item_id)
        self._content.remove(item_id)
        self.items.tower_items.discard(item_id)
        self.tower.remove(item_id)

    # ---------------------------------------------------------------- reads
    @property
    def content(self) -> VectorIndex:
        """The content index, with every pending content vector written."""
        if self.content_pending:
            self.flush_content()
        return self._content

    def flush_content(self) -> int:
        """Write pending content vectors in one batch; returns how many."""
        vectors = self.items.content.vectors
        ids = sorted(i for i in self.content_pending if i in vectors)
        self.content_pending.clear()
        if ids:
            self._content.upsert(ids, np.stack([vectors[i] for i in ids]))
        return len(ids)

    # ---------------------------------------------------------------- refresh
    def maybe_refresh(self, now: float | None = None) -> int:
        """Write changed item vectors when enough changed or enough time passed."""
        now = time.monotonic() if now is None else now
        s = self.settings
        if len(self.dirty) >= s.index_refresh_events or (
            self.dirty and now - self.last_refresh >= s.index_refresh_seconds
        ):
            return self.refresh(now)
        return 0

    def refresh(self, now: float | None = None, tolerance: float | None = None) -> int:
        """Write changed item vectors to the indexes now; returns how many MF vectors were written.

        An item already indexed is rewritten only when its vector moved by more than
        ``tolerance`` (default: the setting) of its indexed length, compared with what the
        index holds, so small steps add up until they matter.
        """
        self.last_refresh = time.monotonic() if now is None else now
        tol = self.settings.index_tolerance if tolerance is None else tolerance
        self.flush_content()
        if self.uses_towers:
            self.refresh_towers()
        catalog = self.items.catalog
        ids = sorted(i for i in self.dirty if catalog.is_available(i))
        self.dirty.clear()
        if not ids:
            return 0
        fresh = self.items.model.item_vectors(ids)
        moved = moved_since_indexed(self.mf, ids, fresh, tol)
        if moved:
            self.mf.upsert([ids[j] for j in moved], fresh[moved])
            self.items.counters["refreshes"] += 1
        return len(moved)

    def refresh_towers(self, everything: bool = False) -> int:
        """Re-embed the items the towers marked (or all) and rewrite those that moved; returns how many."""
        ids, fresh = self.items.tower_items.refresh(everything)
        if not ids:
            return 0
        moved = moved_since_indexed(self.tower, ids, fresh, self.settings.index_tolerance)
        if moved:
            self.tower.upsert([ids[n] for n in moved], fresh[moved])
        return len(moved)

    def rebuild_mf(self) -> None:
        """Derive the MF index afresh from the item vectors (after a batch fit, or without a saved one)."""
        self.mf = new_index(self.settings, self.items.model.dim)
        catalog = self.items.catalog
        self.dirty = {i for i in self.items.model.item_ids() if catalog.is_available(i)}
        self.refresh(tolerance=0.0)

    def rebuild_derived(self) -> None:
        """Derive the content and two-tower indexes afresh from the content vectors and the towers."""
        self._content = new_index(self.settings, self.settings.content_dim)
        self.content_pending = set(self.items.content.vectors)
        self.tower = new_index(self.settings, self.settings.tower_dim)
        self.refresh_towers(everything=True)
