"""Writes into hnswlib graphs on a thread of their own, so the engine's thread goes on ranking.

An hnswlib write costs 0.1 to 3 ms a vector (more as the graph grows), and at 100,000 items the
index refresh took half the engine's time. hnswlib releases the GIL while it writes, so a
second thread writes on the machine's other core while the engine learns and ranks. hnswlib's
writes are not safe next to its queries; every :class:`~recsys.ann.VectorIndex` takes its own
lock around both, so a query waits for at most one chunk of ``chunk`` vectors (one by default),
and the writer rests after each chunk as long as it wrote (``duty`` 0.5), or it would take the
lock again at once and queries would starve.

The queue is first in, first out: a row written twice ends with the later vector. It is
bounded (:meth:`BackgroundWrites.room`): when the writer falls behind, the engine leaves the
rest marked for a later refresh rather than queueing without end. A removal joins the queue
(:meth:`BackgroundWrites.remove`; a withdrawn item is out of every list at once anyway: the hard
filters read the catalogue); whatever replaces an index or needs every write in place (a
snapshot) calls :meth:`drain` first.

Examples
--------
>>> import numpy as np
>>> from recsys.ann import make_index
>>> index = make_index("brute", dim=2)
>>> writes = BackgroundWrites(limit=100)
>>> writes.submit(index, np.array([3, 5]), np.array([[1.0, 0.0], [0.0, 1.0]]))
>>> writes.drain()
>>> sorted(index.labels().tolist()), writes.room()
([3, 5], 100)
>>> writes.close()
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import weakref
from collections import deque

import numpy as np

from recsys.ann import VectorIndex
from recsys.rows import Rows

_running: weakref.WeakSet[BackgroundWrites] = weakref.WeakSet()


@atexit.register
def _stop_at_exit() -> None:
    """Stop every writer before the interpreter ends: a daemon thread stopped inside hnswlib's C++
    aborts the process ("terminate called without an active exception", exit status 134)."""
    for writes in list(_running):
        with contextlib.suppress(RuntimeError):  # a failed write is no reason to fail the exit
            writes.close(finish=False)


class BackgroundWrites:
    """A bounded queue of index writes and the daemon thread that applies them in order."""

    def __init__(self, limit: int = 4096, chunk: int = 1, duty: float = 0.5) -> None:
        if limit < 1 or chunk < 1:
            raise ValueError(f"limit and chunk must be at least 1, got {limit} and {chunk}")
        if not 0.0 < duty <= 1.0:
            raise ValueError(f"duty must be in (0, 1], got {duty}")
        self.limit = limit
        self.chunk = chunk
        self.duty = duty
        self._queue: deque[tuple[VectorIndex, Rows, np.ndarray | None]] = deque()  # None: a removal
        self._pending = 0  # rows queued or being written
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._closed = False
        self.written = 0  # rows written so far

    def room(self) -> int:
        """How many more rows may be queued now."""
        with self._cond:
            return max(0, self.limit - self._pending)

    @property
    def pending(self) -> int:
        """Rows queued or being written."""
        return self._pending

    def submit(self, index: VectorIndex, rows: Rows, vectors: np.ndarray) -> None:
        """Queue ``index.upsert(rows, vectors)`` (in chunks); it happens on the writer's thread."""
        self._raise_failure()
        if not len(rows):
            return
        vectors = np.array(vectors, dtype=np.float32)  # a copy: the caller's array may change
        with self._cond:
            for start in range(0, len(rows), self.chunk):
                end = start + self.chunk
                self._queue.append((index, rows[start:end].copy(), vectors[start:end]))
            self._pending += len(rows)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="index-writes", daemon=True)
                self._thread.start()
                _running.add(self)
            self._cond.notify_all()

    def remove(self, index: VectorIndex, rows: Rows) -> None:
        """``index.remove(rows)`` after the writes queued before it (at once when none is)."""
        self._raise_failure()
        with self._cond:
            if self._pending:
                self._queue.append((index, np.array(rows, dtype=np.int64), None))
                self._pending += 1
                self._cond.notify_all()
                return
        index.remove(rows)

    def drain(self) -> None:
        """Block until every queued write is in its index (re-raises a write that failed)."""
        with self._cond:
            while self._pending and self._failure is None:
                self._cond.wait()
        self._raise_failure()

    def close(self, finish: bool = True) -> None:
        """Stop the thread once the queued writes are done (``finish=False``: once the write under
        way is; the rest are dropped, as at the interpreter's exit: the indexes are derived state)."""
        with self._cond:
            self._closed = True
            if not finish:
                self._pending -= sum(1 if v is None else len(rows) for _, rows, v in self._queue)
                self._queue.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise RuntimeError(f"a background index write failed: {failure!r}") from failure

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                index, rows, vectors = self._queue.popleft()  # still counted in _pending until written
            started = time.perf_counter()
            try:
                if vectors is None:
                    index.remove(rows)
                    with self._cond:
                        self._pending -= 1
                        self._cond.notify_all()
                    continue
                index.upsert(rows, vectors)  # the GIL is released while hnswlib writes
            except BaseException as exc:  # noqa: BLE001 - handed to the engine's thread (drain, submit)
                with self._cond:
                    self._failure = exc
                    self._queue.clear()
                    self._pending = 0
                    self._cond.notify_all()
                continue
            with self._cond:
                self._pending -= len(rows)
                self.written += len(rows)
                self._cond.notify_all()
            if self.duty < 1.0:  # leave the index's lock free for queries most of the time
                time.sleep((time.perf_counter() - started) * (1.0 - self.duty) / self.duty)
