"""The vector-index interface and the bookkeeping its implementations share.

Ids are strings (item ids); scores are inner products, higher is better. A removed id
is never returned by :meth:`VectorIndex.query` until it is upserted again.

Persistence format (both backends): one uncompressed ``.npz`` file, written to a
temporary sibling and renamed over the target, so a reader sees the old file or the
new one, never half of one. It is read with ``allow_pickle=False``; it holds

* ``meta``: UTF-8 JSON (``format``, ``version``, ``kind``, ``dim`` and the backend's
  parameters) as a ``uint8`` array;
* ``ids``: UTF-8 JSON list of the ids, position = integer label;
* ``vectors``: ``float32`` (labels, dim); ``live``: ``bool`` (labels,);
* backend extras (``hnsw_graph``: the bytes of hnswlib's ``save_index``).
"""

from __future__ import annotations

import abc
import json
import os
import tempfile
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from recsys.errors import SnapshotError

FloatMatrix = npt.NDArray[np.float32]
FORMAT_NAME = "recsys.ann"
FORMAT_VERSION = 1


class VectorIndex(abc.ABC):
    """Top-n inner-product search over string ids; the interface of every backend.

    Implementations: :class:`recsys.ann.HnswIndex` (approximate) and
    :class:`recsys.ann.BruteForceIndex` (exact, the oracle).

    Examples
    --------
    >>> import numpy as np
    >>> from recsys.ann import make_index
    >>> index = make_index("brute", dim=2)
    >>> isinstance(index, VectorIndex)
    True
    >>> index.upsert(["a", "b"], np.array([[1.0, 0.0], [0.0, 1.0]]))
    >>> index.query(np.array([1.0, 0.5]), n=5)
    [('a', 1.0), ('b', 0.5)]
    """

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """The vector dimension."""

    @abc.abstractmethod
    def upsert(self, ids: Sequence[str], vectors: npt.ArrayLike) -> None:
        """Add new ids and replace the vectors of existing (or removed) ones.

        ``vectors`` has shape ``(len(ids), dim)`` and must be castable to float32 and
        finite; otherwise ``ValueError``. If an id repeats within the batch, its last
        vector wins.
        """

    @abc.abstractmethod
    def remove(self, item_id: str) -> bool:
        """Hide ``item_id`` from queries; return whether it was live."""

    @abc.abstractmethod
    def query(self, vector: npt.ArrayLike, n: int) -> list[tuple[str, float]]:
        """Return up to ``n`` live ``(id, inner product)`` pairs, best first."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of live ids."""

    @abc.abstractmethod
    def __contains__(self, item_id: object) -> bool:
        """Whether ``item_id`` is live."""

    @abc.abstractmethod
    def ids(self) -> list[str]:
        """The live ids, in first-insertion order."""

    @abc.abstractmethod
    def vectors_of(self, ids: Sequence[str]) -> list[npt.NDArray[np.float32] | None]:
        """The vector stored for each id (a copy), or None where the id is not live."""

    @abc.abstractmethod
    def save(self, path: Path | str) -> None:
        """Write everything needed to answer the same queries to ``path``, atomically."""

    @classmethod
    @abc.abstractmethod
    def load(cls, path: Path | str) -> Self:
        """Read an index written by :meth:`save` of the same class."""


class StoreBackedIndex(VectorIndex):
    """The accessors shared by indexes that keep their vectors in a :class:`VectorStore`
    (``self._store``) behind one lock (``self._lock``)."""

    _store: VectorStore
    _lock: threading.Lock

    def __len__(self) -> int:
        return self._store.n_live

    def __contains__(self, item_id: object) -> bool:
        with self._lock:
            return self._store.is_live(item_id)

    def ids(self) -> list[str]:
        with self._lock:
            return self._store.live_ids()

    def vectors_of(self, ids: Sequence[str]) -> list[npt.NDArray[np.float32] | None]:
        with self._lock:
            return self._store.stored(ids)


# --------------------------------------------------------------------------- validation


