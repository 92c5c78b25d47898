"""Online matrix factorisation trained pairwise (BPR) against sampled negatives, as a River ranker.

Bayesian personalised ranking (Rendle et al., 2009) fits what a top-k list needs: that a
user scores an item they took above an item they did not. For each positive event with
item ``i`` and sampled negatives ``j``, one SGD step on the mean of
``-log sigmoid(x_ui - x_uj)`` over the negatives, with ``x_ui = b_i + <p_u, q_i>``.

It is a River model (:class:`river.reco.base.Ranker`: ``learn_one``, ``predict_one``, ``rank``),
so it runs in River's own tools (``river.utils.check_estimator``, a prequential loop with River's
metrics), and every step goes through River optimizers (:mod:`river.optim`) on numpy rows: one
for item factors and biases, one for user factors. Plain SGD is the default and the only kind
that fits: a row is stepped on its own, and an optimizer that keeps state (Adam's moments)
would share it across every row it steps.

Why not River's ``BiasedMF`` (:class:`recsys.models.online_mf.OnlineMF`): it fits a numeric
target pointwise; fed 1 for positives and 0 for sampled negatives it stayed below most-popular on
MovieLens (see ``BENCHMARKS.md``), and each negative costs a separate River step. Here all
negatives of an event are one vectorised step, so many negatives are cheap, and pairwise training
with them is what made MF beat popularity.

Online specifics, each measured on the prequential replay:

- The user vector takes a larger step than item vectors (``user_learning_rate``): a user's
  vector is updated only on that user's events and must move fast; an item's is updated by
  everyone.
- The gradient is averaged over the negatives, so a negative item moves little per event
  while the positive moves by a full step.
- Every vector is kept within ``max_norm`` (a max-norm constraint), which keeps large
  steps from diverging.
- A negative event (dislike, skip) is a logistic step pushing the item's score down.

Two faces: the engine calls :meth:`OnlineBPR.learn` with the user's factors (user state lives in
the partitioned user table) and item rows of the shared row space (:mod:`recsys.rows`), whose
columns hold the item factors and biases; River's API (:meth:`~OnlineBPR.learn_one` with ids)
keeps user factors in the model and samples its own negatives among the items it has seen.

Examples
--------
The engine's face: rows and the user's factors in and out.

>>> import random
>>> bpr = OnlineBPR(factors=4, seed=1)
>>> matrix, titanic, grease = bpr.rows.rows(["matrix", "titanic", "grease"])
>>> alice = bpr.new_user(random.Random(0))
>>> for _ in range(20):
...     alice = bpr.learn(alice, matrix, weight=1.0, negatives=np.array([titanic, grease]))
>>> score = lambda item: float(bpr.query(alice) @ bpr.item_vector(item))
>>> score("matrix") > score("titanic") and score("matrix") > score("grease")
True

River's face: who took what, and a ranking.

>>> ranker = OnlineBPR(factors=4, seed=1, negatives=2)
>>> for _ in range(30):
...     for user, item in [("ann", "jazz"), ("bob", "rock"), ("ann", "blues"), ("bob", "metal")]:
...         ranker.learn_one(user, item, True)
>>> ranker.rank("ann", {"jazz", "rock", "metal"})[0], ranker.rank("bob", {"jazz", "rock"})[0]
('jazz', 'rock')
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from river import optim, reco

from recsys.models.base import UserFactors, VectorModel
from recsys.rows import Rows, RowSpace

MAX_STRENGTH = 1.0  # an event's weight scales its step down, never up: larger steps measured worse


class OnlineBPR(reco.base.Ranker, VectorModel):
    """Biased MF learned online by pairwise (BPR) SGD steps against sampled negatives.

    Parameters
    ----------
    factors
        Latent factors per user and item.
    learning_rate
        Step of item factors and biases (the default item optimizer's).
    user_learning_rate
        Step of a user's factors (the default user optimizer's).
    l2
        L2 regularisation of factors and biases.
    max_norm
        Largest length of a latent vector (0: no limit).
    init_std
        Standard deviation of the initial factors.
    negatives
        Items sampled as negatives per positive in :meth:`learn_one` (the engine samples its own).
    item_optimizer, user_optimizer
        River optimizers stepping item rows and user vectors (``optim.SGD`` of the rates above when
        not given).
    seed
        Seed of the initial factors and of :meth:`learn_one`'s negatives.
    rows
        The item row space whose columns hold the item factors (a space of its own when not given).
    """

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
        negatives: int = 32,
        item_optimizer: optim.base.Optimizer | None = None,
        user_optimizer: optim.base.Optimizer | None = None,
    ) -> None:
        super().__init__(seed=seed)
        self.factors = factors
        self.learning_rate = learning_rate
        self.user_learning_rate = user_learning_rate
        self.l2 = l2
        self.max_norm = max_norm
        self.init_std = init_std
        self.negatives = negatives
        self.item_optimizer = item_optimizer
        self.user_optimizer = user_optimizer
        self._items_opt = optim.SGD(learning_rate) if item_optimizer is None else item_optimizer
        self._users_opt = optim.SGD(user_learning_rate) if user_optimizer is None else user_optimizer
        self._init_rng = np.random.default_rng(seed)
        self.rows = RowSpace() if rows is None else rows
        # float32 columns: half the memory of float64 (128 B an item at 32 factors); the steps compute
        # in float64 on the rows they touch
        self._q_col = self.rows.column(np.float32, width=factors)
        self._b_col = self.rows.column(np.float32)
        self._has = self.rows.column(np.bool_)
        self._order: list[int] = []  # rows with a vector, first used first
        self._updates = 0
        self._users: dict[Hashable, UserFactors] = {}  # River's face only: the engine keeps users itself

    @classmethod
    def _unit_test_params(cls) -> Any:
        yield {"factors": 4, "negatives": 2}

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

    def _ensure(self, rows: Rows) -> None:
        """Give every row without a vector its initial one (in order of first appearance)."""
        missing = rows[~self._has.data[rows]]
        if len(missing) == 0:
            return
        _, first = np.unique(missing, return_index=True)
        new = missing[np.sort(first)]
        self._has.data[new] = True
        self._order.extend(new.tolist())
        self._q[new] = self._init_rng.normal(0.0, self.init_std, (len(new), self.factors))

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
        vectors = np.asarray(vectors, dtype=np.float32)
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
        rows = self.rows.rows(item_ids)  # may grow the columns: index them after
        self._ensure(rows)
        self._q[rows] = vectors
        if biases is not None:
            self._b[rows] = biases

    def learn(self, user: UserFactors, item: int, weight: float, negatives: Rows) -> UserFactors:
        """One online step for the item of row ``item``: ``weight > 0`` pulls it towards the user
        above each row of ``negatives`` (BPR), ``< 0`` pushes it away; the event's strength
        (``min(|weight|, 1)``) scales the gradients, so a weak event takes a smaller step."""
        p = np.array(user.vector, dtype=float)
        i = item
        strength = min(abs(weight), MAX_STRENGTH)
        l2 = self.l2
        js = np.asarray(negatives, dtype=np.int64)
        js = js[js != i]
        self._ensure(np.concatenate([[i], js]).astype(np.int64))
        q, b, step, step_user = self._q, self._b, self._items_opt.step, self._users_opt.step
        if weight < 0 or len(js) == 0:
            # Pointwise logistic step: up for a lone positive, down for a negative event.
            sign = 1.0 if weight > 0 else -1.0
            g = sign / (1.0 + math.exp(min(sign * float(q[i] @ p + b[i]), 50.0)))
            q_i = q[i].copy()
            step(q[i], -strength * (g * p - l2 * q_i))
            step(b[i : i + 1], -strength * (g - l2 * b[i : i + 1]))
            step_user(p, -strength * (g * q_i - l2 * p))
            self._clip(p)
            self._clip_rows(np.array([i]))
        else:
            q_i, q_j = q[i].copy(), q[js]
            x = (q_i - q_j) @ p + b[i] - b[js]
            g = 1.0 / (1.0 + np.exp(np.minimum(x, 50.0))) / len(js)  # sigmoid(-x), averaged
            total = float(g.sum())
            step(q[i], -strength * (total * p - l2 * q_i))
            step(b[i : i + 1], -strength * (total - l2 * b[i : i + 1]))
            q_js, b_js = q_j.copy(), b[js]
            step(q_js, strength * (g[:, None] * p[None, :] + l2 * q_j))
            step(b_js, strength * (g + l2 * b_js))
            q[js], b[js] = q_js, b_js  # the negatives are distinct rows (a sample without repeats)
            step_user(p, -strength * (total * q_i - g @ q_j - l2 * p))
            self._clip(p)
            self._clip_rows(np.concatenate([[i], js]))
        self._updates += 1 + len(js)
        return UserFactors(vector=p, bias=0.0)

    def add(self, rows: Rows, deltas: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self._ensure(rows)
        self._q[rows] += deltas[:, :-1]
        self._b[rows] += deltas[:, -1]
        self._clip_rows(rows)

    def _clip(self, v: np.ndarray) -> None:
        norm = float(np.linalg.norm(v))
        if self.max_norm and norm > self.max_norm:
            v *= self.max_norm / norm

    def _clip_rows(self, rows: np.ndarray) -> None:
        if not self.max_norm:
            return
        norms = np.linalg.norm(self._q[rows], axis=1)
        self._q[rows] *= np.minimum(1.0, self.max_norm / np.maximum(norms, 1e-12))[:, None]

    def has(self, rows: Rows) -> np.ndarray:
        return self._has.data[rows]

    def vectors(self, rows: Rows) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        self._ensure(rows)
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        out[:, :-1] = self._q[rows]
        out[:, -1] = self._b[rows]
        return out

    def scores(self, user: UserFactors, rows: Rows) -> np.ndarray:
        self._ensure(rows)
        return self._q[rows] @ np.asarray(user.vector, dtype=float) + self._b[rows]

    def query(self, user: UserFactors) -> np.ndarray:
        return np.append(np.asarray(user.vector, dtype=float), 1.0).astype(np.float32)

    def item_rows(self) -> Rows:
        return np.asarray(self._order, dtype=np.int64)

    # ---------------------------------------------------------------- River's face
    def learn_one(self, user: Hashable, item: Hashable, y: Any, x: dict[str, Any] | None = None) -> None:
        """Learn that ``user`` took ``item`` (a reward ``y`` above 0, its size the event's strength)
        or did not (0 or less, or False: a negative step); ``negatives`` items the model has seen
        are drawn as the positive's negatives."""
        factors = self._users.get(user)
        if factors is None:
            factors = self._users[user] = self.new_user(self._rng)
        row = self.rows.row(str(item))
        weight = float(y) if float(y) > 0 else -1.0
        negatives = np.empty(0, dtype=np.int64)
        seen = self._order
        if weight > 0 and seen:
            drawn = {seen[self._rng.randrange(len(seen))] for _ in range(self.negatives)}
            negatives = np.array(sorted(drawn - {row}), dtype=np.int64)
        self._users[user] = self.learn(factors, row, weight, negatives)

    # River types a score as numbers.Number, which mypy does not take a float for
    def predict_one(self, user: Hashable, item: Hashable, x: dict[str, Any] | None = None) -> float:  # type: ignore[override]
        """``user``'s score of ``item`` (the item's bias for a user the model has not seen; 0 for an
        item it has not seen)."""
        row = self.rows.find(str(item))
        if row < 0 or not self._has.data[row]:
            return 0.0
        factors = self._users.get(user)
        vector = np.zeros(self.factors) if factors is None else factors.vector
        return float(self._q[row] @ vector + self._b[row])
