"""A scorer learned online from impressions: logistic regression (River) over per-candidate features.

Every time it ranks a user's merged candidates it remembers, for that user, the feature rows
of the best ``keep`` of them, best first (the impression: the first ``k`` were shown). The
user's next interaction labels it, pairwise (RankNet: ``P(a before b) = sigmoid(w . (x_a -
x_b))``, River's logistic regression on feature differences, AdaGrad): an item taken
(click, like, purchase, a good rating) should come before ``negatives`` other remembered
candidates, drawn uniformly; an item skipped or disliked should come after as many. An item
acted on that was not among the remembered candidates teaches nothing: the scorer orders
candidates, it cannot fix their recall.

What was measured on the synthetic replay (``recsys evaluate --format synthetic``, HR@10;
the blend scores 0.358): pointwise labels with the shown-and-ignored items as negatives,
0.206 (takes come from the whole list, so the model learned that a high rank predicts being
ignored); pointwise with uniform negatives, 0.330; pairwise against the items listed above
the take ("skip-above"), 0.268 with SGD and 0.345 with AdaGrad (the same bias: the items
above always rank higher, so the blend feature got a negative weight); pairwise with uniform
negatives and AdaGrad, 0.371 with 3 negatives and 0.374 with 8.

Features of a (user, item) pair, all computed from the signals of
:mod:`recsys.scoring.signals` for the whole candidate set at once:

* per signal: its value (``sign(x) * log1p(|x|)``), its rank among the candidates
  (``1 / log2(1 + rank)``) and whether it says anything about the item;
* the blend's own rank-fusion score (so the model starts from what the fallback knows);
* genre affinity: the share of the user's recent items that share a genre with the item.

Until ``min_examples`` labelled examples have been learned, the configured blend ranks (the
model learns from the first impression on). Impressions live in a bounded LRU in memory,
not in the user's table state: after a restart the first event of each user teaches nothing.

Examples
--------
>>> import numpy as np
>>> from recsys.state import UserState
>>> from recsys.candidates.base import Request
>>> signals = {"popular": lambda r, ids: np.array([5.0 if i == "good" else 1.0 for i in ids])}
>>> scorer = LearnedScorer(signals, {"popular": 1.0}, k=1, min_examples=2, negatives=1)
>>> request = Request(UserState("u"), None)
>>> [s.item_id for s in sorted(scorer.score(request, {"bad": {}, "good": {}}), key=lambda s: -s.score)]
['good', 'bad']
>>> scorer.observe("u", "bad", positive=True)  # the user took the item ranked second: one pair
1
"""

from __future__ import annotations

import math
import random
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from river import linear_model, optim

from recsys.candidates.base import Request
from recsys.scoring.base import Scored, Scorer
from recsys.scoring.blend import fuse_orders, rank_contributions, signal_order
from recsys.scoring.signals import Signal

Genres = Callable[[str], tuple[str, ...]]


@dataclass
class Impression:
    """What was ranked for a user: the remembered candidates' ids and feature rows, best first."""

    ids: list[str]
    rows: np.ndarray  # float32, one row per id
    shown: int  # the first ``shown`` ids were the list the user saw


