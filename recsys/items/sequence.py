"""A small sequential model trained online: the next item from a recency-weighted pool of the last ones.

Each item has two vectors: an *input* vector, what having just taken it says about what comes
next, and an *output* vector, how well it fits as the next item. The query of a user is the
pool of the input vectors of their latest ``window`` positives, the n-th latest weighing
``decay ** (n - 1)`` (weights summing to one); an item's score is its output vector's dot
product with the query. Every positive trains it, one sampled-softmax step: the item taken
against ``negatives`` items drawn uniformly, with the user's positives before it as the query
(AdaGrad, one accumulator per vector).

It is the embedding counterpart of the transition counts (:mod:`recsys.candidates.transitions`):
counts know only the pairs they saw; vectors generalise, so an item is near the items that
follow the items it follows, which helps on long tails where each pair is seen once or never.

The step reads nothing of the user but their latest positives, so another worker runs the
same step from an :class:`~schemas.ItemUpdate` (its ``recent`` and item) and every worker's model
learns from every user without shipping vectors. Input vectors start from values fixed by the
item id (the same on every worker); output vectors start at zero.

Examples
--------
>>> from recsys.rows import RowSpace
>>> space = RowSpace()
>>> a, b, c, d = space.rows(["a", "b", "c", "d"])
>>> model = NextItem(space, dim=8, negatives=2, seed=1)
>>> rng = np.random.default_rng(0)
>>> for _ in range(200):  # users always go a -> b and c -> d
...     _ = model.learn(np.array([a]), b, np.array([c, d]))
...     _ = model.learn(np.array([c]), d, np.array([a, b]))
>>> after_a = model.scores(model.query(np.array([a])), np.array([b, d]))
>>> bool(after_a[0] > after_a[1])
True
"""

from __future__ import annotations

import numpy as np

from recsys.features import stable_hash
from recsys.rows import Rows, RowSpace

_EPS = 1e-8


class NextItem:
    """Input and output vectors per item, trained online with sampled softmax on what came next."""

    def __init__(
        self,
        rows: RowSpace,
        dim: int = 32,
        window: int = 20,
        decay: float = 0.8,
        learning_rate: float = 0.1,
        negatives: int = 20,
        seed: int = 0,
    ) -> None:
        self.rows = rows
        self.dim, self.window, self.decay = dim, window, decay
        self.learning_rate, self.negatives, self.seed = learning_rate, negatives, seed
        self.inputs = rows.column(np.float32, width=dim)
        self.outputs = rows.column(np.float32, width=dim)
        self.started = rows.column(np.bool_)  # the input vector has its initial value
        self.trained = rows.column(np.bool_)  # the output vector has been trained (else it says nothing)
        self.accumulators = rows.column(np.float32, width=2, fill=_EPS)  # AdaGrad: input, output
        self.steps = 0
        self._weights: dict[int, np.ndarray] = {}  # recency weights by length (read-only)
        self.sampler = np.random.default_rng(seed)

    def _start(self, rows: Rows) -> None:
        """Give rows without one their initial input vector (fixed by the item id and the seed)."""
        for row in rows[~self.started.data[rows]].tolist():
            rng = np.random.default_rng(stable_hash(self.rows.ids[row], self.seed))
            self.inputs.data[row] = rng.normal(0.0, 1.0 / np.sqrt(self.dim), self.dim)
            self.started.data[row] = True

    def weights(self, n: int) -> np.ndarray:
        """Recency weights of the last ``n`` items, oldest first, summing to one.

        >>> NextItem(RowSpace(), decay=0.5).weights(3).round(3).tolist()
        [0.143, 0.286, 0.571]
        """
        w = self._weights.get(n)
        if w is None:
            w = self.decay ** np.arange(n - 1, -1, -1, dtype=np.float64)
            w = self._weights[n] = w / w.sum()
        return w

    def query(self, recent: Rows) -> np.ndarray | None:
        """The query of a user whose latest positives are ``recent`` (item rows, oldest first); None
        without any."""
        recent = recent[-self.window :]
        if not len(recent):
            return None
        self._start(recent)
        return self.weights(len(recent)).astype(np.float32) @ self.inputs.data[recent]

    def scores(self, query: np.ndarray, rows: Rows) -> np.ndarray:
        """How well each of ``rows`` fits as the next item (NaN for an item never trained as one)."""
        scores = (self.outputs.data[rows] @ query).astype(np.float64)
        return np.where(self.trained.data[rows], scores, np.nan)

    def learn(self, recent: Rows, item: int, negatives: Rows) -> float:
        """One sampled-softmax step: ``item`` came after ``recent`` (oldest first), not
        ``negatives``; returns the loss (0.0 without a recent item)."""
        recent = recent[-self.window :]
        if not len(recent):
            return 0.0
        self._start(recent)
        negatives = negatives[negatives != item]
        targets = np.concatenate([[item], negatives]).astype(np.int64)
        weights = self.weights(len(recent)).astype(np.float32)
        query = weights @ self.inputs.data[recent]
        outputs = self.outputs.data[targets]
        logits = outputs @ query
        p = np.exp(logits - logits.max())
        p /= p.sum()
        loss = float(-np.log(max(p[0], 1e-12)))
        p[0] -= 1.0  # d loss / d logits
        grad_out = p[:, None] * query[None, :]
        grad_in = weights[:, None] * (p @ outputs)[None, :]
        self._step(targets, grad_out, 1)
        self._step(recent, grad_in, 0)
        self.trained.data[item] = True
        self.steps += 1
        return loss

    def _step(self, rows: Rows, grads: np.ndarray, which: int) -> None:
        """AdaGrad on the ``which`` vectors (0 input, 1 output) of ``rows`` (a row may repeat)."""
        acc = self.accumulators.data
        np.add.at(acc[:, which], rows, (grads * grads).mean(axis=1))
        table = self.inputs.data if which == 0 else self.outputs.data
        np.add.at(table, rows, -self.learning_rate * grads / np.sqrt(acc[rows, which])[:, None])
