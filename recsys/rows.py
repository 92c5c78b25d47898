"""One dense row space for every item-side array: an id -> row map and the columns that grow with it.

Every part of the item side (catalogue, MF vectors, two-tower embeddings, counts, indexes)
stores its per-item values in a :class:`Column` of the one :class:`RowSpace`, at the item's
row. Rows are handed out in first-seen order and never reused: an item that is withdrawn keeps
its row (its availability says it is gone), so a row means the same item for the life of the
state, in every column and as the label in every index.

Columns are allocated with headroom and grow together by doubling when a new row does not fit,
so a part reads ``column.data[rows]`` without checking sizes. A part must read ``column.data``
afresh after any call that may add a row (the array is replaced when it grows).

Examples
--------
>>> space = RowSpace(capacity=2)
>>> popularity = space.column(np.float64)
>>> vectors = space.column(np.float32, width=3)
>>> space.row("matrix"), space.row("alien"), space.row("matrix")
(0, 1, 0)
>>> space.row("heat"), space.capacity, vectors.data.shape
(2, 4, (4, 3))
>>> popularity.data[space.rows(["alien", "heat"])] += 1.0
>>> popularity.data[:3].tolist()
[0.0, 1.0, 1.0]
>>> space.find("nope"), space.lookup(["heat", "nope"]).tolist(), space.ids_of(np.array([2, 0]))
(-1, [2, -1], ['heat', 'matrix'])

A pickled space keeps its rows and its columns' values (only the rows in use are written):

>>> import pickle
>>> copy = pickle.loads(pickle.dumps(space))
>>> copy.find("heat"), len(copy), copy.capacity
(2, 3, 4)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Column", "Mask", "Ragged", "RowSpace", "Rows", "member"]

Rows = npt.NDArray[np.int64]
"""Item rows (int64)."""

Mask = Callable[[Rows], np.ndarray]
"""A vectorised predicate over item rows: a bool array, True for the rows allowed."""


def member(rows: Rows, sorted_rows: Rows) -> np.ndarray:
    """Whether each of ``rows`` is in ``sorted_rows`` (sorted ascending), as a bool array.

    >>> member(np.array([3, 1, 7]), np.array([1, 2, 3])).tolist()
    [True, True, False]
    """
    if len(sorted_rows) == 0:
        return np.zeros(len(rows), dtype=bool)
    at = np.searchsorted(sorted_rows, rows)
    return sorted_rows[np.minimum(at, len(sorted_rows) - 1)] == rows


def lookup(rows: Rows, sorted_rows: Rows, values: np.ndarray) -> np.ndarray:
    """The value of each of ``rows`` in ``values`` (one per row of ``sorted_rows``, sorted
    ascending), NaN where a row is absent: a sparse signal read for a candidate list.

    >>> lookup(np.array([3, 1, 7]), np.array([1, 2, 3]), np.array([0.5, 1.0, 2.0])).tolist()
    [2.0, 0.5, nan]
    """
    if len(sorted_rows) == 0:
        return np.full(len(rows), np.nan)
    at = np.minimum(np.searchsorted(sorted_rows, rows), len(sorted_rows) - 1)
    return np.where(sorted_rows[at] == rows, values[at], np.nan)


class Column:
    """One per-item array of a :class:`RowSpace`: ``data[row]`` (a row of ``width`` values when given)."""

    def __init__(self, space: RowSpace, dtype: npt.DTypeLike, width: int | None = None, fill: Any = 0) -> None:
        self._space = space
        self.dtype = np.dtype(dtype)
        self.width = width
        self.fill = fill
        self.data: np.ndarray = self._empty(space.capacity)

    def _empty(self, capacity: int) -> np.ndarray:
        shape = (capacity,) if self.width is None else (capacity, self.width)
        return np.full(shape, self.fill, dtype=self.dtype)

    def grow(self, capacity: int) -> None:
        """Reallocate to ``capacity`` rows, keeping the values of the rows in use."""
        if capacity <= len(self.data):
            return
        data = self._empty(capacity)
        used = len(self._space)
        data[:used] = self.data[:used]
        self.data = data

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["capacity"] = len(self.data)
        state["data"] = self.data[: len(self._space)].copy()  # the headroom is not worth writing
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        capacity = state.pop("capacity")
        used = state.pop("data")
        self.__dict__.update(state)
        self.data = self._empty(capacity)
        self.data[: len(used)] = used


class RowSpace:
    """Item ids to dense rows (first seen, first served), and the columns indexed by them."""

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 1:
            raise ValueError(f"RowSpace: capacity must be at least 1, got {capacity}")
        self.ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._capacity = capacity
        self._columns: list[Column] = []

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._rows

    def __repr__(self) -> str:
        return f"RowSpace({len(self.ids)} rows)"

    @property
    def capacity(self) -> int:
        """Rows every column has room for (grows by doubling)."""
        return self._capacity

    def column(self, dtype: npt.DTypeLike, width: int | None = None, fill: Any = 0) -> Column:
        """A new column of this space: one value (or ``width`` values) per row, ``fill`` where unset."""
        column = Column(self, dtype, width, fill)
        self._columns.append(column)
        return column

    def find(self, item_id: str) -> int:
        """The row of ``item_id``, or -1 when the space has never seen it."""
        return self._rows.get(item_id, -1)

    def row(self, item_id: str) -> int:
        """The row of ``item_id``, handing out the next one (and growing every column) if unseen."""
        row = self._rows.get(item_id)
        if row is None:
            row = len(self.ids)
            if row >= self._capacity:
                self._grow(row + 1)
            self._rows[item_id] = row
            self.ids.append(item_id)
        return row

    def rows(self, ids: Iterable[str]) -> Rows:
        """:meth:`row` of each id (unseen ids get rows), as an int64 array."""
        row = self.row
        return np.fromiter((row(i) for i in ids), dtype=np.int64)

    def lookup(self, ids: Sequence[str]) -> Rows:
        """:meth:`find` of each id (-1 for ids never seen), as an int64 array; adds nothing."""
        get = self._rows.get
        return np.fromiter((get(i, -1) for i in ids), dtype=np.int64, count=len(ids))

    def known(self, ids: Sequence[str]) -> Rows:
        """The rows of those ``ids`` that were seen, in order (unknown ids are left out).

        >>> space = RowSpace()
        >>> space.rows(["a", "b"]).tolist(), space.known(["b", "zz", "a"]).tolist()
        ([0, 1], [1, 0])
        """
        rows = self.lookup(ids)
        return rows[rows >= 0]

    def ids_of(self, rows: Iterable[int]) -> list[str]:
        ids = self.ids
        return [ids[r] for r in rows]

    def _grow(self, needed: int) -> None:
        capacity = self._capacity
        while capacity < needed:
            capacity *= 2
        self._capacity = capacity
        for column in self._columns:
            column.grow(capacity)


class Ragged:
    """A variable-length run of values per row (a row's genres, its tokens' codes), in flat arrays.

    Each row's run is ``fields[f][start : start + count]``; setting a row again appends its new
    run and leaves the old one as garbage, reclaimed when garbage passes half of what is used.
    :meth:`gather` reads the runs of many rows with a handful of numpy operations.

    >>> space = RowSpace()
    >>> genres = Ragged(space, [np.int32])
    >>> genres.set(space.row("a"), [np.array([3, 1])]); genres.set(space.row("b"), [np.array([2])])
    >>> genres.set(space.row("a"), [np.array([5])])
    >>> values, owner = genres.gather(np.array([0, 1, 0]))
    >>> values[0].tolist(), owner.tolist()
    ([5, 2, 5], [0, 1, 2])
    """

    def __init__(self, space: RowSpace, dtypes: Sequence[npt.DTypeLike]) -> None:
        self._start = space.column(np.int64)
        self._count = space.column(np.int32)
        self.fields = [np.zeros(1024, dtype=d) for d in dtypes]
        self._used = 0
        self._live = 0

    def set(self, row: int, values: Sequence[np.ndarray]) -> None:
        """The run of ``row`` is now ``values`` (one array per field, all of one length)."""
        n = len(values[0])
        self._live += n - int(self._count.data[row])
        if self._used + n > len(self.fields[0]):
            if self._used - self._live > self._live:
                self._compact()
            while self._used + n > len(self.fields[0]):
                self.fields = [np.concatenate([f, np.zeros_like(f)]) for f in self.fields]
        for field, value in zip(self.fields, values, strict=True):
            field[self._used : self._used + n] = value
        self._start.data[row], self._count.data[row] = self._used, n
        self._used += n

    def count(self, rows: Rows) -> np.ndarray:
        return self._count.data[rows]

    def get(self, row: int) -> list[np.ndarray]:
        start, n = int(self._start.data[row]), int(self._count.data[row])
        return [f[start : start + n] for f in self.fields]

    def gather(self, rows: Rows) -> tuple[list[np.ndarray], Rows]:
        """The runs of ``rows`` concatenated (one array per field), and for each value the
        position in ``rows`` it belongs to."""
        starts, counts = self._start.data[rows], self._count.data[rows].astype(np.int64)
        total = int(counts.sum())
        if total == 0:
            return [f[:0] for f in self.fields], np.empty(0, dtype=np.int64)
        owner = np.repeat(np.arange(len(rows)), counts)
        at = np.repeat(starts - (np.cumsum(counts) - counts), counts) + np.arange(total)
        return [f[at] for f in self.fields], owner

    def _compact(self) -> None:
        rows = np.flatnonzero(self._count.data > 0)
        values, owner = self.gather(rows)
        counts = self._count.data[rows].astype(np.int64)
        self._start.data[rows] = np.cumsum(counts) - counts
        self.fields = [np.concatenate([v, np.zeros(len(f) - len(v), dtype=f.dtype)]) for f, v in
                       zip(self.fields, values, strict=True)]  # fmt: skip
        self._used = self._live = int(counts.sum())
