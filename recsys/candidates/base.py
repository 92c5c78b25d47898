"""The interface every candidate generator implements, and what it nominates.

A generator is three things about one kind of evidence: it **nominates** items for a request
(:meth:`Generator.generate`), it **scores** any candidate with its own evidence, whoever
nominated it (:meth:`Generator.signal`, what the blend and the learned scorer combine), and it
**explains** an item it nominated (:meth:`Generator.reason`). Generators are views over the
item-side state (:class:`~recsys.items.state.ItemState`) and the indexes derived from it
(:class:`~recsys.indexing.Indexes`); they hold no state of their own, so building them again
after a snapshot load or an index rebuild is free and leaves nothing pointing at old objects.

Every generator is registered by name in :data:`recsys.candidates.GENERATORS`; the settings
(``RECSYS_GENERATORS``, ``RECSYS_BLEND_WEIGHTS``), the learned scorer's features, the
explanations and the contract tests all come from that registry.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import numpy as np

from recsys.indexing import Indexes
from recsys.items.state import ItemState
from recsys.request import Request
from recsys.rows import Rows
from recsys.settings import Settings

Candidates = tuple[Rows, np.ndarray]
"""What a generator nominates: item rows, best first, and its own score of each."""

NONE: Candidates = (np.empty(0, dtype=np.int64), np.empty(0))


def top(rows: Rows, scores: np.ndarray, n: int, allowed: np.ndarray | None = None) -> Candidates:
    """The ``n`` best of ``rows`` by ``scores`` (ties: the lower row first), among the ``allowed``.

    >>> top(np.array([5, 3, 9]), np.array([1.0, 2.0, 1.0]), 2)
    (array([3, 5]), array([2., 1.]))
    """
    if allowed is not None:
        rows, scores = rows[allowed], scores[allowed]
    if len(rows) > n:
        part = np.argpartition(-scores, n - 1)[:n] if n > 0 else np.empty(0, dtype=np.int64)
        rows, scores = rows[part], scores[part]
    order = np.lexsort((rows, -scores))
    return rows[order], scores[order]


class Generator(abc.ABC):
    """A registered candidate generator: nominates, scores any candidate, explains its own.

    The contract (tested for every registered generator): :meth:`generate` nominates at most
    ``n`` distinct items, best first, every one of them allowed by the request (never an
    unavailable item, nothing in ``request.exclude``); an unknown user is fine.
    """

    name: ClassVar[str] = "source"

    priority: ClassVar[int] = 100
    """Where its reason goes among an item's reasons: lower is more telling (what the user did,
    then whom they follow, then the crowd)."""

    def __init__(self, items: ItemState, indexes: Indexes, settings: Settings) -> None:
        self.items = items
        self.indexes = indexes
        self.settings = settings

    @abc.abstractmethod
    def generate(self, request: Request, n: int) -> Candidates:
        """Up to ``n`` allowed items, best first, with this generator's score of each."""

    @abc.abstractmethod
    def signal(self, request: Request, rows: Rows) -> np.ndarray | None:
        """This generator's evidence for each of ``rows`` (higher is better; NaN where it says
        nothing about an item), or None when it says nothing for this user at all."""

    def reason(self, request: Request, row: int) -> str | None:
        """Why it nominated the item of ``row``, in words ("because you liked matrix"); None: no reason."""
        return None

    def reasons(self, request: Request, rows: Rows) -> list[str | None]:
        """:meth:`reason` of each of ``rows`` (a generator whose reason needs lookups does them
        once for all)."""
        return [self.reason(request, row) for row in rows.tolist()]
