"""The vector-index interface: top-n inner-product search over integer labels (item rows).

Labels are the items' rows in the engine's one row space (``recsys.items.rows``): non-negative
integers, dense, never reused. Every method takes and returns them as ``int64`` numpy arrays.
Scores are inner products with the query, higher is better; a removed label is never
returned until it is upserted again.

The ``allowed`` filter of :meth:`VectorIndex.query` is *vectorised*: a callable that takes an
``int64`` array of labels and returns a ``bool`` mask of the same length, e.g.
``lambda rows: available[rows] & ~excluded[rows]``. It is called with whatever labels the
index is looking at (a batch of candidates, or the whole label range), never once per label.

The helpers here (validation, the deterministic top-n, the re-index test) are shared by the
backends: :mod:`recsys.ann.brute_force`, :mod:`recsys.ann.hnsw`, :mod:`recsys.ann.auto`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from .files import IndexReader, IndexWriter, index_reader, index_writer

Labels = npt.NDArray[np.int64]
Scores = npt.NDArray[np.float32]
Vectors = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]
Allowed = Callable[[Labels], Mask]

NO_LABELS: Labels = np.zeros(0, dtype=np.int64)
NO_SCORES: Scores = np.zeros(0, dtype=np.float32)


class VectorIndex(abc.ABC):
    """Top-n inner-product search over integer labels; the interface of every backend.

    Implementations: :class:`recsys.ann.BruteForceIndex` (exact, the oracle),
    :class:`recsys.ann.HnswIndex` (approximate) and :class:`recsys.ann.AutoIndex` (exact
    while small, then approximate). Every one passes the contract in ``tests/unit/test_ann.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from recsys.ann import make_index
    >>> index = make_index("brute", dim=2)
    >>> index.upsert(np.array([0, 1, 2]), np.array([[1.0, 0.0], [0.0, 1.0], [0.75, 0.5]]))
    >>> labels, scores = index.query(np.array([1.0, 0.5]), n=2)
    >>> labels.tolist(), scores.tolist()
    ([0, 2], [1.0, 1.0])
    >>> index.query(np.array([1.0, 0.5]), n=2, allowed=lambda rows: rows != 0)[0].tolist()
    [2, 1]
    """

    kind: ClassVar[str]
    """The backend's name in :data:`recsys.ann.BACKENDS` and in its index files."""
    _lock: AbstractContextManager[Any]  # an RLock held by every method (and by save)

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """The vector dimension."""

    @abc.abstractmethod
    def upsert(self, labels: npt.ArrayLike, vectors: npt.ArrayLike) -> None:
        """Add new labels and replace the vectors of existing (or removed) ones.

        ``labels``: non-negative integers; ``vectors``: shape ``(len(labels), dim)``, castable
        to float32 and finite; otherwise ``ValueError``. A label repeated within the batch
        takes its last vector.
        """

    @abc.abstractmethod
    def remove(self, labels: npt.ArrayLike) -> int:
        """Hide ``labels`` from queries; return how many of them were live. A removed label
        may be upserted again."""

    @abc.abstractmethod
    def query(self, vector: npt.ArrayLike, n: int, allowed: Allowed | None = None) -> tuple[Labels, Scores]:
        """Up to ``n`` live labels that ``allowed`` accepts, best first, and their inner products
        with ``vector`` (against the vectors as indexed; equal scores in label order).

        Returns ``min(n, number of allowed live labels)`` of them, never fewer: an approximate
        backend widens its search and finally scans exactly when its first candidates are
        filtered away.
        """

    @abc.abstractmethod
    def indexed(self, labels: npt.ArrayLike) -> tuple[Vectors, Mask]:
        """The vectors as indexed for ``labels`` (zero rows where absent) and which are live."""

    @abc.abstractmethod
    def labels(self) -> Labels:
        """The live labels, ascending."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of live labels."""

    @abc.abstractmethod
    def __contains__(self, label: object) -> bool:
        """Whether ``label`` is live."""

    @abc.abstractmethod
    def memory_bytes(self) -> int:
        """An estimate of the bytes the index holds (allocated, headroom included)."""

    # persistence: the backends say what to write and how to read it back --------------------

    @abc.abstractmethod
    def _meta(self) -> dict[str, Any]:
        """The parameters that go into the file's metadata."""

    @abc.abstractmethod
    def _write(self, out: IndexWriter) -> None:
        """Add the index's arrays and files (the caller holds the index's lock)."""

    @classmethod
    @abc.abstractmethod
    def _read(cls, file: IndexReader) -> Self:
        """Rebuild an index from a file whose kind is ``cls.kind``."""

    def save(self, path: Path | str) -> None:
        """Write everything needed to answer the same queries to ``path``, atomically (a
        temporary sibling renamed over it). Versioned: see :mod:`recsys.ann.files`."""
        with self._lock:
            with index_writer(path, self.kind, self._meta()) as out:
                self._write(out)

    @classmethod
    def load(cls, path: Path | str) -> Self:
        """Read an index written by :meth:`save` of the same class (``recsys.ann.load_index``
        reads any); :class:`recsys.errors.SnapshotError` says to delete an unreadable file."""
        with index_reader(path, cls.kind) as file:
            return cls._read(file)


