"""Everything a worker knows about items, and the models learned from all users: one object, snapshotted whole.

User state lives in the partitioned user table; everything else the engine learns or reads
lives here, around one :class:`~recsys.rows.RowSpace` that every per-item array shares:
the catalogue, the MF model, the two-tower model and its item embeddings, content vectors,
co-visitation, transitions, the sequence model, trending counts, fresh items, every user's
recent likes (for their followers), click-bait feedback, creator exposure, impressions,
business rules, the learned scorer's model, the link to batch WALS fits, the event clock, the
random generator, counters and the source offsets applied. The ANN indexes are not here: they
are derived from it (:mod:`recsys.indexing`).

A generator that needs state of its own adds it to :attr:`ItemState.parts` (see
:mod:`recsys.candidates`): it is then learned (when it has an ``observe`` method, called on
every interaction) and snapshotted with the rest.

Examples
--------
>>> from recsys.settings import Settings
>>> from schemas import Item
>>> items = ItemState(Settings(factors=4))
>>> items.catalog.upsert(Item("matrix", attributes={"genres": ["Sci-Fi"]}))
True
>>> items.rows.find("matrix"), len(items.catalog), items.model.dim
(0, 1, 5)
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from recsys.exposure import CreatorExposure
from recsys.items.catalog import Catalog
from recsys.items.content import ContentVectors
from recsys.items.covisitation import CoVisitation
from recsys.items.feedback import ItemFeedback
from recsys.items.fresh import FreshItems
from recsys.items.impressions import Impressions
from recsys.items.learnt import Learnt
from recsys.items.likes import RecentLikes
from recsys.items.sequence import NextItem
from recsys.items.towers import TowerEmbeddings
from recsys.items.trending import Trending
from recsys.models import make_model
from recsys.models.pairwise import PairwiseModel
from recsys.models.two_tower import TwoTower
from recsys.models.wals_link import WalsLink
from recsys.rows import Rows, RowSpace
from recsys.rules import RuleBook
from recsys.settings import Settings

COUNTERS = ("applied", "duplicates", "items", "users", "follows", "contexts", "rules", "refreshes", "unchanged",
            "online_positives", "online_hits", "shared", "learnt", "relearnt", "user_only")  # fmt: skip
"""What the engine counts (shown on the worker's ``/stats`` page, kept in the snapshot)."""


def next_item(s: Settings, rows: RowSpace) -> NextItem:
    """The sequence model: the next item from a recency-weighted pool of the latest ones."""
    return NextItem(rows, dim=s.sequence_dim, window=s.sequence_window, decay=s.sequence_decay,
                    learning_rate=s.sequence_learning_rate, negatives=s.sequence_negatives, seed=s.seed)


def transitions(s: Settings, directed: bool = True) -> CoVisitation:
    """Co-visitation of a user's latest ``transition_window`` positives with the next one: directed
    (what users took next) or both ways (what users took right before or after)."""
    return CoVisitation(window=s.transition_window, half_life=s.transition_half_life, directed=directed)


class ItemState:
    """The item side: one row space and every part that stores per-item (or cross-user) state."""

    def __init__(self, settings: Settings) -> None:
        s = settings
        self.rows = rows = RowSpace()
        self.catalog = Catalog(rows, s.creator_attribute, s.clickbait_flag)
        self.model = make_model(s, rows)  # matrix factorisation (BPR, or River's BiasedMF)
        self.towers = TwoTower(dim=s.tower_dim, learning_rate=s.tower_learning_rate, seed=s.seed)
        self.tower_items = TowerEmbeddings(self.towers, rows, self.catalog, s.tower_history)
        self.content = ContentVectors(s.content_dim, seed=s.seed, rows=rows)
        self.covisitation = CoVisitation(window=s.covisit_window, half_life=s.covisit_half_life)
        self.transitions = transitions(s)  # what users took next: directed co-visitation
        self.adjacent = transitions(s, directed=False)  # what users took right before or after
        self.sequence = next_item(s, rows)  # what users take next, as vectors learned online
        self.trending = Trending(s.trending_half_life, rows)
        self.fresh = FreshItems(self.catalog.published)
        self.likes = RecentLikes(s.social_likes)  # every user's latest positives, for their followers
        self.feedback = ItemFeedback(s.clickbait_half_life, rows)  # recent clicks, and skips after one
        self.exposure = CreatorExposure(s.fairness_window)  # creators' share of the lists shown
        self.impressions = Impressions(rows)  # how many lists shown included each item (exploration)
        self.rules = RuleBook()  # business rules from the control topic
        self.learned: PairwiseModel | None = None
        if s.scorer == "learned":
            self.learned = PairwiseModel(
                k=s.k, keep=s.learned_keep, negatives=s.learned_negatives, min_examples=s.learned_min_examples,
                learning_rate=s.learned_learning_rate, memory=s.learned_memory, seed=s.seed,
                debias=s.learned_debias, propensity_power=s.learned_propensity_power,
            )  # fmt: skip
        # experiment variants' own learned scorers ("experiment/variant"): forked from the shared one
        # when the variant starts, then labelled only by the variant's users (recsys.experiments)
        self.learned_variants: dict[str, PairwiseModel] = {}
        self.wals = WalsLink(s)  # batch fits: factor epoch, fold-in, periodic re-fit, trained users
        self.parts: dict[str, Any] = {}  # state of generators that bring their own (see recsys.candidates)
        self.clock = 0.0  # the latest event time seen: "now" for freshness and trends
        self.rng = random.Random(s.seed)  # initial user factors
        self.sampler = np.random.default_rng(s.seed)  # negatives
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.offsets: dict[str, int] = {}  # "topic:partition" -> the last source offset applied
        self.learnt = Learnt(s.learnt_window)  # the interactions the item side learnt from (own and shared)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """A snapshot written before a part or counter existed loads with it empty."""
        self.__dict__.update(state)
        if "learnt" not in state:
            self.learnt = Learnt(Settings().learnt_window)
        self.__dict__.setdefault("learned_variants", {})
        if "transitions" not in state:
            self.transitions = transitions(Settings())
        if "adjacent" not in state:
            self.adjacent = transitions(Settings(), directed=False)
        if "impressions" not in state:
            self.impressions = Impressions(self.rows)
        if "sequence" not in state:
            self.sequence = next_item(Settings(), self.rows)
        for name in COUNTERS:
            self.counters.setdefault(name, 0)

    def learned_model(self, key: str) -> PairwiseModel | None:
        """The learned scorer's model ``key`` names: "" the shared one, ``experiment/variant`` a
        variant's own (forked from the shared one the first time it is asked for)."""
        if not key or self.learned is None:
            return self.learned
        model = self.learned_variants.get(key)
        if model is None:
            seed = int.from_bytes(key.encode()[:8].ljust(8, b"\0"), "little")  # fixed per key, on every worker
            model = self.learned_variants[key] = self.learned.fork(seed)
        return model

    def learned_models(self) -> list[tuple[str, PairwiseModel]]:
        """Every learned scorer's model with its key, the shared one first."""
        shared = [("", self.learned)] if self.learned is not None else []
        return [*shared, *self.learned_variants.items()]

    def learn_order(self, recent: Rows, row: int, at: float) -> float:
        """What one positive teaches about the order users take items in: a user took ``row`` at
        event time ``at`` right after ``recent`` (item rows, oldest first). Adds to the co-visits,
        the transitions and the adjacent counts, and takes one step of the sequence model against
        negatives drawn uniformly from the available items (its loss is returned). The worker's own
        events and other workers' updates both learn through here."""
        earlier = recent.tolist()
        self.covisitation.observe(earlier, row, at=at)
        self.transitions.observe(earlier, row, at=at)
        self.adjacent.observe(earlier, row, at=at)
        model = self.sequence
        negatives = self.catalog.sample(model.sampler, model.negatives, np.array([row], dtype=np.int64))
        return model.learn(recent, row, negatives)

    def tick(self, at: float) -> None:
        """An event of event time ``at`` was applied: the clock only moves forward."""
        self.clock = max(self.clock, at)
