"""Sequence candidates: the items a small sequential model expects next (:mod:`recsys.items.sequence`).

The query pools the input vectors of the user's latest positives, the latest weighing most;
candidates are the items whose output vectors score highest against it, searched exactly over
every item that has been a next item (a matrix product and a partial sort: a few thousand items
per millisecond).
"""

from __future__ import annotations

import numpy as np

from recsys.candidates.base import NONE, Candidates, Generator, top
from recsys.request import Request
from recsys.rows import Rows


class SequenceSource(Generator):
    """The items a sequential model expects after the user's latest positives; its signal is that score."""

    name = "sequence"
    priority = 0

    def _query(self, request: Request) -> np.ndarray | None:
        key = self.name
        if key not in request.memo:
            request.memo[key] = self.items.sequence.query(request.recent)
        return request.memo[key]

    def generate(self, request: Request, n: int) -> Candidates:
        query = self._query(request)
        if query is None:
            return NONE
        model = self.items.sequence
        rows = np.flatnonzero(model.trained.data[: len(self.items.rows)])
        if not len(rows):
            return NONE
        return top(rows, model.scores(query, rows), n, request.mask(rows))

    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        query = self._query(request)
        return None if query is None else self.items.sequence.scores(query, rows)

    def reason(self, request: Request, row: int) -> str | None:
        """Names the latest item whose pull towards this one is strongest."""
        model = self.items.sequence
        recent = request.recent[-model.window :]
        if not len(recent) or not model.trained.data[row]:
            return None
        pull = model.weights(len(recent)) * (model.inputs.data[recent] @ model.outputs.data[row])
        return f"often comes next after {self.items.rows.ids[int(recent[int(pull.argmax())])]}"
