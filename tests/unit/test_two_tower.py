"""The online two-tower model: features, stable hashing, learning steps, cold start, pickling."""

from __future__ import annotations

import math
import pickle
import random
import subprocess
import sys
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recsys.datasets.synthetic import SyntheticWorld
from recsys.models.two_tower import TwoTower, item_features, token_bucket, user_features

ROOT = Path(__file__).resolve().parents[2]
ALICE = ("alice", {"country": "GB", "age": 41}, ["i1", "i2"])
MATRIX = ("matrix", {"genres": ["scifi"], "tags": ["dark"], "creator": "wachowski", "year": 1999})
NEGATIVES = [
    ("titanic", {"genres": ["romance"], "year": 1997}),
    ("grease", {"genres": ["musical"], "year": 1978}),
    ("heat", {"genres": ["thriller"], "creator": "mann", "year": 1995}),
]


def test_item_features_cover_every_attribute_and_skip_missing_ones() -> None:
    attributes = {"genres": ["drama", "war"], "tags": ["slow"], "creator": "c-1", "year": 1987.0,
                  "language": "fr", "explicit": False, "extra": {"studio": "x"}, "rating": None}  # fmt: skip
    assert item_features("i9", attributes) == [
        "id=i9", "genre=drama", "genre=war", "tag=slow", "creator=c-1", "decade=1980",
        "language=fr", "explicit=false", "extra.studio=x",
    ]  # fmt: skip
    assert item_features("i9", {}) == ["id=i9"]
    assert item_features("i9", {"year": "unknown", "genres": None}) == ["id=i9"]


def test_user_features_bucket_age_and_bag_recent_items() -> None:
    profile = {"age": 29, "age_band": "25-34", "country": "DE", "gender": "f", "occupation": "nurse",
               "preferred_genres": ["comedy", "drama"]}  # fmt: skip
    assert user_features("u1", profile, ["i4", "i4", "i7"]) == [
        "uid=u1", "age=20", "age_band=25-34", "country=DE", "gender=f", "occupation=nurse",
        "preferred_genres=comedy", "preferred_genres=drama", "recent=i4", "recent=i4", "recent=i7",
    ]  # fmt: skip
    assert user_features("u1", {}, []) == ["uid=u1"]


def test_token_buckets_are_stable_literals_and_the_same_in_another_process() -> None:
    assert [token_bucket(t, 2**18) for t in ("genre=drama", "tag=drama", "id=i1")] == [7077, 212213, 147250]
    assert token_bucket("genre=drama", 2**18, seed=7) != token_bucket("genre=drama", 2**18, seed=42)
    code = "from recsys.models.two_tower import token_bucket; print(token_bucket('creator=creator-3-1', 1000003))"
    out = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={"PYTHONHASHSEED": salt},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for salt in ("1", "2")
    }
    assert out == {str(token_bucket("creator=creator-3-1", 1000003))}


def test_tokens_of_different_kinds_land_in_different_rows() -> None:
    values = [f"v{n}" for n in range(500)]
    kinds = ("id", "genre", "tag", "creator", "recent", "uid")
    same_value = sum(len({token_bucket(f"{k}={v}", 2**18) for k in kinds}) < len(kinds) for v in values)
    assert same_value <= 1  # about 0.03 expected by chance; ``v`` alone would make all of them collide
    rows = {token_bucket(f"{k}={v}", 2**18) for k in kinds for v in values}
    assert len(rows) >= 0.98 * len(kinds) * len(values)  # the birthday rate: ~17 collisions of 3000


def _margin(tt: TwoTower) -> float:
    u = tt.user_embedding(*ALICE)
    return float(u @ tt.item_embedding(*MATRIX) - np.max(tt.item_embeddings(NEGATIVES) @ u))


@pytest.mark.parametrize("log_q", [None, [-3.0, -2.0, -2.0, -1.0], [-2.0, -2.0, -1.0]])
def test_a_learning_step_raises_the_positive_above_the_negatives(log_q: list[float] | None) -> None:
    tt = TwoTower(dim=16, buckets=2**14, seed=3)
    before = _margin(tt)
    loss = tt.learn(ALICE, MATRIX, NEGATIVES, log_q=log_q)
    assert loss > 0 and tt.updates == 1
    assert _margin(tt) > before + 0.05
    second = tt.learn(ALICE, MATRIX, NEGATIVES, log_q=log_q)
    assert second < loss


