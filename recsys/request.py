"""What a list is asked with: whom it is for, what must never be in it, how long, when, in what context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsys.models.base import UserFactors
from recsys.rows import Mask, Rows
from recsys.state import UserState

_NONE = np.empty(0, dtype=np.int64)


@dataclass
class Request:
    """Who the list is for, what must never be in it, how long the list will be, when
    (``now``: event-time seconds, the engine's clock) and in what context (session, device,
    location... merged from the user's context events and the request).

    The ranker also gives it the item rows the stages read (:meth:`recsys.ranking.Ranker.request`):
    the rows of ``exclude`` (``excluded``, sorted), of the user's recent positives (``recent``,
    oldest first) and recent items (``history``, oldest first), and ``allowed``, the hard
    filters as a mask over rows, which generators apply while they search so that nothing they
    nominate is filtered out later. The filters read ``excluded``, not ``exclude``: a request built
    by hand must give the rows of what it excludes (``space.lookup(ids)``, known rows, sorted).
    """

    user: UserState
    factors: UserFactors | None
    exclude: set[str] = field(default_factory=set)
    k: int = 10
    now: float = 0.0
    context: dict[str, Any] = field(default_factory=dict)
    excluded: Rows = field(default_factory=lambda: _NONE)
    recent: Rows = field(default_factory=lambda: _NONE)
    history: Rows = field(default_factory=lambda: _NONE)
    allowed: Mask | None = None
    memo: dict[str, Any] = field(default_factory=dict)  # what one stage computed for this request, for the next

    def mask(self, rows: Rows) -> np.ndarray:
        """``allowed`` of ``rows`` (everything when unset)."""
        return np.ones(len(rows), dtype=bool) if self.allowed is None else self.allowed(rows)
