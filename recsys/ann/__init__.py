"""Nearest-neighbour (maximum inner product) indexes over item vectors.

``make_index("hnsw", dim, m=..., ef_construction=..., ef=...)`` builds the approximate
hnswlib index; ``make_index("brute", dim)`` the exact numpy one used as the oracle.

Examples
--------
>>> import numpy as np
>>> index = make_index("hnsw", dim=2, m=8)
>>> index.upsert(["x", "y"], np.array([[1.0, 0.0], [0.0, 1.0]]))
>>> [item for item, _ in index.query(np.array([0.1, 0.9]), n=2)]
['y', 'x']
>>> make_index("faiss", dim=2)
Traceback (most recent call last):
...
ValueError: unknown ANN backend 'faiss'; valid backends: 'brute', 'hnsw'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import VectorIndex
from .brute_force import BruteForceIndex
from .hnsw import HnswIndex

BACKENDS: dict[str, Callable[..., VectorIndex]] = {"brute": BruteForceIndex, "hnsw": HnswIndex}


def make_index(backend: str, dim: int, **params: Any) -> VectorIndex:
    """Build an empty index of the named backend; ``params`` go to its constructor."""
    cls = BACKENDS.get(backend)
    if cls is None:
        valid = ", ".join(repr(name) for name in sorted(BACKENDS))
        raise ValueError(f"unknown ANN backend {backend!r}; valid backends: {valid}")
    return cls(dim, **params)


__all__ = ["BACKENDS", "BruteForceIndex", "HnswIndex", "VectorIndex", "make_index"]
