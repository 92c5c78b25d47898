"""The learned scorer's model: a pairwise logistic regression (River), labelled by what users did with their lists.

Every time the scorer ranks a user's merged candidates it remembers here, for that user, the
feature rows of the best ``keep`` of them, best first (the impression: the first ``k`` were
shown). The user's next interaction labels it, pairwise (RankNet: ``P(a before b) =
sigmoid(w . (x_a - x_b))``, River's logistic regression on feature differences, AdaGrad): an
item taken should come before ``negatives`` other remembered candidates, drawn uniformly; an
item skipped or disliked should come after as many. The model is item-side state (snapshotted
with it); the impressions are transient. The features are the scorer's
(:mod:`recsys.scoring.learned`).

**Position bias.** Users look at the top of a list more than at its bottom, so a take at
position 1 says less about the item than one at position 8: uncorrected, the model learns that
whatever ranked an item first makes it good, and the loop feeds itself. ``debias`` says how the
labels are corrected (the position is where the user's last list showed the item, or the
interaction's own ``position``):

* ``"ipw"``: inverse propensity weights. A take at position ``p`` of the list weighs
  ``min(p ** propensity_power, IPW_CLIP)`` (the examination probability is taken as
  ``(1/p) ** propensity_power``; takes of items found outside the list weigh 1);
* ``"feature"``: the position as a training-only feature (``position``: ``1/log2(1 + p)`` for a
  listed item, 0 for the others), part of the pair's difference when learning and absent (the
  same for every candidate, so it cancels) when ranking;
* ``"none"``: no correction.

Examples
--------
>>> import numpy as np
>>> model = PairwiseModel(k=1, negatives=1, min_examples=1)
>>> names = ["a", "b"]
>>> good, bad = 0, 1  # item rows
>>> model.remember("u", np.array([good, bad]), np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.2, 0.1]), names)
>>> model.observe("u", good, positive=True), model.learned
(1, True)
>>> bool(model.weights(names)[0] > model.weights(names)[1])
True
"""

from __future__ import annotations

import copy
import itertools
import math
import random
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from river import linear_model, optim


@dataclass
class Impression:
    """What was ranked for a user: the remembered candidates (item rows) and their feature rows, best first."""

    items: np.ndarray  # int64 item rows
    rows: np.ndarray  # float32, one feature row per item
    shown: int  # the first ``shown`` ids were the list the user saw
    names: list[str]  # the feature names of the rows' columns
    order: int = 0  # when it was ranked, in this process (the latest of a user's impressions in several models wins)


_ranked = itertools.count(1)


DEBIAS = ("none", "ipw", "feature")
"""The position-bias corrections (module docstring)."""
IPW_CLIP = 10.0
"""The largest inverse-propensity weight: one take deep in a long list must not swamp the rest."""
POSITION = "position"
"""The training-only feature of ``debias="feature"``."""


