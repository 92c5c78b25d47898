"""Nearest-neighbour (maximum inner product) indexes over item vectors, labelled by item row.

``make_index(backend, dim, **params)`` builds an empty index: ``"brute"`` (exact numpy, the
oracle), ``"hnsw"`` (hnswlib through the MIPS reduction) or ``"auto"`` (exact while small,
hnsw past a threshold). ``load_index(path)`` reads a file any of them saved.

Examples
--------
>>> import numpy as np
>>> index = make_index("hnsw", dim=2, m=8)
>>> index.upsert(np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]]))
>>> index.query(np.array([0.1, 0.9]), n=2)[0].tolist()
[1, 0]
>>> make_index("faiss", dim=2)
Traceback (most recent call last):
...
ValueError: unknown ANN backend 'faiss'; valid backends: 'auto', 'brute', 'hnsw'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recsys.errors import SnapshotError

from .auto import AutoIndex
from .base import Allowed, VectorIndex, moved_since_indexed
from .brute_force import BruteForceIndex
from .files import peek_kind
from .hnsw import HnswIndex

BACKENDS: dict[str, type[VectorIndex]] = {"auto": AutoIndex, "brute": BruteForceIndex, "hnsw": HnswIndex}


def make_index(backend: str, dim: int, **params: Any) -> VectorIndex:
    """Build an empty index of the named backend; ``params`` go to its constructor."""
    cls = BACKENDS.get(backend)
    if cls is None:
        valid = ", ".join(repr(name) for name in sorted(BACKENDS))
        raise ValueError(f"unknown ANN backend {backend!r}; valid backends: {valid}")
    return cls(dim, **params)  # type: ignore[call-arg]


def load_index(path: Path | str) -> VectorIndex:
    """Read an index file written by any backend's ``save``."""
    kind = peek_kind(path)
    cls = BACKENDS.get(kind)
    if cls is None:
        raise SnapshotError(f"{path}: holds an index of unknown kind {kind!r}; delete it to rebuild")
    return cls.load(path)


__all__ = [
    "Allowed",
    "AutoIndex",
    "BACKENDS",
    "BruteForceIndex",
    "HnswIndex",
    "VectorIndex",
    "load_index",
    "make_index",
    "moved_since_indexed",
]
