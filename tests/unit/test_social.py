"""The social graph end to end: follow events, the followees' recent likes, snapshots, the synthetic graph."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.evaluate.protocol import EngineRecommender
from recsys.items.likes import RecentLikes
from recsys.request import Request
from recsys.settings import Settings
from recsys.state import UserState
from schemas import Follow, Interaction, Item


def small_engine(n_items: int = 10, **settings: object) -> Engine:
    engine = Engine(Settings(ann_backend="brute", **settings))  # type: ignore[arg-type]
    for n in range(n_items):
        engine.apply_item(Item(f"i{n}"))
    return engine


def follow(event_id: str, user: str, other: str, action: str = "follow", at: float = 1.0) -> Follow:
    return Follow(event_id, user, other, action, timestamp=at)


def like(event_id: str, user: str, item: str, at: float = 1.0, kind: str = "like") -> Interaction:
    return Interaction(event_id, user, item, kind, timestamp=at)


# --- follows in the follower's state ---------------------------------------------------------


def test_a_redelivered_follow_is_applied_once_and_unfollow_removes() -> None:
    engine = small_engine()
    assert engine.apply_follow(follow("f1", "ann", "bob"))
    assert not engine.apply_follow(follow("f1", "ann", "bob"))  # redelivery
    assert engine.apply_follow(follow("f2", "ann", "cid"))
    assert engine.user_state("ann").following == ["bob", "cid"]
    assert engine.counters["follows"] == 2 and engine.counters["duplicates"] == 1

    assert engine.apply_follow(follow("f3", "ann", "bob", "unfollow"))
    assert not engine.apply_follow(follow("f3", "ann", "bob", "unfollow"))
    assert engine.user_state("ann").following == ["cid"]
    # unfollowing someone not followed, or following twice under new ids, changes nothing
    assert engine.apply_follow(follow("f4", "ann", "dan", "unfollow"))
    assert engine.apply_follow(follow("f5", "ann", "cid"))
    assert engine.user_state("ann").following == ["cid"]


def test_following_is_bounded_to_the_most_recent() -> None:
    engine = small_engine(max_following=2)
    for n, other in enumerate(["a", "b", "c"]):
        engine.apply_follow(follow(f"f{n}", "ann", other))
    assert engine.user_state("ann").following == ["b", "c"]


def test_a_user_state_saved_before_follows_existed_still_loads() -> None:
    # the JSON record the user table held before follows (and before the split into small records)
    old = {"user_id": "ann", "vector": None, "bias": 0.0, "history": [], "seen": [], "disliked": [],
           "recent_events": [], "events": 0, "attributes": {}}  # fmt: skip
    engine = small_engine()
    engine.users.mapping["ann"] = json.dumps(old).encode()
    assert engine.user_state("ann").following == []
    assert engine.apply_follow(follow("f1", "ann", "bob"))
    assert engine.user_state("ann").following == ["bob"]


# --- the followees' recent likes ------------------------------------------------------------------


def test_recent_likes_keep_the_latest_positives_one_entry_per_item() -> None:
    likes = RecentLikes(per_user=2)
    likes.add("bob", "a", at=1.0, weight=2.0)
    likes.add("bob", "b", at=2.0, weight=0.5)
    likes.add("bob", "a", at=3.0, weight=1.0)  # again: moved to the newest end, strongest weight kept
    assert likes.of("bob") == [("b", 2.0, 0.5), ("a", 3.0, 2.0)]
    likes.add("bob", "c", at=4.0, weight=1.0)
    assert [item for item, *_ in likes.of("bob")] == ["a", "c"]
    with pytest.raises(ValueError, match="at least 1"):
        RecentLikes(per_user=0)


def test_the_engine_feeds_recent_likes_with_positive_events_only() -> None:
    engine = small_engine()
    engine.apply(like("e1", "bob", "i1"))
    engine.apply(like("e2", "bob", "i2", kind="dislike"))
    engine.apply(like("e3", "bob", "i3", kind="view"))
    weights, row = engine.settings.event_weights, engine.items.rows.find
    assert engine.items.likes.of("bob") == [(row("i1"), 1.0, weights["like"]), (row("i3"), 1.0, weights["view"])]


def test_older_likes_weigh_less() -> None:
    engine = small_engine(social_half_life=10.0)
    for n, friend in enumerate(["old-friend", "new-friend"]):
        engine.apply_follow(follow(f"f{n}", "ann", friend))
    engine.apply(like("e1", "old-friend", "i1", at=0.0))
    engine.apply(like("e2", "new-friend", "i2", at=10.0))
    state = engine.user_state("ann")
    social = engine.ranker.generators["social"]
    rows = engine.items.rows.rows(["i1", "i2", "i3"])
    values = social.signal(Request(state, None), rows)
    assert values is not None
    assert values[:2].tolist() == [1.0, 2.0] and np.isnan(values[2])  # a like, halved once; nothing on i3
    assert social.signal(Request(UserState("x"), None), rows[:1]) is None


def test_the_blend_ranks_a_followees_like_first_when_social_weighs_most() -> None:
    engine = small_engine(n_items=30, generators="popular,social", blend_weights={"social": 1.0, "popular": 0.01})
    for n in range(5):
        engine.apply(like(f"p{n}", f"crowd{n}", "i0"))  # i0 is the most popular
    engine.apply_follow(follow("f1", "ann", "bob"))
    engine.apply(like("b1", "bob", "i7"))
    listed = engine.recommend("ann", k=3)
    assert listed[0].item_id == "i7" and "social" in listed[0].sources
    assert engine.recommend("stranger", k=1)[0].item_id == "i0"


def test_a_snapshot_keeps_recent_likes_and_ignores_an_older_format(tmp_path: Path) -> None:
    engine = small_engine(generators="popular,social")
    engine.apply(like("e1", "bob", "i1"))
    engine.save(tmp_path)
    restored = small_engine(n_items=0, generators="popular,social")
    assert restored.load(tmp_path)
    assert restored.items.likes.of("bob") == engine.items.likes.of("bob")
    restored.apply_follow(follow("f1", "ann", "bob"))
    social = next(s for s in restored.ranker.sources if s.name == "social")  # built on the restored likes
    rows, _ = social.generate(Request(restored.user_state("ann"), None), 5)
    assert restored.items.rows.ids_of(rows.tolist()) == ["i1"]

    meta_file = tmp_path / "snapshot" / "meta.json"  # as written by an older version: started afresh
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps({**meta, "format": meta["format"] - 1}))
    older = small_engine(n_items=0)
    assert not older.load(tmp_path) and older.items.likes.of("bob") == []


# --- the synthetic social graph ---------------------------------------------------------------


def test_synthetic_follows_are_homophilous_and_leave_the_interactions_as_they_were() -> None:
    plain = SyntheticWorld(users=200, items=100, clusters=5, seed=3)
    social = SyntheticWorld(users=200, items=100, clusters=5, seed=3, follows=8, follow_homophily=0.8)
    edges = [(f.user_id, f.followee_id) for f in social.follows()]
    assert len(edges) == 200 * 8 and all(a != b for a, b in edges)
    assert len(set(edges)) == len(edges)
    own = sum(social.cluster_of_user(a) == social.cluster_of_user(b) for a, b in edges) / len(edges)
    assert 0.75 <= own <= 0.9  # 0.8 of own cluster, plus the noise that lands there by chance
    assert list(plain.interactions(2000)) == list(social.interactions(2000))
    assert plain.catalogue() == social.catalogue() and plain.profiles() == social.profiles()


def test_synthetic_churn_unfollows_and_follows_in_time_order() -> None:
    world = SyntheticWorld(users=50, items=60, clusters=3, seed=4, follows=3, follow_churn=0.05)
    events = list(world.stream(2000))
    timed = [e for e in events[60 + 50 :] if isinstance(e, (Follow, Interaction))]
    assert all(a.timestamp <= b.timestamp for a, b in zip(timed, timed[1:], strict=False))
    assert all(isinstance(e, Follow) for e in timed[:150]) and not isinstance(timed[150], Follow)
    churn = timed[150:]  # after the initial 3 follows of each of the 50 users
    assert 50 <= sum(isinstance(e, Follow) and e.action == "unfollow" for e in churn) <= 150
    graph = {u: [f.followee_id for f in world.follows() if f.user_id == u] for u in world.user_cluster}
    for event in churn:
        if isinstance(event, Follow):
            edit = graph[event.user_id].remove if event.action == "unfollow" else graph[event.user_id].append
            edit(event.followee_id)
    assert graph == world.following


def test_the_replay_routes_follows_to_the_engine() -> None:
    model = EngineRecommender(Settings(ann_backend="brute"), "default")
    model.observe(follow("f1", "ann", "bob"), positive=False)
    assert model.engine.user_state("ann").following == ["bob"]


def test_a_follow_and_an_interaction_may_share_an_event_id() -> None:
    engine = small_engine()
    assert engine.apply(like("e1", "ann", "i1"))
    assert engine.apply_follow(follow("e1", "ann", "bob"))  # ids are unique per topic, not across topics
    assert engine.user_state("ann").following == ["bob"]
