"""What the replay asks of a model, and the adapter that puts the product's Engine behind it.

Every model in a replay — the product's default configuration and each baseline — sees the
same events in the same order through this interface, so their figures are comparable.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from recsys.engine import Engine
from recsys.event_types import NEGATIVE_TYPES
from recsys.settings import Settings
from schemas import Context, Follow, Interaction, Item, Rule, User

Event = Interaction | Item | User | Follow | Context | Rule


@dataclass(frozen=True)
class Positives:
    """Which interactions count as positives: the events that are tested, and what baselines learn.

    ``min_rating=None`` takes every interaction except dislikes and skips (a rating of any
    value included); otherwise a rating counts only from ``min_rating`` up.

    Examples
    --------
    >>> p = Positives(min_rating=4.0)
    >>> p(Interaction("e", "u", "i", "rating", 1.0, value=3.5)), p(Interaction("e", "u", "i", "view", 1.0))
    (False, True)
    """

    min_rating: float | None = None

    def __call__(self, event: Interaction) -> bool:
        if event.type in NEGATIVE_TYPES:
            return False
        if event.type == "rating" and self.min_rating is not None:
            return (event.value or 0.0) >= self.min_rating
        return True

    @property
    def label(self) -> str:
        return "all" if self.min_rating is None else f"rating>={self.min_rating:g}"


class Recommender(abc.ABC):
    """A model under replay: learns from events, ranks items for a user."""

    name: str = "model"

    def __init__(self) -> None:
        self.fallback = False  # whether the last list came from a cold-start fallback

    @abc.abstractmethod
    def observe(self, event: Event, positive: bool) -> None:
        """Learn from one event (catalogue, profile, follow or interaction), after it was tested."""

    @abc.abstractmethod
    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        """Top ``k`` item ids for ``user_id``, none of them in ``exclude``; sets :attr:`fallback`."""


class EngineRecommender(Recommender):
    """The product's engine, exactly as the worker runs it (in-process, users in a dict)."""

    def __init__(self, settings: Settings | None = None, name: str = "default") -> None:
        super().__init__()
        self.name = name
        self.engine = Engine(settings or Settings())

    def observe(self, event: Event, positive: bool) -> None:
        self.engine.apply_event(event)
        if isinstance(event, Interaction):
            self.engine.maybe_refresh(now=event.timestamp)

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        self.fallback = self.engine.user_state(user_id).vector is None
        # shown: the list counts as seen by the user (creator exposure for fairness, the last list)
        return [r.item_id for r in self.engine.recommend(user_id, k=k, exclude=exclude, shown=True)]
