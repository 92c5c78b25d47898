"""Maximum inner product search as nearest-neighbour search: one extra coordinate.

For a bound ``B`` on the vectors' norms, every vector ``x`` is stored as
``x' = [x, sqrt(B² - |x|²)]`` and every query ``q`` is asked as ``q' = [q, 0]``. Then

* ``x'·q' = x·q`` exactly (the extra coordinate meets a 0), so the scores are the inner products;
* every stored vector has norm ``B``, so between stored vectors inner product, cosine and
  Euclidean distance order alike (``|x' - y'|² = 2B² - 2 x'·y'``): the graph is built over a
  proper metric, which HNSW's neighbour selection assumes. Plain inner-product space breaks
  that assumption when norms differ (a long vector is "nearest" to everything), which is why
  hnswlib's recall on MF vectors fell to 0.64 at a million items.

The bound is ``margin`` times the largest norm seen when it is set. The margin matters
(``benchmarks/ann.py --sizes 100000 --kinds mf --margin ...``: 100,000 MF vectors, m=12,
ef_construction=200; recall@10 at ef=100 / 200 / 400): 1.0 plateaus at 0.881 / 0.894 /
0.899, because the longest vectors get an extra coordinate of 0 and sit apart from the rest
on the sphere; 1.1 gives 0.973 / 0.988 / 0.996, 1.2 0.961 / 0.985 / 0.995, 1.5 0.968 /
0.989 / 0.996 (equal within the spread of one build to the next). 1.2 sits inside that flat
range and leaves 20% of room for vectors that grow after the bound was set.

A vector longer than the bound gets extra coordinate 0 (see :func:`augment`): its score is
still exact, only the graph's navigability around it suffers; the index counts such
vectors and rebuilds with a new bound when that is cheap (see :mod:`recsys.ann.hnsw`).

Examples
--------
>>> import numpy as np
>>> x = np.array([[3.0, 4.0], [0.0, 1.0]], dtype=np.float32)
>>> bound = choose_bound(x, margin=1.2)
>>> bound
6.0
>>> stored, over = augment(x, bound)
>>> np.linalg.norm(stored, axis=1).round(4).tolist(), over.tolist()
([6.0, 6.0], [False, False])
>>> q = augment_query(np.array([1.0, 2.0], dtype=np.float32))
>>> (stored @ q).tolist() == (x @ np.array([1.0, 2.0], dtype=np.float32)).tolist()
True
>>> augment(np.array([[8.0, 6.0]], dtype=np.float32), bound)[1].tolist()  # longer than the bound
[True]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DEFAULT_MARGIN = 1.2


def choose_bound(vectors: npt.NDArray[np.float32], margin: float = DEFAULT_MARGIN) -> float:
    """``margin`` times the largest norm among ``vectors`` (1.0 when they are all zero)."""
    if margin < 1.0:
        raise ValueError(f"the bound's margin must be at least 1.0 (it multiplies the largest norm), got {margin}")
    largest = float(np.linalg.norm(vectors, axis=1).max()) if len(vectors) else 0.0
    return margin * largest if largest > 0.0 else 1.0


def augment(vectors: npt.NDArray[np.float32], bound: float) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """``[x, sqrt(bound² - |x|²)]`` per row, and which rows were longer than ``bound`` (their
    extra coordinate is 0)."""
    squared = np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64)
    room = bound * bound - squared
    out = np.empty((len(vectors), vectors.shape[1] + 1), dtype=np.float32)
    out[:, :-1] = vectors
    out[:, -1] = np.sqrt(np.maximum(room, 0.0))
    return out, room < 0.0


def augment_query(q: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``[q, 0]``."""
    return np.append(q, np.float32(0.0)).astype(np.float32, copy=False)
