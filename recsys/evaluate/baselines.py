"""Baselines run in the same pass as the product: popularity, decayed popularity, item
co-occurrence, random, and River's FunkMF and BiasedMF as they come (positives only).

They keep scores in dense numpy arrays over a growing item index, so ranking all items
for every event stays cheap; excluded items are removed (never merely pushed down).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict, deque
from typing import Any

import numpy as np
from river import optim, reco

from recsys.evaluate.protocol import Event, Recommender
from schemas import Interaction, Item


class ItemSpace:
    """Dense ids for items, availability, and top-k over a score vector with hard exclusion."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.ids: list[str] = []
        self.available = np.zeros(1024, dtype=bool)

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, item_id: str, available: bool = True) -> int:
        pos = self.index.get(item_id)
        if pos is None:
            pos = self.index[item_id] = len(self.ids)
            self.ids.append(item_id)
            if pos >= len(self.available):
                self.available = np.concatenate([self.available, np.zeros(len(self.available), dtype=bool)])
        self.available[pos] = available
        return pos

    def observe(self, event: Event) -> int | None:
        if isinstance(event, Item):
            return self.add(event.item_id, event.available)
        if isinstance(event, Interaction):
            pos = self.index.get(event.item_id)
            return self.add(event.item_id) if pos is None else pos
        return None

    def top(self, scores: np.ndarray, k: int, exclude: set[str]) -> list[str]:
        """The ``k`` best available items by ``scores`` (ties by first appearance), none excluded."""
        n = len(self.ids)
        live = np.flatnonzero(self.available[:n])
        if len(live) == 0:
            return []
        s = scores[live]
        want = min(len(live), k + len(exclude))
        part = np.argpartition(-s, want - 1)[:want] if want < len(live) else np.arange(len(live))
        order = part[np.lexsort((live[part], -s[part]))]
        out = [self.ids[live[j]] for j in order if self.ids[live[j]] not in exclude]
        return out[:k]


class _Scored(Recommender):
    """A baseline ranking all items by one score vector."""

    def __init__(self) -> None:
        super().__init__()
        self.items = ItemSpace()
        self.scores = np.zeros(1024)

    def _grow(self) -> None:
        if len(self.items) > len(self.scores):
            self.scores = np.concatenate([self.scores, np.zeros(len(self.scores))])

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        return self.items.top(self.scores[: len(self.items)], k, exclude)


class MostPopular(_Scored):
    """Items with the most positive interactions so far."""

    name = "popular"

    def observe(self, event: Event, positive: bool) -> None:
        pos = self.items.observe(event)
        self._grow()
        if pos is not None and positive and isinstance(event, Interaction):
            self.scores[pos] += 1.0


class DecayedPopular(_Scored):
    """Positive interactions, each decaying with a half-life in event time (default one week)."""

    name = "decayed-popular"

    def __init__(self, half_life_s: float = 7 * 86400.0) -> None:
        super().__init__()
        self.rate = math.log(2) / half_life_s
        self.ref: float | None = None

    def observe(self, event: Event, positive: bool) -> None:
        pos = self.items.observe(event)
        self._grow()
        if pos is None or not positive or not isinstance(event, Interaction):
            return
        if self.ref is None:
            self.ref = event.timestamp
        exponent = (event.timestamp - self.ref) * self.rate
        if exponent > 50:  # renormalise before exp() overflows; ranking is unchanged
            self.scores *= math.exp(-exponent)
            self.ref, exponent = event.timestamp, 0.0
        self.scores[pos] += math.exp(exponent)


class Random(_Scored):
    """Uniformly random available items."""

    name = "random"

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.rng = random.Random(seed)

    def observe(self, event: Event, positive: bool) -> None:
        self.items.observe(event)

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        n = len(self.items)
        pool = [self.items.ids[i] for i in np.flatnonzero(self.items.available[:n])]
        picked: list[str] = []
        for item_id in self.rng.sample(pool, min(len(pool), k + len(exclude))):
            if item_id not in exclude:
                picked.append(item_id)
            if len(picked) == k:
                break
        return picked