def test_log_q_shifts_the_logits_of_the_items_it_names() -> None:
    losses = {}
    for name, log_q in [("none", None), ("constant", [-5.0] * 4), ("negatives only", [-5.0] * 3)]:
        losses[name] = TwoTower(dim=8, buckets=2**12).learn(ALICE, MATRIX, NEGATIVES, log_q=log_q)
    assert losses["constant"] == pytest.approx(losses["none"])  # softmax ignores a common shift
    assert losses["negatives only"] > losses["none"] + 3.0  # negatives' logits raised by 5 each
    with pytest.raises(ValueError, match="log_q"):
        TwoTower(dim=8, buckets=2**12).learn(ALICE, MATRIX, NEGATIVES, log_q=[0.0])


def test_a_step_updates_only_the_rows_of_the_tokens_involved() -> None:
    tt = TwoTower(dim=8, buckets=2**14)
    users_before, items_before = tt._users.table.copy(), tt._items.table.copy()
    tt.learn(ALICE, MATRIX, NEGATIVES)
    user_rows = {token_bucket(t, 2**14) for t in user_features(*ALICE)}
    item_rows = {token_bucket(t, 2**14) for item in [MATRIX, *NEGATIVES] for t in item_features(*item)}
    assert set(np.flatnonzero((tt._users.table != users_before).any(axis=1))) == user_rows
    assert set(np.flatnonzero((tt._items.table != items_before).any(axis=1))) == item_rows


def test_negatives_equal_to_the_positive_are_dropped() -> None:
    tt = TwoTower(dim=8, buckets=2**12)
    before = tt.item_embedding(*MATRIX)
    assert tt.learn(ALICE, MATRIX, [MATRIX], log_q=[-1.0, -1.0]) == 0.0
    assert tt.updates == 0 and np.array_equal(tt.item_embedding(*MATRIX), before)
    a, b = TwoTower(dim=8, buckets=2**12), TwoTower(dim=8, buckets=2**12)
    assert a.learn(ALICE, MATRIX, [NEGATIVES[0], MATRIX, NEGATIVES[1]], log_q=[-1.0, -2.0, -9.0, -3.0]) == (
        pytest.approx(b.learn(ALICE, MATRIX, [NEGATIVES[0], NEGATIVES[1]], log_q=[-1.0, -2.0, -3.0]))
    )


def test_embeddings_are_unit_float32_and_stack_like_single_ones() -> None:
    tt = TwoTower(dim=8, buckets=2**12)
    stacked = tt.item_embeddings([MATRIX, *NEGATIVES])
    assert stacked.dtype == np.float32 and stacked.shape == (4, 8)
    assert np.allclose(stacked, np.stack([tt.item_embedding(*i) for i in [MATRIX, *NEGATIVES]]), atol=1e-6)
    assert np.allclose(np.linalg.norm(stacked, axis=1), 1.0, atol=1e-5)
    assert tt.user_embedding(*ALICE).shape == (8,)
    assert tt.item_embeddings([]).shape == (0, 8)


def test_start_values_do_not_depend_on_the_order_rows_are_read_in() -> None:
    a, b = TwoTower(dim=8, buckets=2**12, seed=5), TwoTower(dim=8, buckets=2**12, seed=5)
    first = a.item_embeddings([MATRIX, *NEGATIVES])
    b.user_embedding(*ALICE)
    assert np.array_equal(b.item_embeddings([*NEGATIVES[::-1], MATRIX])[::-1], first)
    assert not np.array_equal(TwoTower(dim=8, buckets=2**12, seed=6).item_embeddings([MATRIX]), first[:1])


def test_it_pickles_small_and_the_copy_embeds_and_learns_the_same() -> None:
    tt = TwoTower()  # the full default size: 2**18 rows of 32 per tower
    for _ in range(5):
        tt.learn(ALICE, MATRIX, NEGATIVES)
    data = pickle.dumps(tt)
    assert len(data) < 100_000  # only the updated rows, not 64 MB of tables
    copy = pickle.loads(data)
    assert copy.updates == 5
    assert np.array_equal(copy.user_embedding(*ALICE), tt.user_embedding(*ALICE))
    assert np.array_equal(copy.item_embeddings([MATRIX, *NEGATIVES]), tt.item_embeddings([MATRIX, *NEGATIVES]))
    brand_new = ("dune", {"genres": ["scifi"], "year": 2021})
    assert np.array_equal(copy.item_embedding(*brand_new), tt.item_embedding(*brand_new))
    assert copy.learn(ALICE, MATRIX, NEGATIVES) == tt.learn(ALICE, MATRIX, NEGATIVES)


