"""How often each item was listed to a user: the exposure that exploration weighs its evidence by.

An item listed a thousand times and taken ten times is known to be weak; an item listed twice
and taken never is not known at all. The exploration step (:mod:`recsys.rerank.exploration`)
reads both counts: impressions here, takes from the catalogue's popularity. The counts are a
column of the item row space and are this worker's own (each worker counts the lists it serves).

Examples
--------
>>> from recsys.rows import RowSpace
>>> space = RowSpace(); a, b = space.rows(["a", "b"])
>>> shown = Impressions(space)
>>> shown.record(np.array([a, b])); shown.record(np.array([a]))
>>> shown.counts(np.array([a, b])).tolist()
[2.0, 1.0]
"""

from __future__ import annotations

import numpy as np

from recsys.rows import Rows, RowSpace


class Impressions:
    """Per item, how many lists shown to users included it."""

    def __init__(self, rows: RowSpace) -> None:
        self._counts = rows.column(np.float64)

    def record(self, rows: Rows) -> None:
        """One list was shown with the items of ``rows`` (distinct) in it."""
        self._counts.data[rows] += 1.0

    def counts(self, rows: Rows) -> np.ndarray:
        return self._counts.data[rows].copy()
