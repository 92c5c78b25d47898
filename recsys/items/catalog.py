"""The item catalogue: metadata, availability and popularity of every item, in columns of the row space.

Every worker holds all of it (any user's retrieval searches all items). Items first seen in
an interaction, before the catalogue mentions them, are taken as available.

Examples
--------
>>> from schemas import Item
>>> cat = Catalog()
>>> cat.upsert(Item("a", title="A")); cat.observe("b")
True
True
>>> cat.upsert(Item("a", available=False)); sorted(cat.available_ids())
False
['b']
>>> cat.add_popularity("b", 2.0); cat.popularity_of(["a", "b", "nope"]).tolist()
[0.0, 2.0, 0.0]
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsys.rows import Rows, RowSpace
from schemas import Item


@dataclass
class ItemInfo:
    """What the catalogue knows of one item."""

    title: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    published_at: float | None = None
    available: bool = True


class SampleSet:
    """A set of rows with O(1) add, discard and uniform draw.

    >>> bag = SampleSet(); bag.add(3); bag.add(5); bag.discard(3)
    >>> list(bag), 5 in bag, bag.draw(random.Random(0))
    ([5], True, 5)
    """

    def __init__(self) -> None:
        self._rows: list[int] = []
        self._pos: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, row: object) -> bool:
        return row in self._pos

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows)

    def add(self, row: int) -> None:
        if row not in self._pos:
            self._pos[row] = len(self._rows)
            self._rows.append(row)

    def discard(self, row: int) -> None:
        index = self._pos.pop(row, None)
        if index is None:
            return
        last = self._rows.pop()
        if last != row:
            self._rows[index] = last
            self._pos[last] = index

    def draw(self, rng: random.Random) -> int:
        return self._rows[rng.randrange(len(self._rows))]


class Records(Mapping[str, ItemInfo]):
    """The catalogue's records by item id (read-only): every item the catalogue knows."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def __getitem__(self, item_id: str) -> ItemInfo:
        info = self._catalog.record(self._catalog.rows.find(item_id))
        if info is None:
            raise KeyError(item_id)
        return info

    def get(self, item_id: str, default: Any = None) -> Any:
        info = self._catalog.record(self._catalog.rows.find(item_id))
        return default if info is None else info

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, str) and self._catalog.record(self._catalog.rows.find(item_id)) is not None

    def __iter__(self) -> Iterator[str]:
        rows, ids = self._catalog.known_rows(), self._catalog.rows.ids
        return (ids[r] for r in rows.tolist())

    def __len__(self) -> int:
        return len(self._catalog.known_rows())


