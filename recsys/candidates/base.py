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
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from recsys.indexing import Indexes
from recsys.items.state import ItemState
from recsys.request import Request
from recsys.settings import Settings


@dataclass(frozen=True)
class Candidate:
    """An item one source nominates, with that source's own score."""

    item_id: str
    score: float
    source: str


class CandidateSource(abc.ABC):
    """Nominates up to ``n`` distinct available items for a request, best first.

    The contract (tested for every implementation): at most ``n`` items, no duplicates,
    never an unavailable item, nothing in ``request.exclude``, an unknown user is fine.
    """

    name: str = "source"

    @abc.abstractmethod
    def generate(self, request: Request, n: int) -> list[Candidate]:
        """Up to ``n`` candidates, best first."""


class Generator(CandidateSource):
    """A registered candidate generator: nominates, scores any candidate, explains its own."""

    priority: ClassVar[int] = 100
    """Where its reason goes among an item's reasons: lower is more telling (what the user did,
    then whom they follow, then the crowd)."""

    def __init__(self, items: ItemState, indexes: Indexes, settings: Settings) -> None:
        self.items = items
        self.indexes = indexes
        self.settings = settings

    @abc.abstractmethod
    def signal(self, request: Request, ids: list[str]) -> np.ndarray | None:
        """This generator's evidence for each of ``ids`` (higher is better; NaN where it says
        nothing about an item), or None when it says nothing for this user at all."""

    def reason(self, request: Request, item_id: str) -> str | None:
        """Why it nominated ``item_id``, in words ("because you liked matrix"); None: no reason."""
        return None