def check_batch(ids: Sequence[str], vectors: npt.ArrayLike, dim: int) -> tuple[list[str], FloatMatrix]:
    """Validate an upsert batch; return the ids and a C-contiguous float32 matrix.

    Repeated ids are collapsed, keeping the last occurrence.
    """
    if isinstance(ids, str | bytes):
        raise TypeError("ids must be a sequence of strings, not a single string; wrap it in a list")
    id_list = list(ids)
    for item_id in id_list:
        if not isinstance(item_id, str):
            raise TypeError(f"ids must be strings, got {type(item_id).__name__} {item_id!r}")
    try:
        matrix = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"vectors must be castable to a float32 array: {exc}") from exc
    if not id_list and matrix.size == 0:
        return [], np.zeros((0, dim), dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape != (len(id_list), dim):
        raise ValueError(f"vectors must have shape (len(ids), dim) = ({len(id_list)}, {dim}), got {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("vectors must be finite (no NaN or inf)")
    if len(set(id_list)) != len(id_list):
        last = {item_id: row for row, item_id in enumerate(id_list)}
        rows = sorted(last.values())
        id_list = [id_list[row] for row in rows]
        matrix = matrix[rows]
    return id_list, np.ascontiguousarray(matrix)


def check_query(vector: npt.ArrayLike, n: int, dim: int) -> npt.NDArray[np.float32]:
    """Validate a query; return a float32 vector of shape (dim,)."""
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


def check_dim(dim: int) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int | np.integer) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    return int(dim)


# ------------------------------------------------------------------------- shared store


class VectorStore:
    """Id <-> label map, a contiguous float32 matrix indexed by label and a live mask.

    Labels are 0, 1, 2, ... in first-insertion order and never reused: a removed id
    keeps its label (and row), so bringing it back is a row overwrite. Capacity grows
    by doubling. Not thread-safe; the owning index holds the lock.
    """

    def __init__(self, dim: int, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"initial_capacity must be at least 1, got {capacity}")
        self.dim = dim
        self.vectors: FloatMatrix = np.zeros((capacity, dim), dtype=np.float32)
        self.live: npt.NDArray[np.bool_] = np.zeros(capacity, dtype=bool)
        self.label_of: dict[str, int] = {}
        self.id_of: list[str] = []
        self.n_live = 0

    @property
    def size(self) -> int:
        """Labels handed out (live or removed)."""
        return len(self.id_of)

    @property
    def capacity(self) -> int:
        return int(self.vectors.shape[0])

    def reserve(self, needed: int) -> None:
        """Grow (doubling) so that ``needed`` labels fit."""
        capacity = self.capacity
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        vectors = np.zeros((capacity, self.dim), dtype=np.float32)
        vectors[: self.size] = self.vectors[: self.size]
        live = np.zeros(capacity, dtype=bool)
        live[: self.size] = self.live[: self.size]
        self.vectors, self.live = vectors, live

    def new_count(self, ids: Sequence[str]) -> int:
        return sum(1 for item_id in ids if item_id not in self.label_of)

    def assign(self, ids: Sequence[str]) -> npt.NDArray[np.int64]:
        """Labels for ``ids``, handing out new ones (and growing) for unseen ids."""
        self.reserve(self.size + self.new_count(ids))
        labels = np.empty(len(ids), dtype=np.int64)
        for i, item_id in enumerate(ids):
            label = self.label_of.get(item_id)
            if label is None:
                label = len(self.id_of)
                self.label_of[item_id] = label
                self.id_of.append(item_id)
            labels[i] = label
        return labels

    def write(self, labels: npt.NDArray[np.int64], vectors: FloatMatrix) -> None:
        """Store vectors at ``labels`` and mark them live."""
        self.vectors[labels] = vectors
        self.n_live += int(np.count_nonzero(~self.live[labels]))
        self.live[labels] = True

    def remove(self, item_id: str) -> int | None:
        """Mark ``item_id`` removed; return its label if it was live."""
        label = self.label_of.get(item_id)
        if label is None or not self.live[label]:
            return None
        self.live[label] = False
        self.n_live -= 1
        return label

    def is_live(self, item_id: object) -> bool:
        label = self.label_of.get(item_id) if isinstance(item_id, str) else None
        return label is not None and bool(self.live[label])

    def stored(self, ids: Sequence[str]) -> list[npt.NDArray[np.float32] | None]:
        labels = [self.label_of.get(i) for i in ids]
        return [None if lb is None or not self.live[lb] else self.vectors[lb].copy() for lb in labels]

    def live_ids(self) -> list[str]:
        return [self.id_of[label] for label in np.flatnonzero(self.live[: self.size])]

    def topk(self, q: npt.NDArray[np.float32], n: int) -> list[tuple[str, float]]:
        """Exact top-n live ids by inner product (argpartition, then sort the n)."""
        k = min(n, self.n_live)
        if k == 0:
            return []
        size = self.size
        scores = self.vectors[:size] @ q
        if self.n_live < size:
            live_labels = np.flatnonzero(self.live[:size])
            scores = scores[live_labels]
        else:
            live_labels = np.arange(size)
        if k < scores.shape[0]:
            part = np.argpartition(-scores, k - 1)[:k]
        else:
            part = np.arange(scores.shape[0])
        # Best first; equal scores in label (first-insertion) order, so results are deterministic.
        order = part[np.lexsort((live_labels[part], -scores[part]))]
        return [(self.id_of[int(live_labels[i])], float(scores[i])) for i in order]

    def rescore(self, labels: npt.NDArray[np.int64], q: npt.NDArray[np.float32]) -> list[tuple[str, float]]:
        """Exact inner products for candidate labels, live ones only, best first."""
        labels = labels[self.live[labels]]
        scores = self.vectors[labels] @ q
        order = np.lexsort((labels, -scores))
        return [(self.id_of[int(labels[i])], float(scores[i])) for i in order]

    # persistence ---------------------------------------------------------------------

    def to_arrays(self) -> dict[str, npt.NDArray[Any]]:
        size = self.size
        return {
            "ids": _json_bytes(self.id_of),
            "vectors": self.vectors[:size],
            "live": self.live[:size],
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, npt.NDArray[Any]], dim: int, capacity: int) -> VectorStore:
        ids = _json_load(arrays["ids"], "ids")
        vectors = arrays["vectors"]
        live = arrays["live"]
        if (
            not isinstance(ids, list)
            or not all(isinstance(i, str) for i in ids)
            or len(set(ids)) != len(ids)
            or vectors.dtype != np.float32
            or vectors.shape != (len(ids), dim)
            or live.dtype != np.bool_
            or live.shape != (len(ids),)
        ):
            raise SnapshotError("index file is inconsistent (ids/vectors/live); delete it to rebuild")
        store = cls(dim, max(capacity, len(ids), 1))
        store.vectors[: len(ids)] = vectors
        store.live[: len(ids)] = live
        store.id_of = list(ids)
        store.label_of = {item_id: label for label, item_id in enumerate(ids)}
        store.n_live = int(np.count_nonzero(live))
        return store


