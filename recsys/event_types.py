"""What each interaction type means to the recommender, in one place.

The types themselves are the schema's (:data:`schemas.INTERACTION_TYPES`); here is what the
recommender makes of them: the default signed weight of each (``RECSYS_EVENT_WEIGHTS``
overrides it), which types are negative by nature (never a positive in an evaluation), which
one is a click and which, after a click on the same item, count against the item (click-bait).

Examples
--------
>>> from schemas import Interaction
>>> event_weight(Interaction("e", "u", "i", "rating", 1.0, value=4.5), DEFAULT_EVENT_WEIGHTS, rating_neutral=3.0)
1.5
>>> sorted(NEGATIVE_TYPES), sorted(REGRETS)
(['dislike', 'skip'], ['dislike', 'skip'])
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas import INTERACTION_TYPES, Interaction

__all__ = ["CLICK", "DEFAULT_EVENT_WEIGHTS", "INTERACTION_TYPES", "NEGATIVE_TYPES", "REGRETS", "event_weight"]

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 0.5,
    "click": 1.0,
    "like": 2.0,
    "dislike": -2.0,
    "rating": 1.0,
    "purchase": 3.0,
    "skip": -0.5,
}
"""The signed strength of each type; a rating's is multiplied by ``value - rating_neutral``."""

NEGATIVE_TYPES = frozenset(t for t, w in DEFAULT_EVENT_WEIGHTS.items() if w < 0)
"""Types that say the user did not want the item, whatever their configured weight."""

CLICK = "click"
"""The type of a click: what click-bait feedback counts regrets against."""

REGRETS = frozenset({"skip", "dislike"})
"""Types that, after a click by the same user on the same item, count against the item."""


def event_weight(event: Interaction, weights: Mapping[str, float], rating_neutral: float) -> float:
    """The signed strength of an event: its type's weight; ratings scaled by ``value - rating_neutral``."""
    w = weights.get(event.type, 0.0)
    if event.type == "rating" and event.value is not None:
        w *= event.value - rating_neutral
    return w
