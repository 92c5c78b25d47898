"""The item catalogue: metadata, availability and popularity of every item.

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
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from schemas import Item


@dataclass
class ItemInfo:
    """What the catalogue knows of one item."""

    title: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    published_at: float | None = None
    available: bool = True


class SampleSet:
    """A set of ids with O(1) add, discard and uniform draw.

    >>> bag = SampleSet(); bag.add("a"); bag.add("b"); bag.discard("a")
    >>> list(bag), "b" in bag, bag.draw(random.Random(0))
    (['b'], True, 'b')
    """

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._pos: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._pos

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def add(self, item_id: str) -> None:
        if item_id not in self._pos:
            self._pos[item_id] = len(self._ids)
            self._ids.append(item_id)

    def discard(self, item_id: str) -> None:
        index = self._pos.pop(item_id, None)
        if index is None:
            return
        last = self._ids.pop()
        if last != item_id:
            self._ids[index] = last
            self._pos[last] = index

    def draw(self, rng: random.Random) -> str:
        return self._ids[rng.randrange(len(self._ids))]


class Catalog:
    """Item metadata and availability, with O(1) uniform sampling of available items."""

    def __init__(self) -> None:
        self.items: dict[str, ItemInfo] = {}
        self.popularity: dict[str, float] = {}
        self._live = SampleSet()  # available items
        self._engaged = SampleSet()  # available items with a positive interaction
        # The exact top-``_top_size`` available items as (popularity, id), best first, kept
        # up to date incrementally (popularity only grows); rebuilt when availability changes.
        self._top: list[tuple[float, str]] = []
        self._top_size = 0

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._live

    def upsert(self, item: Item) -> bool:
        """Apply a catalogue record; returns whether the item is available afterwards."""
        self.items[item.item_id] = ItemInfo(item.title, dict(item.attributes), item.published_at, item.available)
        self._set_live(item.item_id, item.available)
        return item.available

    def remove(self, item_id: str) -> None:
        """A tombstone: the item is gone from every future recommendation."""
        info = self.items.setdefault(item_id, ItemInfo())
        info.available = False
        self._set_live(item_id, False)

    def observe(self, item_id: str) -> bool:
        """An interaction names ``item_id``; register it if unknown. Returns its availability."""
        if item_id not in self.items:
            self.items[item_id] = ItemInfo()
            self._set_live(item_id, True)
        return self.items[item_id].available

    def is_available(self, item_id: str) -> bool:
        return item_id in self._live

    def age(self, item_id: str, now: float) -> float | None:
        """Seconds since the item was published, at ``now``; None when unknown or not yet out."""
        info = self.items.get(item_id)
        if info is None or info.published_at is None or info.published_at > now:
            return None
        return now - info.published_at

    def available_ids(self) -> list[str]:
        return list(self._live)

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
        picked: set[str] = set()
        for _ in range(4 * n):
            if len(picked) == n:
                break
            candidate = pool.draw(rng)
            if candidate not in avoid:
                picked.add(candidate)
        return sorted(picked)

    def add_popularity(self, item_id: str, weight: float) -> None:
        """Add ``weight`` (> 0) to an item's popularity."""
        if weight <= 0:
            raise ValueError(f"popularity only grows; got weight {weight} for {item_id!r}")
        old = self.popularity.get(item_id, 0.0)
        self.popularity[item_id] = old + weight
        if item_id in self._live:
            self._engaged.add(item_id)
            self._offer(item_id, old)

    def most_popular(self, n: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        """The ``n`` available items with the highest popularity, ties broken by id."""
        while True:
            picked = [(i, s) for s, i in self._top if i not in exclude][:n]
            complete = self._top_size > 0 and len(self._top) == min(self._top_size, len(self._live))
            if complete and (len(picked) == n or len(self._top) == len(self._live)):
                return picked
            self._rebuild_top(max(2 * self._top_size, 2 * (n + len(exclude)), 256))

    def _offer(self, item_id: str, old: float | None) -> None:
        """Keep the cached top list exact after ``item_id`` rose from ``old`` (None: it is new)."""
        if not self._top_size:
            return
        top, entry = self._top, (self.popularity.get(item_id, 0.0), item_id)
        if old is not None and (old, item_id) in top:  # a few hundred entries: cheap
            top.remove((old, item_id))
        elif len(top) >= self._top_size and entry <= top[-1]:
            return
        top.append(entry)
        top.sort(reverse=True)
        del top[self._top_size :]

    def _rebuild_top(self, size: int) -> None:
        self._top_size = size
        self._top = heapq.nlargest(size, ((self.popularity.get(i, 0.0), i) for i in self._live))

    def _set_live(self, item_id: str, live: bool) -> None:
        if live and item_id not in self._live:
            self._live.add(item_id)
            if self.popularity.get(item_id, 0.0) > 0:
                self._engaged.add(item_id)
            self._offer(item_id, None)
        elif not live and item_id in self._live:
            if (self.popularity.get(item_id, 0.0), item_id) in self._top:
                self._top, self._top_size = [], 0  # rebuilt on the next request
            self._live.discard(item_id)
            self._engaged.discard(item_id)
