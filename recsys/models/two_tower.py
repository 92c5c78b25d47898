"""An online two-tower model over hashed features, in numpy: embeddings for unseen users and items.

Each side (tower) turns an entity into a bag of feature tokens — an item into ``id=…``,
``genre=…``, ``tag=…``, ``creator=…``, ``decade=…``; a user into ``uid=…``, profile tokens
such as ``country=…`` or ``preferred_genres=…`` and ``recent=<item>`` for the user's recent
positives — and each token into a row of that tower's embedding table by a stable, seeded hash
(the hashing trick). No vocabulary is kept: a brand-new item or user has an embedding at once,
built from the rows of the attribute values it shares with everything seen before; only its
own id token is untrained.

A tower's output is the weighted mean of its tokens' rows (``weights`` per token kind, the
text before ``=``), L2-normalised when ``normalize`` is on. The score of a user for an item is
the dot product of the two outputs (a cosine when normalised), so items can be searched by
inner product. ``pooling="sqrtn"`` divides the weighted sum by the root of the summed squared
weights instead of the summed weights; with ``normalize`` the two are the same model.

Training is online: :meth:`TwoTower.learn` takes one positive and a few sampled negatives and
makes one step on the sampled softmax over them, with logits ``score / temperature - log q``
for each item's sampling probability ``q`` (the logQ correction of Yi et al., 2019,
"Sampling-bias-corrected neural modeling for large corpus item recommendations"); only the
rows of the tokens involved change. Rows follow row-wise Adagrad (one accumulator per row), so
a rare id token takes large steps while a token in every other event (a common genre) settles.
A row starts as deterministic noise derived from ``seed`` and the row number (a counter hash,
not numpy's generators, whose streams may change between versions), set up when first read; a
pickle therefore stores only the rows that have learned something (kilobytes, not the 64 MB of
two default tables), and the copy embeds exactly as the original.

How the defaults were chosen: the prequential replay (``recsys.evaluate.replay``: every
positive on an item new to the user is first a top-10 test over all known items, minus the
user's own, then learned) of ``SyntheticWorld.benchmark(seed=0).stream(30000)``; 32 negatives
drawn uniformly from the items known so far, ``log_q = -log(items known)`` for each negative,
the user's last 20 positives as ``recent=`` tokens. HR@10 overall / on items published less
than a day before the event (2,337 of 22,118 tests); most-popular 0.038 / 0.000,
co-occurrence of the last 20 items 0.299 / 0.082:

==================================================  ===============
variant of the defaults                              HR@10 all / new
==================================================  ===============
**defaults** (lr 0.1, temperature 0.1, id x2)        **0.325 / 0.345**
the positive's logit corrected too (K + 1 log_q)     0.305 / 0.335
id weight 1                                          0.319 / 0.310
id weight 3                                          0.325 / 0.350
temperature 0.15                                     0.326 / 0.343
id 1, temperature 0.2                                0.316 / 0.315
id 1, learning rate 0.2                              0.317 / 0.319
id 1, uid weight 2                                   0.318 / 0.314
id 1, recent weight 0.5                              0.316 / 0.310
id 1, last 10 positives as recent, not 20            0.320 / 0.313
id 1, init_std 0.01                                  0.316 / 0.328
id 1, 64 negatives (learn step 1.6x slower)          0.322 / 0.339
id 1, positive corrected, not normalised (temp. 1)   0.249 / 0.199
==================================================  ===============

With the positive's logit corrected as well, the learning rate 0.02 / 0.05 / 0.1 / 0.2 gave
0.252 / 0.293 / 0.299 / 0.301, temperature 0.05 / 0.1 / 0.2 / 0.3 (lr 0.05) 0.286 / 0.293 /
0.296 / 0.289, and 8 negatives instead of 32 0.259. Negatives drawn half from the last 5,000
positives (by popularity) and half uniformly scored 0.309 with the logQ correction and 0.156
without it. Another seed of the defaults: 0.324 / 0.346. A learn step (32 negatives, 5 to 8
tokens per item, about 25 per user) takes about 0.5 ms.

Examples
--------
>>> tt = TwoTower(dim=8, buckets=2**12, seed=1)
>>> alice = ("alice", {"country": "GB"}, ["i1"])
>>> matrix = ("matrix", {"genres": ["scifi"], "year": 1999})
>>> titanic = ("titanic", {"genres": ["romance"], "year": 1997})
>>> grease = ("grease", {"genres": ["musical"], "year": 1978})
>>> losses = [tt.learn(alice, matrix, [titanic, grease]) for _ in range(30)]
>>> losses[-1] < losses[0]
True
>>> score = lambda item: float(tt.user_embedding(*alice) @ tt.item_embedding(*item))
>>> score(matrix) > max(score(titanic), score(grease))
True

A brand-new scifi item scores above a new romance one for her, through the shared genre token:

>>> score(("dune", {"genres": ["scifi"]})) > score(("notebook", {"genres": ["romance"]}))
True
>>> tt.updates
30
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np

from recsys.features import decade, stable_hash, tokens, user_tokens

__all__ = ["Codes", "ItemCodes", "TwoTower", "item_features", "token_bucket", "user_features"]

UserInput = tuple[str, Mapping[str, Any], Sequence[str]]
"""``(user_id, attributes, recent_items)``."""
ItemInput = tuple[str, Mapping[str, Any]]
"""``(item_id, attributes)``."""
Codes = tuple[np.ndarray, np.ndarray]
"""A bag of tokens encoded: table rows (int64) and pooling coefficients (float64)."""
ItemCodes = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Bags of item tokens encoded: table rows, pooling coefficients, and each item's first position."""

