"""Item-to-item similarity: co-visited first, never the item itself or an unavailable one."""

from __future__ import annotations

import pytest

from recsys.engine import Engine
from recsys.settings import Settings
from recsys.similar import similar_items
from schemas import Interaction, Item


def engine_with(n_items: int, backend: str = "brute") -> Engine:
    engine = Engine(Settings(ann_backend=backend))
    for n in range(n_items):
        engine.apply_item(Item(f"i{n}", attributes={"genres": ["Drama" if n % 2 else "Comedy"]}))
    return engine


def like(engine: Engine, event_id: str, user: str, item: str, ts: float = 1.0) -> None:
    engine.process(Interaction(event_id, user, item, "like", timestamp=ts))


@pytest.mark.parametrize("backend", ["brute", "hnsw"])
def test_the_co_visited_item_comes_first(backend: str) -> None:
    engine = engine_with(20, backend)
    for n, user in enumerate(["a", "b", "c"]):  # i0 then i7, three times
        like(engine, f"{user}-1", user, "i0", ts=n)
        like(engine, f"{user}-2", user, "i7", ts=n + 0.5)
    like(engine, "d-1", "d", "i0", ts=5)  # once with i3
    like(engine, "d-2", "d", "i3", ts=6)
    engine.refresh_index(tolerance=0.0)
    got = similar_items(engine.items, engine.indexes, "i0", k=5)
    assert [i.item_id for i in got[:2]] == ["i7", "i3"]
    assert got[0].sources[0] == "covisit"
    assert got[0].reasons[0] == "often taken together with i0"
    assert got[0].score == pytest.approx(sum(got[0].components.values()), abs=1e-5)
    assert [i.score for i in got] == sorted((i.score for i in got), reverse=True)
    assert len(got) == 5


def test_never_the_item_itself_nor_an_unavailable_one() -> None:
    engine = engine_with(12)
    for n in range(6):
        like(engine, f"e{n}", "u", f"i{n}", ts=n)
        like(engine, f"f{n}", "v", f"i{n}", ts=n)
    engine.refresh_index(tolerance=0.0)
    engine.apply_item(Item("i1", available=False))  # co-visited, MF- and content-near i0
    engine.remove_item("i2")
    for k in (1, 5, 50):
        listed = [i.item_id for i in similar_items(engine.items, engine.indexes, "i0", k=k)]
        assert "i0" not in listed and "i1" not in listed and "i2" not in listed
        assert len(listed) == len(set(listed)) == min(k, 9)
    sources = {s for i in similar_items(engine.items, engine.indexes, "i0", k=50) for s in i.sources}
    assert sources == {"covisit", "mf", "content"}


def test_an_item_without_history_gets_content_neighbours_only() -> None:
    engine = engine_with(6)
    got = similar_items(engine.items, engine.indexes, "i2", k=2)  # even ids are Comedy
    assert [i.sources for i in got] == [("content",), ("content",)]
    assert {i.item_id for i in got} == {"i0", "i4"}
    assert got[0].reasons == ("similar attributes",)


def test_an_unknown_item_raises_a_lookup_error_that_says_what_to_do() -> None:
    engine = engine_with(3)
    with pytest.raises(LookupError, match=r"unknown item 'nope': publish it on the items topic first"):
        similar_items(engine.items, engine.indexes, "nope", k=3)
    assert engine.similar("i0", k=1)[0].item_id == "i2"  # Engine.similar goes through here
