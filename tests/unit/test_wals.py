"""WALS: it recovers planted clusters, lowers its objective, folds users in, and bootstraps BPR."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pytest

from recsys.datasets.synthetic import SyntheticWorld
from recsys.models import OnlineBPR, UserFactors
from recsys.models.wals import WALS, WalsFactors

HELD_OUT = [f"u{n}" for n in range(6)]


@dataclass
class Planted:
    world: SyntheticWorld
    strengths: dict[str, dict[str, float]]  # user -> item -> summed strength (positive events only)

    def triples(self, skip: frozenset[str] = frozenset()) -> list[tuple[str, str, float]]:
        return [(u, i, s) for u, items in self.strengths.items() if u not in skip for i, s in items.items()]

    def own_share(self, factors: WalsFactors, user: str, vector: np.ndarray, k: int = 10) -> float:
        """Share of the user's top-``k`` unseen items that are in the user's own cluster."""
        candidates = [i for i in factors.item_ids if i not in self.strengths[user]]
        rows = {item: n for n, item in enumerate(factors.item_ids)}
        scores = factors.items[[rows[i] for i in candidates]] @ vector
        top = [candidates[j] for j in np.argsort(-scores)[:k]]
        own = self.world.cluster_of_user(user)
        return sum(self.world.cluster_of_item(i) == own for i in top) / k


@pytest.fixture(scope="module")
def planted() -> Planted:
    world = SyntheticWorld(users=60, items=90, clusters=3, seed=0)
    strengths: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for event in world.interactions(3000):
        if event.type != "dislike":  # WALS takes positives only
            strengths[event.user_id][event.item_id] += 1.0
    return Planted(world, {u: dict(items) for u, items in strengths.items()})


@pytest.fixture(scope="module")
def fitted(planted: Planted) -> tuple[WALS, WalsFactors]:
    wals = WALS(factors=3, seed=1)  # the planted rank; more factors fit the 15% off-cluster noise
    return wals, wals.fit(planted.triples())


def test_planted_clusters_are_recovered(planted: Planted, fitted: tuple[WALS, WalsFactors]) -> None:
    _, factors = fitted
    shares = [planted.own_share(factors, u, factors.users[n]) for n, u in enumerate(factors.user_ids)]
    assert len(shares) == 60
    assert np.mean(shares) >= 0.85  # measured 0.93 (chance is 1/3)
    assert np.mean([s > 0.5 for s in shares]) >= 0.95  # nearly every user: a majority from their own cluster


def test_the_objective_decreases_every_iteration_and_is_the_weighted_loss(fitted: tuple[WALS, WalsFactors]) -> None:
    wals, _ = fitted
    history = wals.history
    assert len(history) == wals.iterations == 10
    assert all(b <= a * (1 + 1e-12) for a, b in zip(history, history[1:], strict=False))
    assert history[-1] < 0.9 * history[0]
    # On a small problem the reported objective is the dense weighted loss of the returned factors.
    small = WALS(factors=2, l2=0.5, alpha=3.0, iterations=4, seed=0)
    triples = [("a", "x", 1.0), ("a", "y", 2.0), ("b", "y", 1.0), ("c", "z", 0.5), ("c", "x", 1.0), ("a", "x", 1.0)]
    f = small.fit(triples)
    r = np.zeros((3, 3))
    for u, i, s in triples:
        r[f.user_ids.index(u), f.item_ids.index(i)] += s
    c, p = 1.0 + 3.0 * r, (r > 0).astype(float)
    dense = np.sum(c * (p - f.users @ f.items.T) ** 2) + 0.5 * (np.sum(f.users**2) + np.sum(f.items**2))
    assert small.history[-1] == pytest.approx(dense, rel=1e-10)


def test_repeated_pairs_add_up_and_the_fit_is_seeded() -> None:
    once = WALS(factors=2, iterations=3, seed=5).fit([("a", "x", 3.0), ("b", "x", 1.0), ("b", "y", 1.0)])
    split = WALS(factors=2, iterations=3, seed=5).fit(
        [("a", "x", 1.0), ("b", "x", 1.0), ("a", "x", 2.0), ("b", "y", 1.0)]
    )
    assert once.user_ids == split.user_ids and once.item_ids == split.item_ids
    assert np.allclose(once.users, split.users) and np.allclose(once.items, split.items)
    other = WALS(factors=2, iterations=3, seed=6).fit([("a", "x", 3.0), ("b", "x", 1.0), ("b", "y", 1.0)])
    assert not np.allclose(once.users, other.users)


def test_fold_in_reproduces_a_fitted_user(planted: Planted, fitted: tuple[WALS, WalsFactors]) -> None:
    wals, factors = fitted
    for user in HELD_OUT:
        expected = factors.user_vector(user)
        assert expected is not None
        np.testing.assert_allclose(wals.fit_user(factors, planted.strengths[user]), expected, rtol=1e-8, atol=1e-10)


def test_fold_in_of_held_out_users_ranks_their_cluster_first(planted: Planted) -> None:
    wals = WALS(factors=3, seed=1)
    factors = wals.fit(planted.triples(skip=frozenset(HELD_OUT)))
    assert all(factors.user_vector(u) is None for u in HELD_OUT)
    shares = [planted.own_share(factors, u, wals.fit_user(factors, planted.strengths[u])) for u in HELD_OUT]
    assert np.mean(shares) >= 0.8  # measured 0.93
    assert not wals.fit_user(factors, {"never-seen": 1.0}).any()  # nothing known: the zero vector


def test_scores_and_lookups(fitted: tuple[WALS, WalsFactors]) -> None:
    _, factors = fitted
    user = factors.user_ids[0]
    scores = factors.score(user, [factors.item_ids[1], "never-seen", factors.item_ids[0]])
    assert scores.tolist() == pytest.approx(
        [factors.items[1] @ factors.users[0], 0.0, factors.items[0] @ factors.users[0]]
    )
    assert factors.user_vector("nobody") is None
    with pytest.raises(KeyError, match="fit_user"):
        factors.score("nobody", ["i0"])
    with pytest.raises(ValueError, match=r"got users \(2, 3\) for 1 ids"):
        WalsFactors(["a"], np.zeros((2, 3)), ["x"], np.zeros((1, 3)))


@pytest.mark.parametrize("strength", [-1.0, 0.0, float("nan")])
def test_strengths_must_be_positive(strength: float) -> None:
    with pytest.raises(ValueError, match="drop negative events"):
        WALS().fit([("a", "x", 1.0), ("b", "y", strength)])
    factors = WALS(factors=2, iterations=1).fit([("a", "x", 1.0)])
    with pytest.raises(ValueError, match="'x'.*drop negative events"):
        WALS(factors=2).fit_user(factors, {"x": strength})
    with pytest.raises(ValueError, match="no interactions"):
        WALS().fit([])


def test_install_continues_bpr_from_the_batch_factors(fitted: tuple[WALS, WalsFactors]) -> None:
    _, factors = fitted
    bpr = OnlineBPR(factors=3, seed=0)
    first, second = bpr.rows.rows(factors.item_ids[:2])
    bpr.learn(bpr.new_user(random.Random(0)), first, 1.0, np.array([second]))
    bias_before = bpr.item_vector(factors.item_ids[0])[-1]
    assert bias_before != 0.0
    bpr.install(factors.item_ids, factors.items)
    for n, item in enumerate(factors.item_ids):
        np.testing.assert_allclose(bpr.item_vector(item)[:-1], factors.items[n], rtol=1e-6, atol=1e-6)
    assert bpr.item_vector(factors.item_ids[0])[-1] == bias_before  # biases unchanged when not given
    assert bpr.item_vector(factors.item_ids[5])[-1] == 0.0  # new rows start at zero
    assert set(bpr.item_ids()) == set(factors.item_ids)
    # Right after install, BPR scores a WALS user's items as WALS does (for items without a BPR bias).
    fresh, user = factors.item_ids[2:], UserFactors(vector=factors.users[0])
    online = bpr.item_vectors(fresh) @ bpr.query(user)
    np.testing.assert_allclose(online, factors.score(factors.user_ids[0], fresh), rtol=1e-5, atol=1e-5)
    bpr.install(["a", "b"], np.zeros((2, 3)), biases=np.array([0.5, -0.5]))
    assert bpr.item_vector("b").tolist() == [0.0, 0.0, 0.0, -0.5]


def test_install_checks_shapes_and_max_norm_applies_when_a_row_is_next_learned() -> None:
    bpr = OnlineBPR(factors=4, max_norm=3.0)
    with pytest.raises(ValueError, match=r"\(2, 4\), got \(2, 3\)"):
        bpr.install(["a", "b"], np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(2, 4\), got \(3, 4\)"):
        bpr.install(["a", "b"], np.zeros((3, 4)))
    with pytest.raises(ValueError, match="biases"):
        bpr.install(["a", "b"], np.zeros((2, 4)), biases=np.zeros(3))
    assert not bpr.has_item("a")  # a rejected install changes nothing
    bpr.install(["a"], np.array([[10.0, 0.0, 0.0, 0.0]]))
    assert bpr.item_vector("a")[:-1].tolist() == [10.0, 0.0, 0.0, 0.0]  # set as given
    bpr.learn(UserFactors(vector=np.array([0.0, 1.0, 0.0, 0.0])), bpr.rows.find("a"), 1.0, negatives=np.array([]))
    assert np.linalg.norm(bpr.item_vector("a")[:-1]) == pytest.approx(3.0)
