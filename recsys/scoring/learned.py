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
>>> from recsys.models.pairwise import PairwiseModel
>>> from recsys.request import Request
>>> from recsys.state import UserState
>>> good, bad = 7, 8  # item rows
>>> signals = {"popular": lambda r, rows: np.where(rows == good, 5.0, 1.0)}
>>> scorer = LearnedScorer(signals, {"popular": 1.0}, PairwiseModel(k=1, min_examples=2, negatives=1))
>>> request = Request(UserState("u"), None)
>>> scores = scorer.score(request, np.array([bad, good]))  # the blend ranks until it has learned
>>> bool(scores[1] > scores[0])
True
>>> scorer.observe("u", bad, positive=True)  # the user took the item ranked second: one pair
1
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from recsys.items.catalog import Catalog
from recsys.models.pairwise import PairwiseModel
from recsys.request import Request
from recsys.rows import Rows
from recsys.scoring.base import Scorer, Signal
from recsys.scoring.blend import fuse_orders, rank_contributions, signal_order


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
        catalog: Catalog | None = None,
    ) -> None:
        self.signals = dict(signals)
        self.blend_weights = dict(blend_weights)
        self.blend_offset = blend_offset
        self.catalog = catalog  # item genres, for the genre affinity (none without)
        self.pairwise = model
        self.names = [f"{name}:{part}" for name in self.signals for part in ("value", "rank", "known")]
        self.names += ["blend", "genre_affinity"]
        self._weights: tuple[int, np.ndarray] | None = None
        self._last: tuple[str, Rows, np.ndarray, dict[str, np.ndarray]] | None = None

    @property
    def learned(self) -> bool:
        """True once enough feedback was seen for the model, not the blend, to rank."""
        return self.pairwise.learned

    @property
    def examples(self) -> int:
        return self.pairwise.examples

    def observe(self, user_id: str, item: int, positive: bool) -> int:
        """Label the user's last impression with what they did (see :meth:`PairwiseModel.observe`)."""
        return self.pairwise.observe(user_id, item, positive)

    def weights(self) -> np.ndarray:
        """The model's weights in column order (read again only after it learned)."""
        if self._weights is None or self._weights[0] != self.pairwise.examples:
            self._weights = (self.pairwise.examples, self.pairwise.weights(self.names))
        return self._weights[1]

    # ------------------------------------------------------------------ features
    def features(self, request: Request, rows: Rows) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """The feature matrix (one row per candidate, columns :attr:`names`), the blend's scores,
        and each signal's order (for :meth:`components`)."""
        n = len(rows)
        orders: dict[str, np.ndarray] = {}
        features = np.zeros((n, len(self.names)))
        ranks = 1.0 / np.log2(2.0 + np.arange(n))
        for column, (name, signal) in enumerate(self.signals.items()):
            raw = signal(request, rows)
            if raw is None:
                continue
            v = np.asarray(raw, dtype=float)
            known = ~np.isnan(v)
            order = orders[name] = signal_order(v)
            at = 3 * column
            features[known, at] = np.sign(v[known]) * np.log1p(np.abs(v[known]))
            features[order, at + 1] = ranks[: len(order)]
            features[:, at + 2] = known
        fused = fuse_orders(orders, self.blend_weights, self.blend_offset, n)
        total = sum(w for w in self.blend_weights.values() if w > 0) or 1.0
        features[:, -2] = fused * (self.blend_offset + 1.0) / total
        features[:, -1] = self._genre_affinity(request, rows)
        return features, fused, orders

    def _genre_affinity(self, request: Request, rows: Rows) -> np.ndarray:
        """The share of the user's recent items that share a genre with each candidate (at most 1)."""
        history = request.history
        if self.catalog is None or not len(history):
            return np.zeros(len(rows))
        genres, owner = self.catalog.genre_matrix(history)
        if not len(genres):
            return np.zeros(len(rows))
        unique_per_item = np.unique(owner * (int(genres.max()) + 1) + genres)  # a genre once per item
        counts = np.bincount(unique_per_item % (int(genres.max()) + 1))
        candidate_genres, candidate = self.catalog.genre_matrix(rows)
        if not len(candidate_genres):
            return np.zeros(len(rows))
        hits = np.where(candidate_genres < len(counts), counts[np.minimum(candidate_genres, len(counts) - 1)], 0)
        summed = np.bincount(candidate, weights=hits, minlength=len(rows))
        return np.minimum(1.0, summed / len(history))

    # ------------------------------------------------------------------ scoring
    def score(self, request: Request, rows: Rows) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        features, fused, orders = self.features(request, rows)
        scores = features @ self.weights() if self.learned else fused
        self.pairwise.remember(request.user.user_id, rows, features, scores, self.names)
        self._last = (request.user.user_id, rows, features, orders)
        return scores

    def components(self, request: Request, rows: Rows) -> list[dict[str, float]]:
        """Per signal, what its value, rank and presence features added (weight times
        feature) once the model ranks; the blend's rank contributions before."""
        last = self._last
        if last is None or last[0] != request.user.user_id:
            return super().components(request, rows)
        _, listed, features, orders = last
        if not self.learned:
            return rank_contributions(orders, self.blend_weights, self.blend_offset, listed, rows)
        where = {row: p for p, row in enumerate(listed.tolist())}
        weights = self.weights()
        groups = [name.split(":")[0] for name in self.names]
        out: list[dict[str, float]] = []
        for row in rows.tolist():
            parts: dict[str, float] = {}
            p = where.get(row)
            if p is not None:
                for group, value in zip(groups, (features[p] * weights).tolist(), strict=True):
                    parts[group] = parts.get(group, 0.0) + value
            out.append({g: round(v, 6) for g, v in parts.items() if v})
        return out
