"""N workers in one process (recsys.evaluate.workers): users split by partition, reference data and likes shared."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.engine import Engine
from recsys.evaluate.workers import WorkersRecommender
from recsys.settings import Settings
from schemas import Follow, Interaction, Item, ItemUpdate, Rule


def test_simulated_workers_split_users_and_share_reference_data() -> None:
    model = WorkersRecommender(Settings(), "default", workers=2, partitions=4)
    for n in range(6):
        model.observe(Item(f"i{n}"), positive=False)
    model.observe(Rule("pin", "pin", item_ids=("i5",)), positive=False)
    users = [f"u{n}" for n in range(20)]
    for n, user in enumerate(users):
        model.observe(Interaction(f"e{n}", user, "i0", "like", timestamp=float(n)), positive=True)
    owners = {user: model.engines.index(model.owner(user)) for user in users}
    assert set(owners.values()) == {0, 1}  # both workers hold users
    for user, owner in owners.items():
        assert model.engines[owner].user_state(user).events == 1
        assert model.engines[1 - owner].user_state(user).events == 0  # the other never saw the user
        listed = model.recommend(user, 5, {"i0"})
        assert listed[0] == "i5" and "i0" not in listed  # every worker holds the rule and the catalogue
    assert [len(e.catalog) for e in model.engines] == [6, 6]


def test_more_workers_than_partitions_is_refused_with_the_fix() -> None:
    with pytest.raises(ValueError, match="RECSYS_PARTITIONS"):
        WorkersRecommender(Settings(), "default", workers=5, partitions=4)


def _users_of_each_worker(model: WorkersRecommender) -> tuple[str, str]:
    first: dict[int, str] = {}
    for n in range(100):
        first.setdefault(model.engines.index(model.owner(f"u{n}")), f"u{n}")
    return first[0], first[1]


def test_a_followees_like_reaches_a_follower_on_another_worker() -> None:
    settings = Settings(generators="popular,social", blend_weights={"popular": 0.01, "social": 1.0}, scorer="blend")
    model = WorkersRecommender(settings, "default", workers=2, partitions=4)
    for n in range(30):
        model.observe(Item(f"i{n}"), positive=False)
    follower, followee = _users_of_each_worker(model)
    model.observe(Follow("f1", follower, followee, "follow", timestamp=1.0), positive=False)
    for n in range(20):  # popularity elsewhere, so a list without the social signal would not hold i29
        model.observe(Interaction(f"p{n}", f"x{n}", f"i{n % 5}", "like", timestamp=2.0), positive=True)
    model.observe(Interaction("g1", followee, "i29", "like", timestamp=3.0), positive=True)
    owner = model.owner(follower)
    assert owner is not model.owner(followee)
    listed = owner.recommend(follower, k=5)
    assert listed[0].item_id == "i29" and "social" in listed[0].sources, listed


def test_without_the_shared_likes_a_follower_on_another_worker_sees_none() -> None:
    """What the likes topic fixes: the same, with the shared likes dropped (as before it)."""
    settings = Settings(generators="popular,social", blend_weights={"popular": 0.01, "social": 1.0}, scorer="blend")
    model = WorkersRecommender(settings, "default", workers=2, partitions=4)
    for engine in model.engines:
        engine.applier.outbox = None  # nothing shared
    for n in range(30):
        model.observe(Item(f"i{n}"), positive=False)
    follower, followee = _users_of_each_worker(model)
    model.observe(Follow("f1", follower, followee, "follow", timestamp=1.0), positive=False)
    model.observe(Interaction("g1", followee, "i29", "like", timestamp=3.0), positive=True)
    assert all("social" not in r.sources for r in model.owner(follower).recommend(follower, k=30))


def _stream(model: WorkersRecommender, events: int = 400, rank: bool = False) -> None:
    from recsys.datasets.synthetic import SyntheticWorld

    world = SyntheticWorld(users=60, items=80, clusters=3, seed=4)
    for item in world.catalogue():
        model.observe(item, positive=False)
    for event in world.interactions(events):
        if rank:  # a list first, as the replay asks: the learned scorer learns from what users did to lists
            model.recommend(event.user_id, 10, set())
        model.observe(event, positive=True)


def _popularity(engine: object, ids: list[str]) -> list[float]:
    catalog = engine.catalog  # type: ignore[attr-defined]
    return catalog.popularity.data[catalog.rows.lookup(ids)].round(6).tolist()  # type: ignore[no-any-return]


def test_shared_item_learning_gives_every_worker_the_counts_of_all_users() -> None:
    one = WorkersRecommender(Settings(), "one", workers=1, partitions=4)
    shared = WorkersRecommender(Settings(), "shared", workers=2, partitions=4, share_items=True)
    alone = WorkersRecommender(Settings(), "alone", workers=2, partitions=4)
    for model in (one, shared, alone):
        _stream(model)
    ids = list(one.engines[0].catalog.rows.ids)
    whole = _popularity(one.engines[0], ids)
    assert _popularity(shared.engines[0], ids) == whole == _popularity(shared.engines[1], ids)
    assert _popularity(alone.engines[0], ids) != whole  # each counted its own users only
    a, b = (e.items.covisitation for e in shared.engines)
    rows = one.engines[0].catalog.rows.lookup(ids[:10])
    assert a.counts(rows, rows).round(6).tolist() == b.counts(rows, rows).round(6).tolist()


def test_a_shared_mf_step_moves_the_item_on_the_other_worker() -> None:
    model = WorkersRecommender(Settings(), "shared", workers=2, partitions=4, share_items=True, delay=3)
    for n in range(5):
        model.observe(Item(f"i{n}"), positive=False)
    user = next(f"u{n}" for n in range(100) if model.owner(f"u{n}") is model.engines[0])
    other = model.engines[1]
    row = other.catalog.rows.find("i0")
    before = other.items.model.vectors([row]).copy()
    model.observe(Interaction("e0", user, "i0", "like", timestamp=1.0), positive=True)
    assert (other.items.model.vectors([row]) == before).all()  # not there yet: 3 interactions of delay
    for n in range(3):
        model.observe(Interaction(f"x{n}", user, f"i{n + 1}", "view", timestamp=2.0 + n), positive=False)
    assert not (other.items.model.vectors([row]) == before).all()


def test_a_worker_skips_its_own_updates_it_applied_and_replays_those_its_snapshot_missed() -> None:
    engine = Engine(Settings())
    engine.share(items=True, origin="w1")
    for n in range(4):
        engine.apply_item(Item(f"i{n}"))
    for n in range(3):
        engine.apply(Interaction(f"e{n}", "alice", f"i{n}", "like", timestamp=float(n)))
    updates = [u for u in engine.take_shared() if isinstance(u, ItemUpdate)]
    assert [(u.origin, u.seq, u.item_id) for u in updates] == [("w1", 1, "i0"), ("w1", 2, "i1"), ("w1", 3, "i2")]
    assert not engine.apply_event(updates[1])  # read back from the topic: applied already

    restarted = Engine(Settings())  # as if restored from a snapshot taken after the first update
    restarted.share(items=True, origin="w1")
    for n in range(4):
        restarted.apply_item(Item(f"i{n}"))
    restarted.items.counters["shared"] = 1
    popularity = restarted.catalog.popularity.data
    assert [restarted.apply_event(u) for u in updates] == [False, True, True]
    taken = popularity[restarted.catalog.rows.lookup(["i0", "i1", "i2"])].tolist()
    assert taken == [0.0, updates[1].weight, updates[2].weight]
    assert restarted.counters["shared"] == 3  # its next own update is number 4


def test_shared_dense_models_stay_one_model_on_every_worker() -> None:
    """The two-tower tables and the learned scorer's weights: each worker adds the others' steps to its own,
    so both workers hold the same sums (up to the order of float additions)."""
    model = WorkersRecommender(Settings(), "shared", workers=2, partitions=4, share_items=True)
    _stream(model, events=600, rank=True)
    a, b = (e.items for e in model.engines)
    for tower in ("_users", "_items"):
        ta, tb = getattr(a.towers, tower), getattr(b.towers, tower)
        touched = ta.touched | tb.touched
        assert touched.sum() > 0 and (ta.touched == tb.touched).all()
        assert np.allclose(ta.table[touched], tb.table[touched], atol=1e-5)
    assert a.learned is not None and b.learned is not None
    assert a.learned.examples == b.learned.examples > 0
    wa, wb = a.learned.model.weights, b.learned.model.weights
    assert set(wa) == set(wb) and all(abs(wa[k] - wb[k]) < 1e-9 for k in wa)


def test_without_sharing_the_workers_dense_models_differ() -> None:
    model = WorkersRecommender(Settings(), "alone", workers=2, partitions=4)
    _stream(model, events=600, rank=True)
    a, b = (e.items for e in model.engines)
    assert a.learned is not None and b.learned is not None and a.learned.examples != b.learned.examples
    assert not np.allclose(a.towers._items.table, b.towers._items.table)


def _crashing_worker(users: dict[str, bytes], origin: str = "w1") -> Engine:
    """A worker's engine whose user records live in ``users`` (as the user table and its changelog
    outlive the process)."""
    engine = Engine(Settings(), users=users)
    engine.share(items=True, origin=origin)
    for n in range(6):
        engine.apply_item(Item(f"i{n}"))
    return engine


def _updates(engine: Engine) -> list[ItemUpdate]:
    return [u for u in engine.take_shared() if isinstance(u, ItemUpdate)]


def test_a_redelivery_learns_again_what_a_crash_lost_and_nothing_twice() -> None:
    """The crash window of at-least-once: a worker applied five interactions (their users' records are
    durable) but died with the last two item updates unsent. Restarted (or on the worker taking over),
    the three sent updates come back from the log; the five interactions are redelivered: the three
    are duplicates, the two lost ones are learnt again on the item side only, and their updates sent."""
    users: dict[str, bytes] = {}
    first = _crashing_worker(users)
    events = [Interaction(f"e{n}", "alice", f"i{n}", "like", timestamp=float(n)) for n in range(5)]
    for offset, event in enumerate(events):
        assert first.process(event, position=(0, offset)).applied
    made = _updates(first)
    sent = made[:3]  # the last two died in the outbox
    assert first.counters["learnt"] == 5

    second = _crashing_worker(users, origin="w2")
    assert [second.apply_event(u) for u in sent] == [True, True, True]
    outcomes = [second.process(event, position=(0, offset)) for offset, event in enumerate(events)]
    assert not any(o.applied for o in outcomes)  # the user's state had all five
    state = second.user_state("alice")
    assert state.events == 5 and set(state.history) == {f"i{n}" for n in range(5)}
    assert (second.counters["learnt"], second.counters["relearnt"], second.counters["duplicates"]) == (5, 2, 3)
    relearnt = _updates(second)
    assert [u.event_id for u in relearnt] == ["e3", "e4"]
    popularity = second.catalog.popularity.data[second.catalog.rows.lookup([f"i{n}" for n in range(5)])]
    assert (popularity > 0).all()  # every interaction counted once
    # the first worker's own copies of e3/e4, had they reached the log after all, are not applied again
    assert [second.apply_event(u) for u in made[3:]] == [False, False]
    lost = Engine(Settings())
    lost.share(items=True, origin="w3")
    assert [lost.apply_event(u) for u in [*sent, *relearnt, *relearnt]] == [True] * 5 + [False] * 2


def test_an_interaction_whose_update_is_durable_but_user_record_is_not_updates_the_user_only() -> None:
    users: dict[str, bytes] = {}
    first = _crashing_worker(users)
    assert first.process(Interaction("e1", "bob", "i1", "like", timestamp=1.0), position=(0, 7)).applied
    update = _updates(first)
    users.clear()  # the user's record was lost with the worker, its item update was not
    second = _crashing_worker(users, origin="w2")
    assert [second.apply_event(u) for u in update] == [True]
    learnt = second.counters["learnt"]
    assert second.process(Interaction("e1", "bob", "i1", "like", timestamp=1.0), position=(0, 7)).applied
    state = second.user_state("bob")
    assert state.events == 1 and "i1" in state.seen and state.offset == 7
    assert second.counters["learnt"] == learnt and second.counters["user_only"] == 1
    assert _updates(second) == []  # nothing new for the others to learn


def test_a_producers_duplicate_at_a_later_offset_is_skipped_not_learnt_again() -> None:
    """A duplicate published again (a new offset) is not a redelivery: even when the item side no longer
    remembers the event (learnt_window passed), nothing is learnt twice."""
    engine = Engine(Settings(learnt_window=1))
    engine.share(items=True, origin="w1")
    engine.apply_item(Item("i1"))
    engine.apply_item(Item("i2"))
    assert engine.process(Interaction("e1", "carol", "i1", "like", timestamp=1.0), position=(0, 3)).applied
    assert engine.process(Interaction("e2", "carol", "i2", "like", timestamp=2.0), position=(0, 4)).applied
    assert not engine.process(Interaction("e1", "carol", "i1", "like", timestamp=1.0), position=(0, 9)).applied
    assert (engine.counters["learnt"], engine.counters["relearnt"], engine.counters["duplicates"]) == (2, 0, 1)
    assert engine.user_state("carol").offset == 4


def test_a_redelivered_resend_of_an_old_event_is_not_learnt_again() -> None:
    """A producer's resend is skipped when it first comes; redelivered after a crash (at or before the
    user's last offset) it must be skipped again, even when the item side no longer remembers the
    original (out of its learnt_window): it is not past the last interaction learnt from its partition."""
    users: dict[str, bytes] = {}
    first = _crashing_worker(users)
    stream = [Interaction(e, "dan", f"i{e[1]}", "like", timestamp=float(e[1])) for e in ("e1", "e2", "e1", "e3")]
    assert [first.process(e, position=(0, 3 + n)).applied for n, e in enumerate(stream)] == [True, True, False, True]
    second = Engine(Settings(learnt_window=1), users=users)
    second.share(items=True, origin="w2")
    for n in range(6):
        second.apply_item(Item(f"i{n}"))
    assert [second.apply_event(u) for u in _updates(first)] == [True, True, True]
    assert not any(second.process(e, position=(0, 3 + n)).applied for n, e in enumerate(stream))
    assert (second.counters["learnt"], second.counters["relearnt"], second.counters["duplicates"]) == (3, 0, 4)


def test_a_variants_own_learned_scorer_is_one_model_on_every_worker() -> None:
    """An experiment variant's learned scorer (recsys.experiments) shares its steps under its own key:
    every worker holds the same variant model, apart from the shared one."""
    experiment = ('{"name": "e", "variants": [{"name": "control"}, '
                  '{"name": "b", "settings": {"learned_debias": "ipw"}}]}')
    model = WorkersRecommender(Settings(experiment=experiment), "shared", workers=2, partitions=4, share_items=True)
    _stream(model, events=600, rank=True)
    a, b = (e.items for e in model.engines)
    assert set(a.learned_variants) == set(b.learned_variants) == {"e/b"}
    va, vb = a.learned_variants["e/b"], b.learned_variants["e/b"]
    assert va.examples == vb.examples > 0 and va.debias == "ipw"
    assert a.learned is not None and a.learned.examples > 0 and a.learned.examples != va.examples
    assert all(abs(va.model.weights[k] - vb.model.weights[k]) < 1e-9 for k in va.model.weights)