class PairwiseModel:
    """The learned part of the scorer, kept with the item-side state: a pairwise logistic
    regression (River) and the impressions it is labelled from."""

    def __init__(
        self,
        *,
        k: int = 10,
        keep: int = 100,
        negatives: int = 8,
        min_examples: int = 1000,
        learning_rate: float = 0.1,
        l2: float = 0.0,
        memory: int = 5000,
        seed: int = 0,
        debias: str = "none",
        propensity_power: float = 1.0,
    ) -> None:
        if min(k, keep, memory) < 1 or negatives < 0 or min_examples < 0 or learning_rate <= 0:
            raise ValueError("k, keep and memory must be >= 1; negatives, min_examples >= 0; learning_rate > 0")
        if debias not in DEBIAS or propensity_power < 0:
            raise ValueError(f"debias must be one of {', '.join(DEBIAS)}; propensity_power >= 0")
        self.debias, self.propensity_power = debias, propensity_power
        self.k, self.keep, self.negatives, self.min_examples = k, keep, negatives, min_examples
        self.memory = memory
        # pairwise: P(a before b) = sigmoid(w . (x_a - x_b)); no intercept, it would only drift
        # AdaGrad: per-feature steps, so features of different scales learn alike
        self.model = linear_model.LogisticRegression(optimizer=optim.AdaGrad(learning_rate), l2=l2, intercept_lr=0.0)
        self.examples = 0
        self.impressions: OrderedDict[str, Impression] = OrderedDict()
        self.rng = random.Random(seed)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["impressions"] = OrderedDict()  # transient: not worth a snapshot
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        """A snapshot written before position-bias correction existed loads uncorrected."""
        self.__dict__.update({"debias": "none", "propensity_power": 1.0, **state})

    def fork(self, seed: int, **changes: object) -> PairwiseModel:
        """A copy of what was learned so far, to learn on its own from here (an experiment
        variant's model: it starts where the shared one stands, then learns only from its own
        users), with ``changes`` to its settings (``debias``, ``negatives``...).

        >>> model = PairwiseModel(min_examples=1)
        >>> model._learn(["a"], np.array([1.0]))
        >>> twin = model.fork(seed=1, debias="ipw")
        >>> twin.model.weights == model.model.weights, twin.examples, twin.debias, model.debias
        (True, 1, 'ipw', 'none')
        >>> twin._learn(["a"], np.array([1.0])); twin.model.weights == model.model.weights
        False
        """
        twin = copy.deepcopy(self)  # __getstate__: without the impressions
        for name, value in changes.items():
            if not hasattr(twin, name):
                raise AttributeError(f"PairwiseModel has no setting {name!r}")
            setattr(twin, name, value)
        twin.rng = random.Random(seed)
        return twin

    @property
    def learned(self) -> bool:
        """True once enough feedback was seen for the model, not the blend, to rank."""
        return self.examples >= self.min_examples

    def weights(self, names: list[str]) -> np.ndarray:
        """The model's weight of each feature, in the order of ``names``."""
        w = self.model.weights
        return np.array([w.get(name, 0.0) for name in names])

    def add(self, deltas: dict[str, float], pairs: int) -> None:
        """Add another worker's learning (its weight changes from ``pairs`` pairs) to this model.

        >>> twin, model = PairwiseModel(), PairwiseModel()
        >>> model._learn(["a", "b"], np.array([1.0, -1.0]))
        >>> twin.add({k: v for k, v in model.model.weights.items()}, 1)
        >>> twin.model.weights == model.model.weights, twin.examples
        (True, 1)
        """
        weights = self.model._weights  # River's ``weights`` property is a copy
        for name, delta in deltas.items():
            weights[name] = weights[name] + delta if name in weights else delta
        self.examples += pairs

    def remember(self, user_id: str, items: np.ndarray, rows: np.ndarray, scores: np.ndarray, names: list[str]) -> None:
        """The user was just ranked ``items`` (item rows) with these feature rows and scores: keep the best."""
        best = np.lexsort((items, -scores))[: self.keep]  # the engine's order: score, then row
        self.impressions[user_id] = Impression(items[best], rows[best].astype(np.float32), self.k, names, next(_ranked))
        self.impressions.move_to_end(user_id)
        while len(self.impressions) > self.memory:
            self.impressions.popitem(last=False)

    def observe(self, user_id: str, item: int, positive: bool, listed: np.ndarray | None = None) -> int:
        """Label the user's last impression with what they did to the item of row ``item``;
        returns the pairs learned. ``listed``: the item rows of the list the user was shown, in
        its order (for the position-bias correction; none: no correction)."""
        impression = self.impressions.pop(user_id, None)
        if impression is None:
            return 0
        found = np.flatnonzero(impression.items == item)
        if not len(found):
            return 0
        p = int(found[0])
        others = [j for j in range(len(impression.items)) if j != p]
        if positive:  # it should outrank the other remembered candidates, drawn uniformly
            pairs = [(p, j) for j in self.rng.sample(others, min(self.negatives, len(others)))]
        else:  # a skip or a dislike: what it was ranked with should come first
            pairs = [(j, p) for j in self.rng.sample(others, min(self.negatives, len(others)))]
        weight, names, rows = 1.0, impression.names, impression.rows
        if self.debias != "none" and listed is not None and len(listed):
            at = np.full(len(impression.items), 0, dtype=np.int64)  # 1-based position in the list, 0: not listed
            order = {int(r): i + 1 for i, r in enumerate(listed.tolist())}
            at[:] = [order.get(int(r), 0) for r in impression.items.tolist()]
            if self.debias == "ipw" and positive and at[p]:  # a take from the list: 1 / its examination
                weight = min(float(at[p]) ** self.propensity_power, IPW_CLIP)
            elif self.debias == "feature":
                names = [*names, POSITION]
                position = np.where(at > 0, 1.0 / np.log2(1.0 + np.maximum(at, 1)), 0.0)
                rows = np.concatenate([rows, position[:, None].astype(rows.dtype)], axis=1)
        for better, worse in pairs:
            self._learn(names, rows[better] - rows[worse], weight)
        return len(pairs)

    def _learn(self, names: list[str], difference: np.ndarray, weight: float = 1.0) -> None:
        x = {n: float(v) for n, v in zip(names, difference.tolist(), strict=True) if v == v and not math.isinf(v)}
        self.model.learn_one(x, True, w=weight)
        self.examples += 1


