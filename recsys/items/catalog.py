"""The item catalogue: metadata, availability and popularity of every item, in columns of the row space.

Every worker holds all of it (any user's retrieval searches all items). Items first seen in
an interaction, before the catalogue mentions them, are taken as available. Besides each
item's record (title, attributes, publication time), the catalogue keeps what ranking reads
for hundreds of candidates per list as columns: availability, publication time, popularity,
the creator (an interned id), the click-bait flag and the genres (interned, ragged), so a
list reads them with one numpy gather instead of a dictionary lookup per candidate.

Examples
--------
>>> from schemas import Item
>>> cat = Catalog()
>>> cat.upsert(Item("a", title="A", attributes={"genres": ["Drama", "War"], "creator": "lean"}))
True
>>> cat.observe("b")  # an interaction names an unknown item: it is available (at row 1)
True
>>> cat.upsert(Item("a", available=False)); sorted(cat.available_ids())
False
['b']
>>> cat.add_popularity(1, 2.0); cat.popularity_of(["a", "b", "nope"]).tolist()
[0.0, 2.0, 0.0]
>>> cat.upsert(Item("c", attributes={"genres": "War|Drama"}, published_at=5.0))
True
>>> rows = cat.rows.rows(["a", "b", "c"])
>>> [cat.genre_names[g] for g in cat.genre_ids(rows)[2]], cat.ages(rows, now=15.0).tolist()
(['War', 'Drama'], [nan, nan, 10.0])
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsys.features import item_genres
from recsys.rows import Mask, Ragged, Rows, RowSpace, member
from schemas import Item


@dataclass
class ItemInfo:
    """What the catalogue knows of one item."""

    title: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    published_at: float | None = None
    available: bool = True


class SampleSet:
    """A set of rows with O(1) add, discard and uniform draw (kept in a numpy array, so a batch
    of draws is one gather).

    >>> bag = SampleSet(); bag.add(3); bag.add(5); bag.discard(3)
    >>> list(bag), 5 in bag, bag.draw(random.Random(0))
    ([5], True, 5)
    """

    def __init__(self) -> None:
        self._rows = np.empty(64, dtype=np.int64)
        self._n = 0
        self._pos: dict[int, int] = {}

    def __len__(self) -> int:
        return self._n

    def __contains__(self, row: object) -> bool:
        return row in self._pos

    def __iter__(self) -> Iterator[int]:
        return iter(self._rows[: self._n].tolist())

    def add(self, row: int) -> None:
        if row not in self._pos:
            if self._n == len(self._rows):
                self._rows = np.concatenate([self._rows, np.empty_like(self._rows)])
            self._pos[row] = self._n
            self._rows[self._n] = row
            self._n += 1

    def discard(self, row: int) -> None:
        index = self._pos.pop(row, None)
        if index is None:
            return
        self._n -= 1
        last = int(self._rows[self._n])
        if last != row:
            self._rows[index] = last
            self._pos[last] = index

    def draw(self, rng: random.Random) -> int:
        return int(self._rows[rng.randrange(self._n)])

    def draw_many(self, rng: np.random.Generator, n: int) -> Rows:
        """``n`` rows drawn uniformly with replacement."""
        if not self._n:
            return np.empty(0, dtype=np.int64)
        return self._rows[rng.integers(0, self._n, size=n)]

    def array(self) -> Rows:
        return self._rows[: self._n].copy()


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
        ids = self._catalog.rows.ids
        return (ids[r] for r in self._catalog.known_rows().tolist())

    def __len__(self) -> int:
        return len(self._catalog.known_rows())


class Catalog:
    """Item metadata and availability in columns of a :class:`RowSpace`, with O(1) uniform
    sampling of available items and an incrementally kept most-popular list."""

    def __init__(
        self, rows: RowSpace | None = None, creator_attribute: str = "creator", flag_attribute: str = "clickbait"
    ) -> None:
        self.rows = rows = RowSpace() if rows is None else rows
        self.creator_attribute = creator_attribute
        self.flag_attribute = flag_attribute
        self.info = rows.column(object, fill=None)  # ItemInfo of each known item
        self.available = rows.column(np.bool_)
        self.published = rows.column(np.float64, fill=math.nan)  # event-time seconds; NaN: unknown
        self.popularity = rows.column(np.float64)  # summed positive weight
        self.creator = rows.column(np.int32, fill=-1)  # index into creator_names; -1: none
        self.flagged = rows.column(np.bool_)  # the click-bait flag attribute is true
        self.creator_names: list[str] = []
        self.genre_names: list[str] = []
        self._creators: dict[str, int] = {}
        self._genres: dict[str, int] = {}
        self._genres_of = Ragged(rows, [np.int32])  # each item's interned genres
        self._order: list[int] = []  # known rows, first record first
        self._live = SampleSet()  # available rows
        self._engaged = SampleSet()  # available rows with a positive interaction
        # The exact top-``_top_size`` available items, best first (ties: the earlier row), as rows and
        # popularity, kept up to date incrementally (popularity only grows); rebuilt when an item of
        # it is withdrawn.
        self._top_rows = np.empty(0, dtype=np.int64)
        self._top_pops = np.empty(0)
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

    def add_popularity(self, row: int, weight: float) -> None:
        """Add ``weight`` (> 0) to an item's popularity."""
        if not 0 <= row < len(self.rows):
            raise IndexError(f"add_popularity: row {row} is not an item row (0 to {len(self.rows) - 1})")
        if weight <= 0:
            raise ValueError(f"popularity only grows; got weight {weight} for {self.rows.ids[row]!r}")
        old = float(self.popularity.data[row])
        self.popularity.data[row] = old + weight
        if row in self._live:
            self._engaged.add(row)
            self._offer(row, old)

    def _set(self, row: int, info: ItemInfo) -> None:
        if self.info.data[row] is None:
            self._order.append(row)
        self.info.data[row] = info
        attributes = info.attributes
        self.published.data[row] = math.nan if info.published_at is None else info.published_at
        creator = attributes.get(self.creator_attribute)
        self.creator.data[row] = -1 if creator is None else _intern(str(creator), self._creators, self.creator_names)
        self.flagged.data[row] = is_flagged(attributes.get(self.flag_attribute))
        genres = [_intern(g, self._genres, self.genre_names) for g in item_genres(attributes)]
        self._genres_of.set(row, [np.array(genres, dtype=np.int32)])

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
        row = self.rows.find(item_id)
        age = float(self.ages(np.array([row]), now)[0]) if row >= 0 else math.nan
        return None if math.isnan(age) else age

    def ages(self, rows: Rows, now: float) -> np.ndarray:
        """Seconds since each item was published, at ``now``; NaN when unknown or not yet out."""
        published = self.published.data[rows]
        with np.errstate(invalid="ignore"):
            return np.where(published <= now, now - published, np.nan)

    def available_ids(self) -> list[str]:
        return self.rows.ids_of(self._live)

    def available_rows(self) -> Rows:
        return self._live.array()

    def popularity_of(self, ids: Iterable[str]) -> np.ndarray:
        """The popularity of each id (0 for items never taken or unknown)."""
        rows = self.rows.lookup(list(ids))
        return np.where(rows >= 0, self.popularity.data[np.maximum(rows, 0)], 0.0)

    def creator_of(self, row: int) -> str | None:
        creator = int(self.creator.data[row])
        return None if creator < 0 else self.creator_names[creator]

    def genres(self, row: int) -> tuple[str, ...]:
        """The item's genres (as :func:`recsys.features.item_genres` reads them)."""
        return tuple(self.genre_names[g] for g in self._genres_of.get(row)[0].tolist())

    def genre_ids(self, rows: Rows) -> list[np.ndarray]:
        """Each row's interned genre ids (an array per row)."""
        return [self._genres_of.get(r)[0] for r in rows.tolist()]

    def genre_matrix(self, rows: Rows) -> tuple[np.ndarray, Rows]:
        """The genres of ``rows`` flattened: (genre ids, the position in ``rows`` each belongs to)."""
        values, owner = self._genres_of.gather(rows)
        return values[0], owner

    def sample(self, rng: np.random.Generator, n: int, avoid: Rows, engaged: bool = False) -> Rows:
        """Up to ``n`` distinct available rows drawn uniformly, none of them in ``avoid`` (sorted).

        With ``engaged``, only items someone has interacted with positively are drawn (the
        negatives MF learns most from: an item nobody took says nothing about taste); all
        available items while fewer than ``n`` are engaged.
        """
        pool = self._engaged if engaged and len(self._engaged) > n else self._live
        if not pool or n <= 0:
            return np.empty(0, dtype=np.int64)
        drawn = pool.draw_many(rng, 4 * n)
        drawn = drawn[~member(drawn, avoid)]
        _, first = np.unique(drawn, return_index=True)
        return np.sort(drawn[np.sort(first)[:n]])

    def most_popular(self, n: int, allowed: Mask | None = None) -> tuple[Rows, np.ndarray]:
        """The ``n`` allowed available items with the highest popularity (ties: the earlier row),
        best first, and their popularity."""
        while True:
            rows, pops = self._top_rows, self._top_pops
            complete = self._top_size > 0 and len(rows) == min(self._top_size, len(self._live))
            if complete:
                if allowed is not None and len(rows):
                    keep = allowed(rows)
                    rows, pops = rows[keep], pops[keep]
                if len(rows) >= n or len(self._top_rows) == len(self._live):
                    return rows[:n], pops[:n]
            self._rebuild_top(max(2 * self._top_size, 2 * n, 256))

    # ------------------------------------------------------------------ bookkeeping
    def _offer(self, row: int, old: float | None) -> None:
        """Keep the cached top list exact after ``row`` rose from ``old`` (None: it is new)."""
        if not self._top_size:
            return
        rows, pops, pop = self._top_rows, self._top_pops, float(self.popularity.data[row])
        found = np.flatnonzero(rows == row) if old is not None else np.empty(0, dtype=np.int64)
        if len(found):
            rows, pops = np.delete(rows, found[0]), np.delete(pops, found[0])
        elif len(rows) >= self._top_size and (pop < pops[-1] or (pop == pops[-1] and row > rows[-1])):
            return
        after = (pops < pop) | ((pops == pop) & (rows > row))  # the entries it goes before
        at = int(np.argmax(after)) if after.any() else len(rows)
        self._top_rows = np.insert(rows, at, row)[: self._top_size]
        self._top_pops = np.insert(pops, at, pop)[: self._top_size]

    def _rebuild_top(self, size: int) -> None:
        self._top_size = size
        live = self._live.array()
        pops = self.popularity.data[live]
        if len(live) > size:  # the `size` best exactly: those above the size-th value, then its ties by row
            last = -np.partition(-pops, size - 1)[size - 1]
            above, tied = live[pops > last], live[pops == last]
            need = size - len(above)
            tied = np.sort(np.partition(tied, need - 1)[:need]) if need < len(tied) else tied
            live = np.concatenate([above, tied])
            pops = self.popularity.data[live]
        order = np.lexsort((live, -pops))
        self._top_rows, self._top_pops = live[order], pops[order]

    def _set_live(self, row: int, live: bool) -> None:
        self.available.data[row] = live
        if live and row not in self._live:
            self._live.add(row)
            if self.popularity.data[row] > 0:
                self._engaged.add(row)
            self._offer(row, None)
        elif not live and row in self._live:
            if np.any(self._top_rows == row):
                self._top_rows, self._top_pops, self._top_size = self._top_rows[:0], self._top_pops[:0], 0
            self._live.discard(row)
            self._engaged.discard(row)


def is_flagged(value: Any) -> bool:
    """Whether an attribute value means "true": ``True``, ``1``, or ``"true"``/``"yes"``/``"1"`` in any case.

    >>> [is_flagged(v) for v in [True, 1, "Yes", "true", "1", None, False, 0, "no", "", 2]]
    [True, True, True, True, True, False, False, False, False, False, False]
    """
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    if isinstance(value, bool | int | float):
        return value == 1
    return False


def _intern(name: str, index: dict[str, int], names: list[str]) -> int:
    found = index.get(name)
    if found is None:
        found = index[name] = len(names)
        names.append(name)
    return found