# Item attributes whose token kind is not the attribute's name (plural lists, the year).
_ITEM_KINDS = {"genres": "genre", "genre": "genre", "tags": "tag", "tag": "tag", "creator": "creator"}
DEFAULT_WEIGHTS: Mapping[str, float] = {"id": 2.0}
"""Token kinds weighted other than 1 by default: an item's own id counts twice (measured)."""
_ROW_CACHE_LIMIT = 1 << 20  # token -> row entries kept before the cache is cleared
_EPS = 1e-12


# --- features -----------------------------------------------------------------------------------


def _kind(token: str) -> str:
    return token.partition("=")[0]


def item_features(item_id: str, attributes: Mapping[str, Any]) -> list[str]:
    """The tokens of an item: its id, each genre, tag and creator, its decade, any other attribute.

    >>> item_features("m1", {"genres": ["scifi", "action"], "tags": ["dark"], "creator": "wachowski",
    ...                      "year": 1999, "language": "en", "rating": None})
    ['id=m1', 'genre=scifi', 'genre=action', 'tag=dark', 'creator=wachowski', 'decade=1990', 'language=en']
    """
    out = [f"id={item_id}"]
    for key, value in attributes.items():
        if key == "year":
            year = decade(value)
            out += [f"decade={year}"] if year is not None else []
        else:
            out.extend(tokens(_ITEM_KINDS.get(key, key), value))
    return out


def user_features(user_id: str, attributes: Mapping[str, Any], recent_items: Sequence[str] = ()) -> list[str]:
    """The tokens of a user: the id, each profile attribute (``age`` in decades), each recent item.

    >>> user_features("u7", {"age": 34, "country": "GB", "preferred_genres": ["drama", "horror"]}, ["i3", "i9"])
    ['uid=u7', 'age=30', 'country=GB', 'preferred_genres=drama', 'preferred_genres=horror', 'recent=i3', 'recent=i9']
    """
    out = [f"uid={user_id}", *user_tokens(attributes)]
    out.extend(f"recent={item}" for item in recent_items)
    return out


def token_bucket(token: str, buckets: int, seed: int = 42) -> int:
    """The table row of ``token``: a keyed BLAKE2b hash, the same in every process and on every machine.

    >>> token_bucket("genre=drama", 2**18), token_bucket("tag=drama", 2**18)
    (7077, 212213)
    """
    return stable_hash(token, seed) % buckets


