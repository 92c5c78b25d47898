"""The contract every VectorModel passes (BPR and River's BiasedMF), and BPR's own limits."""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable

import numpy as np
import pytest

from recsys.models import OnlineBPR, OnlineMF, VectorModel, make_model
from recsys.settings import Settings

MODELS: dict[str, Callable[[], VectorModel]] = {
    "bpr": lambda: OnlineBPR(factors=8, seed=3),
    "squared": lambda: OnlineMF(factors=8, learning_rate=0.05, seed=3),
}


@pytest.fixture(params=sorted(MODELS))
def model(request: pytest.FixtureRequest) -> VectorModel:
    return MODELS[request.param]()


def score(model: VectorModel, user: object, item: str) -> float:
    return float(model.query(user) @ model.item_vector(item))  # type: ignore[arg-type]


def test_a_positive_moves_the_users_score_for_the_item_up(model: VectorModel) -> None:
    user = model.new_user(random.Random(1))
    before = score(model, user, "target")
    user = model.learn(user, "target", weight=1.0, negatives=["other1", "other2"])
    assert score(model, user, "target") > before


def test_a_dislike_moves_the_score_down(model: VectorModel) -> None:
    user = model.new_user(random.Random(1))
    user = model.learn(user, "target", weight=1.0, negatives=[])
    before = score(model, user, "target")
    user = model.learn(user, "target", weight=-2.0, negatives=[])
    assert score(model, user, "target") < before


def test_vectors_have_dim_and_agree_one_by_one_and_stacked(model: VectorModel) -> None:
    user = model.learn(model.new_user(random.Random(1)), "a", 1.0, ["b", "c"])
    assert model.has_item("a") and model.has_item("b") and not model.has_item("zzz")
    stacked = model.item_vectors(["a", "b", "c"])
    assert stacked.shape == (3, model.dim) and model.query(user).shape == (model.dim,)
    assert np.allclose(stacked[1], model.item_vector("b"))
    assert set(model.item_ids()) == {"a", "b", "c"}
    assert model.updates >= 1


def test_same_seed_same_model_and_it_pickles(model: VectorModel) -> None:
    twin = pickle.loads(pickle.dumps(model))  # what a snapshot does
    for m in (model, twin):
        u = m.new_user(random.Random(1))
        for n in range(30):
            u = m.learn(u, f"i{n % 7}", 1.0, [f"i{(n + 3) % 7}"])
    assert np.allclose(model.item_vectors(["i1", "i5"]), twin.item_vectors(["i1", "i5"]))


def test_planted_taste_is_recovered(model: VectorModel) -> None:
    """Two groups of users each take items of their own group; each user ends up ranking
    own-group items above the other group's."""
    rng = random.Random(7)
    groups = {g: [f"{g}{n}" for n in range(10)] for g in "ab"}
    users = {f"{g}-user{n}": (g, model.new_user(rng)) for g in "ab" for n in range(10)}
    everything = groups["a"] + groups["b"]
    for _ in range(60):
        for name, (g, factors) in users.items():
            item = rng.choice(groups[g])
            factors = model.learn(factors, item, 1.0, rng.sample(everything, 4))
            users[name] = (g, factors)
    wins = 0
    for g, factors in users.values():
        own = np.mean([score(model, factors, i) for i in groups[g]])
        other = np.mean([score(model, factors, i) for i in groups["b" if g == "a" else "a"]])
        wins += own > other
    assert wins == len(users)


def test_bpr_keeps_every_vector_within_max_norm() -> None:
    bpr = OnlineBPR(factors=4, learning_rate=5.0, user_learning_rate=20.0, l2=0.0, max_norm=2.0, seed=1)
    user = bpr.new_user(random.Random(0))
    for n in range(200):
        user = bpr.learn(user, f"i{n % 5}", 1.0, [f"j{n % 3}", f"j{n % 4}"])
    assert np.linalg.norm(user.vector) <= 2.0 + 1e-9
    latents = bpr.item_vectors(bpr.item_ids())[:, :-1]
    assert np.linalg.norm(latents, axis=1).max() <= 2.0 + 1e-6
    assert np.isfinite(bpr.item_vectors(bpr.item_ids())).all()


def test_make_model_follows_the_settings() -> None:
    bpr = make_model(Settings())
    assert isinstance(bpr, OnlineBPR) and (bpr.learning_rate, bpr.user_learning_rate) == (0.5, 3.0)
    squared = make_model(Settings(mf_loss="squared", factors=4))
    assert isinstance(squared, OnlineMF) and squared.dim == 5
    assert make_model(Settings(learning_rate=0.2)).learning_rate == 0.2  # type: ignore[attr-defined]
