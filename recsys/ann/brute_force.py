"""Exact top-n inner-product search in numpy: the oracle every approximate index is tested against.

One float32 matrix indexed by label (row ``label`` holds that label's vector) and a live
mask; both grow by doubling to fit the largest label. The matrix is the only copy of the
vectors the index keeps. A query is one matrix-vector product over the rows in use, the
``allowed`` filter applied once to the whole label range, then ``np.argpartition`` for the
n best and a sort of those n (:func:`recsys.ann.base.top_n`).

Concurrency: every method holds the index's one ``threading.RLock``; the index may be shared
between threads. The ``allowed`` filter runs under that lock: it must not write to the index.
"""

from __future__ import annotations

import threading
from typing import Any, Self

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
    top_allowed,
    top_n,
)
from .files import IndexReader, IndexWriter


class BruteForceIndex(VectorIndex):
    """Exact inner-product index over a float32 matrix indexed by label, with a live mask.

    Parameters
    ----------
    dim : int
        Vector dimension.
    initial_capacity : int, default 1024
        Rows allocated up front; the matrix doubles until the largest label fits.

    Examples
    --------
    >>> import numpy as np
    >>> index = BruteForceIndex(dim=2)
    >>> index.upsert([0, 1, 2], np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    >>> index.query([1.0, 0.0], n=2)[0].tolist()  # 0 and 2 tie: label order
    [0, 2]
    >>> index.remove([0, 7]), len(index), 0 in index, index.labels().tolist()
    (1, 2, False, [1, 2])
    >>> labels, scores = index.query([1.0, 0.0], n=10, allowed=lambda rows: rows != 2)
    >>> labels.tolist(), scores.tolist()
    ([1], [0.0])
    """

    kind = "brute"

    def __init__(self, dim: int, *, initial_capacity: int = 1024) -> None:
        self._dim = check_dim(dim)
        capacity = positive_int("initial_capacity", initial_capacity)
        self._vectors: Vectors = np.zeros((capacity, self._dim), dtype=np.float32)
        self._live: Mask = np.zeros(capacity, dtype=bool)
        self._size = 0  # one past the largest label ever upserted
        self._count = 0
        self._lock = threading.RLock()

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def capacity(self) -> int:
        """Rows currently allocated (grows by doubling)."""
        return int(self._vectors.shape[0])

    def __len__(self) -> int:
        return self._count

    def __contains__(self, label: object) -> bool:
        if isinstance(label, bool) or not isinstance(label, int | np.integer):
            return False
        with self._lock:
            return bool(0 <= label < self._size and self._live[label])

    def labels(self) -> Labels:
        with self._lock:
            return np.flatnonzero(self._live[: self._size]).astype(np.int64)

    # writes ----------------------------------------------------------------------------

    def _reserve(self, size: int) -> None:
        capacity = self.capacity
        if size <= capacity:
            return
        while capacity < size:
            capacity *= 2
        vectors = np.zeros((capacity, self._dim), dtype=np.float32)
        vectors[: self._size] = self._vectors[: self._size]
        live = np.zeros(capacity, dtype=bool)
        live[: self._size] = self._live[: self._size]
        self._vectors, self._live = vectors, live

    def upsert(self, labels: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        label_array, matrix = check_batch(labels, vectors, self._dim)
        if label_array.size == 0:
            return
        with self._lock:
            self._reserve(int(label_array.max()) + 1)
            self._size = max(self._size, int(label_array.max()) + 1)
            self._count += int(np.count_nonzero(~self._live[label_array]))
            self._vectors[label_array] = matrix
            self._live[label_array] = True

    def remove(self, labels: npt.ArrayLike) -> int:
        label_array = np.unique(check_labels(labels))
        with self._lock:
            label_array = label_array[label_array < self._size]
            label_array = label_array[self._live[label_array]]
            self._live[label_array] = False
            self._count -= len(label_array)
            return len(label_array)

    # reads -----------------------------------------------------------------------------

    def query(self, vector: npt.ArrayLike, n: int, allowed: Allowed | None = None) -> tuple[Labels, Scores]:
        q = check_query(vector, n, self._dim)
        with self._lock:
            size = self._size
            if min(n, self._count) == 0:
                return NO_LABELS, NO_SCORES
            scores = self._vectors[:size] @ q
            if allowed is None and self._count == size:
                return top_n(np.arange(size, dtype=np.int64), scores, n)
            live = self._live

            def keep(labels: Labels) -> Mask:
                mask = live[labels]
                return mask if allowed is None else mask & allowed_mask(allowed, labels)

            return top_allowed(scores, n, keep)

    def indexed(self, labels: npt.ArrayLike) -> tuple[Vectors, Mask]:
        label_array = check_labels(labels)
        out = np.zeros((len(label_array), self._dim), dtype=np.float32)
        present = np.zeros(len(label_array), dtype=bool)
        with self._lock:
            known = label_array < self._size
            present[known] = self._live[label_array[known]]
            out[present] = self._vectors[label_array[present]]
        return out, present

    def memory_bytes(self) -> int:
        return int(self._vectors.nbytes + self._live.nbytes)

    def __repr__(self) -> str:
        return f"BruteForceIndex(dim={self._dim}, live={len(self)}, capacity={self.capacity})"

    # persistence -----------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        return {"dim": self._dim, "capacity": self.capacity}

    def _write(self, out: IndexWriter) -> None:
        out.array("vectors", self._vectors[: self._size])
        out.array("live", self._live[: self._size])

    @classmethod
    def _read(cls, file: IndexReader) -> Self:
        try:
            dim, capacity = int(file.meta["dim"]), int(file.meta["capacity"])
            index = cls(dim, initial_capacity=capacity)
        except (KeyError, TypeError, ValueError) as exc:
            raise file.corrupt(f"index metadata is invalid ({exc})") from exc
        vectors = file.array("vectors", np.float32, ndim=2)
        live = file.array("live", np.bool_)
        if vectors.shape != (len(live), dim) or len(live) > capacity:
            raise file.corrupt(f"index file's vectors {vectors.shape} and live mask {live.shape} disagree")
        index._load_rows(vectors, live)
        return index

    def _load_rows(self, vectors: Vectors, live: Mask) -> None:
        size = len(live)
        self._reserve(size)
        self._vectors[:size] = vectors
        self._live[:size] = live
        self._size = size
        self._count = int(np.count_nonzero(live))
