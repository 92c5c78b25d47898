"""The learned scorer: labelled by what users did with their lists, the blend until then."""

from __future__ import annotations

import pickle
import random
from pathlib import Path

import numpy as np

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.models.pairwise import PairwiseModel
from recsys.request import Request
from recsys.rows import RowSpace
from recsys.scoring import Signal
from recsys.scoring.learned import LearnedScorer
from recsys.settings import Settings
from recsys.state import UserState

ITEMS = [f"i{n}" for n in range(40)]
SPACE = RowSpace()
ROWS = SPACE.rows(ITEMS)  # the candidates' item rows: i<n> is row n


def row(item_id: str) -> int:
    return SPACE.row(item_id)


def two_signals(seed: int) -> tuple[dict[str, Signal], dict[str, float]]:
    """``loud`` ranks by a value unrelated to what users take; ``quiet`` ranks by what they take."""
    rng = np.random.default_rng(seed)
    loud_values, quiet_values = rng.random(len(ITEMS)), rng.random(len(ITEMS))
    quiet = {i: float(v) for i, v in zip(ITEMS, quiet_values, strict=True)}
    signals: dict[str, Signal] = {
        "loud": lambda r, rows: loud_values[rows],
        "quiet": lambda r, rows: quiet_values[rows],
    }
    return signals, quiet


def top(scorer: LearnedScorer, user: str, k: int = 5) -> list[str]:
    """The ids of the ``k`` best candidates, best first (ties: the earlier row, as the engine breaks them)."""
    scores = scorer.score(Request(UserState(user), None), ROWS)
    assert scores.shape == ROWS.shape
    return SPACE.ids_of(ROWS[np.lexsort((ROWS, -scores))][:k].tolist())


def test_it_ranks_by_the_blend_until_it_learned_then_by_what_users_took() -> None:
    signals, quiet = two_signals(seed=1)
    # the blend trusts only the loud signal; users take the quiet signal's favourites
    scorer = LearnedScorer(signals, {"loud": 1.0}, PairwiseModel(k=5, keep=40, min_examples=300, negatives=3, seed=1))
    blend_top = top(scorer, "u0")
    by_quiet = sorted(ITEMS, key=lambda i: -quiet[i])
    rng = random.Random(0)
    for n in range(400):
        user = f"u{n % 20}"
        top(scorer, user)  # an impression
        taken = rng.choice(by_quiet[:5])  # what this user then did
        scorer.observe(user, row(taken), positive=True)
    assert scorer.learned
    learned_top = top(scorer, "u0")
    overlap = len(set(learned_top) & set(by_quiet[:5]))
    assert overlap >= 4, (learned_top, by_quiet[:5])
    assert len(set(blend_top) & set(by_quiet[:5])) < overlap  # the blend alone was worse


def test_before_min_examples_the_order_is_the_blends() -> None:
    signals, _ = two_signals(seed=2)
    scorer = LearnedScorer(signals, {"loud": 1.0}, PairwiseModel(k=5, min_examples=10_000))
    first = top(scorer, "u", k=len(ITEMS))
    for n in range(50):
        top(scorer, "u")
        scorer.observe("u", row(first[-1 - n % 5]), positive=True)
    assert not scorer.learned and top(scorer, "u", k=len(ITEMS)) == first


def test_each_action_is_paired_with_drawn_candidates_and_unranked_items_teach_nothing() -> None:
    signals, _ = two_signals(seed=3)
    scorer = LearnedScorer(signals, {"loud": 1.0}, PairwiseModel(k=5, keep=10, negatives=4))
    assert scorer.observe("u", row(ITEMS[0]), positive=True) == 0  # no impression yet
    shown = top(scorer, "u", k=10)
    assert scorer.observe("u", row("never-ranked"), positive=True) == 0  # not among the remembered candidates
    assert scorer.observe("u", row(shown[1]), positive=True) == 0  # an impression is labelled once
    top(scorer, "u")
    assert scorer.observe("u", row(shown[7]), positive=True) == 4  # a take: four pairs
    top(scorer, "u")
    assert scorer.observe("u", row(shown[0]), positive=False) == 4  # a skip: four pairs the other way
    few = LearnedScorer(signals, {"loud": 1.0}, PairwiseModel(k=5, keep=3, negatives=4))
    remembered = top(few, "u", k=3)
    assert few.observe("u", row(remembered[2]), positive=True) == 2  # only two others were remembered
    assert scorer.examples == 8


