"""Exact top-n inner-product search in numpy: the oracle the approximate index is tested against.

Every query is one matrix-vector product over a contiguous float32 matrix, then
``np.argpartition`` for the n best and a sort of those n. All operations hold one
``threading.Lock``, so the index may be shared between threads.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Self

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

_KIND = "brute"


class BruteForceIndex(StoreBackedIndex):
    """Exact inner-product index over a growing float32 matrix with a live mask.

    Parameters
    ----------
    dim : int
        Vector dimension.
    initial_capacity : int, default 1024
        Rows allocated up front; the matrix doubles when it fills.

    Examples
    --------
    >>> import numpy as np
    >>> index = BruteForceIndex(dim=2)
    >>> index.upsert(["a", "b", "c"], np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    >>> index.query(np.array([1.0, 0.0]), n=2)
    [('a', 1.0), ('c', 1.0)]
    >>> index.remove("a"), index.remove("a"), len(index), "a" in index
    (True, False, 2, False)
    >>> index.query(np.array([1.0, 0.0]), n=10)
    [('c', 1.0), ('b', 0.0)]
    """

    def __init__(self, dim: int, *, initial_capacity: int = 1024) -> None:
        self._dim = check_dim(dim)
        self._store = VectorStore(self._dim, int(initial_capacity))
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def capacity(self) -> int:
        """Rows currently allocated (grows by doubling)."""
        return self._store.capacity

    def upsert(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        id_list, matrix = check_batch(ids, vectors, self._dim)
        if not id_list:
            return
        with self._lock:
            labels = self._store.assign(id_list)
            self._store.write(labels, matrix)

    def remove(self, item_id: str) -> bool:
        with self._lock:
            return self._store.remove(item_id) is not None

    def query(self, vector: npt.ArrayLike, n: int) -> list[tuple[str, float]]:
        q = check_query(vector, n, self._dim)
        with self._lock:
            return self._store.topk(q, int(n))

    def __repr__(self) -> str:
        return f"BruteForceIndex(dim={self._dim}, live={len(self)}, capacity={self.capacity})"

    def save(self, path: Path | str) -> None:
        with self._lock:
            arrays = self._store.to_arrays()
            meta = {"dim": self._dim, "capacity": self._store.capacity}
            write_index_file(Path(path), _KIND, meta, arrays)

    @classmethod
    def load(cls, path: Path | str) -> Self:
        meta, arrays = read_index_file(Path(path), _KIND)
        try:
            dim, capacity = int(meta["dim"]), int(meta["capacity"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SnapshotError(f"{path}: index metadata is invalid ({exc}); delete it to rebuild") from exc
        index = cls(dim)
        index._store = VectorStore.from_arrays(arrays, dim, capacity)
        return index
