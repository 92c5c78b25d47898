"""Accuracy, coverage, diversity, novelty and exposure of one model over a prequential replay.

``coverage`` is the share of the catalogue (every item seen in the stream by the end) that
appeared in at least one list; ``new_item_reach`` the share of the items published during the
replay that were listed to someone while new (see :mod:`recsys.evaluate.replay`), the reach
exploration buys. ``ild@k``, ``novelty@k`` are means over lists (see
``recsys.evaluate.beyond``); ``gini@k`` and ``item_gini@k`` are Gini coefficients of how many
list slots each creator and each catalogue item got over the whole replay.

Examples
--------
>>> m = Scoreboard(k=3, catalogue_size=lambda: 10)
>>> m.record(["a", "b", "c"], "b", fallback=False, seconds=0.001)
>>> m.record(["a", "b", "c"], "z", fallback=True, seconds=0.001)
>>> s = m.summary()
>>> s["hr@3"], round(s["ndcg@3"], 3), s["mrr@3"], s["coverage"], s["cold_fallback_share"]
(0.5, 0.315, 0.25, 0.3, 0.5)

With item facts (genres, creators, popularity), the beyond-accuracy measures:

>>> from schemas import Item
>>> facts = ItemFacts()
>>> for i, genre in [("a", "drama"), ("b", "drama"), ("c", "crime")]:
...     facts.item(Item(i, attributes={"genres": [genre], "creator": "ann" if i in "ab" else "bob"}))
>>> m = Scoreboard(k=2, catalogue_size=lambda: len(facts.catalogue), items=facts)
>>> m.record(["a", "b"], "a", fallback=False, seconds=0.0)  # same genre: ILD 0
>>> m.record(["a", "c"], "c", fallback=False, seconds=0.0)  # disjoint genres: ILD 1
>>> s = m.summary()
>>> s["ild@2"], round(s["novelty@2"], 3), round(s["item_gini@2"], 3), round(s["gini@2"], 3)
(0.5, 1.585, 0.167, 0.25)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from recsys.evaluate.beyond import ItemFacts, gini


class Scoreboard:
    """Hits, ranks and timings of one model; ``over_time`` keeps HR@k per window of tests."""

    def __init__(
        self, k: int, catalogue_size: Callable[[], int], window: int = 1000, items: ItemFacts | None = None
    ) -> None:
        self.k = k
        self.items = items if items is not None else ItemFacts()
        self.catalogue_size = catalogue_size
        self.window = window
        self.tests = self.hits = 0
        self.ndcg = self.mrr = 0.0
        self.fallbacks = 0
        self.recommended: set[str] = set()
        self.reached: set[str] = set()  # items listed while new
        self.seconds = 0.0
        self.events = 0
        self.over_time: list[tuple[int, float]] = []
        self._window_hits = self._window_tests = 0
        self.segments: dict[str, list[int]] = {}
        self.exposure: dict[str, int] = {}  # list slots per item, bounded by the catalogue
        self.ild = self.novelty = 0.0
        self._ild_lists = self._novelty_lists = 0

    def record(
        self, listed: list[str], target: str, fallback: bool, seconds: float, segments: tuple[str, ...] = (),
        new: tuple[str, ...] = (),
    ) -> None:
        """One test: ``listed`` was recommended, the user then interacted with ``target``; ``new``:
        the listed items that were new then."""
        self.tests += 1
        self.reached.update(new)
        self.seconds += seconds
        self.fallbacks += fallback
        self.recommended.update(listed)
        self._beyond(listed[: self.k])
        rank = listed.index(target) + 1 if target in listed[: self.k] else 0
        if rank:
            self.hits += 1
            self.ndcg += 1.0 / math.log2(rank + 1)
            self.mrr += 1.0 / rank
        for name in segments:
            seg = self.segments.setdefault(name, [0, 0])
            seg[0] += 1
            seg[1] += bool(rank)
        self._window_tests += 1
        self._window_hits += bool(rank)
        if self._window_tests == self.window:
            self.over_time.append((self.tests, self._window_hits / self._window_tests))
            self._window_hits = self._window_tests = 0

    def _beyond(self, top: list[str]) -> None:
        for item in top:
            self.exposure[item] = self.exposure.get(item, 0) + 1
        ild = self.items.intra_list_diversity(top)
        if ild is not None:
            self.ild += ild
            self._ild_lists += 1
        novelty = self.items.novelty(top)
        if novelty is not None:
            self.novelty += novelty
            self._novelty_lists += 1

    def learned(self, seconds: float) -> None:
        """Time spent learning one event."""
        self.events += 1
        self.seconds += seconds

    def summary(self, published: set[str] | None = None) -> dict[str, Any]:
        """The measures; ``published``: the items published during the replay (for ``new_item_reach``)."""
        k, tests = self.k, max(self.tests, 1)
        out: dict[str, Any] = {
            f"hr@{k}": self.hits / tests,
            f"ndcg@{k}": self.ndcg / tests,
            f"mrr@{k}": self.mrr / tests,
            "coverage": len(self.recommended) / max(self.catalogue_size(), 1),
            "new_item_reach": len(self.reached & published) / len(published) if published else None,
            "cold_fallback_share": self.fallbacks / tests,
            **self._beyond_summary(),
            "tests": self.tests,
            "events": self.events,
            "seconds": self.seconds,
            "ms_per_event": 1000.0 * self.seconds / max(self.events, 1),
        }
        for name, (n, hits) in sorted(self.segments.items()):
            out[f"hr@{k}[{name}]"] = hits / n if n else 0.0
            out[f"tests[{name}]"] = n
        out[f"hr@{k}_over_time"] = list(self.over_time)
        return out

    def _beyond_summary(self) -> dict[str, float | None]:
        """``None`` where a measure is undefined (no list had two items with genres; nothing listed)."""
        k = self.k
        population = self.items.catalogue | self.exposure.keys()
        by_creator: dict[str, int] = {}
        for item, n in self.exposure.items():
            creator = self.items.creator(item)
            by_creator[creator] = by_creator.get(creator, 0) + n
        creators = {self.items.creator(i) for i in population}
        return {
            f"ild@{k}": self.ild / self._ild_lists if self._ild_lists else None,
            f"novelty@{k}": self.novelty / self._novelty_lists if self._novelty_lists else None,
            f"gini@{k}": gini(by_creator.values(), len(creators)),
            f"item_gini@{k}": gini(self.exposure.values(), len(population)),
        }