def test_a_pickled_scorer_keeps_its_weights_and_drops_impressions() -> None:
    signals, _ = two_signals(seed=4)
    scorer = LearnedScorer(signals, {"loud": 1.0}, PairwiseModel(k=5, min_examples=1))
    top(scorer, "u")
    scorer.observe("u", row(ITEMS[3]), positive=True)
    top(scorer, "u")
    copy = pickle.loads(pickle.dumps(scorer.pairwise))  # what the scorer learned: its model, kept with the items
    assert copy.examples == scorer.examples and dict(copy.model.weights) == dict(scorer.pairwise.model.weights)
    assert scorer.pairwise.impressions and not copy.impressions


def test_the_engine_learns_its_scorer_from_the_stream_and_snapshots_it(tmp_path: Path) -> None:
    settings = Settings(scorer="learned", learned_min_examples=500, ann_backend="brute", seed=3)
    world = SyntheticWorld(users=200, items=300, clusters=5, seed=3)
    engine = Engine(settings)
    for item in world.catalogue():
        engine.apply_item(item)
    for event in world.interactions(1500):
        engine.process(event)
    assert engine.items.learned is not None and engine.items.learned.learned
    weights = dict(engine.items.learned.model.weights)
    assert any(name.startswith("covisit:") and value != 0 for name, value in weights.items())
    engine.save(tmp_path)
    restored = Engine(settings)
    assert restored.load(tmp_path)
    assert restored.items.learned is not None and restored.items.learned.examples == engine.items.learned.examples
    scorer = restored.ranker.scorer
    assert isinstance(scorer, LearnedScorer) and scorer.pairwise is restored.items.learned  # built on the loaded model
    assert len(restored.recommend("u1")) == settings.k


def _impression(model: PairwiseModel) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Four remembered candidates (rows 0-3, best first) with two features, for user ``u``."""
    items, names = np.arange(4), ["a", "b"]
    rows = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.9]], dtype=np.float32)
    model._learn(names, np.array([1.0, 1.0]))  # one step first: AdaGrad's first step has the same size at any weight
    model.remember("u", items, rows, np.array([4.0, 3.0, 2.0, 1.0]), names)
    return items, rows, names


def test_ipw_weighs_a_take_by_the_inverse_of_its_positions_examination() -> None:
    for position, power, expected in ((4, 1.0, 4.0), (3, 2.0, 9.0), (8, 2.0, 10.0), (1, 1.0, 1.0)):
        debiased = PairwiseModel(negatives=1, seed=5, debias="ipw", propensity_power=power)
        items, rows, names = _impression(debiased)
        listed = np.array([9, 8, 7, 6, 5, 11, 12, 13])  # the list as shown; the taken item 2 at ``position``
        listed[position - 1] = 2
        assert debiased.observe("u", 2, positive=True, listed=listed) == 1
        plain = PairwiseModel(negatives=1, seed=5)  # the same draw of the other candidate
        _impression(plain)
        other = plain.rng.sample([0, 1, 3], 1)[0]
        plain._learn(names, rows[2] - rows[other], expected)
        assert dict(debiased.model.weights) == dict(plain.model.weights), (position, power)
        unweighted = PairwiseModel(negatives=1, seed=5)
        _impression(unweighted)
        unweighted._learn(names, rows[2] - rows[other])
        assert (dict(unweighted.model.weights) == dict(plain.model.weights)) == (expected == 1.0)
    unlisted = PairwiseModel(negatives=1, seed=5, debias="ipw")  # found outside the list: weight 1
    _, rows, names = _impression(unlisted)
    unlisted.observe("u", 2, positive=True, listed=np.array([0, 1]))
    plain = PairwiseModel(negatives=1, seed=5)
    _impression(plain)
    plain._learn(names, rows[2] - rows[plain.rng.sample([0, 1, 3], 1)[0]])
    assert dict(unlisted.model.weights) == dict(plain.model.weights)


def test_the_position_feature_is_learned_but_never_ranks() -> None:
    model = PairwiseModel(negatives=3, min_examples=1, debias="feature")
    signals, _ = two_signals(seed=6)
    scorer = LearnedScorer(signals, {"loud": 1.0}, model)
    rng = random.Random(1)
    for n in range(200):
        shown = top(scorer, f"u{n % 10}", k=10)  # the list as shown: the scorer's order
        taken = shown[0] if rng.random() < 0.7 else rng.choice(shown)  # takes crowd at the top
        model.observe(f"u{n % 10}", row(taken), positive=True, listed=np.array([row(i) for i in shown]))
    assert model.model.weights["position"] > 0  # the top of the list is taken more, whatever the item
    assert "position" not in scorer.names and len(scorer.weights()) == len(scorer.names)