# --- cold start on planted clusters ---------------------------------------------------------------

CLUSTERS = 6


Trained = tuple[SyntheticWorld, TwoTower, dict[str, dict[str, Any]], set[str], dict[str, deque[str]]]


def _trained_on_all_but_held_out(seed: int) -> Trained:
    """Train online on a planted world whose every fifth item never appears in the stream."""
    world = SyntheticWorld(users=120, items=240, clusters=CLUSTERS, seed=seed)
    items = {item.item_id: item.attributes for item in world.catalogue()}
    held_out = {item_id for item_id in items if int(item_id[1:]) % 5 == 0}
    pool = sorted(set(items) - held_out)
    profiles = {user.user_id: user.attributes for user in world.profiles()}
    recent: dict[str, deque[str]] = defaultdict(lambda: deque(maxlen=10))
    tt = TwoTower(dim=16, buckets=2**14, seed=seed)
    rng = random.Random(seed)
    log_q = [-math.log(len(pool))] * 16  # uniform negatives; the positive's logit left as it is
    for event in world.interactions(3000):
        if event.item_id in held_out or event.type == "dislike":
            continue
        negatives = [(j, items[j]) for j in rng.choices(pool, k=16)]
        user = (event.user_id, profiles[event.user_id], list(recent[event.user_id]))
        tt.learn(user, (event.item_id, items[event.item_id]), negatives, log_q=log_q)
        recent[event.user_id].append(event.item_id)
    return world, tt, items, held_out, recent


def _own_cluster_share(world: SyntheticWorld, tt: TwoTower, users: list[tuple], candidates: list, k: int) -> float:
    """The mean share of each user's top ``k`` of ``candidates`` that is in the user's own cluster."""
    vectors = tt.item_embeddings(candidates)
    clusters = np.array([world.cluster_of_item(item_id) for item_id, _ in candidates])
    shares = []
    for (user_id, attributes, recent), own in users:
        top = np.argsort(-(vectors @ tt.user_embedding(user_id, attributes, recent)))[:k]
        shares.append(float(np.mean(clusters[top] == own)))
    return float(np.mean(shares))


@pytest.fixture(scope="module")
def trained() -> Trained:
    return _trained_on_all_but_held_out(seed=11)


def test_never_seen_items_of_a_users_own_cluster_rank_first(trained: Trained) -> None:
    world, tt, items, held_out, recent = trained
    candidates = [(item_id, items[item_id]) for item_id in sorted(held_out)]  # 48 items, 8 per cluster
    assert not any(tt._items.touched[token_bucket(f"id={item_id}", 2**14)] for item_id, _ in candidates)
    users = [((u, a, list(recent[u])), world.cluster_of_user(u)) for u, a in _profiles(world)]
    assert (
        _own_cluster_share(world, tt, users, candidates, k=5) > 0.8
    )  # chance is 1/6; measured 1.0 (0.98-1.0 over seeds)
    assert _own_cluster_share(world, tt, users, candidates, k=10) > 0.6  # at most 0.8 (8 per cluster); measured 0.78


def test_a_brand_new_user_with_only_a_profile_gets_own_cluster_items(trained: Trained) -> None:
    world, tt, items, held_out, _ = trained
    # Unseen user ids with the profiles of the world's users: no history, an untrained id token.
    users = [((f"new-{u}", a, []), world.cluster_of_user(u)) for u, a in _profiles(world)]
    unseen_items = [(item_id, items[item_id]) for item_id in sorted(held_out)]
    assert (
        _own_cluster_share(world, tt, users, unseen_items, k=5) > 0.7
    )  # chance 1/6; measured 0.97 (0.94-0.97 over seeds)
    seen_items = [(item_id, a) for item_id, a in items.items() if item_id not in held_out]
    assert _own_cluster_share(world, tt, users, seen_items, k=10) > 0.7  # measured 0.94


def test_without_learning_there_is_no_cluster_signal(trained: Trained) -> None:
    """The control for the two tests above: the same measure on an untrained model is near chance."""
    world, _, items, held_out, _ = trained
    tt = TwoTower(dim=16, buckets=2**14, seed=11)
    users = [((u, a, []), world.cluster_of_user(u)) for u, a in _profiles(world)]
    assert _own_cluster_share(world, tt, users, [(i, items[i]) for i in sorted(held_out)], k=5) < 0.4  # measured 0.15


def _profiles(world: SyntheticWorld) -> list[tuple[str, dict[str, Any]]]:
    return [(user.user_id, user.attributes) for user in world.profiles()]
