"""The interface every candidate generator implements, and what it is asked with."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

from recsys.models.base import UserFactors
from recsys.state import UserState


@dataclass(frozen=True)
class Candidate:
    """An item one source nominates, with that source's own score."""

    item_id: str
    score: float
    source: str


@dataclass
class Request:
    """Who the list is for, what must never be in it, how long the list will be, when
    (``now``: event-time seconds, the engine's clock) and in what context (session, device,
    location... merged from the user's context events and the request)."""

    user: UserState
    factors: UserFactors | None
    exclude: set[str] = field(default_factory=set)
    k: int = 10
    now: float = 0.0
    context: dict[str, Any] = field(default_factory=dict)


class CandidateSource(abc.ABC):
    """Nominates up to ``n`` distinct available items for a request, best first.

    The contract (tested for every implementation): at most ``n`` items, no duplicates,
    never an unavailable item, nothing in ``request.exclude``, an unknown user is fine.
    """

    name: str = "source"

    @abc.abstractmethod
    def generate(self, request: Request, n: int) -> list[Candidate]:
        """Up to ``n`` candidates, best first."""
