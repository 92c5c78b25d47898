"""The engine in-process: learning, exclusions, dedupe, availability, snapshots."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings
from schemas import Interaction, Item


def engine_with(n_items: int, **settings: object) -> Engine:
    engine = Engine(Settings(**settings))  # type: ignore[arg-type]
    for n in range(n_items):
        engine.apply_item(Item(f"i{n}"))
    return engine


def ev(event_id: str, user: str, item: str, kind: str = "like", value: float | None = None) -> Interaction:
    return Interaction(event_id, user, item, kind, timestamp=1.0, value=value)


@pytest.mark.parametrize("backend", ["hnsw", "brute"])
def test_exclusions_hold_even_when_k_exceeds_what_is_left(backend: str) -> None:
    engine = engine_with(12, ann_backend=backend, k=10)
    for n in range(5):
        engine.process(ev(f"e{n}", "u", f"i{n}"))
    engine.process(ev("d", "u", "i5", kind="dislike"))
    engine.apply_item(Item("i6", available=False))
    engine.remove_item("i7")
    eligible = {f"i{n}" for n in range(8, 12)}
    for k in (3, 4, 10, 50):
        listed = [r.item_id for r in engine.recommend("u", k=k, exclude={"i8"})]
        assert len(listed) == len(set(listed)) == min(k, len(eligible) - 1)
        assert set(listed) <= eligible - {"i8"}


def test_never_fewer_than_k_when_k_eligible_items_exist() -> None:
    engine = engine_with(300, candidates=5, k=20)
    for n in range(40):
        engine.process(ev(f"e{n}", "u", f"i{n}"))
    listed = [r.item_id for r in engine.recommend("u")]
    assert len(listed) == 20 and not set(listed) & {f"i{n}" for n in range(40)}


def test_a_redelivered_event_is_applied_once() -> None:
    engine = engine_with(20)
    first = engine.process(ev("same", "u", "i1"))
    vector = list(engine.user_state("u").vector or [])
    second = engine.process(ev("same", "u", "i1"))
    assert first.applied and first.recommendation is not None
    assert not second.applied and second.recommendation is None
    assert engine.user_state("u").vector == vector and engine.user_state("u").events == 1


def test_unavailable_items_leave_every_list_at_once() -> None:
    engine = engine_with(30, ann_backend="hnsw")
    for n in range(10):
        engine.process(ev(f"e{n}", f"u{n}", "i0"))  # i0 becomes the most popular
    assert engine.recommend("newcomer")[0].item_id == "i0"
    engine.apply_item(Item("i0", available=False))
    assert all(r.item_id != "i0" for u in ["newcomer", "u1"] for r in engine.recommend(u, k=30))
    engine.apply_item(Item("i0", available=True))
    assert engine.recommend("newcomer")[0].item_id == "i0"


def test_a_new_user_gets_the_most_popular_items() -> None:
    engine = engine_with(30)
    for n, item in enumerate(["i3", "i3", "i3", "i7", "i7", "i9"]):
        engine.process(ev(f"e{n}", f"u{n}", item))
    assert [r.item_id for r in engine.recommend("stranger", k=3)] == ["i3", "i7", "i9"]
    assert engine.recommend("stranger", k=3)[0].sources == ("popular",)


def test_the_model_recovers_planted_taste_clusters() -> None:
    world = SyntheticWorld(users=100, items=200, clusters=4, affinity=0.95, dislike_rate=0.0, seed=8)
    engine = Engine(Settings(ann_backend="hnsw", generators="mf,popular", scorer="mf"))  # MF alone
    for item in world.catalogue():
        engine.apply_item(item)
    for event in world.interactions(6000):
        engine.apply(event)
        engine.maybe_refresh()
    shares = []
    for user in list(world.user_cluster)[:40]:
        own = world.cluster_of_user(user)
        listed = engine.recommend(user)
        shares.append(sum(world.cluster_of_item(r.item_id) == own for r in listed) / len(listed))
    # chance is 1 in 4; the planted structure is recovered well above it
    assert sum(shares) / len(shares) >= 0.6


def test_a_snapshot_restores_item_state_and_lists(tmp_path: Path) -> None:
    world = SyntheticWorld(users=30, items=80, clusters=4, seed=2)
    users: dict[str, object] = {}
    engine = Engine(Settings(), users=users)  # type: ignore[arg-type]
    for item in world.catalogue():
        engine.apply_item(item)
    for event in world.interactions(1500):
        engine.process(event)
    engine.apply_item(Item("i5", available=False))
    engine.save(tmp_path)
    expected = {u: engine.recommend(u) for u in list(world.user_cluster)[:10]}

    restored = Engine(Settings(), users=users)  # type: ignore[arg-type]  # the user table survives on its own
    assert restored.load(tmp_path)
    assert restored.model_version == engine.model_version
    assert not restored.catalog.is_available("i5") and len(restored.indexes.mf) == len(engine.indexes.mf)
    got = {u: restored.recommend(u) for u in expected}
    assert [[r.item_id for r in v] for v in got.values()] == [[r.item_id for r in v] for v in expected.values()]


def test_the_index_is_rewritten_only_for_vectors_that_moved_enough() -> None:
    engine = engine_with(50, index_tolerance=0.5, init_std=0.1, learning_rate=0.02, user_learning_rate=0.02)
    engine.process(ev("e0", "u", "i1"))
    engine.refresh_index()
    row = engine.items.rows.find("i1")  # the MF index is labelled by item row

    def indexed() -> np.ndarray:
        vectors, present = engine.indexes.mf.indexed([row])
        assert present[0]
        return vectors[0]

    before = indexed()
    engine.process(ev("e1", "u2", "i1"))  # one small SGD step: within tolerance, the index keeps the old vector
    assert row in engine.indexes.dirty
    assert engine.refresh_index() == 0
    assert np.array_equal(indexed(), before)
    assert not np.allclose(engine.items.model.item_vector("i1"), before)
    engine.indexes.dirty.add(row)
    assert engine.refresh_index(tolerance=0.0) == 1  # any change is written with tolerance 0
    assert np.allclose(indexed(), engine.items.model.item_vector("i1"))


@pytest.mark.parametrize("backend", ["hnsw", "brute"])
def test_a_refresh_past_its_time_writes_one_chunk_into_hnswlib_and_the_rest_at_the_next(backend: str) -> None:
    engine = engine_with(40, ann_backend=backend, index_refresh_ms=1e-9, index_refresh_events=10**6, generators="mf",
                         index_background_writes=False)  # fmt: skip
    for n in range(20):
        engine.apply(ev(f"e{n}", f"u{n}", f"i{n}"))
    pending = set(engine.indexes.dirty)
    assert len(pending) >= 20
    written = engine.indexes.refresh(limited=True)
    if backend == "brute":  # an exact index is never limited
        assert written == len(pending) and not engine.indexes.dirty
        return
    assert written == 8 and engine.indexes.dirty == pending - set(engine.indexes.mf.labels().tolist())
    refreshes = 1
    while engine.indexes.dirty:
        written += engine.indexes.refresh(limited=True)
        refreshes += 1
    assert written == len(pending) == len(engine.indexes.mf) and refreshes == -(-len(pending) // 8)
    for n in range(20, 40):
        engine.apply(ev(f"e{n}", f"u{n}", f"i{n}"))
    changed = len(engine.indexes.dirty)
    assert engine.refresh_index(tolerance=0.0) == changed > 8  # an explicit refresh is not limited
    assert not engine.indexes.dirty


def test_loading_without_a_snapshot_says_so(tmp_path: Path) -> None:
    assert Engine(Settings()).load(tmp_path / "nothing-here") is False


def test_user_state_naming_items_this_engine_never_saw_teaches_nothing_about_them() -> None:
    """User state can outlive item state (a snapshot of an older format is ignored; the user table
    is not): items the user's history names but the engine does not know are left out of what
    an event teaches, never learned as row -1."""
    old = engine_with(5)
    old.process(ev("e0", "u", "gone"))  # an item only the old engine knew
    engine = Engine(Settings(), users=old.users)
    for n in range(5):
        engine.apply_item(Item(f"i{n}"))
    engine.process(ev("e1", "u", "i1"))
    assert -1 not in engine.items.covisitation.rows
    assert min(engine.items.covisitation.rows, default=0) >= 0


def test_a_snapshot_for_other_settings_is_ignored(tmp_path: Path) -> None:
    engine = engine_with(5, factors=8)
    engine.process(ev("e", "u", "i1"))
    engine.save(tmp_path)
    assert Engine(Settings(factors=16)).load(tmp_path) is False


def test_a_snapshot_written_by_a_forked_child_loads_like_one_written_in_place(tmp_path: Path) -> None:
    """The worker writes its periodic snapshot from a forked child (the event loop goes on); what
    the child writes is the state at the fork, and it loads like a snapshot written in place."""
    import os

    from recsys.snapshot import reaped

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform: save_in_background writes in place")
    engine = engine_with(30)
    for n in range(40):
        engine.process(ev(f"e{n}", f"u{n % 4}", f"i{n % 30}"))
    pid = engine.save_in_background(tmp_path / "forked")
    assert pid is not None
    engine.process(ev("after", "u0", "i7"))  # the parent goes on while the child writes
    while (status := reaped(pid)) is None:
        time.sleep(0.01)
    assert status == 0
    engine.save(tmp_path / "in-place")
    forked, in_place = Engine(Settings(ann_backend="brute")), Engine(Settings(ann_backend="brute"))
    assert forked.load(tmp_path / "forked") and in_place.load(tmp_path / "in-place")
    assert forked.counters["applied"] == 40 and in_place.counters["applied"] == 41  # the state at the fork
    assert forked.items.rows.ids == in_place.items.rows.ids


def test_background_writes_queue_what_has_room_and_land_in_order() -> None:
    """With background writes the periodic refresh queues at most the writer's room; what it left
    waits in ``dirty``; once settled the index holds every item's current vector; a withdrawal
    after queued writes leaves the item out of the index."""
    from recsys.background_writes import BackgroundWrites

    engine = engine_with(40, ann_backend="hnsw", index_refresh_events=10**6, generators="mf", index_tolerance=0.0)
    assert engine.indexes.writes is not None
    engine.indexes.writes = BackgroundWrites(limit=12, chunk=4)
    for n in range(20):
        engine.apply(ev(f"e{n}", f"u{n}", f"i{n}"))
    pending = set(engine.indexes.dirty)
    assert len(pending) >= 20
    written = engine.indexes.refresh(limited=True)
    assert written == 12 and len(engine.indexes.dirty) == len(pending) - 12
    while engine.indexes.dirty:
        engine.indexes.settle()
        written += engine.indexes.refresh(limited=True)
    engine.indexes.settle()
    assert written == len(pending) == len(engine.indexes.mf)
    rows = np.array(sorted(pending))
    vectors, present = engine.indexes.mf.indexed(rows)
    assert present.all()
    assert np.allclose(vectors, engine.items.model.vectors(rows), atol=1e-5)
    engine.apply(ev("e99", "u99", "i30"))
    assert engine.indexes.refresh(limited=True) >= 1  # queued ...
    engine.apply_item(Item("i30", available=False))  # ... and withdrawn before or after it landed
    engine.indexes.settle()
    assert engine.items.rows.find("i30") not in set(engine.indexes.mf.labels().tolist())


def test_a_removal_waits_for_the_writes_queued_before_it() -> None:
    from recsys.ann import make_index
    from recsys.background_writes import BackgroundWrites

    index = make_index("brute", dim=2)
    writes = BackgroundWrites(limit=100)
    writes.remove(index, np.array([7]))  # nothing queued: removed at once (here: nothing to remove)
    writes.submit(index, np.arange(50), np.ones((50, 2)))
    writes.remove(index, np.array([3, 49]))  # queued behind the writes of rows 3 and 49
    writes.submit(index, np.array([49]), np.ones((1, 2)))  # and 49 comes back after it
    writes.drain()
    assert sorted(index.labels().tolist()) == [r for r in range(50) if r != 3]
    assert writes.pending == 0 and writes.written == 51
    writes.close()


def test_a_failed_background_write_is_raised_on_the_engines_thread() -> None:
    from recsys.ann import make_index
    from recsys.background_writes import BackgroundWrites

    writes = BackgroundWrites(limit=100)
    index = make_index("brute", dim=2)
    writes.submit(index, np.array([1]), np.array([[np.nan, 0.0]]))  # the index refuses a NaN vector
    with pytest.raises(RuntimeError, match="background index write failed"):
        writes.drain()
    writes.submit(index, np.array([2]), np.array([[1.0, 0.0]]))  # the writer goes on after a failure
    writes.drain()
    assert index.labels().tolist() == [2] and writes.room() == 100
    writes.close()
