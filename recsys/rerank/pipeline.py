"""The re-ranking pipeline: the hard filters, then the steps named in ``rerank_steps``.

Each step is built from the engine's parts by name here, so the engine holds no list of
steps and the order is the setting's. A step whose setting turns it off is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recsys.catalog import Catalog
from recsys.exposure import CreatorExposure
from recsys.feedback import ItemFeedback
from recsys.rerank.base import Reranker
from recsys.rerank.caps import AttributeCaps
from recsys.rerank.clickbait import ClickBait
from recsys.rerank.diversity import MaximalMarginalRelevance, genre_vectors
from recsys.rerank.fairness import CreatorFairness
from recsys.rerank.filters import HardFilters
from recsys.rerank.freshness import Freshness
from recsys.rerank.new_items import Fit, NewItemSlot
from recsys.rerank.rules import Boosts, Pins
from recsys.rules import RuleBook
from recsys.settings import Settings


@dataclass
class Parts:
    """What the steps read: the engine's catalogue, stores and clocks."""

    catalog: Catalog
    feedback: ItemFeedback
    exposure: CreatorExposure
    rules: RuleBook
    wall_clock: Callable[[], float]
    event_clock: Callable[[], float]
    genres_of: Callable[[str], tuple[str, ...]]
    creator_of: Callable[[str], str | None]
    content_vectors: Callable[[list[str]], np.ndarray | None]
    mf_vectors: Callable[[list[str]], np.ndarray | None]
    fit: Fit | None  # the two-tower fit of a user and items (None: the towers are not trained)


def hard_filters(settings: Settings, parts: Parts) -> HardFilters:
    return HardFilters(parts.catalog, settings.creator_attribute, settings.blocked_creators_attribute,
                       settings.max_item_age)  # fmt: skip


def build(settings: Settings, parts: Parts, filters: HardFilters) -> list[Reranker]:
    """The steps of ``settings.rerank_steps``, in order, without those turned off."""
    s = settings
    steps: list[Reranker] = []
    for name in (n.strip() for n in s.rerank_steps.split(",") if n.strip()):
        step: Reranker | None = None
        if name == "freshness" and s.freshness_weight > 0:
            step = Freshness(parts.catalog, s.freshness_weight, s.freshness_half_life)
        elif name == "clickbait" and (s.clickbait_weight > 0 or s.clickbait_flag_weight > 0):
            step = ClickBait(parts.catalog, parts.feedback, s.clickbait_weight, s.clickbait_min_clicks,
                             s.clickbait_flag, s.clickbait_flag_weight)  # fmt: skip
        elif name == "boosts":
            step = Boosts(parts.catalog, parts.rules, parts.wall_clock)
        elif name == "diversity" and s.mmr_lambda < 1:
            vectors = {"content": parts.content_vectors, "mf": parts.mf_vectors,
                       "genres": genre_vectors(parts.genres_of)}[s.mmr_space]  # fmt: skip
            step = MaximalMarginalRelevance(vectors, s.mmr_lambda)
        elif name == "caps" and (s.max_per_genre or s.max_per_creator):
            step = AttributeCaps(parts.genres_of, parts.creator_of, s.max_per_genre, s.max_per_creator)
        elif name == "fairness" and (s.fairness_max_share > 0 or s.fairness_reserved_slots > 0):
            step = CreatorFairness(parts.creator_of, parts.exposure, s.fairness_max_share,
                                   s.fairness_reserved_slots, s.fairness_min_share)  # fmt: skip
        elif name == "new_item_slot" and s.new_item_slot and parts.fit is not None:
            step = NewItemSlot(parts.catalog, parts.event_clock, parts.fit, s.new_item_max_age)
        elif name == "pins":
            step = Pins(parts.rules, parts.wall_clock, filters.allowed)
        if step is not None:
            steps.append(step)
    return steps