def _initial_rows(rows: np.ndarray, dim: int, seed: int, tower: int, scale: float) -> np.ndarray:
    """Start values of table ``rows``: uniform noise of std ``scale`` from a counter hash (splitmix64)."""
    with np.errstate(over="ignore"):
        cells = rows.astype(np.uint64)[:, None] * np.uint64(dim) + np.arange(dim, dtype=np.uint64)[None, :]
        z = cells + np.uint64((seed * 2 + tower) * 0x9E3779B97F4A7C15 % 2**64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    uniform = (z >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return ((2.0 * uniform - 1.0) * (scale * math.sqrt(3.0))).astype(np.float32)


# --- the model ----------------------------------------------------------------------------------


class _Tower:
    """One embedding table, its row-wise Adagrad accumulators, and which rows are set up or updated.

    Rows get their start values on first read (``rows``), so building a large table is free
    and a row's value never depends on the order rows were read in.
    """

    def __init__(self, buckets: int, dim: int, seed: int, index: int, init_std: float) -> None:
        self.dim, self.seed, self.index, self.init_std = dim, seed, index, init_std
        self.table = np.zeros((buckets, dim), dtype=np.float32)
        self.grad_sq = np.zeros(buckets, dtype=np.float32)
        self.ready = np.zeros(buckets, dtype=bool)
        self.touched = np.zeros(buckets, dtype=bool)
        self.journal: list[tuple[np.ndarray, np.ndarray]] | None = None  # (rows, deltas) of each step, when kept

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("journal", None)

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """The current values of ``rows`` (a copy), setting up any row read for the first time."""
        fresh = rows[~self.ready[rows]]
        if len(fresh):
            fresh = np.unique(fresh)
            self.table[fresh] = _initial_rows(fresh, self.dim, self.seed, self.index, self.init_std)
            self.ready[fresh] = True
        return self.table[rows]

    def update(self, rows: np.ndarray, grads: np.ndarray, learning_rate: float, l2: float) -> None:
        """One Adagrad step on ``rows`` (repeats allowed: their gradients add up)."""
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]]))
        unique = ordered[starts]
        g = grads[order] if len(unique) == len(rows) else np.add.reduceat(grads[order], starts, axis=0)
        current = self.rows(unique)
        if l2:
            g = g + l2 * current
        step = np.mean(g * g, axis=1)
        acc = self.grad_sq[unique] + step
        self.grad_sq[unique] = acc
        change = -(learning_rate / np.sqrt(acc + _EPS))[:, None] * g
        self.table[unique] = current + change
        self.touched[unique] = True
        if self.journal is not None:  # what another worker adds to learn this step: table, then accumulator
            self.journal.append((unique, np.concatenate([change, step[:, None]], axis=1).astype(np.float32)))

    def add(self, rows: np.ndarray, deltas: np.ndarray) -> None:
        """Add another worker's step (:attr:`journal`'s ``deltas``, accumulator last) to distinct ``rows``."""
        current = self.rows(rows)
        self.table[rows] = current + deltas[:, :-1]
        self.grad_sq[rows] += deltas[:, -1]
        self.touched[rows] = True