class LearnedScorer(Scorer):
    """Logistic regression over candidate features, learned from impressions; blend fallback."""

    def __init__(
        self,
        signals: Mapping[str, Signal],
        blend_weights: Mapping[str, float],
        *,
        blend_offset: float = 60.0,
        k: int = 10,
        keep: int = 100,
        negatives: int = 8,
        min_examples: int = 1000,
        learning_rate: float = 0.1,
        l2: float = 0.0,
        memory: int = 5000,
        genres: Genres | None = None,
        seed: int = 0,
    ) -> None:
        if min(k, keep, memory) < 1 or negatives < 0 or min_examples < 0 or learning_rate <= 0:
            raise ValueError("k, keep and memory must be >= 1; negatives, min_examples >= 0; learning_rate > 0")
        self.signals = dict(signals)
        self.blend_weights = dict(blend_weights)
        self.blend_offset = blend_offset
        self.k, self.keep, self.negatives, self.min_examples = k, keep, negatives, min_examples
        self.memory = memory
        self.genres = genres
        # pairwise: P(a before b) = sigmoid(w . (x_a - x_b)); no intercept, it would only drift
        # AdaGrad: per-feature steps, so features of different scales learn alike
        self.model = linear_model.LogisticRegression(optimizer=optim.AdaGrad(learning_rate), l2=l2, intercept_lr=0.0)
        self.examples = 0
        self.impressions: OrderedDict[str, Impression] = OrderedDict()
        self.rng = random.Random(seed)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["impressions"] = OrderedDict()  # transient: not worth a snapshot
        state["signals"] = {}  # closures over engine parts; the engine wires them again
        state["genres"] = None
        state.pop("_last", None)  # the last list's features: transient
        return state

    @property
    def names(self) -> list[str]:
        """The feature names, in column order (the model's weights are keyed by name)."""
        parts = [f"{name}:{part}" for name in self.signals for part in ("value", "rank", "known")]
        return [*parts, "blend", "genre_affinity"]

    @property
    def learned(self) -> bool:
        """True once enough feedback was seen for the model, not the blend, to rank."""
        return self.examples >= self.min_examples

    # ------------------------------------------------------------------ features
    def features(self, request: Request, ids: list[str]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """The feature matrix (one row per id, columns :attr:`names`), the blend's scores, and
        each signal's order (for :meth:`components`)."""
        n = len(ids)
        orders: dict[str, np.ndarray] = {}
        columns: list[np.ndarray] = []
        ranks = 1.0 / np.log2(2.0 + np.arange(n))
        for name, signal in self.signals.items():
            raw = signal(request, ids)
            if raw is None:
                columns += [np.zeros(n), np.zeros(n), np.zeros(n)]
                continue
            v = np.asarray(raw, dtype=float)
            known = ~np.isnan(v)
            order = orders[name] = signal_order(v)
            rank_col = np.zeros(n)
            rank_col[order] = ranks[: len(order)]
            columns += [np.where(known, np.sign(v) * np.log1p(np.abs(np.nan_to_num(v))), 0.0), rank_col, known * 1.0]
        fused = fuse_orders(orders, self.blend_weights, self.blend_offset, n)
        total = sum(w for w in self.blend_weights.values() if w > 0) or 1.0
        columns.append(fused * (self.blend_offset + 1.0) / total)
        columns.append(self._genre_affinity(request, ids))
        return np.column_stack(columns), fused, orders

    def _genre_affinity(self, request: Request, ids: list[str]) -> np.ndarray:
        history = request.user.history
        if self.genres is None or not history:
            return np.zeros(len(ids))
        counts = Counter(g for item in history for g in set(self.genres(item)))
        scale = 1.0 / len(history)
        return np.fromiter(
            (min(1.0, sum(counts[g] for g in self.genres(i)) * scale) for i in ids), dtype=float, count=len(ids)
        )

    def _weights(self) -> np.ndarray:
        w = self.model.weights
        return np.array([w.get(name, 0.0) for name in self.names])

    # ------------------------------------------------------------------ scoring
    def score(self, request: Request, candidates: dict[str, dict[str, float]]) -> list[Scored]:
        ids = list(candidates)
        if not ids:
            return []
        rows, fused, orders = self.features(request, ids)
        if self.learned:
            scores = rows @ self._weights()
        else:
            scores = fused
        self._remember(request.user.user_id, ids, rows, scores)
        self._last = (request.user.user_id, ids, rows, orders)
        return [Scored(i, float(s), tuple(candidates[i])) for i, s in zip(ids, scores.tolist(), strict=True)]

    def components(self, request: Request, ids: list[str]) -> list[dict[str, float]]:
        """Per signal, what its value, rank and presence features added (weight times
        feature) once the model ranks; the blend's rank contributions before."""
        last = getattr(self, "_last", None)
        if last is None or last[0] != request.user.user_id:
            return super().components(request, ids)
        _, listed, rows, orders = last
        if not self.learned:
            return rank_contributions(orders, self.blend_weights, self.blend_offset, listed, ids)
        position = {item_id: row for row, item_id in enumerate(listed)}
        known = [position.get(i, -1) for i in ids]
        weights = self._weights()
        groups = [name.split(":")[0] for name in self.names]
        out: list[dict[str, float]] = []
        for p in known:
            parts: dict[str, float] = {}
            if p >= 0:
                for group, value in zip(groups, rows[p] * weights, strict=True):
                    parts[group] = parts.get(group, 0.0) + float(value)
            out.append({g: round(v, 6) for g, v in parts.items() if v})
        return out

    def _remember(self, user_id: str, ids: list[str], rows: np.ndarray, scores: np.ndarray) -> None:
        best = np.lexsort((np.array(ids), -scores))[: self.keep]  # the engine's order: score, then id
        self.impressions[user_id] = Impression([ids[j] for j in best], rows[best].astype(np.float32), self.k)
        self.impressions.move_to_end(user_id)
        while len(self.impressions) > self.memory:
            self.impressions.popitem(last=False)

    # ------------------------------------------------------------------ learning
    def observe(self, user_id: str, item_id: str, positive: bool) -> int:
        """Label the user's last impression with what they did; returns the pairs learned."""
        impression = self.impressions.pop(user_id, None)
        if impression is None or item_id not in impression.ids:
            return 0
        p = impression.ids.index(item_id)
        others = [j for j in range(len(impression.ids)) if j != p]
        if positive:  # it should outrank the other remembered candidates, drawn uniformly
            pairs = [(p, j) for j in self.rng.sample(others, min(self.negatives, len(others)))]
        else:  # a skip or a dislike: what it was ranked with should come first
            pairs = [(j, p) for j in self.rng.sample(others, min(self.negatives, len(others)))]
        for better, worse in pairs:
            self._learn(impression.rows[better] - impression.rows[worse])
        return len(pairs)

    def _learn(self, difference: np.ndarray) -> None:
        names = self.names
        x = {n: float(v) for n, v in zip(names, difference.tolist(), strict=True) if v == v and not math.isinf(v)}
        self.model.learn_one(x, True)
        self.examples += 1
