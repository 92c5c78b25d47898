"""The engine's link to batch WALS fits: the factor epoch, lazy fold-in of stale users, and the periodic re-fit.

How online updates and batch fits are reconciled (see :mod:`recsys.bootstrap` for the
bootstrap from history): every batch fit bumps a *factor epoch* (:attr:`WalsLink.epoch`, kept
with the item-side state). A user's state records the epoch its vector was fitted against
(``UserState.epoch``). The item side switches at once (the fit's item vectors replace the
online ones and the caller rebuilds the MF index); the user side switches lazily: at a user's
next event, a user whose epoch is stale is first *folded in* (:meth:`WalsLink.fold_in`, the
exact WALS least-squares solve for one user from the positives of their recent history,
against the online model's current item vectors) and then the event's online step is applied
on top. Nothing iterates the user table, so a re-fit costs the same with a million users.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from recsys.errors import ConfigError
from recsys.models.base import VectorModel
from recsys.models.bpr import OnlineBPR
from recsys.models.wals import WALS, WalsFactors
from recsys.settings import Settings
from recsys.state import UserState

__all__ = ["ITEM_NORM", "TrainSummary", "WalsLink", "bpr_of", "item_norm", "rescaled"]

ITEM_NORM = 3.0  # mean item length after a fit when max_norm is 0 (no limit); see rescaled


@dataclass(frozen=True)
class TrainSummary:
    """What a batch fit did: events read, the fit's users, items and distinct positive pairs."""

    events: int
    users: int
    items: int
    triples: int
    seconds: float  # the whole call, replay included
    fit_seconds: float  # the WALS fit alone
    objective: float  # the WALS objective after the last iteration
    epoch: int  # the factor epoch the fit installed


class WalsLink:
    """The engine's side of batch fits: the factor epoch, fold-in of stale users, the re-fit buffer
    and the users seeded by ``recsys train``. Pickled in the engine's snapshot."""

    def __init__(self, settings: Settings) -> None:
        self.epoch = 0  # 0: the item factors were never batch-fitted
        self.seed_users: dict[str, dict[str, Any]] = {}  # user id -> UserState.to_dict() at training time
        self.buffer: deque[tuple[str, str, float]] = deque(maxlen=settings.wals_buffer)
        self.since_fit = 0  # positive events since the last fit
        self.fits = 0
        self.fit_seconds = 0.0  # the last fit, including install and index rebuild
        self._gram: tuple[int, np.ndarray] | None = None  # (epoch, Y^T Y) for fold-in; Y moves a little online

    def wals(self, settings: Settings) -> WALS:
        s = settings
        return WALS(factors=s.factors, l2=s.wals_l2, alpha=s.wals_alpha, iterations=s.wals_iterations, seed=s.seed)

    # ---------------------------------------------------------------- online side
    def observe(self, settings: Settings, user_id: str, item_id: str, weight: float) -> bool:
        """Buffer one positive event; True when a periodic re-fit is due."""
        if not settings.wals_refresh_events:
            return False
        self.buffer.append((user_id, item_id, weight))
        self.since_fit += 1
        return self.since_fit >= settings.wals_refresh_events

    def forget(self, user_id: str) -> None:
        """Drop what is kept of the user: their training-time seed and buffered positives (an erased user)."""
        self.seed_users.pop(user_id, None)
        if any(u == user_id for u, _, _ in self.buffer):
            kept = [entry for entry in self.buffer if entry[0] != user_id]
            self.buffer.clear()
            self.buffer.extend(kept)

    def is_stale(self, state: UserState) -> bool:
        return state.epoch != self.epoch

    def fold_in(self, model: VectorModel, settings: Settings, state: UserState) -> None:
        """Give a stale user the WALS vector of their recent positives against the current item
        vectors, and the current epoch. Without a positive the model knows, the vector is kept."""
        state.epoch = self.epoch
        if not isinstance(model, OnlineBPR):
            return
        disliked = set(state.disliked)
        items = [i for i in dict.fromkeys(state.history) if i not in disliked and model.has_item(i)]
        if not items:
            return
        s = settings
        if self._gram is None or self._gram[0] != self.epoch:
            everything = model.item_vectors(model.item_ids())[:, :-1].astype(float)
            self._gram = (self.epoch, everything.T @ everything)
        y = model.item_vectors(items)[:, :-1].astype(float)
        c = 1.0 + s.wals_alpha  # every recent positive counts with strength 1: the history keeps no weights
        a = self._gram[1] + (c - 1.0) * y.T @ y + s.wals_l2 * np.eye(y.shape[1])
        state.vector = [float(x) for x in np.linalg.solve(a, c * y.sum(axis=0))]
        state.bias = 0.0

    def refit(self, model: VectorModel, settings: Settings) -> TrainSummary:
        """Re-fit WALS on the buffered positives, warm-started from the current item vectors, install
        the item side and bump the epoch; users are folded in lazily at their next event. The
        caller rebuilds the MF index (the item vectors all moved)."""
        started = time.perf_counter()
        model = bpr_of(model, settings)
        triples = list(self.buffer)
        items = list(dict.fromkeys(i for _, i, _ in triples if model.has_item(i)))
        init = dict(zip(items, model.item_vectors(items)[:, :-1].astype(float), strict=True))
        wals = self.wals(settings)
        factors = rescaled(wals.fit(triples, init_items=init), item_norm(settings))
        fitted = time.perf_counter() - started
        self.install_items(model, factors, zero_others=False)
        self.since_fit = 0
        self.fit_seconds = time.perf_counter() - started
        return TrainSummary(len(triples), len(factors.user_ids), len(factors.item_ids), len(triples),
                            self.fit_seconds, fitted, wals.history[-1], self.epoch)  # fmt: skip

    # ---------------------------------------------------------------- installing a fit
    def install_items(self, model: OnlineBPR, factors: WalsFactors, zero_others: bool) -> None:
        """Set the fitted item vectors (biases 0) and bump the epoch (the caller rebuilds the index).

        ``zero_others`` gives every other item the model knows the zero vector, as the fit gives
        an item with no positive event; a re-fit on a window leaves them as they are instead.
        """
        model.install(factors.item_ids, factors.items, biases=np.zeros(len(factors.item_ids)))
        if zero_others:
            fitted = set(factors.item_ids)
            others = [i for i in model.item_ids() if i not in fitted]
            model.install(others, np.zeros((len(others), model.factors)), biases=np.zeros(len(others)))
        self.epoch += 1
        self.fits += 1
        self._gram = None


