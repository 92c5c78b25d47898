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

Concurrency: the engine is driven by one thread (the worker's event loop), which also queries.
With ``index_background_writes`` the periodic refresh hands its hnswlib writes to a thread of
their own (:mod:`recsys.background_writes`); each index locks around its writes and queries.
A removal joins that thread's queue; whatever replaces an index or needs every write in place
(a snapshot, an explicit refresh) waits for the queue first (:meth:`Indexes.settle`).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from recsys.ann import AutoIndex, HnswIndex, VectorIndex, make_index
from recsys.background_writes import BackgroundWrites
from recsys.items.state import ItemState
from recsys.rows import Mask, Rows
from recsys.settings import Settings

_QUEUE_MAX = 256
"""Vectors queued for the background writer at most; past it the refresh leaves rows for later."""
_EMBED_CHUNK = 65536  # rows embedded at once when the whole catalogue is re-embedded (bounds memory)
_WRITE_CHUNK = 8  # vectors written into hnswlib between two looks at the refresh's deadline
_SLICE_MAX = 16384
"""Rows of the rolling re-embedding at one refresh at most."""
_REEMBED_PER_STEP = 64
"""Rows of the rolling re-embedding per tower step at most: past 128,000 items (64 x 2,000 steps)
a pass takes longer than ``tower_reembed_events`` steps instead of each event paying for more
rows (at a million items, 500 rows a step took a third of the engine's time)."""


class _Budget:
    """Until when a periodic refresh may write into hnswlib; its first chunk is always written."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.started = False

    def allows(self) -> bool:
        return not self.started or time.monotonic() < self.deadline


def _graph(index: VectorIndex) -> bool:
    """Whether writing to ``index`` costs hnswlib's 0.1-1 ms a vector (an exact index's 0.01 ms does not count)."""
    return isinstance(index, HnswIndex) or (isinstance(index, AutoIndex) and index.backend == "hnsw")


def new_index(settings: Settings, dim: int, mips: bool = True) -> VectorIndex:
    """An empty index of the configured backend and parameters (``mips=False``: the vectors are
    unit length, no norm-equalising coordinate is needed)."""
    s = settings
    params: dict[str, Any] = {}
    if s.ann_backend in ("hnsw", "auto"):
        params = {"m": s.hnsw_m, "ef_construction": s.hnsw_ef_construction, "ef": s.hnsw_ef, "seed": s.seed,
                  "mips": mips}  # fmt: skip
    if s.ann_backend == "auto":
        params["background"] = True  # the switch to hnswlib builds its graph off the event loop
    return make_index(s.ann_backend, dim, **params)


class Indexes:
    """The MF, two-tower and content indexes of one :class:`ItemState`, and their pending writes."""

    def __init__(self, items: ItemState, settings: Settings, mf: VectorIndex | None = None) -> None:
        self.items = items
        self.settings = settings
        s = settings
        # the towers learn only when something uses them (they cost ~0.2 ms per event)
        self.uses_towers = "two_tower" in s.generator_names or bool(s.blend_weights.get("two_tower"))
        # a content index only for the content generator (an index costs ~350 B an item); without
        # one, a content search (``/similar/``) scans the content vectors exactly
        self.uses_content = "content" in s.generator_names
        self.mf = new_index(s, items.model.dim) if mf is None else mf
        self.tower = new_index(s, s.tower_dim, mips=False)  # two-tower embeddings are unit length
        self._content = new_index(s, s.content_dim, mips=False)  # so are content vectors
        self._written = {"mf": Written(items.model.dim), "tower": Written(s.tower_dim)}
        self.dirty: set[int] = set()  # rows whose MF vector changed since the last refresh
        self._reembed_cursor = 0  # the next row of the rolling re-embedding of the whole catalogue
        self._reembed_steps = items.towers.updates  # tower steps the rolling re-embedding has caught up with
        self.content_pending: set[int] = set()  # rows whose content vector is not yet written
        self.last_refresh = time.monotonic()
        self.writes = BackgroundWrites(_QUEUE_MAX) if s.index_background_writes else None

    def settle(self) -> None:
        """Wait until every background write is in its index (before a rebuild, a snapshot, or a
        write that must land now)."""
        if self.writes is not None and self.writes.pending:
            self.writes.drain()

    def close(self) -> None:
        """Stop the background writes' thread (the indexes are being replaced: what is queued is dropped)."""
        if self.writes is not None:
            self.writes.close(finish=False)

    # ---------------------------------------------------------------- marks
    def changed(self, row: int) -> None:
        """An item's MF vector changed: written at the next refresh (if the item is available)."""
        if self.items.catalog.available.data[row]:
            self.dirty.add(row)

    def changed_rows(self, rows: Rows) -> None:
        """:meth:`changed` for many rows."""
        rows = np.asarray(rows, dtype=np.int64)
        self.dirty.update(rows[self.items.catalog.available.data[rows]].tolist())

    def content_changed(self, row: int) -> None:
        """An item's content vector changed (or it lost it): written before the next content search."""
        if not self.uses_content:
            return
        if self.items.content.has.data[row]:
            self.content_pending.add(row)
        else:
            self.content_pending.discard(row)
            self._content.remove([row])

    def withdraw(self, row: int) -> None:
        """An item is no longer available: out of every index now (cheap), not at the next refresh
        (or, with background writes, right after those already queued)."""
        self.dirty.discard(row)
        self._remove(self.mf, row)
        self.content_pending.discard(row)
        self._content.remove([row])
        self.items.tower_items.discard(row)
        self._remove(self.tower, row)
        for written in self._written.values():
            written.forget(np.array([row]))

    def _remove(self, index: VectorIndex, row: int) -> None:
        """Out of ``index``: now, or after the background writes queued before (the hard filters
        keep a withdrawn item out of lists meanwhile)."""
        if self.writes is None:
            index.remove([row])
        else:
            self.writes.remove(index, np.array([row]))

    # ---------------------------------------------------------------- reads
    @property
    def content(self) -> VectorIndex:
        """The content index, with every pending content vector written."""
        if self.content_pending:
            self.flush_content()
        return self._content

    def search(self, name: str, vector: np.ndarray, n: int, allowed: Mask | None) -> tuple[Rows, np.ndarray]:
        """Up to ``n`` allowed rows nearest ``vector`` in the ``mf``, ``tower`` or ``content`` index."""
        if name == "content" and not self.uses_content:
            return self._scan_content(vector, n, allowed)
        index = self.mf if name == "mf" else self.tower if name == "tower" else self.content
        if n <= 0 or not len(index):
            return np.empty(0, dtype=np.int64), np.empty(0)
        rows, scores = index.query(vector, n, allowed)
        return rows, scores.astype(np.float64)

    def _scan_content(self, vector: np.ndarray, n: int, allowed: Mask | None) -> tuple[Rows, np.ndarray]:
        """The exact content search, for a worker without a content index."""
        content = self.items.content
        size = len(self.items.rows)
        scores = content.matrix.data[:size] @ vector.astype(np.float32)
        keep = content.has.data[:size].copy()
        rows = np.flatnonzero(keep).astype(np.int64)
        if allowed is not None and len(rows):
            rows = rows[allowed(rows)]
        if len(rows) > n:
            rows = rows[np.argpartition(-scores[rows], n - 1)[:n]]
        order = np.lexsort((rows, -scores[rows]))
        return rows[order], scores[rows[order]].astype(np.float64)

    def flush_content(self) -> int:
        """Write pending content vectors in one batch; returns how many."""
        content = self.items.content
        rows = np.fromiter(self.content_pending, dtype=np.int64, count=len(self.content_pending))
        self.content_pending.clear()
        rows = np.sort(rows[content.has.data[rows]])
        if len(rows):
            self._content.upsert(rows, content.matrix.data[rows])
        return len(rows)

    def wait(self) -> None:
        """Block until every index that is building its hnswlib graph in the background has
        swapped it in (benchmarks measure the steady state; the worker never needs to wait)."""
        for index in (self.mf, self.tower, self._content):
            if isinstance(index, AutoIndex):
                index.wait()
        self.settle()

    # ---------------------------------------------------------------- refresh
    def maybe_refresh(self, now: float | None = None) -> int:
        """Write changed item vectors when enough changed or enough time passed."""
        now = time.monotonic() if now is None else now
        s = self.settings
        if len(self.dirty) >= s.index_refresh_events or (
            self.dirty and now - self.last_refresh >= s.index_refresh_seconds
        ):
            return self.refresh(now, limited=True)
        return 0

    def refresh(self, now: float | None = None, tolerance: float | None = None, limited: bool = False) -> int:
        """Write changed item vectors to the indexes now; returns how many MF vectors were written.

        An item already indexed is rewritten only when its vector moved by more than
        ``tolerance`` (default: the setting) of its indexed length, compared with what the
        index holds, so small steps add up until they matter. ``limited`` (the periodic refresh):
        stop writing into hnswlib after ``index_refresh_ms``, leaving the rest for later.
        """
        self.last_refresh = time.monotonic() if now is None else now
        tol = self.settings.index_tolerance if tolerance is None else tolerance
        budget = None
        if not limited:
            self.settle()  # every write lands now, after those queued
        else:
            ms = self.settings.index_refresh_ms
            budget = _Budget(ms / 1000.0 if ms else float("inf"))
        self.flush_content()
        rows = np.fromiter(self.dirty, dtype=np.int64, count=len(self.dirty))
        self.dirty.clear()
        rows = np.sort(rows[self.items.catalog.available.data[rows]])
        written = 0
        if len(rows):
            written, later = self._write_moved("mf", rows, self.items.model.vectors(rows), tol, budget)
            self.dirty.update(later.tolist())  # moved, not written: the next refresh
            if written:
                self.items.counters["refreshes"] += 1
        if self.uses_towers:
            self.refresh_towers(budget=budget)
        return written

    def refresh_towers(self, everything: bool = False, budget: _Budget | None = None) -> int:
        """Re-embed the items the towers marked, and the next slice of the whole catalogue (or all
        of it), and rewrite those that moved, into an hnswlib index as far as the refresh's
        ``budget`` allows (the marked items first); returns how many were rewritten.

        A step on ``genre=drama`` moves every drama, not only the items of the event, so the whole
        catalogue is re-embedded once every ``tower_reembed_events`` tower steps: a slice of it at
        every refresh, in proportion to the steps since the last one (at most ``_SLICE_MAX`` rows),
        so no refresh re-embeds a million items at once.
        """
        towers = self.items.tower_items
        if everything:
            towers.dirty.clear()
            groups = [np.sort(self.items.catalog.available_rows())]
        else:
            marked = towers.take_dirty()
            groups = [marked, np.setdiff1d(self._reembed_slice(), marked)]
        written = 0
        for group, rows in enumerate(groups):
            for start in range(0, len(rows), _EMBED_CHUNK):
                chunk = rows[start : start + _EMBED_CHUNK]
                vectors = towers.refresh(chunk)
                done, later = self._write_moved("tower", chunk, vectors, self.settings.index_tolerance, budget)
                written += done
                if group == 0:
                    towers.dirty.update(later.tolist())  # marked, moved, not written: the next refresh
        return written

    def _write_moved(
        self, name: str, rows: Rows, vectors: np.ndarray, tolerance: float, budget: _Budget | None = None
    ) -> tuple[int, Rows]:
        """Write the rows whose vector is new to the index or moved by more than ``tolerance`` of
        its indexed length; into an hnswlib index, new rows first, then the most moved, in chunks
        of ``_WRITE_CHUNK`` as far as the refresh's ``budget`` allows. Returns how many were
        written and the moved rows left unwritten."""
        index, written = (self.mf, self._written["mf"]) if name == "mf" else (self.tower, self._written["tower"])
        moved = written.moved(index, rows, vectors, tolerance)
        where = np.flatnonzero(moved > 0)
        if budget is None or not _graph(index):
            if len(where):
                index.upsert(rows[where], vectors[where])
                written.wrote(rows[where], vectors[where])
            return len(where), rows[:0]
        ordered = where[np.argsort(-moved[where], kind="stable")]  # new rows (inf) first, then the most moved
        if self.writes is not None:  # queued for the writer's thread, as many as it has room for
            now = np.sort(ordered[: self.writes.room()])
            self.writes.submit(index, rows[now], vectors[now])
            written.wrote(rows[now], vectors[now])
            return len(now), np.sort(rows[ordered[len(now) :]])
        done = 0
        while done < len(ordered) and budget.allows():
            chunk = np.sort(ordered[done : done + _WRITE_CHUNK])
            index.upsert(rows[chunk], vectors[chunk])
            written.wrote(rows[chunk], vectors[chunk])
            done += len(chunk)
            budget.started = True
        return done, np.sort(rows[ordered[done:]])

    def _reembed_slice(self) -> Rows:
        """The next rows of the rolling re-embedding (available ones), as many as the tower steps
        since the last call are of ``tower_reembed_events``, of the whole row space."""
        steps = self.items.towers.updates - self._reembed_steps
        self._reembed_steps = self.items.towers.updates
        size = len(self.items.rows)
        count = min(size, _SLICE_MAX, _REEMBED_PER_STEP * steps, -(-size * steps // self.settings.tower_reembed_events))
        if count <= 0:
            return np.empty(0, dtype=np.int64)
        rows = (self._reembed_cursor + np.arange(count)) % size
        self._reembed_cursor = int((self._reembed_cursor + count) % size)
        return rows[self.items.catalog.available.data[rows]]

    def rebuild_mf(self) -> None:
        """Derive the MF index afresh from the item vectors (after a batch fit, or without a saved one)."""
        self.settle()
        self.mf = new_index(self.settings, self.items.model.dim)
        self._written["mf"] = Written(self.items.model.dim)
        rows = self.items.model.item_rows()
        self.dirty = set(rows[self.items.catalog.available.data[rows]].tolist())
        self.refresh(tolerance=0.0)

    def rebuild_derived(self) -> None:
        """Derive the content and two-tower indexes afresh from the content vectors and the towers."""
        self.settle()
        self._content = new_index(self.settings, self.settings.content_dim, mips=False)
        self.content_pending = set(self.items.content.rows_with_vectors().tolist()) if self.uses_content else set()
        self.tower = new_index(self.settings, self.settings.tower_dim, mips=False)
        self._written["tower"] = Written(self.settings.tower_dim)
        self.refresh_towers(everything=True)


class Written:
    """What an index holds, as far as the re-index test needs it: each row's vector as last written,
    in float16 (hnswlib's ``get_items`` costs 3-10 us a label; this is one numpy gather). A row it
    has not seen written (an index loaded from a snapshot) is read from the index once."""

    def __init__(self, dim: int) -> None:
        self.vectors = np.zeros((1024, dim), dtype=np.float16)
        self.present = np.zeros(1024, dtype=bool)

    def _fit(self, rows: Rows) -> None:
        needed = int(rows.max()) + 1 if len(rows) else 0
        if needed > len(self.present):
            size = max(needed, 2 * len(self.present))
            self.vectors = np.concatenate([self.vectors, np.zeros((size - len(self.vectors), self.vectors.shape[1]),
                                                                  dtype=np.float16)])  # fmt: skip
            self.present = np.concatenate([self.present, np.zeros(size - len(self.present), dtype=bool)])

    def moved(self, index: VectorIndex, rows: Rows, vectors: np.ndarray, tolerance: float) -> np.ndarray:
        """How far each row's vector moved from what ``index`` holds, as a fraction of the indexed
        length (``inf`` for a row new to the index; compare with ``tolerance``)."""
        self._fit(rows)
        unknown = rows[~self.present[rows]]
        if len(unknown):
            old, there = index.indexed(unknown)
            self.wrote(unknown[there], old[there])
        old = self.vectors[rows].astype(np.float32)
        step = np.linalg.norm(vectors - old, axis=1)
        length = np.linalg.norm(old, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(step > tolerance * length, step / length, 0.0)  # 0: not moved past tolerance
        return np.where(self.present[rows], ratio, np.inf)

    def wrote(self, rows: Rows, vectors: np.ndarray) -> None:
        self._fit(rows)
        self.vectors[rows] = vectors
        self.present[rows] = True

    def forget(self, rows: Rows) -> None:
        self._fit(rows)
        self.present[rows] = False