# --------------------------------------------------------------------------- validation


def check_dim(dim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    return int(dim)


def positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_labels(labels: npt.ArrayLike) -> Labels:
    """``labels`` as a 1-d int64 array of non-negative integers (a scalar is one label)."""
    array = np.asarray(labels)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.size == 0:
        return NO_LABELS
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) and array.dtype != np.bool_):
        raise ValueError(
            f"labels must be a 1-d array of integers (item rows), got dtype {array.dtype} with shape {array.shape}"
        )
    if int(array.min()) < 0:
        raise ValueError(
            f"labels must be non-negative item rows, got {int(array.min())} (RowSpace.find's -1 means "
            "'unknown item': drop those before calling the index)"
        )
    return array.astype(np.int64, copy=False)


def check_batch(labels: npt.ArrayLike, vectors: npt.ArrayLike, dim: int) -> tuple[Labels, Vectors]:
    """Validate an upsert batch; return unique labels and a C-contiguous float32 matrix.

    A label repeated within the batch keeps its last vector.
    """
    label_array = check_labels(labels)
    try:
        matrix = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"vectors must be castable to a float32 array: {exc}") from exc
    if label_array.size == 0 and matrix.size == 0:
        return NO_LABELS, np.zeros((0, dim), dtype=np.float32)
    if matrix.shape != (len(label_array), dim):
        raise ValueError(
            f"vectors must have shape (len(labels), dim) = ({len(label_array)}, {dim}), got {matrix.shape}"
        )
    if not np.isfinite(matrix).all():
        bad = int(label_array[np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0]])
        raise ValueError(f"vectors must be finite: the vector of label {bad} holds NaN or inf")
    unique, first_in_reversed = np.unique(label_array[::-1], return_index=True)
    if len(unique) != len(label_array):
        keep = np.sort(len(label_array) - 1 - first_in_reversed)  # the last occurrence of each label
        label_array, matrix = label_array[keep], matrix[keep]
    return label_array, np.ascontiguousarray(matrix)


