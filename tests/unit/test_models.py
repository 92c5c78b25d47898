"""The contract every VectorModel passes (BPR and River's BiasedMF), and BPR's own limits."""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable

import numpy as np
import pytest

from recsys.models import OnlineBPR, OnlineMF, VectorModel, make_model
from recsys.models.base import UserFactors
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


def learn(model: VectorModel, user: UserFactors, item: str, weight: float, negatives: list[str]) -> UserFactors:
    """One learning step, by item id: the ids get rows of the model's row space."""
    return model.learn(user, model.rows.row(item), weight, model.rows.rows(negatives))


def test_a_positive_moves_the_users_score_for_the_item_up(model: VectorModel) -> None:
    user = model.new_user(random.Random(1))
    before = score(model, user, "target")
    user = learn(model, user, "target", weight=1.0, negatives=["other1", "other2"])
    assert score(model, user, "target") > before


def test_a_dislike_moves_the_score_down(model: VectorModel) -> None:
    user = model.new_user(random.Random(1))
    user = learn(model, user, "target", weight=1.0, negatives=[])
    before = score(model, user, "target")
    user = learn(model, user, "target", weight=-2.0, negatives=[])
    assert score(model, user, "target") < before


def test_vectors_have_dim_and_agree_one_by_one_and_stacked(model: VectorModel) -> None:
    user = learn(model, model.new_user(random.Random(1)), "a", 1.0, ["b", "c"])
    assert model.has_item("a") and model.has_item("b") and not model.has_item("zzz")
    rows = model.rows.lookup(["a", "b", "c"])
    assert model.has(rows).tolist() == [True, True, True]
    stacked = model.item_vectors(["a", "b", "c"])
    assert stacked.shape == (3, model.dim) and model.query(user).shape == (model.dim,)
    assert np.allclose(stacked[1], model.item_vector("b"))
    assert np.array_equal(model.vectors(rows), stacked)
    assert np.allclose(model.scores(user, rows), stacked @ model.query(user), atol=1e-5)
    assert set(model.item_ids()) == {"a", "b", "c"}
    assert model.updates >= 1


def test_same_seed_same_model_and_it_pickles(model: VectorModel) -> None:
    twin = pickle.loads(pickle.dumps(model))  # what a snapshot does
    for m in (model, twin):
        u = m.new_user(random.Random(1))
        for n in range(30):
            u = learn(m, u, f"i{n % 7}", 1.0, [f"i{(n + 3) % 7}"])
    assert np.allclose(model.item_vectors(["i1", "i5"]), twin.item_vectors(["i1", "i5"]))


def test_a_step_shipped_as_deltas_makes_a_twin_learn_it(model: VectorModel) -> None:
    """What a worker sends the others (recsys.items.updates): the vectors a step moved, as deltas."""
    twin = pickle.loads(pickle.dumps(model))
    user = model.new_user(random.Random(1))
    rows = model.rows.rows(["a", "b", "c"])
    before = model.vectors(rows)
    model.learn(user, int(rows[0]), 1.0, rows[1:])
    deltas = model.vectors(rows) - before
    assert np.abs(deltas).max() > 0
    twin.add(twin.rows.rows(["a", "b", "c"]), deltas)
    assert np.allclose(twin.vectors(twin.rows.rows(["a", "b", "c"])), model.vectors(rows), atol=1e-6)


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
            factors = learn(model, factors, item, 1.0, rng.sample(everything, 4))
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
        user = learn(bpr, user, f"i{n % 5}", 1.0, [f"j{n % 3}", f"j{n % 4}"])
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


def test_bpr_is_a_river_ranker_that_passes_rivers_own_checks() -> None:
    """River's estimator checks that need no dataset (cloning, parameters, pickling, repr) and its
    recommender routine (rank, then learn the reward) run on the BPR model as on any River model."""
    from river.checks import common, reco

    from recsys.models.bpr import OnlineBPR

    model = OnlineBPR(factors=4, negatives=2)
    checks = [
        common.check_repr, common.check_str, common.check_tags, common.check_clone_same_class,
        common.check_clone_is_idempotent, common.check_init_has_default_params_for_tests,
        common.check_init_default_params_are_not_mutable, common.check_doc,
        common.check_clone_changes_memory_addresses, common.check_mutate_can_be_idempotent,
        common.check_pickling_supports_roundtrip, common.check_repr_roundtrips_clone,
        common.check_clone_with_new_params_applies, common.check_get_params_matches_signature,
        reco.check_reco_routine,
    ]  # fmt: skip
    for check in checks:
        check(model.clone())


def test_bpr_learns_tastes_through_rivers_api_in_a_prequential_loop() -> None:
    """Test-then-train with River's API alone (``rank``, then ``learn_one``) on two planted tastes:
    the hit rate of the top item climbs well above chance, scored with a River metric."""
    import random

    from river import metrics

    from recsys.models.bpr import OnlineBPR

    rng = random.Random(0)
    likes = {f"u{u}": {f"i{i}" for i in range(10) if (i < 5) == (u % 2 == 0)} for u in range(20)}
    items = {f"i{i}" for i in range(10)}
    model, hits = OnlineBPR(factors=4, negatives=3, seed=1), metrics.Accuracy()
    for step in range(3000):
        user = rng.choice(sorted(likes))
        top = model.rank(user, items)[0]
        if step >= 2000:
            hits.update(True, top in likes[user])
        model.learn_one(user, rng.choice(sorted(likes[user])), True)
    assert hits.get() >= 0.9, hits  # chance is 0.5
