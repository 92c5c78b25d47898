"""Exact search while the catalogue is small, hnswlib once it is not.

Under some ten thousand items a numpy matrix-vector product answers as fast as a graph walk,
and exactly, and its writes cost 0.01 ms instead of the 0.1-1 ms an hnswlib insert or
in-place update costs. :class:`AutoIndex` starts as a :class:`BruteForceIndex`; the write that
brings it to ``threshold`` live labels builds an :class:`HnswIndex` from every live vector in
one ``add_items`` batch (``build_threads`` threads) and drops the exact copy. It never goes
back. Building the graph once from all vectors also gives the MIPS reduction a norm bound
taken from the whole catalogue rather than from the first item.

Concurrency: writes hold the auto index's lock (so the switch is one step); reads go to
whichever index is current, under that index's own lock.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Self

import numpy.typing as npt

from .base import Allowed, Labels, Mask, Scores, VectorIndex, Vectors, check_dim, positive_int
from .brute_force import BruteForceIndex
from .files import IndexReader, IndexWriter
from .hnsw import HnswIndex

DEFAULT_THRESHOLD = 10_000
"""Live labels at which the index switches to hnswlib: the measured crossover (BENCHMARKS.md, "ANN
index v2"). A query for 100 at 10,000 MF vectors took 0.068 ms exact, 0.084 with an engine-like
filter, against hnsw's 0.079 and 0.082; at 15,000, 0.109 and 0.144 against 0.081 and 0.084.
Building the graph for 10,000 vectors at the switch took 0.9 s with one thread."""


class AutoIndex(VectorIndex):
    """A :class:`BruteForceIndex` until ``threshold`` live labels, then an :class:`HnswIndex`.

    Parameters
    ----------
    dim : int
        Vector dimension.
    threshold : int, default 10000
        Live labels at which the hnsw index is built.
    build_threads : int, default 1
        Threads for the one-time build (writes after it use the hnsw index's ``num_threads``).
    initial_capacity : int, default 1024
        Rows the exact index allocates up front.
    **hnsw_params
        Passed to :class:`HnswIndex` (``m``, ``ef_construction``, ``ef``, ``mips``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> index = AutoIndex(dim=2, threshold=3, m=4)
    >>> index.upsert([0, 1], np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> index.backend, index.query([1.0, 0.0], n=1)[0].tolist()
    ('brute', [0])
    >>> index.upsert([2], np.array([[0.6, 0.6]]))
    >>> index.backend, index.query([1.0, 0.0], n=3)[0].tolist(), index.switch_ms is not None
    ('hnsw', [0, 2, 1], True)
    """

    kind = "auto"

    def __init__(
        self,
        dim: int,
        *,
        threshold: int = DEFAULT_THRESHOLD,
        build_threads: int = 1,
        initial_capacity: int = 1024,
        **hnsw_params: Any,
    ) -> None:
        self._dim = check_dim(dim)
        self._threshold = positive_int("threshold", threshold)
        self._build_threads = positive_int("build_threads", build_threads)
        HnswIndex(self._dim, initial_capacity=1, **hnsw_params)  # bad parameters fail now, not at the switch
        self._hnsw_params = dict(hnsw_params)
        self._inner: VectorIndex = BruteForceIndex(self._dim, initial_capacity=initial_capacity)
        self._lock = threading.RLock()
        self.switch_ms: float | None = None
        """How long building the hnsw index took (None while exact)."""

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def backend(self) -> str:
        """The kind of the current index: ``"brute"`` or ``"hnsw"``."""
        return self._inner.kind

    @property
    def inner(self) -> VectorIndex:
        """The current index."""
        return self._inner

    def upsert(self, labels: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        with self._lock:
            self._inner.upsert(labels, vectors)
            if isinstance(self._inner, BruteForceIndex) and len(self._inner) >= self._threshold:
                self._switch(self._inner)

    def _switch(self, exact: BruteForceIndex) -> None:
        started = time.perf_counter()
        labels = exact.labels()
        vectors, _ = exact.indexed(labels)
        params = {"initial_capacity": exact.capacity, **self._hnsw_params}
        hnsw = HnswIndex(self._dim, **params)
        threads, hnsw.num_threads = hnsw.num_threads, self._build_threads
        hnsw.upsert(labels, vectors)
        hnsw.num_threads = threads
        self._inner = hnsw
        self.switch_ms = 1000.0 * (time.perf_counter() - started)

    def remove(self, labels: npt.ArrayLike) -> int:
        with self._lock:
            return self._inner.remove(labels)

    def query(self, vector: npt.ArrayLike, n: int, allowed: Allowed | None = None) -> tuple[Labels, Scores]:
        return self._inner.query(vector, n, allowed)

    def indexed(self, labels: npt.ArrayLike) -> tuple[Vectors, Mask]:
        return self._inner.indexed(labels)

    def labels(self) -> Labels:
        return self._inner.labels()

    def __len__(self) -> int:
        return len(self._inner)

    def __contains__(self, label: object) -> bool:
        return label in self._inner

    def memory_bytes(self) -> int:
        return self._inner.memory_bytes()

    def __repr__(self) -> str:
        return f"AutoIndex(threshold={self._threshold}, current={self._inner!r})"

    # persistence -----------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        return {
            "dim": self._dim,
            "threshold": self._threshold,
            "build_threads": self._build_threads,
            "hnsw_params": self._hnsw_params,
            "inner": self._inner.kind,
            "inner_meta": self._inner._meta(),
        }

    def _write(self, out: IndexWriter) -> None:
        with self._inner._lock:
            self._inner._write(out)

    @classmethod
    def _read(cls, file: IndexReader) -> Self:
        meta = file.meta
        inner_classes: dict[str, type[VectorIndex]] = {"brute": BruteForceIndex, "hnsw": HnswIndex}
        inner_cls = inner_classes.get(str(meta.get("inner")))
        try:
            index = cls(
                int(meta["dim"]),
                threshold=int(meta["threshold"]),
                build_threads=int(meta["build_threads"]),
                initial_capacity=1,
                **dict(meta["hnsw_params"]),
            )
            inner_meta = dict(meta["inner_meta"])
        except (KeyError, TypeError, ValueError) as exc:
            raise file.corrupt(f"index metadata is invalid ({exc})") from exc
        if inner_cls is None:
            raise file.corrupt(f"auto index file holds an unknown index kind {meta.get('inner')!r}")
        index._inner = inner_cls._read(file.with_meta(inner_meta))
        if index._inner.dim != index._dim:
            raise file.corrupt(f"auto index of dim {index._dim} holds an index of dim {index._inner.dim}")
        return index
