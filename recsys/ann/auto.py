"""Exact search while the catalogue is small, hnswlib once it is not.

Under some twenty thousand items a numpy matrix-vector product answers about as fast as a
graph walk, and exactly, and its writes cost 0.01 ms instead of the 0.1-1 ms an hnswlib insert
or in-place update costs. :class:`AutoIndex` starts as a :class:`BruteForceIndex`; the write
that brings it to ``threshold`` live labels builds an :class:`HnswIndex` from every live vector
in one ``add_items`` batch (``build_threads`` threads) and drops the exact copy. It never goes
back. Building the graph once from all vectors also gives the MIPS reduction a norm bound
taken from the whole catalogue rather than from the first item.

With ``background=True`` (what the engine uses) the graph is built in a thread (hnswlib
releases the GIL while it inserts, so an event loop keeps running: the longest pause measured
while a 20,000-vector graph was built beside it was 4 ms) while the exact index goes on
answering; the writes made meanwhile are replayed on the graph when it is swapped in, at the
first write after the build ended (or :meth:`AutoIndex.wait`).

Concurrency: writes hold the auto index's lock (so the switch is one step); reads go to
whichever index is current, under that index's own lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from .base import Allowed, Labels, Mask, Scores, VectorIndex, Vectors, check_dim, positive_int
from .brute_force import BruteForceIndex
from .files import IndexReader, IndexWriter
from .hnsw import HnswIndex

DEFAULT_THRESHOLD = 20_000
"""Live labels at which the index switches to hnswlib. Alone, a query for 100 at 10,000 MF vectors
took 0.068 ms exact, 0.084 with an engine-like filter, against hnsw's 0.079 and 0.082; at 15,000,
0.109 and 0.144 against 0.081 and 0.084 (BENCHMARKS.md, "ANN index v2"). In the engine, where
the index is also written, exact search ran 451 events/s at 10,000 items against hnsw's 372, and
332 against 340 at 30,000 (``benchmarks/engine_inprocess.py``), so the engine's crossover lies
between. Building the graph for 10,000 vectors at the switch took 0.9 s with one thread."""


_CATCH_UP = 256
"""Labels written during a background build that the swap replays itself; more, and the build
thread replays them first (inserting into a graph costs ~0.1 ms a label)."""


@dataclass
class _Build:
    """A graph being built in a thread from the exact index's vectors, and the writes since."""

    hnsw: HnswIndex
    thread: threading.Thread | None = None
    pending: list[tuple[Labels, Vectors | None]] = field(default_factory=list)  # vectors None: a removal
    error: BaseException | None = None
    ms: float = 0.0


def _replay(hnsw: HnswIndex, writes: list[tuple[Labels, Vectors | None]]) -> None:
    """Apply ``writes`` (upserts, or removals where the vectors are None) to ``hnsw`` in order."""
    for labels, vectors in writes:
        if vectors is None:
            hnsw.remove(labels)
        else:
            hnsw.upsert(labels, vectors)


class AutoIndex(VectorIndex):
    """A :class:`BruteForceIndex` until ``threshold`` live labels, then an :class:`HnswIndex`.

    Parameters
    ----------
    dim : int
        Vector dimension.
    threshold : int, default 20000
        Live labels at which the hnsw index is built.
    build_threads : int, default 1
        Threads for the one-time build (writes after it use the hnsw index's ``num_threads``).
    initial_capacity : int, default 1024
        Rows the exact index allocates up front.
    background : bool, default False
        Build the graph in a thread while the exact index answers (see the module).
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
        background: bool = False,
        **hnsw_params: Any,
    ) -> None:
        self._dim = check_dim(dim)
        self._threshold = positive_int("threshold", threshold)
        self._build_threads = positive_int("build_threads", build_threads)
        HnswIndex(self._dim, initial_capacity=1, **hnsw_params)  # bad parameters fail now, not at the switch
        self._hnsw_params = dict(hnsw_params)
        self._inner: VectorIndex = BruteForceIndex(self._dim, initial_capacity=initial_capacity)
        self._lock = threading.RLock()
        self._background = background
        self._build: _Build | None = None
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

    @property
    def capacity(self) -> int:
        """Labels the current index has room for before it grows."""
        inner = self._inner
        return inner.capacity if isinstance(inner, (BruteForceIndex, HnswIndex)) else len(inner)

    @property
    def building(self) -> bool:
        """True while a graph is being built in the background."""
        return self._build is not None

    def upsert(self, labels: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        with self._lock:
            self._inner.upsert(labels, vectors)
            if self._build is not None:
                label_array = np.array(labels, dtype=np.int64, ndmin=1)
                self._build.pending.append((label_array, np.array(vectors, dtype=np.float32, ndmin=2)))
                self._finish_if_built()
            elif isinstance(self._inner, BruteForceIndex) and len(self._inner) >= self._threshold:
                self._switch(self._inner)

    def _switch(self, exact: BruteForceIndex) -> None:
        labels = exact.labels()
        vectors, _ = exact.indexed(labels)  # a copy: the exact index goes on being written
        params = {"initial_capacity": exact.capacity, **self._hnsw_params}
        build = _Build(HnswIndex(self._dim, **params))

        def run() -> None:
            started = time.perf_counter()
            hnsw = build.hnsw
            threads, hnsw.num_threads = hnsw.num_threads, self._build_threads
            try:
                hnsw.upsert(labels, vectors)
                while self._background:  # catch up with the writes made meanwhile, off the writer's thread
                    with self._lock:
                        batch, build.pending = build.pending, []
                        if sum(len(lab) for lab, _ in batch) <= _CATCH_UP:
                            build.pending = batch  # few enough: the swap replays them
                            break
                    _replay(hnsw, batch)
            except BaseException as exc:  # re-raised by the next write, in the writer's thread
                build.error = exc
            hnsw.num_threads = threads
            build.ms = 1000.0 * (time.perf_counter() - started)

        self._build = build
        if self._background:
            build.thread = threading.Thread(target=run, name="recsys-ann-build")  # not a daemon: exit waits for it
            build.thread.start()
        else:
            run()
            self._finish_if_built()

    def _finish_if_built(self) -> None:
        """Swap the built graph in, after replaying the writes made while it was built (the caller
        holds the lock)."""
        build = self._build
        if build is None or (build.thread is not None and build.thread.is_alive()):
            return
        self._build = None
        if build.error is not None:
            raise RuntimeError(f"building the hnsw index failed: {build.error!r}") from build.error
        _replay(build.hnsw, build.pending)
        self._inner = build.hnsw
        self.switch_ms = build.ms

    def wait(self) -> None:
        """Finish a background build now (block until the graph is built and swapped in)."""
        build = self._build
        if build is not None and build.thread is not None:
            build.thread.join()  # without the lock: the thread takes it to catch up with writes
        with self._lock:
            self._finish_if_built()

    def remove(self, labels: npt.ArrayLike) -> int:
        with self._lock:
            removed = self._inner.remove(labels)
            if self._build is not None:
                self._build.pending.append((np.array(labels, dtype=np.int64, ndmin=1), None))
                self._finish_if_built()
            return removed

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
            "background": self._background,
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
                background=bool(meta.get("background", False)),
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
