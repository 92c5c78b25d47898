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

Features of a (user, item) pair, all computed from the generators' signals
(:meth:`recsys.candidates.Generator.signal`) for the whole candidate set at once:

* per signal: its value (``sign(x) * log1p(|x|)``), its rank among the candidates
  (``1 / log2(1 + rank)``) and whether it says anything about the item;
* the blend's own rank-fusion score (so the model starts from what the fallback knows);
* genre affinity: the share of the user's recent items that share a genre with the item.

Until ``min_examples`` labelled examples have been learned, the configured blend ranks (the
model learns from the first impression on). What is learned lives in a
:class:`~recsys.models.pairwise.PairwiseModel` kept with the item-side state; impressions live
in a bounded LRU in memory, not in the user's table state: after a restart the first event of
each user teaches nothing.

Examples
--------
>>> import numpy as np
>>> from recsys.state import UserState
>>> from recsys.models.pairwise import PairwiseModel
>>> from recsys.request import Request
>>> signals = {"popular": lambda r, ids: np.array([5.0 if i == "good" else 1.0 for i in ids])}
>>> scorer = LearnedScorer(signals, {"popular": 1.0}, PairwiseModel(k=1, min_examples=2, negatives=1))
>>> request = Request(UserState("u"), None)
>>> [s.item_id for s in sorted(scorer.score(request, {"bad": {}, "good": {}}), key=lambda s: -s.score)]
['good', 'bad']
>>> scorer.observe("u", "bad", positive=True)  # the user took the item ranked second: one pair
1
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping

import numpy as np

from recsys.models.pairwise import PairwiseModel
from recsys.request import Request
from recsys.scoring.base import Scored, Scorer, Signal
from recsys.scoring.blend import fuse_orders, rank_contributions, signal_order

Genres = Callable[[str], tuple[str, ...]]


class LearnedScorer(Scorer):
    """Logistic regression over candidate features, learned from impressions; blend fallback.

    The scorer computes features from the ``signals`` it is given; what it learned lives in
    its ``model``, which outlives it.
    """

    def __init__(
        self,
        signals: Mapping[str, Signal],
        blend_weights: Mapping[str, float],
        model: PairwiseModel,
        *,
        blend_offset: float = 60.0,
        genres: Genres | None = None,
    ) -> None:
        self.signals = dict(signals)
        self.blend_weights = dict(blend_weights)
        self.blend_offset = blend_offset
        self.genres = genres
        self.pairwise = model
        self.names = [f"{name}:{part}" for name in self.signals for part in ("value", "rank", "known")]
        self.names += ["blend", "genre_affinity"]

    @property
    def learned(self) -> bool:
        """True once enough feedback was seen for the model, not the blend, to rank."""
        return self.pairwise.learned

    @property
    def examples(self) -> int:
        return self.pairwise.examples

    def observe(self, user_id: str, item_id: str, positive: bool) -> int:
        """Label the user's last impression with what they did (see :meth:`PairwiseModel.observe`)."""
        return self.pairwise.observe(user_id, item_id, positive)

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

    # ------------------------------------------------------------------ scoring
    def score(self, request: Request, candidates: dict[str, dict[str, float]]) -> list[Scored]:
        ids = list(candidates)
        if not ids:
            return []
        rows, fused, orders = self.features(request, ids)
        if self.learned:
            scores = rows @ self.pairwise.weights(self.names)
        else:
            scores = fused
        self.pairwise.remember(request.user.user_id, ids, rows, scores, self.names)
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
        weights = self.pairwise.weights(self.names)
        groups = [name.split(":")[0] for name in self.names]
        out: list[dict[str, float]] = []
        for p in known:
            parts: dict[str, float] = {}
            if p >= 0:
                for group, value in zip(groups, rows[p] * weights, strict=True):
                    parts[group] = parts.get(group, 0.0) + float(value)
            out.append({g: round(v, 6) for g, v in parts.items() if v})
        return out
