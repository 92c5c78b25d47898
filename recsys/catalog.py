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
from collections.abc import Iterable
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


class Catalog:
    """Item metadata and availability, with O(1) uniform sampling of available items."""

    def __init__(self) -> None:
        self.items: dict[str, ItemInfo] = {}
        self.popularity: dict[str, float] = {}
        self._live: list[str] = []
        self._pos: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._live)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._pos

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
        return item_id in self._pos

    def available_ids(self) -> list[str]:
        return list(self._live)

    def sample(self, rng: random.Random, n: int, avoid: Iterable[str] = ()) -> list[str]:
        """Up to ``n`` distinct available items drawn uniformly, none of them in ``avoid``."""
        avoid = set(avoid)
        if len(self._live) <= len(avoid):
            return []
        picked: set[str] = set()
        for _ in range(4 * n):
            if len(picked) == n:
                break
            candidate = self._live[rng.randrange(len(self._live))]
            if candidate not in avoid:
                picked.add(candidate)
        return sorted(picked)

    def add_popularity(self, item_id: str, weight: float) -> None:
        self.popularity[item_id] = self.popularity.get(item_id, 0.0) + weight

    def most_popular(self, n: int, exclude: set[str] | frozenset[str] = frozenset()) -> list[tuple[str, float]]:
        """The ``n`` available items with the highest popularity, ties broken by id."""
        scored = ((self.popularity.get(i, 0.0), i) for i in self._live if i not in exclude)
        return [(i, s) for s, i in heapq.nlargest(n, scored)]

    def _set_live(self, item_id: str, live: bool) -> None:
        if live and item_id not in self._pos:
            self._pos[item_id] = len(self._live)
            self._live.append(item_id)
        elif not live and item_id in self._pos:
            index = self._pos.pop(item_id)
            last = self._live.pop()
            if last != item_id:
                self._live[index] = last
                self._pos[last] = index
