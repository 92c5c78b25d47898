"""The ANN indexes, kept in step with the item vectors they are derived from.

Three indexes, one per kind of item vector: MF vectors (searched by the ``mf`` generator),
two-tower item embeddings (``two_tower``) and content vectors (``content``), each labelled by
item row. They are derived state: each can be rebuilt from
:class:`~recsys.items.state.ItemState` at any time, and only the MF index is saved in snapshots
(the others are rebuilt on load).

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
from recsys.items.state import ItemState
from recsys.rows import Mask, Rows
from recsys.settings import Settings

_EMBED_CHUNK = 65536  # rows embedded at once when the whole catalogue is re-embedded (bounds memory)


def new_index(settings: Settings, dim: int) -> VectorIndex:
    """An empty index of the configured backend and parameters."""
    s = settings
    params: dict[str, Any] = {}
    if s.ann_backend == "hnsw":
        params = {"m": s.hnsw_m, "ef_construction": s.hnsw_ef_construction, "ef": s.hnsw_ef, "seed": s.seed}
    return make_index(s.ann_backend, dim, **params)


def _labels(rows: Rows) -> list[str]:
    return [str(r) for r in rows.tolist()]


def search(index: VectorIndex, vector: np.ndarray, n: int, allowed: Mask | None) -> tuple[Rows, np.ndarray]:
    """Up to ``n`` allowed rows nearest ``vector`` in ``index``, best first, with their scores: the
    search widens (4x) while fewer than ``n`` of what it found are allowed."""
    live = len(index)
    want = min(live, 2 * n)
    while want > 0:
        hits = index.query(vector, want)
        rows = np.fromiter((int(i) for i, _ in hits), dtype=np.int64, count=len(hits))
        scores = np.fromiter((s for _, s in hits), dtype=np.float64, count=len(hits))
        if allowed is not None and len(rows):
            keep = allowed(rows)
            rows, scores = rows[keep], scores[keep]
        if len(rows) >= n or want >= live:
            return rows[:n], scores[:n]
        want = min(live, 4 * want)
    return np.empty(0, dtype=np.int64), np.empty(0)


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
        self.dirty: set[int] = set()  # rows whose MF vector changed since the last refresh
        self.content_pending: set[int] = set()  # rows whose content vector is not yet written
        self.last_refresh = time.monotonic()

    # ---------------------------------------------------------------- marks
    def changed(self, row: int) -> None:
        """An item's MF vector changed: written at the next refresh (if the item is available)."""
        if self.items.catalog.available.data[row]:
            self.dirty.add(row)

    def content_changed(self, row: int) -> None:
        """An item's content vector changed (or it lost it): written before the next content search."""
        if self.items.content.has.data[row]:
            self.content_pending.add(row)
        else:
            self.content_pending.discard(row)
            self._content.remove(str(row))

    def withdraw(self, row: int) -> None:
        """An item is no longer available: out of every index now (cheap), not at the next refresh."""
        label = str(row)
        self.dirty.discard(row)
        self.mf.remove(label)
        self.content_pending.discard(row)
        self._content.remove(label)
        self.items.tower_items.discard(row)
        self.tower.remove(label)

    # ---------------------------------------------------------------- reads
    @property
    def content(self) -> VectorIndex:
        """The content index, with every pending content vector written."""
        if self.content_pending:
            self.flush_content()
        return self._content

    def search(self, name: str, vector: np.ndarray, n: int, allowed: Mask | None) -> tuple[Rows, np.ndarray]:
        """Up to ``n`` allowed rows nearest ``vector`` in the ``mf``, ``tower`` or ``content`` index."""
        index = self.mf if name == "mf" else self.tower if name == "tower" else self.content
        return search(index, vector, n, allowed)

    def flush_content(self) -> int:
        """Write pending content vectors in one batch; returns how many."""
        content = self.items.content
        rows = np.fromiter(self.content_pending, dtype=np.int64, count=len(self.content_pending))
        self.content_pending.clear()
        rows = np.sort(rows[content.has.data[rows]])
        if len(rows):
            self._content.upsert(_labels(rows), content.matrix.data[rows])
        return len(rows)

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
        rows = np.fromiter(self.dirty, dtype=np.int64, count=len(self.dirty))
        self.dirty.clear()
        rows = np.sort(rows[self.items.catalog.available.data[rows]])
        if len(rows) == 0:
            return 0
        written = _write_moved(self.mf, rows, self.items.model.vectors(rows), tol)
        if written:
            self.items.counters["refreshes"] += 1
        return written

    def refresh_towers(self, everything: bool = False) -> int:
        """Re-embed the items the towers marked (or every available item) and rewrite those that
        moved; returns how many were rewritten."""
        towers = self.items.tower_items
        rows = self.items.catalog.available_rows() if everything else towers.take_dirty()
        if everything:
            towers.dirty.clear()
            rows.sort()
        written = 0
        for start in range(0, len(rows), _EMBED_CHUNK):
            chunk = rows[start : start + _EMBED_CHUNK]
            written += _write_moved(self.tower, chunk, towers.refresh(chunk), self.settings.index_tolerance)
        return written

    def rebuild_mf(self) -> None:
        """Derive the MF index afresh from the item vectors (after a batch fit, or without a saved one)."""
        self.mf = new_index(self.settings, self.items.model.dim)
        rows = self.items.model.item_rows()
        self.dirty = set(rows[self.items.catalog.available.data[rows]].tolist())
        self.refresh(tolerance=0.0)

    def rebuild_derived(self) -> None:
        """Derive the content and two-tower indexes afresh from the content vectors and the towers."""
        self._content = new_index(self.settings, self.settings.content_dim)
        self.content_pending = set(self.items.content.rows_with_vectors().tolist())
        self.tower = new_index(self.settings, self.settings.tower_dim)
        self.refresh_towers(everything=True)


def _write_moved(index: VectorIndex, rows: Rows, vectors: np.ndarray, tolerance: float) -> int:
    """Write the rows whose vector is new to ``index`` or moved by more than ``tolerance`` of its
    indexed length; returns how many."""
    labels = _labels(rows)
    indexed = index.vectors_of(labels)
    moved = [
        n for n, old in enumerate(indexed)
        if old is None or float(np.linalg.norm(vectors[n] - old)) > tolerance * float(np.linalg.norm(old))
    ]  # fmt: skip
    if moved:
        index.upsert([labels[n] for n in moved], vectors[moved])
    return len(moved)
