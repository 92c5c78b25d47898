"""Approximate top-n inner-product search with hnswlib, through the MIPS reduction.

Vectors are stored as ``[x, sqrt(B² - |x|²)]`` and queried as ``[q, 0]``
(:mod:`recsys.ann.mips`), so every stored vector has norm ``B`` and the graph is built over
a proper metric while the inner products stay exact. The graph lives in hnswlib's ``ip``
space: for stored vectors of equal norm it orders neighbours exactly as Euclidean distance
would, and the query's distance ``1 - x'·q'`` ranks by ``x·q`` even for a vector longer than
the bound (in ``l2`` space such a vector would be ranked too low). ``mips=False`` skips the
extra coordinate, for vectors that are unit length already (two-tower embeddings).

hnswlib holds the only copy of the vectors: :meth:`HnswIndex.indexed` reads them back with
``get_items``. Scores are ``1 - distance`` from hnswlib: float32 inner products, within
float32 rounding of numpy's (compare with a tolerance). Re-scoring the returned labels from
``get_items`` was measured and rejected: 0.16 ms for 100 labels, as much as the query itself.

Concurrency rule
----------------
hnswlib's ``add_items`` is not safe concurrently with ``knn_query``, and ``resize_index``
(also ``mark_deleted``, ``save_index``) is not safe concurrently with anything. The intended
use is one writer, the agent loop, with queries on the same thread; to make any other use
safe too, every public method holds the index's one lock for its whole duration, so queries
are serialised (do not expect parallel query throughput from one index object). The
``allowed`` filter runs under that lock: it must not write to the index.

Labels and removal
------------------
Labels are the item rows. ``remove`` calls ``mark_deleted``; upserting a removed label again
calls ``unmark_deleted`` and ``add_items`` (``replace_deleted=False``), which updates that
element in place. The graph is built with ``allow_replace_deleted=False`` on purpose: slot
replacement hands a deleted element's slot to a *different* label and drops the old one, so
a removed item could not come back under its row. The graph keeps one element per label
ever indexed; for a catalogue, where removed items are few or return, that is the right trade.

Capacity
--------
hnswlib allocates for ``max_elements``; it doubles (``resize_index``) before a write would
not fit. Per element of capacity hnswlib holds the level-0 links (``2 m`` ints), the vector,
the label, a pointer, a level and a mutex; per element indexed, a hash-map entry and the
upper-level links (``1 / (m - 1)`` levels on average). :meth:`HnswIndex.memory_bytes` adds
these up.

The norm bound
--------------
``B`` is ``bound_margin`` (1.2) times the largest norm of the first batch, or ``norm_bound``
when given. A later vector longer than ``B`` is stored with extra coordinate 0: its score
is still exact, but the graph may not lead a walk to it (five vectors grown to 10x, among
1,000, were missed). So such vectors are also kept on a side list (their labels and a
float32 copy of just those vectors) that every walk scores exactly along with its own
candidates: outgrowing the bound costs a little query time, not recall.
:attr:`HnswIndex.over_bound` is the length of that list.

Rebuilding with a larger bound is not better for recall. Measured with 1% of the items
pushed to 1.25x the bound (BENCHMARKS.md, "ANN index v2"): on the side list they kept
recall@10 at 1.000, for +0.01-0.04 ms a query up to 100,000 items and +0.2-0.26 ms at a
million (10,000 on the list); a rebuild that took them into the graph left them an island its
walks miss (recall 0.879 and 0.944 on MF vectors at 10,000 and 100,000 items, 0.966 and 0.998
on trained BPR vectors) and cost a full build. So the index rebuilds by itself only when
the side list passes ``SIDE_SHARE`` (10%) of the live labels while it holds at most
``rebuild_limit`` of them: an index grown one vector at a time from empty, whose first bound
came from one vector. A larger index logs a warning instead; :meth:`HnswIndex.rebuild` is
there for its owner.

Queries: the widening rule
--------------------------
1. A query for ``n`` walks the graph with a candidate list of ``ef0 = max(ef, n)`` and takes
   all ``min(ef0, live)`` labels hnswlib found (returning the whole candidate list costs
   nothing extra), plus the over-bound side list. The ``allowed`` filter is applied to that
   batch; if at least ``n`` survive (or the walk saw every live label), the best ``n`` are
   the answer.
2. Otherwise ef doubles and the walk is repeated, up to ``MAX_WIDENINGS`` (4) times, to
   ``16 ef0``.
3. Still short: the filter is applied once to every live label. If at most
   ``EXACT_SCAN_LIMIT`` (2,048) are allowed, they are scored exactly (their vectors from
   ``get_items``) and the best ``n`` returned.
4. Many are allowed but the walks missed them (they are far from the query: a user who took
   the whole neighbourhood). Scoring them all exactly would cost ``get_items`` at 3-10 µs a
   label (seconds at a million), so ef keeps doubling: a walk over the top ``k`` loses at most
   the excluded labels among them, so it ends once ef passes roughly excluded-nearby + ``n``,
   and at the latest when the walk covers every live label. Only if hnswlib cannot return
   every live label (deletions cut the graph) is every allowed label scored exactly.

The query therefore returns ``min(n, allowed live labels)``, never fewer. An exclusion list
does not widen the first walk (a user with thousands of seen items would otherwise pay for
all of them in every query); only a walk that actually loses too many candidates widens.
:attr:`HnswIndex.widenings` counts the doublings, :attr:`HnswIndex.exact_fallbacks` the exact scans.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

import hnswlib
import numpy as np
import numpy.typing as npt

from .base import (
    NO_LABELS,
    NO_SCORES,
    Allowed,
    Labels,
    Mask,
    Scores,
    VectorIndex,
    Vectors,
    allowed_mask,
    check_batch,
    check_dim,
    check_labels,
    check_query,
    positive_int,
    top_n,
)
from .files import IndexReader, IndexWriter
from .mips import DEFAULT_MARGIN, augment, augment_query, choose_bound

MAX_WIDENINGS = 4
SIDE_SHARE = 0.1  # a side list longer than this share of the live labels: rebuild while small, else warn
EXACT_SCAN_LIMIT = 2048  # get_items costs 3-10 us per label: a scan of 2,048 costs about one exact query at 1M
_ABSENT, _LIVE, _REMOVED = 0, 1, 2  # a label's state; removed labels stay in the graph, marked deleted
_MUTEX_BYTES = 40  # sizeof(std::mutex) on x86-64 Linux: hnswlib keeps one per element of capacity
_LABEL_LOCKS = 65536  # hnswlib's fixed pool of per-label mutexes
_MAP_ENTRY_BYTES = 40  # one std::unordered_map<label, id> node plus its bucket pointer
_log = logging.getLogger(__name__)


class HnswIndex(VectorIndex):
    """Approximate inner-product index over hnswlib, with the MIPS reduction.

    Parameters
    ----------
    dim : int
        Vector dimension (the index adds the extra coordinate itself).
    m : int, default 12
        Graph degree (hnswlib ``M``; level 0 keeps ``2 m`` links). With ``ef=200`` it kept
        recall@10 at 0.985 on a million MF vectors for 351 bytes per item (BENCHMARKS.md,
        "ANN index v2"); m=8 needs ef=400 for the same recall (0.987) with 320 bytes.
    ef_construction : int, default 200
        Candidate-list size while inserting.
    ef : int, default 200
        Candidate-list size while querying; a query for ``n`` uses at least ``n``. 0.14 ms a
        query at a million MF vectors, against 15 ms for the exact scan.
    mips : bool, default True
        Add the extra coordinate that makes every stored norm equal. False for vectors of
        (nearly) unit length, which need none.
    bound_margin : float, default 1.2
        The norm bound is this times the largest norm seen when it is (re)set.
    norm_bound : float, optional
        A fixed norm bound instead of one taken from the first batch.
    rebuild_limit : int, default 10000
        Rebuild with a new bound when the side list of over-bound vectors passes 10% of the
        live labels while the index holds at most this many.
    initial_capacity : int, default 1024
        Elements allocated up front; capacity doubles before it runs out.
    seed : int, default 42
        hnswlib's level-generator seed.
    num_threads : int, default 1
        Threads hnswlib uses for one ``add_items`` batch (1 keeps builds deterministic; the
        engine writes with 1, a bulk load may use more).

    Examples
    --------
    >>> import numpy as np
    >>> index = HnswIndex(dim=2, initial_capacity=2)
    >>> index.upsert([0, 1, 2], np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]))
    >>> labels, scores = index.query([1.0, 0.25], n=2)
    >>> labels.tolist(), scores.tolist()
    ([0, 2], [1.0, 0.625])
    >>> index.remove([0]), len(index), index.labels().tolist(), index.capacity
    (1, 2, [1, 2], 4)
    >>> index.query([1.0, 0.2], n=10, allowed=lambda rows: rows != 2)[0].tolist()
    [1]
    >>> index.upsert([0], np.array([[2.0, 0.0]]))  # back, longer than the bound: a rebuild
    >>> index.query([1.0, 0.2], n=1)[0].tolist(), index.rebuilds, index.over_bound
    ([0], 1, 0)
    >>> vectors, present = index.indexed([0, 5])
    >>> vectors.tolist(), present.tolist()
    ([[2.0, 0.0], [0.0, 0.0]], [True, False])
    """

    kind = "hnsw"

    def __init__(
        self,
        dim: int,
        *,
        m: int = 12,
        ef_construction: int = 200,
        ef: int = 200,
        mips: bool = True,
        bound_margin: float = DEFAULT_MARGIN,
        norm_bound: float | None = None,
        rebuild_limit: int = 10_000,
        initial_capacity: int = 1024,
        seed: int = 42,
        num_threads: int = 1,
    ) -> None:
        self._dim = check_dim(dim)
        self._m = positive_int("m", m)
        if self._m < 2:
            raise ValueError(f"m must be at least 2 (hnswlib draws levels with 1 / log(m)), got {m}")
        self._ef_construction = positive_int("ef_construction", ef_construction)
        self._ef = positive_int("ef", ef)
        self._mips = bool(mips)
        if not bound_margin >= 1.0:
            raise ValueError(f"bound_margin must be at least 1.0, got {bound_margin}")
        self._margin = float(bound_margin)
        if norm_bound is not None and not norm_bound > 0:
            raise ValueError(f"norm_bound must be positive (or None to take it from the data), got {norm_bound}")
        self._bound: float | None = None if norm_bound is None else float(norm_bound)
        self._fixed_bound = norm_bound is not None
        if isinstance(rebuild_limit, bool) or not isinstance(rebuild_limit, int) or rebuild_limit < 0:
            raise ValueError(f"rebuild_limit must be a non-negative integer, got {rebuild_limit!r}")
        self._rebuild_limit = rebuild_limit
        self._num_threads = positive_int("num_threads", num_threads)
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._seed = int(seed)
        capacity = positive_int("initial_capacity", initial_capacity)
        self._graph = self._new_graph(capacity)
        self._state = np.zeros(capacity, dtype=np.int8)  # by label: _ABSENT, _LIVE or _REMOVED
        self._over = np.zeros(capacity, dtype=bool)  # by label: indexed longer than the bound
        self._side_labels: Labels = NO_LABELS  # the live ones of those, and their vectors
        self._side_vectors: Vectors = np.zeros((0, self._dim), dtype=np.float32)
        self._count = 0
        self._warned = False  # about a long side list, once
        self._lock = threading.RLock()
        self.widenings = 0
        """Walks repeated with a doubled ef (see the widening rule in the module docstring)."""
        self.exact_fallbacks = 0
        """Queries answered by an exact scan (steps 3 and 4 of the widening rule)."""
        self.rebuilds = 0
        """Rebuilds with a new norm bound, automatic or asked for."""

    def _new_graph(self, capacity: int) -> Any:
        graph = hnswlib.Index(space="ip", dim=self._dim + self._mips)
        graph.init_index(
            max_elements=capacity,
            M=self._m,
            ef_construction=self._ef_construction,
            random_seed=self._seed,
            allow_replace_deleted=False,  # see the module docstring, "Labels and removal"
        )
        graph.set_ef(self._ef)
        graph.set_num_threads(self._num_threads)
        return graph

    # properties ------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def ef(self) -> int:
        """Query-time candidate-list size (a query for n uses at least n)."""
        return self._ef

    @ef.setter
    def ef(self, value: int) -> None:
        self._ef = positive_int("ef", value)

    @property
    def num_threads(self) -> int:
        """Threads for one ``add_items`` batch (1 for incremental writes)."""
        return self._num_threads

    @num_threads.setter
    def num_threads(self, value: int) -> None:
        self._num_threads = positive_int("num_threads", value)

    @property
    def capacity(self) -> int:
        """Elements the graph has room for (grows by doubling)."""
        return int(self._graph.get_max_elements())

    @property
    def bound(self) -> float | None:
        """The norm bound of the MIPS reduction (None before the first vector, or without ``mips``)."""
        return self._bound if self._mips else None

    @property
    def over_bound(self) -> int:
        """Live labels whose indexed vector is longer than the bound (scored on the side)."""
        return len(self._side_labels)

    def __len__(self) -> int:
        return self._count

    def __contains__(self, label: object) -> bool:
        if isinstance(label, bool) or not isinstance(label, int | np.integer):
            return False
        with self._lock:
            return bool(0 <= label < len(self._state) and self._state[label] == _LIVE)

    def labels(self) -> Labels:
        with self._lock:
            return np.flatnonzero(self._state == _LIVE).astype(np.int64)

    # writes ----------------------------------------------------------------------------

    def _grow_labels(self, size: int) -> None:
        if size <= len(self._state):
            return
        capacity = len(self._state)
        while capacity < size:
            capacity *= 2
        self._state = np.concatenate([self._state, np.zeros(capacity - len(self._state), dtype=np.int8)])
        self._over = np.concatenate([self._over, np.zeros(capacity - len(self._over), dtype=bool)])

    def _reserve(self, elements: int) -> None:
        capacity = self.capacity
        if elements <= capacity:
            return
        while capacity < elements:
            capacity *= 2
        self._graph.resize_index(capacity)

    def upsert(self, labels: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        label_array, matrix = check_batch(labels, vectors, self._dim)
        if label_array.size == 0:
            return
        with self._lock:
            self._grow_labels(int(label_array.max()) + 1)
            if self._mips and self._bound is None:
                self._bound = choose_bound(matrix, self._margin)
            self._add(label_array, matrix)
            if len(self._side_labels) > SIDE_SHARE * self._count:
                if self._count <= self._rebuild_limit and not self._fixed_bound:
                    self._rebuild()
                elif not self._warned:
                    self._warned = True
                    _log.warning(
                        "%d of %d vectors in the hnsw index are longer than its norm bound %.3g; queries "
                        "score them exactly on the side, which costs time: call rebuild() when convenient",
                        len(self._side_labels), self._count, self._bound,
                    )  # fmt: skip

    def _add(self, labels: Labels, matrix: Vectors) -> None:
        state = self._state[labels]
        self._reserve(int(self._graph.get_current_count()) + int(np.count_nonzero(state == _ABSENT)))
        for label in labels[state == _REMOVED]:
            self._graph.unmark_deleted(int(label))
        if self._mips:
            assert self._bound is not None
            data, over = augment(matrix, self._bound)
            self._over[labels] = over
        else:
            data, over = matrix, np.zeros(len(labels), dtype=bool)
        self._graph.add_items(data, labels, num_threads=self._num_threads, replace_deleted=False)
        self._count += int(np.count_nonzero(state != _LIVE))
        self._state[labels] = _LIVE
        self._drop_side(labels)
        if over.any():
            self._add_side(labels[over], matrix[over])

    def _drop_side(self, labels: Labels) -> None:
        if len(self._side_labels):
            keep = ~np.isin(self._side_labels, labels)
            self._side_labels, self._side_vectors = self._side_labels[keep], self._side_vectors[keep]

    def _add_side(self, labels: Labels, vectors: Vectors) -> None:
        self._side_labels = np.concatenate([self._side_labels, labels])
        self._side_vectors = np.concatenate([self._side_vectors, vectors])

    def remove(self, labels: npt.ArrayLike) -> int:
        label_array = np.unique(check_labels(labels))
        with self._lock:
            label_array = label_array[label_array < len(self._state)]
            label_array = label_array[self._state[label_array] == _LIVE]
            for label in label_array:
                self._graph.mark_deleted(int(label))
            self._state[label_array] = _REMOVED
            self._drop_side(label_array)
            self._count -= len(label_array)
            return len(label_array)

    def rebuild(self) -> None:
        """Build the graph afresh from the live vectors, with a new norm bound from them.

        For a large index whose vectors outgrew the bound (:attr:`over_bound`); it costs a
        full build (``num_threads`` threads), during which the index is locked. Removed labels
        leave the graph (they may still be upserted again).
        """
        with self._lock:
            self._rebuild()

    def _rebuild(self) -> None:
        started = time.perf_counter()
        all_labels = np.flatnonzero(self._state == _LIVE).astype(np.int64)
        all_vectors = self._get(all_labels)
        if self._mips and not self._fixed_bound:
            self._bound = choose_bound(all_vectors, self._margin)
        self._graph = self._new_graph(max(self.capacity, len(all_labels), 1))
        self._state[:] = _ABSENT
        self._over[:] = False
        self._drop_side(self._side_labels)
        self._count = 0
        self._warned = False
        if len(all_labels):
            self._add(all_labels, np.ascontiguousarray(all_vectors))
        self.rebuilds += 1
        _log.info(
            "hnsw index rebuilt with norm bound %s for %d labels in %.0f ms",
            self._bound, len(all_labels), 1000 * (time.perf_counter() - started),
        )  # fmt: skip

    # reads -----------------------------------------------------------------------------

    def _get(self, labels: Labels) -> Vectors:
        """The vectors hnswlib holds for live ``labels``, without the extra coordinate."""
        if len(labels) == 0:
            return np.zeros((0, self._dim), dtype=np.float32)
        data = np.asarray(self._graph.get_items(labels), dtype=np.float32)
        return np.ascontiguousarray(data[:, : self._dim])

    def indexed(self, labels: npt.ArrayLike) -> tuple[Vectors, Mask]:
        label_array = check_labels(labels)
        out = np.zeros((len(label_array), self._dim), dtype=np.float32)
        present = np.zeros(len(label_array), dtype=bool)
        with self._lock:
            known = label_array < len(self._state)
            present[known] = self._state[label_array[known]] == _LIVE
            out[present] = self._get(label_array[present])
        return out, present

    def query(self, vector: npt.ArrayLike, n: int, allowed: Allowed | None = None) -> tuple[Labels, Scores]:
        q = check_query(vector, n, self._dim)
        with self._lock:
            live = self._count
            n = min(int(n), live)
            if n == 0:
                return NO_LABELS, NO_SCORES
            q_graph = augment_query(q) if self._mips else q
            ef = max(self._ef, n)
            candidates: Labels | None = None  # every allowed live label, once looked at
            for walk in itertools.count():
                found = self._knn(q_graph, min(ef, live), ef)
                if found is not None:
                    labels, scores = self._with_side(*found, q)
                    if allowed is not None:
                        keep = allowed_mask(allowed, labels)
                        labels, scores = labels[keep], scores[keep]
                    if len(labels) >= n or len(found[0]) == live:  # enough, or every live label seen
                        return top_n(labels, scores, n)
                if ef >= live:  # the widest walk there is fell short (hnswlib lost some labels)
                    break
                if walk == MAX_WIDENINGS:
                    candidates = self._allowed_live(allowed)
                    if len(candidates) <= EXACT_SCAN_LIMIT:
                        return self._scan(q, n, candidates)
                self.widenings += 1
                ef *= 2
            return self._scan(q, n, self._allowed_live(allowed) if candidates is None else candidates)

    def _allowed_live(self, allowed: Allowed | None) -> Labels:
        labels = np.flatnonzero(self._state == _LIVE).astype(np.int64)
        return labels if allowed is None else labels[allowed_mask(allowed, labels)]

    def _scan(self, q: npt.NDArray[np.float32], n: int, labels: Labels) -> tuple[Labels, Scores]:
        """Exact top ``n`` among ``labels`` (their vectors from hnswlib)."""
        self.exact_fallbacks += 1
        _log.debug("hnsw query for %d answered by an exact scan of %d labels", n, len(labels))
        return top_n(labels, self._get(labels) @ q, n)

    def _knn(self, q: npt.NDArray[np.float32], k: int, ef: int) -> tuple[Labels, Scores] | None:
        """The ``k`` labels a walk with candidate list ``ef`` finds, with their inner products;
        None when hnswlib found fewer than ``k`` live elements (deletions, tiny graphs)."""
        self._graph.set_ef(ef)
        try:
            labels, distances = self._graph.knn_query(q, k=k, num_threads=1)
        except RuntimeError:  # "Cannot return the results in a contiguous 2D array ..."
            return None
        scores = (1.0 - distances[0].astype(np.float64)).astype(np.float32)  # ip distance is 1 - x'.q'
        return labels[0].astype(np.int64), scores

    def _with_side(self, labels: Labels, scores: Scores, q: npt.NDArray[np.float32]) -> tuple[Labels, Scores]:
        """The walk's candidates plus as many of the best over-bound vectors, scored exactly,
        each label once (a wider walk takes more of both)."""
        if not len(self._side_labels):
            return labels, scores
        side_labels, side_scores = self._side_labels, self._side_vectors @ q
        if len(side_labels) > len(labels):
            best = np.argpartition(-side_scores, len(labels) - 1)[: len(labels)]
            side_labels, side_scores = side_labels[best], side_scores[best]
        labels = np.concatenate([labels, side_labels])
        scores = np.concatenate([scores, side_scores])
        _, first = np.unique(labels, return_index=True)
        return labels[first], scores[first]

    def memory_bytes(self) -> int:
        capacity, elements = self.capacity, int(self._graph.get_current_count())
        level0 = (2 * self._m + 1) * 4 + (self._dim + self._mips) * 4 + 8  # links, vector, label
        per_slot = level0 + 8 + 4 + _MUTEX_BYTES + 2  # + link-list pointer, level, lock, visited mark
        upper = (self._m + 1) * 4 / (self._m - 1)  # expected upper-level links per element
        graph = capacity * per_slot + elements * (_MAP_ENTRY_BYTES + upper) + _LABEL_LOCKS * _MUTEX_BYTES
        own = self._state.nbytes + self._over.nbytes + self._side_labels.nbytes + self._side_vectors.nbytes
        return int(graph + own)

    def __repr__(self) -> str:
        return (
            f"HnswIndex(dim={self._dim}, m={self._m}, ef_construction={self._ef_construction}, ef={self._ef}, "
            f"mips={self._mips}, bound={self.bound}, live={len(self)}, capacity={self.capacity})"
        )

    # persistence -----------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        return {
            "dim": self._dim,
            "m": self._m,
            "ef_construction": self._ef_construction,
            "ef": self._ef,
            "mips": self._mips,
            "bound_margin": self._margin,
            "norm_bound": self._bound if self._fixed_bound else None,
            "bound": self._bound,
            "rebuild_limit": self._rebuild_limit,
            "seed": self._seed,
            "num_threads": self._num_threads,
            "capacity": self.capacity,
        }

    def _write(self, out: IndexWriter) -> None:
        out.array("state", self._state)
        out.array("over", self._over)
        with tempfile.TemporaryDirectory(prefix=".hnsw-", dir=out.scratch) as tmp:
            graph_file = Path(tmp) / "graph.bin"
            self._graph.save_index(str(graph_file))
            out.file("graph", graph_file)

    @classmethod
    def _read(cls, file: IndexReader) -> Self:
        meta = file.meta
        try:
            index = cls(
                int(meta["dim"]),
                m=int(meta["m"]),
                ef_construction=int(meta["ef_construction"]),
                ef=int(meta["ef"]),
                mips=bool(meta["mips"]),
                bound_margin=float(meta["bound_margin"]),
                norm_bound=meta["norm_bound"],
                rebuild_limit=int(meta["rebuild_limit"]),
                initial_capacity=1,
                seed=int(meta["seed"]),
                num_threads=int(meta["num_threads"]),
            )
            bound, capacity = meta["bound"], int(meta["capacity"])
            index._bound = None if bound is None else float(bound)
        except (KeyError, TypeError, ValueError) as exc:
            raise file.corrupt(f"index metadata is invalid ({exc})") from exc
        state = file.array("state", np.int8)
        over = file.array("over", np.bool_)
        if state.shape != over.shape or not np.isin(state, (_ABSENT, _LIVE, _REMOVED)).all():
            raise file.corrupt("index file's label states are inconsistent")
        graph = hnswlib.Index(space="ip", dim=index._dim + index._mips)
        with tempfile.TemporaryDirectory(prefix="recsys-ann-") as tmp:
            graph_file = Path(tmp) / "graph.bin"
            file.extract("graph", graph_file)
            try:
                graph.load_index(str(graph_file), max_elements=max(capacity, 1))
            except RuntimeError as exc:
                raise file.corrupt(f"unreadable hnsw graph ({exc})") from exc
        if int(graph.get_current_count()) != int(np.count_nonzero(state != _ABSENT)):
            raise file.corrupt(
                f"hnsw graph holds {graph.get_current_count()} elements but the label states "
                f"{np.count_nonzero(state != _ABSENT)}"
            )
        graph.set_ef(index._ef)
        graph.set_num_threads(index._num_threads)
        index._graph, index._state, index._over = graph, state.copy(), over.copy()
        index._count = int(np.count_nonzero(state == _LIVE))
        side = np.flatnonzero(index._over & (index._state == _LIVE)).astype(np.int64)
        index._side_labels, index._side_vectors = side, index._get(side)
        return index
