"""What a list is asked with: whom it is for, what must never be in it, how long, when, in what context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recsys.models.base import UserFactors
from recsys.state import UserState


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
