"""The re-ranking pipeline: the hard filters, then the steps named in ``rerank_steps``.

:data:`STEPS` is the registry of steps: each is built from the engine's parts by name here,
so the engine holds no list of steps and the order is the setting's. A step whose setting
turns it off is left out. Settings validation and the step contract test read the registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from recsys.exposure import CreatorExposure
from recsys.items.catalog import Catalog
from recsys.items.feedback import ItemFeedback
from recsys.items.impressions import Impressions
from recsys.rerank.base import Reranker
from recsys.rerank.caps import AttributeCaps
from recsys.rerank.clickbait import ClickBait
from recsys.rerank.diversity import MaximalMarginalRelevance, genre_vectors
from recsys.rerank.exploration import Exploration
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
    impressions: Impressions | None = None  # lists each item was in (exploration; None: no exploration)


def hard_filters(settings: Settings, parts: Parts) -> HardFilters:
    return HardFilters(parts.catalog, settings.blocked_creators_attribute, settings.max_item_age)


@dataclass(frozen=True)
class Step:
    """A registered re-ranking step: when the settings turn it on, and how it is built."""

    enabled: Callable[[Settings, Parts], bool]
    build: Callable[[Settings, Parts, HardFilters], Reranker]


def _diversity(s: Settings, parts: Parts, filters: HardFilters) -> Reranker:
    vectors = {"content": parts.content_vectors, "mf": parts.mf_vectors, "genres": genre_vectors(parts.genres_of)}
    return MaximalMarginalRelevance(vectors[s.mmr_space], s.mmr_lambda)


def _new_item_slot(s: Settings, parts: Parts, filters: HardFilters) -> Reranker:
    assert parts.fit is not None  # enabled only then
    return NewItemSlot(parts.catalog, parts.event_clock, parts.fit, s.new_item_max_age)


STEPS: dict[str, Step] = {
    "freshness": Step(
        lambda s, p: s.freshness_weight > 0,
        lambda s, p, f: Freshness(p.catalog, s.freshness_weight, s.freshness_half_life),
    ),
    "clickbait": Step(
        lambda s, p: s.clickbait_weight > 0 or s.clickbait_flag_weight > 0,
        lambda s, p, f: ClickBait(p.catalog, p.feedback, s.clickbait_weight, s.clickbait_min_clicks,
                                  s.clickbait_flag_weight),  # fmt: skip
    ),
    "boosts": Step(lambda s, p: True, lambda s, p, f: Boosts(p.catalog, p.rules, p.wall_clock)),
    "diversity": Step(lambda s, p: s.mmr_lambda < 1, _diversity),
    "caps": Step(
        lambda s, p: bool(s.max_per_genre or s.max_per_creator),
        lambda s, p, f: AttributeCaps(p.genres_of, p.creator_of, s.max_per_genre, s.max_per_creator),
    ),
    "fairness": Step(
        lambda s, p: s.fairness_max_share > 0 or s.fairness_reserved_slots > 0,
        lambda s, p, f: CreatorFairness(p.creator_of, p.exposure, s.fairness_max_share, s.fairness_reserved_slots,
                                        s.fairness_min_share),  # fmt: skip
    ),
    "new_item_slot": Step(lambda s, p: s.new_item_slot and p.fit is not None, _new_item_slot),
    "explore": Step(
        lambda s, p: s.explore_slots > 0 and p.impressions is not None,
        lambda s, p, f: Exploration(p.catalog, p.impressions, s.explore_slots, s.explore_depth, s.seed),  # type: ignore[arg-type]
    ),
    "pins": Step(lambda s, p: True, lambda s, p, f: Pins(p.catalog, p.rules, p.wall_clock, f.mask)),
}
"""Every step that may follow the hard filters, by name (``RECSYS_RERANK_STEPS`` orders them)."""


def build(settings: Settings, parts: Parts, filters: HardFilters) -> list[Reranker]:
    """The steps of ``settings.rerank_steps``, in order, without those turned off."""
    names = settings.rerank_step_names
    return [STEPS[n].build(settings, parts, filters) for n in names if STEPS[n].enabled(settings, parts)]