class TwoTower:
    """Two bag-of-hashed-features towers trained online by sampled softmax with logQ correction."""

    def __init__(
        self,
        dim: int = 32,
        buckets: int = 2**18,
        learning_rate: float = 0.1,
        l2: float = 0.0,
        temperature: float = 0.1,
        seed: int = 42,
        *,
        normalize: bool = True,
        pooling: Literal["mean", "sqrtn"] = "mean",
        weights: Mapping[str, float] | None = None,
        init_std: float = 0.1,
    ) -> None:
        if dim < 1 or buckets < 1:
            raise ValueError(f"TwoTower: dim and buckets must be positive (got {dim}, {buckets})")
        if temperature <= 0 or learning_rate <= 0 or l2 < 0:
            raise ValueError("TwoTower: temperature and learning_rate must be positive, l2 not negative")
        if pooling not in ("mean", "sqrtn"):
            raise ValueError(f"TwoTower: pooling is 'mean' or 'sqrtn' (got {pooling!r})")
        self.dim, self.buckets, self.seed = dim, buckets, seed
        self.learning_rate, self.l2, self.temperature = learning_rate, l2, temperature
        self.normalize, self.pooling, self.init_std = normalize, pooling, init_std
        self._weights: dict[str, float] = dict(DEFAULT_WEIGHTS if weights is None else weights)
        self._users = _Tower(buckets, dim, seed, 0, init_std)
        self._items = _Tower(buckets, dim, seed, 1, init_std)
        self._rows: dict[str, tuple[int, float]] = {}
        self._updates = 0

    @property
    def weights(self) -> dict[str, float]:
        """The weight of each token kind (the text before ``=``) in its tower's mean; others weigh 1."""
        return dict(self._weights)

    @property
    def updates(self) -> int:
        """How many :meth:`learn` steps the model has taken."""
        return self._updates

    # --- encoding ----------------------------------------------------------------------------

    def _lookup(self, token: str) -> tuple[int, float]:
        """The row and the kind's weight of ``token`` (cached: hashing is the costly part)."""
        if len(self._rows) >= _ROW_CACHE_LIMIT:
            self._rows.clear()
        found = self._rows[token] = (token_bucket(token, self.buckets, self.seed), self._weights.get(_kind(token), 1.0))
        return found

    def _encode(self, tokens: Sequence[str], sizes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows and pooling coefficients (the weighted mean's, or sqrt-n's) of a bag of tokens, or of
        consecutive bags of ``sizes`` tokens each (every size at least 1)."""
        cache, lookup = self._rows, self._lookup
        pairs = np.array([cache.get(t) or lookup(t) for t in tokens], dtype=np.float64).reshape(-1, 2)
        rows, w = pairs[:, 0].astype(np.int64), pairs[:, 1]
        sqrtn = self.pooling == "sqrtn"
        if sizes is None:
            total = np.sqrt(w @ w) if sqrtn else np.sum(w)
        else:
            starts = np.cumsum(sizes) - sizes
            total = np.repeat(np.add.reduceat(w * w if sqrtn else w, starts), sizes)
            total = np.sqrt(total) if sqrtn else total
        return rows, w / np.maximum(total, _EPS)

    def _encode_user(
        self, user_id: str, attributes: Mapping[str, Any], recent: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        return self._encode(user_features(user_id, attributes, recent))

    def _encode_item(self, item_id: str, attributes: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        return self._encode(item_features(item_id, attributes))

    def _finish(self, raw: np.ndarray) -> np.ndarray:
        if not self.normalize:
            return raw.astype(np.float32)
        norms = np.linalg.norm(raw, axis=-1, keepdims=True)
        return (raw / np.maximum(norms, _EPS)).astype(np.float32)

    # --- embeddings --------------------------------------------------------------------------

    def user_embedding(
        self, user_id: str, attributes: Mapping[str, Any], recent_items: Sequence[str] = ()
    ) -> np.ndarray:
        """The user tower's output (``dim``, float32): unit length when ``normalize``."""
        rows, w = self._encode_user(user_id, attributes, recent_items)
        return self._finish(w @ self._users.rows(rows))

    def item_embedding(self, item_id: str, attributes: Mapping[str, Any]) -> np.ndarray:
        """The item tower's output (``dim``, float32); scores are ``user_embedding @ item_embedding``."""
        rows, w = self._encode_item(item_id, attributes)
        return self._finish(w @ self._items.rows(rows))

    def item_embeddings(self, items: Sequence[ItemInput]) -> np.ndarray:
        """:meth:`item_embedding` of each ``(item_id, attributes)``, stacked (``(len(items), dim)``, float32)."""
        if not items:
            return np.empty((0, self.dim), dtype=np.float32)
        rows, coef, starts = self._encode_items(items)
        return self._finish(self._pool_items(rows, coef, starts))

    def _encode_items(self, items: Sequence[ItemInput]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, coefficients and each item's first position, for :meth:`_pool_items`."""
        bags = [item_features(item_id, attributes) for item_id, attributes in items]
        sizes = np.fromiter(map(len, bags), dtype=np.int64, count=len(bags))
        rows, coef = self._encode([t for bag in bags for t in bag], sizes)
        return rows, coef, np.cumsum(sizes) - sizes

    def _pool_items(self, rows: np.ndarray, coef: np.ndarray, starts: np.ndarray) -> np.ndarray:
        return np.add.reduceat(self._items.rows(rows) * coef[:, None], starts, axis=0)

    # --- learning ----------------------------------------------------------------------------

    def learn(
        self,
        user: UserInput,
        positive: ItemInput,
        negatives: Sequence[ItemInput],
        log_q: Sequence[float] | None = None,
    ) -> float:
        """One SGD step of sampled softmax: ``positive`` against ``negatives`` for ``user``; returns the loss.

        ``log_q`` is the log sampling probability of the positive and of each negative, in that
        order (``len(negatives) + 1`` values, as in Yi et al.'s in-batch softmax); with
        ``len(negatives)`` values the positive's logit is left uncorrected, which makes the loss a
        sampled estimate of the full softmax over the catalogue (and measured better with uniform
        negatives, see the module notes). Each logit is ``score / temperature - log q``. Negatives
        with the positive's id are dropped; with none left the step is skipped and 0 returned.
        """
        q = None if log_q is None else np.asarray(log_q, dtype=np.float64)
        if q is not None and len(q) not in (len(negatives), len(negatives) + 1):
            raise ValueError(f"log_q needs {len(negatives) + 1} values (positive first), got {len(q)}")
        if q is not None and len(q) == len(negatives):
            q = np.concatenate([[0.0], q])
        keep = [j for j, (item_id, _) in enumerate(negatives) if item_id != positive[0]]
        if not keep:
            return 0.0
        if q is not None and len(keep) < len(negatives):
            q = q[[0, *(j + 1 for j in keep)]]
        items = [positive, *(negatives[j] for j in keep)]
        return self.learn_codes(self._encode_user(*user), self._encode_items(items), q)

    def learn_codes(self, user: Codes, items: ItemCodes, log_q: np.ndarray | None = None) -> float:
        """:meth:`learn` on encoded inputs: the user's codes (:meth:`user_codes`) and the positive
        then the negatives' codes (:meth:`item_codes`); ``log_q`` has one value per item (0 for an
        uncorrected logit)."""
        u_rows, u_coef = user
        i_rows, i_coef, starts = items
        n_items = len(starts)
        u_raw = u_coef @ self._users.rows(u_rows)
        v_raw = self._pool_items(i_rows, i_coef, starts)
        if self.normalize:
            u_norm = max(float(np.linalg.norm(u_raw)), _EPS)
            v_norm = np.maximum(np.linalg.norm(v_raw, axis=1), _EPS)
            u, v = u_raw / u_norm, v_raw / v_norm[:, None]
        else:
            u, v = u_raw, v_raw
        inv_t = 1.0 / self.temperature
        logits = (v @ u) * inv_t
        if log_q is not None:
            logits = logits - log_q
        shifted = logits - logits.max()
        exp = np.exp(shifted)
        total = float(exp.sum())
        loss = math.log(total) - float(shifted[0])
        g = exp / total  # d loss / d logits
        g[0] -= 1.0
        du = (g @ v) * inv_t
        dv = np.outer(g * inv_t, u)
        if self.normalize:  # back through x / |x|
            du = (du - u * float(u @ du)) / u_norm
            dv = (dv - v * np.einsum("ij,ij->i", v, dv)[:, None]) / v_norm[:, None]
        owner = np.repeat(np.arange(n_items), np.diff(np.append(starts, len(i_rows))))
        self._users.update(u_rows, u_coef[:, None] * du[None, :], self.learning_rate, self.l2)
        self._items.update(i_rows, i_coef[:, None] * dv[owner], self.learning_rate, self.l2)
        self._updates += 1
        return loss

    # --- shared learning ------------------------------------------------------------------------

    def keep_journal(self) -> None:
        """From now on, record each step's changes (:meth:`take_journal`), to share them with other workers."""
        for tower in (self._users, self._items):
            if tower.journal is None:
                tower.journal = []

    def take_journal(self) -> tuple[np.ndarray, int, np.ndarray]:
        """The changes since the last call: the rows (user tower's first, then the item tower's), how
        many are the user tower's, and one row of deltas each (the table's, then the accumulator's)."""
        parts = []
        for tower in (self._users, self._items):
            steps, tower.journal = tower.journal or [], [] if tower.journal is not None else None
            rows = np.concatenate([r for r, _ in steps]) if steps else np.empty(0, np.int64)
            deltas = np.concatenate([d for _, d in steps]) if steps else np.zeros((0, self.dim + 1), np.float32)
            parts.append((rows, deltas))
        (u_rows, u_deltas), (i_rows, i_deltas) = parts
        return np.concatenate([u_rows, i_rows]), len(u_rows), np.concatenate([u_deltas, i_deltas])

    def add_journal(self, rows: np.ndarray, split: int, deltas: np.ndarray) -> None:
        """Apply another worker's :meth:`take_journal` (rows may repeat across its steps: each adds)."""
        for tower, part in ((self._users, slice(0, split)), (self._items, slice(split, None))):
            r, d = rows[part], deltas[part]
            if len(r):
                order = np.argsort(r, kind="stable")
                r, d = r[order], d[order]
                firsts = np.flatnonzero(np.concatenate([[True], r[1:] != r[:-1]]))
                tower.add(r[firsts], np.add.reduceat(d, firsts, axis=0))

    # --- encoded inputs ------------------------------------------------------------------------

    def item_codes(self, items: Sequence[ItemInput]) -> ItemCodes:
        """The table rows, pooling coefficients and first positions of items' tokens: what
        :meth:`embed_codes` and :meth:`learn_codes` take (cache them per item: hashing tokens is
        the costly part of an embedding)."""
        return self._encode_items(items)

    def user_codes(self, user_id: str, attributes: Mapping[str, Any], recent: Codes) -> Codes:
        """The user's codes from their id, profile and the codes of their recent items' ``recent=``
        tokens (:meth:`recent_codes`)."""
        tokens = [f"uid={user_id}", *user_tokens(attributes)]
        cache, lookup = self._rows, self._lookup
        pairs = [cache.get(t) or lookup(t) for t in tokens]
        rows = np.concatenate([np.array([r for r, _ in pairs], dtype=np.int64), recent[0]])
        w = np.concatenate([np.array([w for _, w in pairs], dtype=np.float64), recent[1]])
        total = np.sqrt(w @ w) if self.pooling == "sqrtn" else np.sum(w)
        return rows, w / np.maximum(total, _EPS)

    def recent_codes(self, item_ids: Sequence[str]) -> Codes:
        """The rows and weights (not yet pooled) of the ``recent=`` tokens of ``item_ids``."""
        pairs = [self._rows.get(t) or self._lookup(t) for t in (f"recent={i}" for i in item_ids)]
        return np.array([r for r, _ in pairs], dtype=np.int64), np.array([w for _, w in pairs], dtype=np.float64)

    def embed_codes(self, items: ItemCodes) -> np.ndarray:
        """The item tower's outputs for encoded items (``(n, dim)``, float32)."""
        rows, coef, starts = items
        if len(starts) == 0:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._finish(self._pool_items(rows, coef, starts))

    def embed_user(self, user: Codes) -> np.ndarray:
        """The user tower's output for encoded inputs (``dim``, float32)."""
        rows, coef = user
        return self._finish(coef @ self._users.rows(rows))

    # --- pickling ----------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """Settings and the rows that have been updated; untouched rows are regenerated from ``seed``."""
        state = {k: v for k, v in self.__dict__.items() if k not in ("_users", "_items", "_rows")}
        for name in ("_users", "_items"):
            tower: _Tower = getattr(self, name)
            rows = np.flatnonzero(tower.touched)
            state[name] = (rows, tower.table[rows].copy(), tower.grad_sq[rows].copy())
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        saved = {name: state.pop(name) for name in ("_users", "_items")}
        self.__dict__.update(state)
        self._rows = {}
        for index, name in enumerate(("_users", "_items")):
            tower = _Tower(self.buckets, self.dim, self.seed, index, self.init_std)
            rows, values, grad_sq = saved[name]
            tower.table[rows], tower.grad_sq[rows] = values, grad_sq
            tower.ready[rows] = tower.touched[rows] = True
            setattr(self, name, tower)
