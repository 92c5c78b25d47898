"""Online matrix factorisation trained pairwise (BPR) against sampled negatives.

Bayesian personalised ranking (Rendle et al., 2009) fits what a top-k list needs: that a
user scores an item they took above an item they did not. For each positive event with
item ``i`` and sampled negatives ``j``, one SGD step on the mean of
``-log sigmoid(x_ui - x_uj)`` over the negatives, with ``x_ui = b_i + <p_u, q_i>``.

Why not River's ``BiasedMF`` (:class:`recsys.models.online_mf.OnlineMF`): it fits a
numeric target pointwise; fed 1 for positives and 0 for sampled negatives it stayed below
most-popular on MovieLens (see ``BENCHMARKS.md``), and each negative costs a separate
River step. Here all negatives of an event are one vectorised numpy step, so many
negatives are cheap, and pairwise training with them is what made MF beat popularity.

Online specifics, each measured on the prequential replay:

- The user vector takes a larger step than item vectors (``user_learning_rate``): a user's
  vector is updated only on that user's events and must move fast; an item's is updated by
  everyone.
- The gradient is averaged over the negatives, so a negative item moves little per event
  while the positive moves by a full step.
- Every vector is kept within ``max_norm`` (a max-norm constraint), which keeps large
  steps from diverging.
- A negative event (dislike, skip) is a logistic step pushing the item's score down.

User factors are passed in and out of each call (user state lives in the partitioned user
table); item factors and biases are columns of the item row space (:mod:`recsys.rows`),
set up at an item's first use.

Examples
--------
>>> import random
>>> bpr = OnlineBPR(factors=4, seed=1)
>>> alice = bpr.new_user(random.Random(0))
>>> for _ in range(20):
...     alice = bpr.learn(alice, "matrix", weight=1.0, negatives=["titanic", "grease"])
>>> score = lambda item: float(bpr.query(alice) @ bpr.item_vector(item))
>>> score("matrix") > score("titanic") and score("matrix") > score("grease")
True
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import numpy as np

from recsys.models.base import UserFactors, VectorModel
from recsys.rows import RowSpace

MAX_STRENGTH = 1.0  # an event's weight scales its step down, never up: larger steps measured worse


class OnlineBPR(VectorModel):
    """Biased MF learned online by pairwise (BPR) SGD steps against sampled negatives."""

    def __init__(
        self,
        factors: int = 32,
        learning_rate: float = 0.5,
        user_learning_rate: float = 3.0,
        l2: float = 0.01,
        max_norm: float = 3.0,
        init_std: float = 0.1,
        seed: int = 42,
        rows: RowSpace | None = None,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.user_learning_rate = user_learning_rate
        self.l2 = l2
        self.max_norm = max_norm
        self.init_std = init_std
        self._rng = np.random.default_rng(seed)
        self.rows = RowSpace() if rows is None else rows
        self._q_col = self.rows.column(np.float64, width=factors)
        self._b_col = self.rows.column(np.float64)
        self._has = self.rows.column(np.bool_)
        self._order: list[int] = []  # rows with a vector, first used first
        self._updates = 0

    @property
    def dim(self) -> int:
        return self.factors + 1

    @property
    def updates(self) -> int:
        return self._updates

    def new_user(self, rng: random.Random) -> UserFactors:
        return UserFactors(vector=np.array([rng.gauss(0.0, self.init_std) for _ in range(self.factors)]))

    @property
    def _q(self) -> np.ndarray:
        return self._q_col.data

    @property
    def _b(self) -> np.ndarray:
        return self._b_col.data

    def _row(self, item_id: str) -> int:
        row = self.rows.row(item_id)
        if not self._has.data[row]:
            self._has.data[row] = True
            self._order.append(row)
            self._q[row] = self._rng.normal(0.0, self.init_std, self.factors)
        return row

    def install(self, item_ids: Sequence[str], vectors: np.ndarray, biases: np.ndarray | None = None) -> None:
        """Set the factors of ``item_ids`` to ``vectors`` (one row each), e.g. from a batch fit by
        :class:`recsys.models.wals.WALS`, so online learning continues from them. Unseen ids get
        rows; ``biases`` default to unchanged (zero for new rows). Rows are set as given:
        ``max_norm`` applies when a row is next learned, so rescale batch factors that exceed it
        (items by ``s``, users by ``1 / s`` keeps every score).

        >>> bpr = OnlineBPR(factors=2)
        >>> bpr.install(["matrix", "titanic"], np.array([[1.0, 0.0], [0.0, 0.5]]), biases=np.array([0.5, 0.0]))
        >>> bpr.item_vector("matrix").tolist()
        [1.0, 0.0, 0.5]
        """
        vectors = np.asarray(vectors, dtype=float)
        if vectors.shape != (len(item_ids), self.factors):
            raise ValueError(
                f"OnlineBPR.install: vectors must have shape (len(item_ids), factors) = ({len(item_ids)}, "
                f"{self.factors}), got {vectors.shape}"
            )
        if biases is not None and np.shape(biases) != (len(item_ids),):
            raise ValueError(
                f"OnlineBPR.install: biases must have shape (len(item_ids),) = ({len(item_ids)},), "
                f"got {np.shape(biases)}"
            )
        rows = np.array([self._row(i) for i in item_ids], dtype=int)  # may grow self._q: index it after
        self._q[rows] = vectors
        if biases is not None:
            self._b[rows] = biases

    def learn(self, user: UserFactors, item_id: str, weight: float, negatives: Sequence[str]) -> UserFactors:
        p = np.array(user.vector, dtype=float)
        i = self._row(item_id)
        strength = min(abs(weight), MAX_STRENGTH)
        lr, lr_u, l2 = self.learning_rate * strength, self.user_learning_rate * strength, self.l2
        js = np.array([self._row(j) for j in negatives if j != item_id], dtype=int)
        q, b = self._q, self._b  # after every _row call: a new row may have grown (replaced) the arrays
        if weight < 0 or len(js) == 0:
            # Pointwise logistic step: up for a lone positive, down for a negative event.
            sign = 1.0 if weight > 0 else -1.0
            g = sign / (1.0 + math.exp(min(sign * float(q[i] @ p + b[i]), 50.0)))
            q_i = q[i].copy()
            q[i] += lr * (g * p - l2 * q_i)
            b[i] += lr * (g - l2 * b[i])
            p += lr_u * (g * q_i - l2 * p)
            self._clip(p)
            self._clip_rows(np.array([i]))
        else:
            q_i, q_j = q[i].copy(), q[js]
            x = (q_i - q_j) @ p + b[i] - b[js]
            g = 1.0 / (1.0 + np.exp(np.minimum(x, 50.0))) / len(js)  # sigmoid(-x), averaged
            total = float(g.sum())
            q[i] += lr * (total * p - l2 * q_i)
            b[i] += lr * (total - l2 * b[i])
            np.subtract.at(q, js, lr * (g[:, None] * p[None, :] + l2 * q_j))
            np.subtract.at(b, js, lr * (g + l2 * b[js]))
            p += lr_u * (total * q_i - g @ q_j - l2 * p)
            self._clip(p)
            self._clip_rows(np.concatenate([[i], js]))
        self._updates += 1 + len(js)
        return UserFactors(vector=p, bias=0.0)

    def _clip(self, v: np.ndarray) -> None:
        norm = float(np.linalg.norm(v))
        if self.max_norm and norm > self.max_norm:
            v *= self.max_norm / norm

    def _clip_rows(self, rows: np.ndarray) -> None:
        if not self.max_norm:
            return
        norms = np.linalg.norm(self._q[rows], axis=1)
        self._q[rows] *= np.minimum(1.0, self.max_norm / np.maximum(norms, 1e-12))[:, None]

    def has_item(self, item_id: str) -> bool:
        row = self.rows.find(item_id)
        return row >= 0 and bool(self._has.data[row])

    def item_vector(self, item_id: str) -> np.ndarray:
        row = self._row(item_id)
        return np.append(self._q[row], self._b[row]).astype(np.float32)

    def item_vectors(self, item_ids: Sequence[str]) -> np.ndarray:
        rows = np.array([self._row(i) for i in item_ids], dtype=int)
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        out[:, :-1] = self._q[rows]
        out[:, -1] = self._b[rows]
        return out

    def query(self, user: UserFactors) -> np.ndarray:
        return np.append(np.asarray(user.vector, dtype=float), 1.0).astype(np.float32)

    def item_ids(self) -> list[str]:
        return self.rows.ids_of(self._order)
