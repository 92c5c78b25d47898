"""Beyond-accuracy measures of recommendation lists: diversity, novelty and exposure.

``ItemFacts`` is what these measures know of the catalogue: each item's genres and creator
(from the stream's ``Item`` records) and its count of positive events so far. One instance is
shared by every scoreboard of a replay, and its memory grows with the catalogue only.

- Intra-list diversity of a list: the mean over pairs of listed items of ``1 - Jaccard`` of
  their genre sets. Items without genres are left out of the pairs (their similarity is
  unknown, and counting them as dissimilar would reward lists of unlabelled items); a list
  with fewer than two items with genres has no diversity (``None``).
- Self-information of an item: ``-log2((positives(item) + 1) / (positives + catalogue))``,
  the popularity share with add-one smoothing over the items known so far, read when the
  list is made (before the tested event is learned).
- Gini of exposure: ``sum_i (2i - n - 1) x_i / (n sum x)`` over the ``n`` members of the
  population (every catalogue item, or every creator) sorted by exposure ascending, unexposed
  members included: 0 when all are shown equally often, ``(n - 1) / n`` when one gets every slot.

Examples
--------
>>> facts = ItemFacts()
>>> facts.item(Item("a", attributes={"genres": ["drama"], "creator": "ann"}))
>>> facts.item(Item("b", attributes={"genres": "drama|crime", "creator": "ann"}))
>>> facts.item(Item("c"))
>>> facts.intra_list_diversity(["a", "b", "c"])  # c has no genres: one pair, a-b
0.5
>>> facts.positive("a"); facts.positive("a")
>>> round(facts.self_information("a"), 3), round(facts.self_information("c"), 3)  # 3/5 and 1/5
(0.737, 2.322)
>>> gini([5, 5, 5], 3), gini([9], 3), facts.creator("c")
(0.0, 0.6666666666666666, 'c')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import combinations

from recsys.features import item_genres
from schemas import Item


class ItemFacts:
    """Genres, creators and positive counts of the catalogue seen so far in a replay."""

    def __init__(self) -> None:
        self.catalogue: set[str] = set()
        self.genres: dict[str, frozenset[str]] = {}
        self.creators: dict[str, str] = {}
        self.positives: dict[str, int] = {}
        self.total_positives = 0

    def item(self, item: Item) -> None:
        """Learn (or update) an item's genres and creator from its catalogue record."""
        self.catalogue.add(item.item_id)
        genres = frozenset(item_genres(item.attributes))
        if genres:
            self.genres[item.item_id] = genres
        else:
            self.genres.pop(item.item_id, None)
        creator = item.attributes.get("creator")
        if creator:
            self.creators[item.item_id] = str(creator)
        else:
            self.creators.pop(item.item_id, None)

    def positive(self, item_id: str) -> None:
        """One more positive event on ``item_id``."""
        self.positives[item_id] = self.positives.get(item_id, 0) + 1
        self.total_positives += 1

    def creator(self, item_id: str) -> str:
        """The item's creator; an item without one is its own creator (so on a catalogue
        without creators, creator exposure is item exposure)."""
        return self.creators.get(item_id, item_id)

    def self_information(self, item_id: str) -> float:
        share = (self.positives.get(item_id, 0) + 1) / (self.total_positives + max(len(self.catalogue), 1))
        return -math.log2(share)

    def novelty(self, listed: Sequence[str]) -> float | None:
        """Mean self-information of the listed items (``None`` for an empty list)."""
        if not listed:
            return None
        return sum(self.self_information(i) for i in listed) / len(listed)

    def intra_list_diversity(self, listed: Sequence[str]) -> float | None:
        """Mean genre dissimilarity over pairs of listed items that have genres."""
        sets = [g for g in (self.genres.get(i) for i in listed) if g]
        if len(sets) < 2:
            return None
        total = sum(1.0 - len(a & b) / len(a | b) for a, b in combinations(sets, 2))
        return total / (len(sets) * (len(sets) - 1) / 2)


def gini(exposed: Iterable[int], population: int) -> float | None:
    """Gini coefficient of exposure counts over ``population`` members; members missing
    from ``exposed`` had none. ``None`` when nothing was exposed."""
    xs = sorted(x for x in exposed if x > 0)
    n = max(population, len(xs))
    total = sum(xs)
    if not total:
        return None
    zeros = n - len(xs)
    weighted = sum((2 * (zeros + j) - n - 1) * x for j, x in enumerate(xs, start=1))
    return weighted / (n * total)
