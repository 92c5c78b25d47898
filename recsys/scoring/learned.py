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

from collections.abc import Mapping, Sequence

import numpy as np

from recsys.items.catalog import Catalog
from recsys.items.content import ContentVectors
from recsys.models.pairwise import PairwiseModel
from recsys.request import Request
from recsys.rows import Rows
from recsys.scoring import recent
from recsys.scoring.base import Scorer, Signal
from recsys.scoring.blend import Evidence, fuse, positions_in, rank_contributions


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
        content: ContentVectors | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        self.signals = dict(signals)
        self.blend_weights = dict(blend_weights)
        self.blend_offset = blend_offset
        self.catalog = catalog  # item genres, for the genre affinity (none without)
        self.content = content
        self.extra = list(extra) if catalog is not None and content is not None else []  # recsys.scoring.recent
        self.pairwise = model
        self.names = [f"{name}:{part}" for name in self.signals for part in ("value", "rank", "known")]
        self.names += ["blend", "genre_affinity", *recent.columns(self.extra)]
        self._fixed = len(self.names) - 2 - len(recent.columns(self.extra))  # where blend's column is
        self._weights: tuple[int, np.ndarray] | None = None
        self._last: tuple[str, Rows, np.ndarray, Evidence] | None = None

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
    def features(self, request: Request, rows: Rows) -> tuple[np.ndarray, np.ndarray, Evidence]:
        """The feature matrix (one row per candidate, columns :attr:`names`), the blend's scores,
        and the signals' evidence (for :meth:`components`)."""
        evidence = Evidence.gather(self.signals, request, rows)
        n, signals = len(rows), len(self.signals)
        v, known = evidence.values, evidence.known
        features = np.empty((n, len(self.names)))
        with np.errstate(divide="ignore", invalid="ignore"):
            features[:, 0 : 3 * signals : 3] = np.where(known, np.sign(v) * np.log1p(np.abs(v)), 0.0)
            features[:, 1 : 3 * signals : 3] = np.where(known, 1.0 / np.log2(1.0 + evidence.rank), 0.0)
        features[:, 2 : 3 * signals : 3] = known
        fused = fuse(evidence, self.blend_weights, self.blend_offset)
        total = sum(w for w in self.blend_weights.values() if w > 0) or 1.0
        at = self._fixed
        features[:, at] = fused * (self.blend_offset + 1.0) / total
        features[:, at + 1] = self._genre_affinity(request, rows)
        if self.extra:
            assert self.catalog is not None and self.content is not None
            features[:, at + 2 :] = recent.compute(self.extra, request, rows, self.catalog, self.content)
        return features, fused, evidence

    def _genre_affinity(self, request: Request, rows: Rows) -> np.ndarray:
        """The share of the user's recent items that share a genre with each candidate (at most 1)."""
        history = request.history
        if self.catalog is None or not len(history):
            return np.zeros(len(rows))
        genres, owner = self.catalog.genre_matrix(history)
        if not len(genres):
            return np.zeros(len(rows))
        width = int(genres.max()) + 1
        counts = np.bincount(np.unique(owner * width + genres) % width, minlength=width)  # a genre once per item
        candidate_genres, candidate = recent.candidate_genres(request, rows, self.catalog)
        if not len(candidate_genres):
            return np.zeros(len(rows))
        hits = np.where(candidate_genres < width, counts[np.minimum(candidate_genres, width - 1)], 0)
        return np.minimum(1.0, np.bincount(candidate, weights=hits, minlength=len(rows)) / len(history))

    # ------------------------------------------------------------------ scoring
    def score(self, request: Request, rows: Rows) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        features, fused, evidence = self.features(request, rows)
        scores = features @ self.weights() if self.learned else fused
        self.pairwise.remember(request.user.user_id, rows, features, scores, self.names)
        self._last = (request.user.user_id, rows, features, evidence)
        return scores

    def components(self, request: Request, rows: Rows) -> list[dict[str, float]]:
        """Per signal, what its value, rank and presence features added (weight times
        feature) once the model ranks; the blend's rank contributions before."""
        last = self._last
        if last is None or last[0] != request.user.user_id:
            return super().components(request, rows)
        _, listed, features, evidence = last
        positions = positions_in(listed, rows)
        if not self.learned:
            return rank_contributions(evidence, self.blend_weights, self.blend_offset, positions)
        signals = len(self.signals)
        parts = features[np.maximum(positions, 0)] * self.weights()
        at = self._fixed
        groups = np.concatenate([parts[:, : 3 * signals].reshape(len(rows), signals, 3).sum(axis=2),
                                 parts[:, at : at + 2], parts[:, at + 2 :].sum(axis=1)[:, None]], axis=1)  # fmt: skip
        names = [*self.signals, "blend", "genre_affinity", "recent"]
        out: list[dict[str, float]] = []
        for p, row in zip(positions.tolist(), groups.tolist(), strict=True):
            out.append({} if p < 0 else {g: round(v, 6) for g, v in zip(names, row, strict=True) if v})
        return out