def check_query(vector: npt.ArrayLike, n: int, dim: int) -> npt.NDArray[np.float32]:
    """Validate a query; return a float32 vector of shape ``(dim,)``."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"n must be an integer, got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"n must be 0 or more, got {n}")
    try:
        q = np.asarray(vector, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"query vector must be castable to a float32 array: {exc}") from exc
    if q.shape == (1, dim):
        q = q[0]
    if q.shape != (dim,):
        raise ValueError(f"query vector must have shape ({dim},) or (1, {dim}), got {q.shape}")
    if not np.isfinite(q).all():
        raise ValueError("query vector must be finite (no NaN or inf)")
    return np.ascontiguousarray(q)


def allowed_mask(allowed: Allowed, labels: Labels) -> Mask:
    """Call the ``allowed`` filter on ``labels`` and check that it returned one bool per label."""
    mask = np.asarray(allowed(labels))
    if mask.shape != labels.shape or mask.dtype != np.bool_:
        raise ValueError(
            f"allowed must return a bool array of the same length as the labels it is given "
            f"({labels.shape}), got {mask.dtype} with shape {mask.shape}; a vectorised filter "
            "looks like `lambda rows: available[rows] & ~excluded[rows]`"
        )
    return mask


# ---------------------------------------------------------------------------- ranking


def top_n(labels: Labels, scores: Scores, n: int) -> tuple[Labels, Scores]:
    """The ``n`` best (label, score) pairs, best first; equal scores in label order.

    ``np.argpartition`` picks the n best in linear time; every candidate tied with the n-th
    score is kept before the final sort, so which of several tied labels makes the cut
    does not depend on the partition.

    >>> labels, scores = top_n(np.array([5, 3, 9, 1]), np.array([0.5, 0.75, 0.5, 0.25], np.float32), 2)
    >>> labels.tolist(), scores.tolist()
    ([3, 5], [0.75, 0.5])
    """
    k = min(n, len(scores))
    if k <= 0:
        return NO_LABELS, NO_SCORES
    if k < len(scores):
        threshold = scores[np.argpartition(-scores, k - 1)[k - 1]]
        candidates = np.flatnonzero(scores >= threshold)
    else:
        candidates = np.arange(len(scores))
    order = candidates[np.lexsort((labels[candidates], -scores[candidates]))[:k]]
    return labels[order].astype(np.int64, copy=False), scores[order].astype(np.float32, copy=False)


def top_allowed(scores: Scores, n: int, keep: Callable[[Labels], Mask], first: int = 0) -> tuple[Labels, Scores]:
    """The ``n`` best labels (positions of ``scores``) that ``keep`` lets through, best first,
    equal scores in label order: :func:`top_n` over the kept labels, without asking ``keep``
    about every label.

    It asks about the best ``first`` (default ``2 n + 64``) and every label tied with the last
    of them; when at least ``n`` of those are kept they are the answer, since every label not
    asked scores strictly less. Otherwise it asks about four times as many, up to all. Filters
    exclude few items as a rule, so one slice of a few hundred serves a catalogue of millions.

    >>> scores = np.array([0.9, 0.8, 0.8, 0.1, 0.7], np.float32)
    >>> labels, best = top_allowed(scores, 2, lambda labels: labels != 0, first=2)
    >>> labels.tolist(), [round(float(b), 2) for b in best]
    ([1, 2], [0.8, 0.8])
    """
    size = len(scores)
    m = first or 2 * n + 64
    while True:
        if m >= size:
            labels = np.arange(size, dtype=np.int64)
            kept = labels[keep(labels)]
            return top_n(kept, scores[kept], n)
        threshold = scores[np.argpartition(-scores, m - 1)[m - 1]]
        labels = np.flatnonzero(scores >= threshold).astype(np.int64)
        kept = labels[keep(labels)]
        if len(kept) >= n:
            return top_n(kept, scores[kept], n)
        m *= 4


def moved_since_indexed(index: VectorIndex, labels: npt.ArrayLike, vectors: npt.ArrayLike, tolerance: float) -> Labels:
    """The labels whose vector is new to ``index`` or moved by more than ``tolerance`` of its
    indexed length: the ones worth an (expensive, for hnsw) index write.

    >>> from recsys.ann import make_index
    >>> index = make_index("brute", dim=2)
    >>> index.upsert([0, 1], np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> moved_since_indexed(index, [0, 1, 2], np.array([[1.1, 0.0], [0.0, 2.0], [1.0, 1.0]]), 0.2).tolist()
    [1, 2]
    """
    label_array, matrix = check_batch(labels, vectors, index.dim)
    old, present = index.indexed(label_array)
    step = np.linalg.norm(matrix - old, axis=1)
    moved = ~present | (step > tolerance * np.linalg.norm(old, axis=1))
    return label_array[moved]
