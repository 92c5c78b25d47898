"""Online matrix factorisation: River's ``BiasedMF`` trained by SGD with sampled negatives.

River's ``reco`` models fit a numeric target with squared loss and see no negatives, so fed
positives alone they learn nothing useful for ranking. Here every positive event is a
target of 1 weighted by its event type, each sampled negative a target of 0, and a negative
event (dislike, skip) a target of 0 weighted by its strength.

Item factors live in the River model. User factors are passed in and out of each call, so
that user state stays in the partitioned user table; the River model never keeps them.

For retrieval, ``score(u, i) = b_i + <p_u, q_i>`` (the global mean and user bias do not
change a user's ranking) is an inner product of ``[p_u, 1]`` and ``[q_i, b_i]``.

Examples
--------
>>> import random
>>> import numpy as np
>>> mf = OnlineMF(factors=4, learning_rate=0.1, seed=1)
>>> matrix, titanic = mf.rows.rows(["matrix", "titanic"])
>>> alice = mf.new_user(random.Random(0))
>>> before = float(mf.query(alice) @ mf.item_vector("matrix"))
>>> for _ in range(20):
...     alice = mf.learn(alice, matrix, weight=1.0, negatives=np.array([titanic]))
>>> float(mf.query(alice) @ mf.item_vector("matrix")) > before
True
>>> float(mf.query(alice) @ mf.item_vector("titanic")) < float(mf.query(alice) @ mf.item_vector("matrix"))
True
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from river import optim, reco, stats

from recsys.models.base import UserFactors, VectorModel
from recsys.rows import Rows, RowSpace

MAX_STRENGTH = 3.0  # an event's weight scales its step up to this; larger steps make SGD diverge
_USER = "__user__"  # the slot a user's factors occupy in the River model during one call


class _WeightedSquared(optim.losses.Squared):
    """Squared loss whose gradient is scaled by a per-sample weight set before each step."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = 1.0

    def gradient(self, y_true: Any, y_pred: Any) -> Any:
        return self.weight * super().gradient(y_true, y_pred)


class _Zero(stats.Mean):
    """A global mean pinned at 0.

    River updates its global mean *before* predicting, so while the mean is young a
    positive (target 1) can have a positive residual and be learned backwards. The global
    mean does not change any user's ranking; biases absorb it.
    """

    def update(self, x: float, w: float = 1.0) -> None:
        return None

    def get(self) -> float:
        return 0.0


class OnlineMF(VectorModel):
    """Biased matrix factorisation learned online with weighted positives and sampled negatives."""

    def __init__(
        self,
        factors: int = 32,
        learning_rate: float = 0.05,
        l2: float = 0.001,
        init_std: float = 0.1,
        seed: int = 42,
        rows: RowSpace | None = None,
    ) -> None:
        self.rows = RowSpace() if rows is None else rows
        self.factors = factors
        self.init_std = init_std
        self._loss = _WeightedSquared()
        self._river = reco.BiasedMF(
            n_factors=factors,
            bias_optimizer=optim.SGD(learning_rate),
            latent_optimizer=optim.SGD(learning_rate),
            loss=self._loss,
            l2_bias=l2,
            l2_latent=l2,
            clip_gradient=2.0 * MAX_STRENGTH,
            latent_initializer=optim.initializers.Normal(mu=0.0, sigma=init_std, seed=seed),
            seed=seed,
        )
        self._river.global_mean = _Zero()
        self._updates = 0

    @property
    def dim(self) -> int:
        return self.factors + 1

    @property
    def updates(self) -> int:
        return self._updates

    def new_user(self, rng: random.Random) -> UserFactors:
        vector = np.array([rng.gauss(0.0, self.init_std) for _ in range(self.factors)])
        return UserFactors(vector=vector, bias=0.0)

    def learn(self, user: UserFactors, item: int, weight: float, negatives: Rows) -> UserFactors:
        model, ids = self._river, self.rows.ids
        item_id = ids[item]
        model.u_latents[_USER] = np.array(user.vector, dtype=float)
        model.u_biases[_USER] = float(user.bias)
        try:
            steps = [(item_id, 1.0 if weight > 0 else 0.0, min(abs(weight), MAX_STRENGTH))]
            if weight > 0:
                steps += [(ids[neg], 0.0, 1.0) for neg in np.asarray(negatives).tolist() if neg != item]
            for target_item, target, strength in steps:
                self._loss.weight = strength
                model.learn_one(_USER, target_item, target)
                self._updates += 1
            return UserFactors(vector=model.u_latents[_USER].copy(), bias=float(model.u_biases[_USER]))
        finally:
            self._loss.weight = 1.0
            model.u_latents.pop(_USER, None)
            model.u_biases.pop(_USER, None)

    def has(self, rows: Rows) -> np.ndarray:
        latents, ids = self._river.i_latents, self.rows.ids
        return np.fromiter((ids[r] in latents for r in np.asarray(rows).tolist()), dtype=bool, count=len(rows))

    def vectors(self, rows: Rows) -> np.ndarray:
        latents, biases, ids = self._river.i_latents, self._river.i_biases, self.rows.ids
        out = np.empty((len(rows), self.dim), dtype=np.float32)
        for n, row in enumerate(np.asarray(rows).tolist()):  # River's defaultdicts set up an unseen item
            out[n, :-1] = latents[ids[row]]
            out[n, -1] = biases[ids[row]]
        return out

    def add(self, rows: Rows, deltas: np.ndarray) -> None:
        latents, biases, ids = self._river.i_latents, self._river.i_biases, self.rows.ids
        for row, delta in zip(np.asarray(rows).tolist(), np.asarray(deltas, dtype=float), strict=True):
            latents[ids[row]] = latents[ids[row]] + delta[:-1]  # River's defaultdict sets up an unseen item
            biases[ids[row]] += float(delta[-1])

    def query(self, user: UserFactors) -> np.ndarray:
        return np.append(np.asarray(user.vector, dtype=float), 1.0).astype(np.float32)

    def item_rows(self) -> Rows:
        return self.rows.rows(str(i) for i in self._river.i_latents)
