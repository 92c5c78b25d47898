"""Approximate top-n inner-product search with hnswlib (HNSW graph, ``space="ip"``).

Concurrency rule
----------------
hnswlib's ``add_items`` is not safe concurrently with ``knn_query``, and
``resize_index`` (also ``save_index``/``mark_deleted`` bookkeeping) is not safe
concurrently with anything. The intended use is one writer, the agent loop, with
queries on that same thread; to make any other use safe too, every public method of
:class:`HnswIndex` holds one ``threading.Lock`` for its whole duration (uncontended, it
costs well under a microsecond next to a query). Queries are therefore serialised; do
not expect parallel query throughput from one index object.

Labels
------
String ids map to integer labels 0, 1, 2, ... (a dict plus a list) in first-insertion
order. A removed id keeps its label: ``remove`` calls ``mark_deleted``, and when the id
is upserted again we ``unmark_deleted`` it and ``add_items`` with
``replace_deleted=False``, which updates that element's vector and links in place. The
index is built with ``allow_replace_deleted=False`` on purpose: with slot replacement
hnswlib hands a deleted element's slot to a *different* new label and drops the old
label, so a removed id could no longer come back under its label (and hnswlib refuses
``add_items`` on a deleted label when replacement is enabled). The price is that the
graph and the numpy copy keep one row per id ever seen, removed or not; for an item
catalogue, where removed items are few or return, that is the right trade.

Queries
-------
A query for ``n`` asks hnswlib for ``k = min(n, live count)`` with ``ef = max(ef, k)``.
hnswlib raises ``RuntimeError`` when its search meets fewer than ``k`` live elements
(many deletions, or in ``ip`` space small-norm elements that the graph never links to);
the query then retries with a wider ef and, failing that, answers with an exact numpy
scan (counted in :attr:`HnswIndex.exact_fallbacks`). It never raises for ``n`` larger
than the live count and never returns fewer than ``min(n, live count)`` results.

Scores
------
hnswlib's ``ip`` distance is ``1 - dot``, computed in float32; rather than return
``1 - distance`` (which loses precision for large dots), the candidates hnswlib finds
are re-scored exactly from the numpy copy of the vectors that the index keeps anyway
for ``save``/``load``, and sorted by that exact score.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import hnswlib
import numpy as np
import numpy.typing as npt

from recsys.errors import SnapshotError

from .base import (
    StoreBackedIndex,
    VectorStore,
    check_batch,
    check_dim,
    check_query,
    read_index_file,
    write_index_file,
)

_KIND = "hnsw"
_KNN_ATTEMPTS = 3  # ef, 4 ef, 16 ef; past that an exact numpy scan is cheaper than a graph walk
_log = logging.getLogger(__name__)


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class HnswIndex(StoreBackedIndex):
    """Approximate inner-product index over ``hnswlib.Index(space="ip")``.

    Parameters
    ----------
    dim : int
        Vector dimension.
    m : int, default 16
        Graph degree (hnswlib ``M``).
    ef_construction : int, default 200
        Candidate-list size while inserting.
    ef : int, default 100
        Candidate-list size while querying; raised to ``n`` for a query asking for more.
    initial_capacity : int, default 1024
        Elements allocated up front; capacity doubles (``resize_index``) before it runs out.
    seed : int, default 42
        hnswlib's level-generator seed.
    num_threads : int, default 1
        Threads hnswlib uses for one ``add_items`` batch (1 keeps builds deterministic).

    Examples
    --------
    >>> import numpy as np
    >>> index = HnswIndex(dim=2, initial_capacity=2)
    >>> index.upsert(["a", "b", "c"], np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]))
    >>> index.query(np.array([1.0, 0.2]), n=2)
    [('a', 1.0), ('c', 0.6000000238418579)]
    >>> index.remove("a"), len(index), index.ids()
    (True, 2, ['b', 'c'])
    >>> index.query(np.array([1.0, 0.2]), n=10)
    [('c', 0.6000000238418579), ('b', 0.20000000298023224)]
    >>> index.upsert(["a"], np.array([[2.0, 0.0]]))
    >>> index.query(np.array([1.0, 0.2]), n=1)
    [('a', 2.0)]
    """

    def __init__(
        self,
        dim: int,
        m: int = 16,
        ef_construction: int = 200,
        ef: int = 100,
        initial_capacity: int = 1024,
        seed: int = 42,
        *,
        num_threads: int = 1,
    ) -> None:
        self._dim = check_dim(dim)
        self._m = _positive_int("m", m)
        self._ef_construction = _positive_int("ef_construction", ef_construction)
        self._ef = _positive_int("ef", ef)
        self._num_threads = _positive_int("num_threads", num_threads)
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self._seed = int(seed)
        capacity = _positive_int("initial_capacity", initial_capacity)
        self._store = VectorStore(self._dim, capacity)
        self._index = self._new_hnsw(capacity)
        self._lock = threading.Lock()
        self._exact_fallbacks = 0

    def _new_hnsw(self, capacity: int) -> Any:
        index = hnswlib.Index(space="ip", dim=self._dim)
        index.init_index(
            max_elements=capacity,
            M=self._m,
            ef_construction=self._ef_construction,
            random_seed=self._seed,
            allow_replace_deleted=False,  # see the module docstring, "Labels"
        )
        index.set_ef(self._ef)
        index.set_num_threads(self._num_threads)
        return index

    # properties ------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def ef(self) -> int:
        """Query-time candidate-list size (a query for n results uses ``max(ef, n)``)."""
        return self._ef

    @ef.setter
    def ef(self, value: int) -> None:
        self._ef = _positive_int("ef", value)

    @property
    def capacity(self) -> int:
        """Elements the hnswlib graph has room for (grows by doubling)."""
        return int(self._index.get_max_elements())

    @property
    def exact_fallbacks(self) -> int:
        """Queries hnswlib could not answer in full, answered by an exact scan instead."""
        return self._exact_fallbacks

    # writes ----------------------------------------------------------------------------

    def upsert(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        id_list, matrix = check_batch(ids, vectors, self._dim)
        if not id_list:
            return
        with self._lock:
            store = self._store
            self._reserve(store.size + store.new_count(id_list))
            old_size = store.size
            labels = store.assign(id_list)
            for label in labels[(labels < old_size) & ~store.live[labels]]:
                # A removed id coming back under its old label. (hnswlib 0.8.0's add_items would
                # also unmark it implicitly; being explicit does not rely on that.)
                try:
                    self._index.unmark_deleted(int(label))
                except RuntimeError:  # not marked: a label whose earlier add_items failed
                    pass
            self._index.add_items(matrix, labels, num_threads=self._num_threads, replace_deleted=False)
            store.write(labels, matrix)

    def _reserve(self, needed: int) -> None:
        capacity = int(self._index.get_max_elements())
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        self._index.resize_index(capacity)

    def remove(self, item_id: str) -> bool:
        with self._lock:
            label = self._store.remove(item_id)
            if label is None:
                return False
            self._index.mark_deleted(label)
            return True

    # reads -----------------------------------------------------------------------------

    def query(self, vector: npt.ArrayLike, n: int) -> list[tuple[str, float]]:
        q = check_query(vector, n, self._dim)
        with self._lock:
            store = self._store
            k = min(int(n), store.n_live)
            if k == 0:
                return []
            labels = self._knn(q, k)
            if labels is not None:
                results = store.rescore(labels, q)
                if len(results) == k:
                    return results
            # hnswlib could not find k live elements (unreachable or deleted-around elements, see
            # _knn; or a label left over from a failed write): answer exactly instead of short.
            self._exact_fallbacks += 1
            _log.debug("hnsw query for %d of %d live ids fell back to an exact scan", k, store.n_live)
            return store.topk(q, k)

    def _knn(self, q: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64] | None:
        """Labels of ``k`` neighbours, widening ef on hnswlib's 'cannot return k' error.

        Returns None when hnswlib still cannot find ``k`` live elements after a few
        widenings; the caller then scans exactly. Widening cannot always help: in ``ip``
        space the graph leaves some small-norm elements with no incoming links, so they
        are unreachable at any ef, and a query for (nearly) every live id fails.
        """
        total = int(self._index.get_current_count())  # includes deleted elements
        ef = max(self._ef, k)
        for _attempt in range(_KNN_ATTEMPTS):
            self._index.set_ef(ef)
            try:
                labels, _distances = self._index.knn_query(q, k=k, num_threads=1)
            except RuntimeError:
                # "Cannot return the results in a contiguous 2D array. Probably ef or M is too
                # small": the search met fewer than k live elements.
                if ef >= total:
                    return None
                ef = min(ef * 4, total)
                continue
            return np.asarray(labels[0], dtype=np.int64)
        return None

    def __repr__(self) -> str:
        return (
            f"HnswIndex(dim={self._dim}, m={self._m}, ef_construction={self._ef_construction}, "
            f"ef={self._ef}, live={len(self)}, capacity={self.capacity})"
        )

    # persistence -----------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        return {
            "dim": self._dim,
            "m": self._m,
            "ef_construction": self._ef_construction,
            "ef": self._ef,
            "seed": self._seed,
            "num_threads": self._num_threads,
            "capacity": int(self._index.get_max_elements()),
        }

    def save(self, path: Path | str) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as tmp:
                graph_file = Path(tmp) / "graph.bin"
                self._index.save_index(str(graph_file))
                graph = np.fromfile(graph_file, dtype=np.uint8)
            arrays = self._store.to_arrays()
            arrays["hnsw_graph"] = graph
            write_index_file(path, _KIND, self._meta(), arrays)

    @classmethod
    def load(cls, path: Path | str) -> Self:
        path = Path(path)
        meta, arrays = read_index_file(path, _KIND)
        if "hnsw_graph" not in arrays:
            raise SnapshotError(f"{path}: index file lacks the hnsw graph; delete it to rebuild")
        try:
            dim, capacity = int(meta["dim"]), int(meta["capacity"])
            index = cls(
                dim,
                m=int(meta["m"]),
                ef_construction=int(meta["ef_construction"]),
                ef=int(meta["ef"]),
                initial_capacity=1,
                seed=int(meta["seed"]),
                num_threads=int(meta.get("num_threads", 1)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"{path}: index metadata is invalid ({exc}); delete it to rebuild") from exc
        store = VectorStore.from_arrays(arrays, dim, capacity)
        graph = hnswlib.Index(space="ip", dim=dim)
        with tempfile.TemporaryDirectory(prefix="recsys-ann-") as tmp:
            graph_file = Path(tmp) / "graph.bin"
            arrays["hnsw_graph"].astype(np.uint8, copy=False).tofile(graph_file)
            try:
                graph.load_index(str(graph_file), max_elements=max(capacity, store.size, 1))
            except RuntimeError as exc:
                raise SnapshotError(f"{path}: unreadable hnsw graph ({exc}); delete it to rebuild") from exc
        if int(graph.get_current_count()) != store.size:
            raise SnapshotError(
                f"{path}: hnsw graph has {graph.get_current_count()} elements but the id map has "
                f"{store.size}; delete it to rebuild"
            )
        graph.set_ef(index._ef)
        graph.set_num_threads(index._num_threads)
        index._store = store
        index._index = graph
        return index