def rescaled(factors: WalsFactors, item_norm: float) -> WalsFactors:
    """The same scores with item vectors of mean length ``item_norm`` (items times ``s``, users over ``s``).

    ALS leaves the split of scale between users and items to where its iterations stopped. An
    online BPR step moves an item by about ``learning_rate * |user|`` and a user by about
    ``user_learning_rate * |item|``, so long items and short users keep the batch structure in
    the items while users adapt fast. Measured on planted clusters (own-cluster share of the MF
    top-10 after three online events per user): item length 1: 0.82 after a bootstrap, 0.65 after
    a re-fit; 3 (the default ``max_norm``): 0.89 and 0.85; 5: 0.90 and 0.84.

    >>> f = rescaled(WalsFactors(["u"], np.array([[4.0, 0.0]]), ["i"], np.array([[0.0, 1.0]])), 2.0)
    >>> f.users.tolist(), f.items.tolist()
    ([[2.0, 0.0]], [[0.0, 2.0]])
    """
    items = float(np.linalg.norm(factors.items, axis=1).mean()) if len(factors.item_ids) else 0.0
    if items <= 0:
        return factors
    s = item_norm / items
    return WalsFactors(factors.user_ids, factors.users / s, factors.item_ids, factors.items * s)




def item_norm(settings: Settings) -> float:
    """The mean item length a fit is rescaled to: ``max_norm``, or :data:`ITEM_NORM` without one."""
    return settings.max_norm or ITEM_NORM


def bpr_of(model: VectorModel, settings: Settings) -> OnlineBPR:
    """``model`` as the BPR model batch factors go into, or a :class:`ConfigError` that says what to set."""
    if not isinstance(model, OnlineBPR):
        raise ConfigError(
            f"RECSYS_MF_LOSS={settings.mf_loss}: WALS factors can only continue in the BPR model "
            "(River's BiasedMF has no way to take batch factors); set RECSYS_MF_LOSS=bpr (the default) to train"
        )
    return model