# ---------------------------------------------------------------------------- file I/O


def _json_bytes(obj: object) -> npt.NDArray[np.uint8]:
    return np.frombuffer(json.dumps(obj, separators=(",", ":")).encode("utf-8"), dtype=np.uint8)


def _json_load(array: npt.NDArray[Any], what: str) -> Any:
    try:
        return json.loads(array.astype(np.uint8, copy=False).tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"index file has unreadable {what}: {exc}; delete it to rebuild") from exc


def write_index_file(path: Path, kind: str, meta: dict[str, Any], arrays: dict[str, npt.NDArray[Any]]) -> None:
    """Write ``arrays`` plus metadata to ``path`` atomically (temp file, fsync, rename)."""
    path = Path(path)
    full_meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "kind": kind, **meta}
    payload = {"meta": _json_bytes(full_meta), **arrays}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)  # type: ignore[arg-type]
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_index_file(path: Path, kind: str) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    """Read a file written by :func:`write_index_file`; check format and ``kind``."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise SnapshotError(f"{path}: not a readable index file ({exc}); delete it to rebuild") from exc
    if "meta" not in arrays:
        raise SnapshotError(f"{path}: index file has no metadata; delete it to rebuild")
    meta = _json_load(arrays.pop("meta"), "metadata")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise SnapshotError(f"{path}: not a {FORMAT_NAME} index file; delete it to rebuild")
    if meta.get("version") != FORMAT_VERSION:
        raise SnapshotError(
            f"{path}: index file version {meta.get('version')!r}, expected {FORMAT_VERSION}; delete it to rebuild"
        )
    if meta.get("kind") != kind:
        raise SnapshotError(
            f"{path}: holds a {meta.get('kind')!r} index, not {kind!r}; load it with the matching class"
        )
    for name in ("ids", "vectors", "live"):
        if name not in arrays:
            raise SnapshotError(f"{path}: index file lacks {name!r}; delete it to rebuild")
    return meta, arrays


def moved_since_indexed(index: VectorIndex, ids: Sequence[str], vectors: np.ndarray, tolerance: float) -> list[int]:
    """Positions in ``ids`` whose vector is new to ``index`` or moved by more than
    ``tolerance`` of its indexed length: the ones worth an (expensive) index rewrite."""
    indexed = index.vectors_of(ids)
    return [
        n for n, old in enumerate(indexed)
        if old is None or float(np.linalg.norm(vectors[n] - old)) > tolerance * float(np.linalg.norm(old))
    ]  # fmt: skip


def query_excluding(
    index: VectorIndex, vector: npt.ArrayLike, n: int, exclude: Collection[str], keep: Callable[[str], bool]
) -> list[tuple[str, float]]:
    """Up to ``n`` nearest items that ``keep`` accepts and ``exclude`` lacks. The search is widened
    for excluded items, but by at most ``2n``: a user with thousands of seen items would otherwise
    widen every search (hnswlib's ef grows with it)."""
    hits = index.query(vector, n + min(len(exclude), 2 * n))
    return [(i, s) for i, s in hits if i not in exclude and keep(i)][:n]
