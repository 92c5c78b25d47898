"""Re-ranking steps: the new-item slot only reorders, and only for a new item that fits."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.items.catalog import Catalog
from recsys.request import Request
from recsys.rerank import NewItemSlot
from recsys.rows import Rows
from recsys.scoring import Scored
from recsys.state import UserState
from schemas import Item
from tests.conftest import rerank

NOW = 1000.0


def setup(fit: dict[str, float], published: dict[str, float]) -> tuple[NewItemSlot, list[Scored]]:
    catalog = Catalog()
    for item_id, at in published.items():
        catalog.upsert(Item(item_id, published_at=at))

    def fits(request: Request, rows: Rows) -> np.ndarray:
        return np.array([fit[i] for i in catalog.rows.ids_of(rows.tolist())])

    slot = NewItemSlot(catalog, lambda: NOW, fits, max_age=100.0)
    return slot, [Scored(i, float(-n), ("mf",)) for n, i in enumerate(published)]


def order(slot: NewItemSlot, ranked: list[Scored], k: int) -> list[str]:
    return [s.item_id for s in rerank(slot, Request(UserState("u"), None, k=k), ranked, slot.catalog.rows)]


def test_the_best_fitting_new_item_takes_the_last_slot_and_nothing_is_dropped() -> None:
    published = {"a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0, "n1": NOW - 50, "n2": NOW - 10}
    slot, ranked = setup({"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.1, "n1": 0.75, "n2": 0.72}, published)
    assert order(slot, ranked, k=3) == ["a", "b", "n1", "c", "d", "n2"]


def test_no_move_when_a_new_item_is_listed_or_none_is_new_enough_or_it_fits_less() -> None:
    published = {"a": 0.0, "n1": NOW - 10, "b": 0.0, "old": NOW - 500, "n2": NOW - 10}
    fit = {"a": 0.9, "n1": 0.1, "b": 0.5, "old": 0.99, "n2": 0.4}
    slot, ranked = setup(fit, published)
    assert order(slot, ranked, k=2) == list(published)  # n1 is already in the top 2
    assert order(slot, ranked, k=1) == list(published)  # a list of one keeps its best item
    slot, ranked = setup(fit, {"a": 0.0, "b": 0.0, "old": NOW - 500, "n2": NOW - 10})
    assert order(slot, ranked, k=2) == ["a", "b", "old", "n2"]  # "old" is not new; n2 fits less than b


def test_max_age_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_age"):
        NewItemSlot(Catalog(), lambda: NOW, lambda r, rows: None, max_age=0)