class Catalog:
    """Item metadata and availability in columns of a :class:`RowSpace`, with O(1) uniform
    sampling of available items and an incrementally kept most-popular list."""

    def __init__(self, rows: RowSpace | None = None) -> None:
        self.rows = rows = RowSpace() if rows is None else rows
        self.info = rows.column(object, fill=None)  # ItemInfo of each known item
        self.available = rows.column(np.bool_)
        self.published = rows.column(np.float64, fill=math.nan)  # event-time seconds; NaN: unknown
        self.popularity = rows.column(np.float64)  # summed positive weight
        self._order: list[int] = []  # known rows, first record first
        self._live = SampleSet()  # available rows
        self._engaged = SampleSet()  # available rows with a positive interaction
        # The exact top-``_top_size`` available items as (popularity, id), best first, kept
        # up to date incrementally (popularity only grows); rebuilt when availability changes.
        self._top: list[tuple[float, str]] = []
        self._top_size = 0

    @property
    def items(self) -> Records:
        """Every known item's record, by id."""
        return Records(self)

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, str) and self.rows.find(item_id) in self._live

    # ------------------------------------------------------------------ writes
    def upsert(self, item: Item) -> bool:
        """Apply a catalogue record; returns whether the item is available afterwards."""
        row = self.rows.row(item.item_id)
        self._set(row, ItemInfo(item.title, dict(item.attributes), item.published_at, item.available))
        self._set_live(row, item.available)
        return item.available

    def remove(self, item_id: str) -> None:
        """A tombstone: the item is gone from every future recommendation."""
        row = self.rows.row(item_id)
        info = self.record(row)
        if info is None:
            info = ItemInfo()
            self._set(row, info)
        info.available = False
        self._set_live(row, False)

    def observe(self, item_id: str) -> bool:
        """An interaction names ``item_id``; register it if unknown. Returns its availability."""
        row = self.rows.row(item_id)
        info = self.record(row)
        if info is None:
            self._set(row, ItemInfo())
            self._set_live(row, True)
            return True
        return info.available

    def add_popularity(self, item_id: str, weight: float) -> None:
        """Add ``weight`` (> 0) to an item's popularity."""
        if weight <= 0:
            raise ValueError(f"popularity only grows; got weight {weight} for {item_id!r}")
        row = self.rows.row(item_id)
        old = float(self.popularity.data[row])
        self.popularity.data[row] = old + weight
        if row in self._live:
            self._engaged.add(row)
            self._offer(row, old)

    def _set(self, row: int, info: ItemInfo) -> None:
        if self.info.data[row] is None:
            self._order.append(row)
        self.info.data[row] = info
        self.published.data[row] = math.nan if info.published_at is None else info.published_at

    # ------------------------------------------------------------------ reads
    def record(self, row: int) -> ItemInfo | None:
        """The record of ``row`` (None for -1 or an item the catalogue does not know)."""
        return None if row < 0 else self.info.data[row]

    def known_rows(self) -> Rows:
        """Rows of every known item, first recorded first."""
        return np.asarray(self._order, dtype=np.int64)

    def is_available(self, item_id: str) -> bool:
        return self.rows.find(item_id) in self._live

    def age(self, item_id: str, now: float) -> float | None:
        """Seconds since the item was published, at ``now``; None when unknown or not yet out."""
        info = self.record(self.rows.find(item_id))
        if info is None or info.published_at is None or info.published_at > now:
            return None
        return now - info.published_at

    def available_ids(self) -> list[str]:
        return self.rows.ids_of(self._live)

    def popularity_of(self, ids: Iterable[str]) -> np.ndarray:
        """The popularity of each id (0 for items never taken or unknown)."""
        rows = self.rows.lookup(list(ids))
        return np.where(rows >= 0, self.popularity.data[np.maximum(rows, 0)], 0.0)

    def sample(self, rng: random.Random, n: int, avoid: Iterable[str] = (), engaged: bool = False) -> list[str]:
        """Up to ``n`` distinct available items drawn uniformly, none of them in ``avoid``.

        With ``engaged``, only items someone has interacted with positively are drawn (the
        negatives MF learns most from: an item nobody took says nothing about taste); all
        available items while fewer than ``n`` are engaged.
        """
        pool = self._engaged if engaged and len(self._engaged) > n else self._live
        avoid = set(avoid)
        if not pool:
            return []
        ids = self.rows.ids
        picked: set[str] = set()
        for _ in range(4 * n):
            if len(picked) == n:
                break
            candidate = ids[pool.draw(rng)]
            if candidate not in avoid:
                picked.add(candidate)
        return sorted(picked)

    def most_popular(self, n: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        """The ``n`` available items with the highest popularity, ties broken by id."""
        while True:
            picked = [(i, s) for s, i in self._top if i not in exclude][:n]
            complete = self._top_size > 0 and len(self._top) == min(self._top_size, len(self._live))
            if complete and (len(picked) == n or len(self._top) == len(self._live)):
                return picked
            self._rebuild_top(max(2 * self._top_size, 2 * (n + len(exclude)), 256))

    # ------------------------------------------------------------------ bookkeeping
    def _offer(self, row: int, old: float | None) -> None:
        """Keep the cached top list exact after ``row`` rose from ``old`` (None: it is new)."""
        if not self._top_size:
            return
        item_id = self.rows.ids[row]
        top, entry = self._top, (float(self.popularity.data[row]), item_id)
        if old is not None and (old, item_id) in top:  # a few hundred entries: cheap
            top.remove((old, item_id))
        elif len(top) >= self._top_size and entry <= top[-1]:
            return
        top.append(entry)
        top.sort(reverse=True)
        del top[self._top_size :]

    def _rebuild_top(self, size: int) -> None:
        self._top_size = size
        pop, ids = self.popularity.data, self.rows.ids
        self._top = heapq.nlargest(size, ((float(pop[r]), ids[r]) for r in self._live))

    def _set_live(self, row: int, live: bool) -> None:
        self.available.data[row] = live
        if live and row not in self._live:
            self._live.add(row)
            if self.popularity.data[row] > 0:
                self._engaged.add(row)
            self._offer(row, None)
        elif not live and row in self._live:
            if (float(self.popularity.data[row]), self.rows.ids[row]) in self._top:
                self._top, self._top_size = [], 0  # rebuilt on the next request
            self._live.discard(row)
            self._engaged.discard(row)
