"""The catalogue: its incremental most-popular list always equals a full recount; sampling pools."""

from __future__ import annotations

import heapq
import random

import pytest

from recsys.items.catalog import Catalog
from schemas import Item


def recount(cat: Catalog, n: int, exclude: set[str]) -> list[tuple[str, float]]:
    pool = ((float(cat.popularity_of([i])[0]), i) for i in cat.available_ids() if i not in exclude)
    return [(i, s) for s, i in heapq.nlargest(n, pool)]


@pytest.mark.parametrize("seed", range(5))
def test_most_popular_matches_a_full_recount_under_random_operations(seed: int) -> None:
    rng = random.Random(seed)
    cat = Catalog()
    ids = [f"i{n}" for n in range(400)]
    for step in range(4000):
        item = rng.choice(ids)
        op = rng.random()
        if op < 0.6:
            cat.observe(item)
            cat.add_popularity(item, rng.choice([0.5, 1.0, 2.0, 3.0]))
        elif op < 0.65:
            cat.upsert(Item(item, available=rng.random() < 0.5))
        elif op < 0.67:
            cat.remove(item)
        else:
            n = rng.choice([1, 10, 50, 300, 500])
            exclude = set(rng.sample(ids, rng.choice([0, 5, 100])))
            assert cat.most_popular(n, exclude) == recount(cat, n, exclude), f"step {step}"


def test_popularity_only_grows() -> None:
    with pytest.raises(ValueError, match="only grows"):
        Catalog().add_popularity("a", -1.0)


def test_engaged_negatives_come_from_available_items_someone_took() -> None:
    cat = Catalog()
    for n in range(100):
        cat.upsert(Item(f"i{n}"))
    rng = random.Random(0)
    assert len(cat.sample(rng, 5, engaged=True)) == 5  # too few engaged yet: all available items
    for n in range(10):
        cat.add_popularity(f"i{n}", 1.0)
    cat.upsert(Item("i0", available=False))
    drawn = {i for _ in range(50) for i in cat.sample(rng, 5, avoid={"i1"}, engaged=True)}
    assert drawn == {f"i{n}" for n in range(2, 10)}
    cat.upsert(Item("i0"))  # back in the catalogue, and still engaged
    assert "i0" in {i for _ in range(50) for i in cat.sample(rng, 5, engaged=True)}
    assert len({i for _ in range(50) for i in cat.sample(rng, 5)}) > 10  # plain sampling draws from all