class CoOccurrence(_Scored):
    """Items that co-occurred with the user's last ``window`` positives in anyone's recent
    history; most popular when the user has no history (a fallback)."""

    name = "co-occurrence"

    def __init__(self, window: int = 20) -> None:
        super().__init__()
        self.window = window
        self.recent: dict[str, deque[int]] = defaultdict(lambda: deque(maxlen=window))
        self.pairs: dict[int, dict[int, float]] = defaultdict(lambda: defaultdict(float))

    def observe(self, event: Event, positive: bool) -> None:
        pos = self.items.observe(event)
        self._grow()
        if pos is None or not positive or not isinstance(event, Interaction):
            return
        self.scores[pos] += 1.0  # popularity, for the fallback
        history = self.recent[event.user_id]
        for other in history:
            if other != pos:
                self.pairs[other][pos] += 1.0
                self.pairs[pos][other] += 1.0
        history.append(pos)

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        history = self.recent.get(user_id)
        if not history:
            self.fallback = True
            return super().recommend(user_id, k, exclude)
        self.fallback = False
        n = len(self.items)
        scores = np.zeros(n)
        for item in history:
            row = self.pairs.get(item)
            if row:
                scores[np.fromiter(row.keys(), dtype=np.int64, count=len(row))] += np.fromiter(
                    row.values(), dtype=float, count=len(row)
                )
        # items never co-seen rank by popularity after every co-occurring one
        top = self.items.top(scores + self.scores[:n] / (self.scores[:n].max() + 1.0), k, exclude)
        return top


class RiverMF(_Scored):
    """River's ``reco`` model as it comes: learns each positive with its rating (or 1) as
    target, no negatives. Ranks by ``<p_u, q_i> (+ b_i)`` over all items, kept in a mirror
    matrix that is updated for the one item each step touches."""

    def __init__(self, kind: str = "BiasedMF", factors: int = 10, seed: int = 0) -> None:
        super().__init__()
        self.name = f"river-{kind.lower()}"
        self.factors = factors
        init = optim.initializers.Normal(mu=0.0, sigma=0.1, seed=seed)
        params: dict[str, Any] = {"n_factors": factors, "seed": seed}
        if kind == "BiasedMF":
            self.model: Any = reco.BiasedMF(
                **params, bias_optimizer=optim.SGD(0.025), latent_optimizer=optim.SGD(0.05), latent_initializer=init
            )
        elif kind == "FunkMF":
            self.model = reco.FunkMF(**params, optimizer=optim.SGD(0.05), initializer=init)
        else:
            raise ValueError(f"unknown River model {kind!r}; use BiasedMF or FunkMF")
        self.biased = kind == "BiasedMF"
        self.matrix = np.zeros((1024, factors + 1))

    def observe(self, event: Event, positive: bool) -> None:
        pos = self.items.observe(event)
        if pos is None:
            return
        if len(self.items) > len(self.matrix):
            self.matrix = np.concatenate([self.matrix, np.zeros_like(self.matrix)])
        if not positive or not isinstance(event, Interaction):
            return
        target = event.value if event.type == "rating" and event.value is not None else 1.0
        self.model.learn_one(event.user_id, event.item_id, target)
        latents = self.model.i_latents
        self.matrix[pos, :-1] = latents[event.item_id]
        self.matrix[pos, -1] = self.model.i_biases[event.item_id] if self.biased else 0.0

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        latents = self.model.u_latents
        self.fallback = user_id not in latents
        user = latents[user_id] if not self.fallback else np.zeros(self.factors)
        n = len(self.items)
        scores = self.matrix[:n, :-1] @ user + self.matrix[:n, -1]
        return self.items.top(scores, k, exclude)


def all_baselines(seed: int = 0) -> list[Recommender]:
    """Every baseline, in the order they are reported."""
    return [
        MostPopular(),
        DecayedPopular(),
        CoOccurrence(),
        Random(seed),
        RiverMF("FunkMF", seed=seed),
        RiverMF("BiasedMF", seed=seed),
    ]
