"""Weighted alternating least squares for implicit feedback: a batch fit to bootstrap online models.

The model of Hu, Koren & Volinsky (2008). Each (user, item) pair has a preference
``p_ui = 1`` if the user interacted with the item and ``0`` otherwise, and a confidence
``c_ui = 1 + alpha * r_ui`` that grows with the summed strength ``r_ui`` of the interactions
(1 for every unobserved pair). User factors ``x_u`` and item factors ``y_i`` minimise

    sum over all pairs of c_ui (p_ui - x_u . y_i)^2  +  l2 (sum ||x_u||^2 + sum ||y_i||^2)

Fixing the items makes this an exact least-squares problem per user (and vice versa), so each
half-sweep solves, for every user with observed items ``I_u``,

    (Y^T Y + Y_I^T (C_u - I) Y_I + l2 I) x_u = Y_I^T c_u

where ``Y^T Y`` is computed once per sweep: every unobserved pair costs nothing beyond it, so
a sweep is linear in the number of observed pairs. Each half-sweep can only lower the
objective; :attr:`WALS.history` records it after every iteration. An iteration solves the
items, then the users, so the fitted user vectors are exactly what :meth:`WALS.fit_user`
(fold-in of a user from their items) returns.

Rows are solved in batches (stacked normal equations, one ``np.linalg.solve`` per batch);
MovieLens latest-small (610 users, 9.7k items, 100k ratings) takes a few seconds for 10
iterations on one core. The fit is a batch start for :class:`recsys.models.bpr.OnlineBPR`
(see :meth:`~recsys.models.bpr.OnlineBPR.install`), which then keeps learning online.

Examples
--------
Two groups of four users and four items; each user took every item of their own group
but one:

>>> triples = [(f"u{u}", f"i{i}", 1.0) for u in range(8) for i in range(8)
...            if u // 4 == i // 4 and i != u]
>>> wals = WALS(factors=2, iterations=10, seed=0)
>>> model = wals.fit(triples)
>>> scores = model.score("u0", ["i0", "i4"])  # u0 has seen neither: i0 is in u0's group
>>> bool(scores[0] > scores[1]), len(wals.history), wals.history[-1] < wals.history[0]
(True, 10, True)

Fold-in of a user the fit has not seen, from their items:

>>> vector = wals.fit_user(model, {"i5": 1.0, "i6": 2.0})
>>> rows = {item: n for n, item in enumerate(model.item_ids)}
>>> bool(model.items[rows["i4"]] @ vector > model.items[rows["i0"]] @ vector)
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = ["WALS", "WalsFactors"]

BATCH_FLOATS = 1 << 22  # per batch of rows, the stacked per-entry outer products hold this many floats (32 MB)


@dataclass(frozen=True, eq=False)
class WalsFactors:
    """Fitted factors: row ``n`` of ``users`` is the vector of ``user_ids[n]``, likewise for items."""

    user_ids: list[str]
    users: np.ndarray  # (len(user_ids), factors)
    item_ids: list[str]
    items: np.ndarray  # (len(item_ids), factors)
    _user_rows: dict[str, int] = field(init=False, repr=False)
    _item_rows: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        k = self.items.shape[1] if self.items.ndim == 2 else -1
        if self.users.shape != (len(self.user_ids), k) or self.items.shape != (len(self.item_ids), k):
            raise ValueError(
                "WalsFactors: need users (len(user_ids), k) and items (len(item_ids), k); "
                f"got users {self.users.shape} for {len(self.user_ids)} ids, "
                f"items {self.items.shape} for {len(self.item_ids)} ids"
            )
        object.__setattr__(self, "_user_rows", {u: n for n, u in enumerate(self.user_ids)})
        object.__setattr__(self, "_item_rows", {i: n for n, i in enumerate(self.item_ids)})

    def user_vector(self, user_id: str) -> np.ndarray | None:
        """The fitted vector of ``user_id``, or ``None`` if the fit did not see the user."""
        row = self._user_rows.get(user_id)
        return None if row is None else self.users[row]

    def score(self, user_id: str, item_ids: Sequence[str]) -> np.ndarray:
        """``x_u . y_i`` for each of ``item_ids``; an item the fit did not see scores 0, which is
        what the fit gives an item without interactions (its least-squares vector is zero)."""
        vector = self.user_vector(user_id)
        if vector is None:
            raise KeyError(f"WalsFactors.score: user {user_id!r} was not in the fit; fold them in with WALS.fit_user")
        rows = np.array([self._item_rows.get(i, -1) for i in item_ids], dtype=int)
        return np.where(rows >= 0, self.items[np.maximum(rows, 0)] @ vector, 0.0)


class WALS:
    """Batch implicit-feedback matrix factorisation by weighted alternating least squares."""

    def __init__(
        self,
        factors: int = 32,
        l2: float = 0.1,
        alpha: float = 10.0,
        iterations: int = 10,
        init_std: float = 0.1,
        seed: int = 42,
    ) -> None:
        if factors < 1 or iterations < 1 or l2 <= 0 or alpha < 0 or init_std <= 0:
            raise ValueError(
                "WALS: need factors >= 1, iterations >= 1, l2 > 0 (it keeps every solve well posed), alpha >= 0 "
                f"and init_std > 0 (got {factors=}, {iterations=}, {l2=}, {alpha=}, {init_std=})"
            )
        self.factors, self.l2, self.alpha = factors, l2, alpha
        self.iterations, self.init_std, self.seed = iterations, init_std, seed
        self.history: list[float] = []  # the objective after each iteration of the last fit

    def fit(
        self, triples: Iterable[tuple[str, str, float]], init_items: Mapping[str, np.ndarray] | None = None
    ) -> WalsFactors:
        """Factors for ``(user_id, item_id, strength)`` triples; repeated pairs add up their strengths.

        ``init_items`` warm-starts the fit from known item vectors (the first sweep solves the users
        from them; items not in it start random). A re-fit then stays close to the basis of the
        vectors it starts from, so items left out of the re-fit keep comparable vectors.
        """
        users: dict[str, int] = {}
        items: dict[str, int] = {}
        rows, cols, values = [], [], []
        for user_id, item_id, strength in triples:
            rows.append(users.setdefault(user_id, len(users)))
            cols.append(items.setdefault(item_id, len(items)))
            values.append(strength)
        if not values:
            raise ValueError("WALS.fit: no interactions to fit; pass (user_id, item_id, strength) triples")
        strengths = np.asarray(values, dtype=float)
        bad = np.flatnonzero(~(np.isfinite(strengths) & (strengths > 0)))
        if len(bad):
            n = int(bad[0])
            _bad_strength("fit", values[n], f"user {list(users)[rows[n]]!r}, item {list(items)[cols[n]]!r}")
        r = sp.csr_matrix((strengths, (rows, cols)), shape=(len(users), len(items)))
        r.sum_duplicates()  # repeated pairs add up before the confidence is taken
        conf = sp.csr_matrix((1.0 + self.alpha * r.data, r.indices, r.indptr), shape=r.shape)
        conf_t = conf.T.tocsr()
        rng = np.random.default_rng(self.seed)
        if init_items is None:
            x = rng.normal(0.0, self.init_std, (len(users), self.factors))
        else:
            y0 = rng.normal(0.0, self.init_std, (len(items), self.factors))
            for item_id, row in items.items():
                if item_id in init_items:
                    y0[row] = init_items[item_id]
            x = _least_squares(conf, y0, self.l2)
        self.history = []
        for _ in range(self.iterations):
            y = _least_squares(conf_t, x, self.l2)
            x = _least_squares(conf, y, self.l2)
            self.history.append(_objective(conf, x, y, self.l2))
        return WalsFactors(list(users), x, list(items), y)

    def fit_user(self, factors: WalsFactors, items: Mapping[str, float]) -> np.ndarray:
        """The least-squares vector of a user with these item strengths, given the fitted item
        factors (fold-in). Items the fit did not see carry no information and are ignored; with no
        known items the vector is zero. For a user in the fit this is their fitted vector."""
        for item_id, strength in items.items():
            if not (np.isfinite(strength) and strength > 0):
                _bad_strength("fit_user", strength, f"item {item_id!r}")
        known = {factors._item_rows[i]: s for i, s in items.items() if i in factors._item_rows}
        cols = np.array(sorted(known), dtype=int)
        strengths = np.array([known[c] for c in cols], dtype=float)
        conf = sp.csr_matrix((1.0 + self.alpha * strengths, cols, [0, len(cols)]), shape=(1, len(factors.item_ids)))
        return _least_squares(conf, factors.items, self.l2)[0]


def _least_squares(conf: sp.csr_matrix, fixed: np.ndarray, l2: float) -> np.ndarray:
    """Each row's exact solution given the other side's factors ``fixed`` (``Y``): for row ``u``
    with observed columns ``I`` and confidences ``c``, ``(Y^T Y + Y_I^T diag(c - 1) Y_I + l2 I) x_u = Y_I^T c``.

    Rows go in batches: the outer products ``y_i y_i^T`` of a batch's entries are stacked and
    summed per row by a sparse product, then the batch's systems are solved together. A row with
    more entries than a batch holds is solved alone with one matrix product.
    """
    n, k = conf.shape[0], fixed.shape[1]
    gram = fixed.T @ fixed + l2 * np.eye(k)
    indptr, per_batch = conf.indptr, max(1, BATCH_FLOATS // (k * k))
    out = np.empty((n, k))
    start = 0
    while start < n:
        stop = min(max(int(np.searchsorted(indptr, indptr[start] + per_batch, side="right")) - 1, start + 1), n)
        lo, hi = indptr[start], indptr[stop]
        y, c = fixed[conf.indices[lo:hi]], conf.data[lo:hi]
        if stop - start == 1:
            a = (gram + (y * (c - 1.0)[:, None]).T @ y)[None]
            b = (c @ y)[None]
        else:
            ptr, entries = indptr[start : stop + 1] - lo, np.arange(hi - lo)
            extra = sp.csr_matrix((c - 1.0, entries, ptr), shape=(stop - start, hi - lo))  # sums rows' entries
            a = gram + (extra @ (y[:, :, None] * y[:, None, :]).reshape(hi - lo, k * k)).reshape(-1, k, k)
            b = sp.csr_matrix((c, entries, ptr), shape=extra.shape) @ y
        out[start:stop] = np.linalg.solve(a, b[:, :, None])[:, :, 0]
        start = stop
    return out


def _objective(conf: sp.csr_matrix, x: np.ndarray, y: np.ndarray, l2: float) -> float:
    """The weighted loss: ``||X Y^T||^2`` over all pairs, corrected on the observed ones, plus L2."""
    rows = np.repeat(np.arange(conf.shape[0]), np.diff(conf.indptr))
    s = np.einsum("nk,nk->n", x[rows], y[conf.indices])
    everywhere = float(np.sum((x.T @ x) * (y.T @ y)))  # sum over all pairs of (0 - s)^2 with c = 1
    observed = float(np.sum(conf.data * (1.0 - s) ** 2 - s**2))
    return everywhere + observed + l2 * float(np.sum(x**2) + np.sum(y**2))


def _bad_strength(where: str, strength: float, what: str) -> None:
    raise ValueError(
        f"WALS.{where}: strength {strength!r} for {what} is not a positive number. WALS fits implicit feedback, "
        "where a strength is how sure a positive is: drop negative events (dislikes, skips) and zero strengths "
        "before fitting"
    )
