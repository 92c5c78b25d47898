"""The catalogue: its incremental most-popular list always equals a full recount; sampling pools."""

from __future__ import annotations

import heapq
import random

import numpy as np
import pytest

from recsys.items.catalog import Catalog
from recsys.rows import member
from schemas import Item


def recount(cat: Catalog, n: int, exclude: set[int]) -> list[tuple[int, float]]:
    """The ``n`` available rows not in ``exclude`` with the highest popularity (ties: the earlier row)."""
    pool = ((float(cat.popularity.data[r]), -r) for r in cat.available_rows().tolist() if r not in exclude)
    return [(-r, s) for s, r in heapq.nlargest(n, pool)]


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
            cat.add_popularity(cat.rows.find(item), rng.choice([0.5, 1.0, 2.0, 3.0]))
        elif op < 0.65:
            cat.upsert(Item(item, available=rng.random() < 0.5))
        elif op < 0.67:
            cat.remove(item)
        else:
            n = rng.choice([1, 10, 50, 300, 500])
            excluded = cat.rows.lookup(rng.sample(ids, rng.choice([0, 5, 100])))
            excluded = np.unique(excluded[excluded >= 0])
            allowed = None if not len(excluded) else lambda rows, excluded=excluded: ~member(rows, excluded)
            rows, popularity = cat.most_popular(n, allowed)
            assert rows.dtype == np.int64 and popularity.shape == rows.shape
            got = list(zip(rows.tolist(), popularity.tolist(), strict=True))
            assert got == recount(cat, n, set(excluded.tolist())), f"step {step}"


def test_popularity_only_grows() -> None:
    cat = Catalog()
    cat.observe("a")
    with pytest.raises(ValueError, match="only grows"):
        cat.add_popularity(cat.rows.find("a"), -1.0)


def test_engaged_negatives_come_from_available_items_someone_took() -> None:
    cat = Catalog()
    for n in range(100):
        cat.upsert(Item(f"i{n}"))
    rng = np.random.default_rng(0)
    nothing = np.empty(0, dtype=np.int64)

    def drawn(avoid: np.ndarray = nothing, engaged: bool = True) -> set[str]:
        return {i for _ in range(50) for i in cat.rows.ids_of(cat.sample(rng, 5, avoid, engaged=engaged).tolist())}

    assert len(cat.sample(rng, 5, nothing, engaged=True)) == 5  # too few engaged yet: all available items
    for n in range(10):
        cat.add_popularity(cat.rows.find(f"i{n}"), 1.0)
    cat.upsert(Item("i0", available=False))
    assert drawn(avoid=cat.rows.lookup(["i1"])) == {f"i{n}" for n in range(2, 10)}
    cat.upsert(Item("i0"))  # back in the catalogue, and still engaged
    assert "i0" in drawn()
    assert len(drawn(engaged=False)) > 10  # plain sampling draws from all
