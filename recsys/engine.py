"""The engine: one event in, state updated, and a fresh ranked list when the user's context changed.

The same engine serves the live worker, offline replay and the benchmarks. It holds no
Kafka: the worker hands it decoded records and a user store (a Faust table there, a dict
here), and publishes what it returns.

Examples
--------
>>> from schemas import Interaction, Item
>>> engine = Engine(Settings(k=2, ann_backend="brute"))
>>> for name in ["matrix", "alien", "heat", "up"]:
...     engine.apply_item(Item(name))
>>> out = engine.process(Interaction("e1", "alice", "matrix", "like", timestamp=1.0))
>>> out.applied, [i.item_id for i in out.recommendation.items if i.item_id == "matrix"]
(True, [])
>>> len(out.recommendation.items)
2
>>> engine.process(Interaction("e1", "alice", "matrix", "like", timestamp=1.0)).applied
False
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from recsys.ann import VectorIndex, make_index
from recsys.ann.base import moved_since_indexed
from recsys.bootstrap import WalsLink
from recsys.candidates import CandidateSource, MFRetrieval, MostPopular, Request
from recsys.candidates.content import ContentIndex, ContentSource
from recsys.candidates.covisitation import CoVisitation, CoVisitationSource
from recsys.candidates.fresh import FreshItems, FreshSource
from recsys.candidates.social import RecentLikes, SocialSource
from recsys.candidates.trending import Trending, TrendingSource
from recsys.candidates.two_tower import TowerItems, TwoTowerSource
from recsys.catalog import Catalog
from recsys.explain import Explainer
from recsys.exposure import CreatorExposure
from recsys.features import item_genres
from recsys.feedback import ItemFeedback
from recsys.models import UserFactors, make_model
from recsys.models.two_tower import TwoTower
from recsys.rerank import Reranker, pipeline
from recsys.rerank.base import normalise
from recsys.rules import RuleBook
from recsys.scoring import MFScorer, Scored, Scorer, merge, signals
from recsys.scoring.blend import BlendScorer
from recsys.scoring.learned import LearnedScorer
from recsys.settings import Settings
from recsys.state import UserState
from schemas import Context, Follow, Interaction, Item, Recommendation, RecommendedItem, Rule, User


@dataclass
class Outcome:
    """What processing one interaction did."""

    applied: bool
    recommendation: Recommendation | None = None
    reason: str = ""


class Engine:
    """The recommender core: state, models, index, and the four stages."""

    def __init__(
        self,
        settings: Settings | None = None,
        users: MutableMapping[str, Any] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or Settings()
        s = self.settings
        self.wall_clock = wall_clock  # rules' time windows are wall-clock time
        self.users: MutableMapping[str, Any] = {} if users is None else users
        self.catalog = Catalog()
        self.covisitation = CoVisitation(window=s.covisit_window, half_life=s.covisit_half_life)
        self.model = make_model(s)
        self.index: VectorIndex = self._new_index(self.model.dim)
        self.content = ContentIndex(self._new_index(s.content_dim), seed=s.seed)
        self.trending = Trending(s.trending_half_life)
        self.fresh = FreshItems()
        self.recent_likes = RecentLikes(s.social_likes)  # every user's latest positives, for their followers
        self.clock = 0.0  # the latest event time seen: "now" for freshness and trends
        self.towers = TwoTower(dim=s.tower_dim, learning_rate=s.tower_learning_rate, seed=s.seed)
        self.tower_items = TowerItems(self.towers, self._new_index(s.tower_dim), self.catalog, s.index_tolerance)
        # the towers learn only when something uses them (they cost ~0.5 ms per event)
        self.uses_towers = "two_tower" in s.generators or bool(s.blend_weights.get("two_tower"))
        self.learned: LearnedScorer | None = None
        if s.scorer == "learned":  # the model outlives _wire (which only hands it fresh signals)
            self.learned = LearnedScorer(
                {}, s.blend_weights, blend_offset=s.blend_offset, k=s.k, keep=s.learned_keep,
                negatives=s.learned_negatives, min_examples=s.learned_min_examples,
                learning_rate=s.learned_learning_rate, memory=s.learned_memory, seed=s.seed,
            )  # fmt: skip
        self.rng = random.Random(s.seed)
        self.dirty: set[str] = set()
        self.last_refresh = time.monotonic()
        self.offsets: dict[str, int] = {}
        self.wals = WalsLink(s)  # batch fits: factor epoch, fold-in, periodic re-fit, trained users
        self.feedback = ItemFeedback(s.clickbait_half_life)  # recent clicks, and skips after one (click-bait)
        self.exposure = CreatorExposure(s.fairness_window)  # creators' share of the lists shown
        self.rules = RuleBook()  # business rules from the control topic
        # the last list shown to each active user (bounded): publish only changes, re-rank on
        # rule and catalogue changes, measure online quality; transient (a restart re-publishes)
        self.lists: OrderedDict[str, tuple[str, ...]] = OrderedDict()
        self.shown_at: dict[str, float] = {}  # event time each of them was last shown a list
        self.affected: set[str] = set()  # users whose list a change may have changed, to re-rank
        self.exclude_types = frozenset(t.strip() for t in s.exclude_types.split(",") if t.strip())
        self.counters = {
            "applied": 0, "duplicates": 0, "items": 0, "users": 0, "follows": 0, "contexts": 0, "rules": 0,
            "refreshes": 0, "unchanged": 0, "online_positives": 0, "online_hits": 0,
        }  # fmt: skip
        self._wire()

    def _new_index(self, dim: int) -> VectorIndex:
        s = self.settings
        params: dict[str, Any] = {}
        if s.ann_backend == "hnsw":
            params = {"m": s.hnsw_m, "ef_construction": s.hnsw_ef_construction, "ef": s.hnsw_ef, "seed": s.seed}
        return make_index(s.ann_backend, dim, **params)

    def _wire(self) -> None:
        s = self.settings
        available: dict[str, CandidateSource] = {
            "mf": MFRetrieval(self.model, self.index, self.catalog),
            "covisit": CoVisitationSource(self.covisitation, self.catalog),
            "popular": MostPopular(self.catalog),
            "content": ContentSource(self.content, self.catalog),
            "trending": TrendingSource(self.trending, self.catalog),
            "fresh": FreshSource(self.fresh, self.catalog, lambda: self.clock),
            "two_tower": TwoTowerSource(self.tower_items),
            "social": SocialSource(self.recent_likes, self.catalog, lambda: self.clock, s.social_half_life),
        }
        self.sources: list[CandidateSource] = [available[g.strip()] for g in s.generators.split(",") if g.strip()]
        evidence: dict[str, signals.Signal] = {
            "mf": signals.mf_signal(self.model),
            "covisit": signals.covisit_signal(self.covisitation),
            "popular": signals.popular_signal(self.catalog),
            "content": signals.content_signal(self.content),
            "trending": signals.trending_signal(self.trending),
            "fresh": signals.fresh_signal(self.catalog, lambda: self.clock),
            "two_tower": signals.two_tower_signal(self.tower_items),
            "social": signals.social_signal(self.recent_likes, lambda: self.clock, s.social_half_life),
        }
        if self.learned is not None:
            if not self.uses_towers:
                evidence.pop("two_tower", None)  # untrained towers say nothing
            self.learned.signals = evidence
            self.learned.genres = self.genres_of
            self.learned.impressions.clear()
        self.scorer: Scorer = (
            self.learned
            if self.learned is not None
            else (
                BlendScorer(evidence, s.blend_weights, s.blend_offset)
                if s.scorer == "blend"
                else MFScorer(self.model, self.catalog)
            )
        )
        parts = pipeline.Parts(
            catalog=self.catalog, feedback=self.feedback, exposure=self.exposure, rules=self.rules,
            wall_clock=self.wall_clock, event_clock=lambda: self.clock, genres_of=self.genres_of,
            creator_of=self.creator_of, content_vectors=self._content_vectors, mf_vectors=self._mf_vectors,
            fit=signals.two_tower_signal(self.tower_items) if self.uses_towers else None,
        )  # fmt: skip
        self.filters = pipeline.hard_filters(s, parts)
        self.rerankers: list[Reranker] = pipeline.build(s, parts, self.filters)
        self.explainer = Explainer(self.catalog, self.covisitation, self.recent_likes, self.trending,
                                   s.new_item_max_age)  # fmt: skip

    def genres_of(self, item_id: str) -> tuple[str, ...]:
        """The item's genres from the catalogue (none when unknown)."""
        info = self.catalog.items.get(item_id)
        return () if info is None else item_genres(info.attributes)

    def creator_of(self, item_id: str) -> str | None:
        """The item's creator (the ``creator_attribute``), or None."""
        info = self.catalog.items.get(item_id)
        value = None if info is None else info.attributes.get(self.settings.creator_attribute)
        return None if value is None else str(value)

    def _content_vectors(self, ids: list[str]) -> np.ndarray | None:
        """Content vectors of ``ids`` (zero rows for items without attributes), for diversity."""
        zero = np.zeros(self.content.dim)
        return np.stack([self.content.vectors.get(i, zero) for i in ids]) if ids else None

    def _mf_vectors(self, ids: list[str]) -> np.ndarray | None:
        """Indexed MF vectors of ``ids`` (zero rows for items not indexed), for diversity."""
        if not ids:
            return None
        zero = np.zeros(self.index.dim, dtype=np.float32)
        return np.stack([zero if v is None else v for v in self.index.vectors_of(ids)])

    # ---------------------------------------------------------------- state access
    def user_state(self, user_id: str) -> UserState:
        raw = self.users.get(user_id)
        if raw is None:  # a user the table does not know may have been trained (`recsys train`)
            raw = self.wals.seed_users.get(user_id)
        return UserState(user_id) if raw is None else UserState.from_dict(raw)

    def _save_user(self, state: UserState) -> None:
        self.users[state.user_id] = state.to_dict()

    @staticmethod
    def factors_of(state: UserState) -> UserFactors | None:
        if state.vector is None:
            return None
        return UserFactors(np.asarray(state.vector, dtype=float), state.bias)

    # ---------------------------------------------------------------- catalogue and profiles
    def apply_item(self, item: Item) -> None:
        """A catalogue record: add, update, or (``available: false``) withdraw an item."""
        self.counters["items"] += 1
        if self.catalog.upsert(item):
            self.content.upsert(item.item_id, item.attributes)
            self.fresh.publish(item.item_id, item.published_at)
            self.tower_items.mark(item.item_id)
            self.apply_item_vector(item.item_id)
        else:
            self.withdraw_item(item.item_id)

    def remove_item(self, item_id: str) -> None:
        """A tombstone on the items topic."""
        self.counters["items"] += 1
        self.catalog.remove(item_id)
        self.withdraw_item(item_id)

    def withdraw_item(self, item_id: str) -> None:
        """Unavailable items leave the index at once (cheap), not at the next refresh, and the
        active users whose last list showed one are re-ranked (:attr:`affected`)."""
        self.affected.update(user for user, listed in self.lists.items() if item_id in listed)
        self.dirty.discard(item_id)
        self.index.remove(item_id)
        self.content.remove(item_id)
        self.tower_items.remove(item_id)

    def apply_item_vector(self, item_id: str) -> None:
        """An item's vector changed: the one place item-vector changes reach the index.

        The change is batched; :meth:`maybe_refresh` writes it to the index.
        """
        if self.catalog.is_available(item_id):
            self.dirty.add(item_id)

    def apply_user(self, user: User) -> None:
        """A profile record on the users topic."""
        self.counters["users"] += 1
        state = self.user_state(user.user_id)
        if state.attributes != user.attributes:
            state.attributes = dict(user.attributes)
            self.affected.add(user.user_id)
        self._save_user(state)

    def apply_follow(self, follow: Follow) -> bool:
        """A record on the follows topic: the follower starts (or stops) following someone.

        Deduplicated by ``event_id`` in the follower's event window, like interactions (as
        ``follow:<event_id>``, so an interaction's id cannot shadow it); False (and nothing
        changed) when it was applied before. The follower's list is re-ranked (:attr:`affected`).
        """
        state = self.user_state(follow.user_id)
        if not state.remember_event(f"follow:{follow.event_id}", self.settings.dedupe_window):
            self.counters["duplicates"] += 1
            return False
        if follow.action == "follow":
            state.follow(follow.followee_id, self.settings.max_following)
        else:
            state.unfollow(follow.followee_id)
        self.clock = max(self.clock, follow.timestamp)
        self.counters["follows"] += 1
        self._save_user(state)
        self.affected.add(follow.user_id)
        return True

    def apply_context(self, change: Context) -> bool:
        """A record on the context topic (session, device, location...); deduplicated like
        follows (as ``context:<event_id>``). True when it was applied; the user's list is
        re-ranked (:attr:`affected`) when the context actually changed."""
        state = self.user_state(change.user_id)
        if not state.remember_event(f"context:{change.event_id}", self.settings.dedupe_window):
            self.counters["duplicates"] += 1
            return False
        if state.update_context(change.context):
            self.affected.add(change.user_id)
        self.clock = max(self.clock, change.timestamp)
        self.counters["contexts"] += 1
        self._save_user(state)
        return True

    def apply_rule(self, rule: Rule) -> None:
        """A record on the rules topic: in force from the next list; active users are re-ranked."""
        self.counters["rules"] += 1
        self.rules.apply(rule)
        self.affected.update(self.active_users())

    def remove_rule(self, rule_id: str) -> None:
        """A tombstone on the rules topic."""
        self.counters["rules"] += 1
        self.rules.remove(rule_id)
        self.affected.update(self.active_users())

    def active_users(self) -> list[str]:
        """Users shown a list within ``active_seconds`` of event time (all remembered when 0),
        the most recent first: whom a rule change re-ranks."""
        window = self.settings.active_seconds
        out: list[str] = []
        for user_id in reversed(self.lists):  # least recently shown last
            if window and self.shown_at.get(user_id, self.clock) < self.clock - window:
                break
            out.append(user_id)
        return out

    def take_affected(self) -> list[str]:
        """Users whose list a catalogue, profile, follow, context or rule change may have changed
        since the last call; the caller re-ranks them (:meth:`refresh_user`)."""
        users = sorted(self.affected)
        self.affected.clear()
        return users

    # ---------------------------------------------------------------- interactions
    def weight(self, event: Interaction) -> float:
        """The signed strength of an event: its type's weight; ratings scaled by value."""
        w = self.settings.event_weights.get(event.type, 0.0)
        if event.type == "rating" and event.value is not None:
            w *= event.value - self.settings.rating_neutral
        return w

    def apply(self, event: Interaction) -> bool:
        """Learn from one interaction; False (and nothing changed) if it was applied before."""
        state = self._apply(event)
        if state is None:
            return False
        self._save_user(state)
        return True

    def _apply(self, event: Interaction) -> UserState | None:
        """:meth:`apply` without writing the user's state back (the caller does, once)."""
        s = self.settings
        state = self.user_state(event.user_id)
        if not state.remember_event(event.event_id, s.dedupe_window):
            self.counters["duplicates"] += 1
            return None
        if self.wals.is_stale(state):  # item factors were batch-fitted since this vector was: fold in
            self.wals.fold_in(self, state)
        available = self.catalog.observe(event.item_id)
        weight = self.weight(event)
        self.feedback.observe(event.item_id, event.type, event.item_id in state.history, event.timestamp)
        if weight > 0:  # online quality: did the user take an item of the list we last showed them?
            self.counters["online_positives"] += 1
            self.counters["online_hits"] += event.item_id in self.lists.get(event.user_id, ())
        if event.context:
            state.update_context(event.context)
        if self.learned is not None and weight != 0:
            self.learned.observe(event.user_id, event.item_id, positive=weight > 0)  # labels the last list
        state.events += 1
        self.clock = max(self.clock, event.timestamp)
        recent: list[str] = []
        if weight > 0:
            disliked = set(state.disliked)
            recent = [i for i in state.history if i not in disliked]
            self.covisitation.observe(recent, event.item_id, at=event.timestamp)
            self.recent_likes.add(event.user_id, event.item_id, event.timestamp, weight)
        state.touch(event.item_id, positive=weight >= 0, history_size=s.history_size, max_seen=s.max_seen,
                    exclude=event.type in self.exclude_types)  # fmt: skip
        if weight != 0:
            factors = self.factors_of(state) or self.model.new_user(self.rng)
            taken = [*state.seen, *state.history]
            negatives = self.catalog.sample(self.rng, s.negatives, taken, engaged=True) if weight > 0 else []
            factors = self.model.learn(factors, event.item_id, weight, negatives)
            state.vector = [float(x) for x in factors.vector]
            state.bias = factors.bias
            if weight > 0:
                self.catalog.add_popularity(event.item_id, weight)
                attributes = self.catalog.items[event.item_id].attributes
                self.trending.observe(event.item_id, weight, event.timestamp, attributes, state.attributes)
                if self.uses_towers:
                    self._learn_towers(state, recent, event.item_id, negatives)
            for item_id in ([event.item_id] if available else []) + negatives:
                self.apply_item_vector(item_id)
        self.counters["applied"] += 1
        if weight > 0 and self.wals.observe(s, event.user_id, event.item_id, weight):
            self.wals.refit(self)  # periodic WALS re-fit (wals_refresh_events); others fold in lazily
            self.wals.fold_in(self, state)
        return state

    def _learn_towers(self, state: UserState, recent: list[str], item_id: str, negatives: list[str]) -> None:
        items = self.catalog.items
        user = (state.user_id, state.attributes, recent[-self.settings.tower_history :])
        self.towers.learn(user, (item_id, items[item_id].attributes), [(j, items[j].attributes) for j in negatives])
        for touched in [item_id, *negatives]:
            self.tower_items.mark(touched)
        if self.towers.updates % self.settings.tower_reembed_events == 0:
            self.tower_items.refresh(everything=True)

    def process(self, event: Interaction, received_at: float | None = None, rank: bool = True) -> Outcome:
        """Apply ``event`` and rank the user's list; the outcome carries it when it changed.

        With ``rank=False`` only the state is updated: the caller ranks later
        (:meth:`refresh_user`), once for a burst of events (see :mod:`recsys.coalesce`).
        """
        started = time.time() if received_at is None else received_at
        state = self._apply(event)
        if state is None:
            return Outcome(applied=False, reason=f"event {event.event_id} was already applied")
        self._save_user(state)  # one read and one write of the user's state per event
        self.affected.discard(event.user_id)  # its list is ranked now, or by the caller
        if not rank:
            return Outcome(applied=True)
        self.maybe_refresh()
        rec = self._ranked_for(state, event.event_id, started)
        return Outcome(applied=True, recommendation=rec, reason="" if rec else "the list did not change")

    def refresh_user(self, user_id: str, trigger: str, started: float | None = None) -> Recommendation | None:
        """Rank a known user's list now (after a burst, or a change of rules, catalogue,
        profile, follows or context); the list when it differs from the one last shown, else
        None. ``trigger`` names the event that caused it (the list's ``event_id``)."""
        if user_id not in self.users:
            return None
        self.maybe_refresh()
        return self._ranked_for(self.user_state(user_id), trigger, time.time() if started is None else started)

    def _ranked_for(self, state: UserState, trigger: str, started: float) -> Recommendation | None:
        request, top = self._recommend(state, self.settings.k, set())
        if not self._show(state.user_id, top, request.now):
            self.counters["unchanged"] += 1
            return None  # nothing to publish: not worth explaining
        items = self._explained(request, top)
        now = time.time()
        return Recommendation(
            user_id=state.user_id,
            event_id=trigger,
            generated_at=now,
            model_version=self.model_version,
            items=tuple(items),
            latency_ms=round((now - started) * 1000.0, 3),
        )

    @property
    def model_version(self) -> str:
        return f"{self.settings.model_name}-f{self.settings.factors}@{self.model.updates}"

    @property
    def online_quality(self) -> float | None:
        """The share of positive interactions that took an item of the user's last list."""
        positives = self.counters["online_positives"]
        return self.counters["online_hits"] / positives if positives else None

    # ---------------------------------------------------------------- ranking
    def recommend(
        self,
        user_id: str,
        k: int | None = None,
        exclude: set[str] | None = None,
        context: dict[str, Any] | None = None,
        shown: bool = False,
    ) -> list[RecommendedItem]:
        """Top ``k`` for a user: candidates, score, filter, re-rank; never fewer than ``k`` when
        ``k`` eligible items exist. ``context`` (device, location...) overrides the user's own
        for this request. By default nothing is remembered (the on-demand read); with ``shown``
        the list counts as shown to the user (creator exposure, the user's last list)."""
        state = self.user_state(user_id)
        request, top = self._recommend(state, self.settings.k if k is None else k, exclude or set(), context)
        if shown:
            self._show(user_id, top, request.now)
        return self._explained(request, top)

    def similar(self, item_id: str, k: int | None = None) -> list[RecommendedItem]:
        """Items like ``item_id`` (co-visited with it, near it in MF and content space), best first."""
        from recsys.similar import similar_items

        return similar_items(self, item_id, self.settings.k if k is None else k)

    def _recommend(
        self,
        state: UserState,
        k: int,
        exclude: set[str],
        context: dict[str, Any] | None = None,
    ) -> tuple[Request, list[Scored]]:
        """The request and its top ``k``: candidates, scored, filtered, re-ranked."""
        request = Request(
            state, self.factors_of(state), state.excluded() | exclude, k=k, now=self.clock,
            context={**state.context, **(context or {})},
        )  # fmt: skip
        n = max(self.settings.candidates, k)
        ranked = self._rank(request, merge(src.generate(request, n) for src in self.sources))
        if len(ranked) < k:
            # Too few survived the filters: score every eligible item (exhaustive fallback),
            # after every candidate (relevance 0).
            skip = request.exclude | {s.item_id for s in ranked}
            rest = {i: {"catalog": 0.0} for i in self.catalog.available_ids() if i not in skip}
            ranked += [s.moved(score=0.0) for s in self._rank(request, rest)]
        for step in self.rerankers:
            ranked = step.rerank(request, ranked)
        return request, ranked[:k]

    def _rank(self, request: Request, candidates: dict[str, dict[str, float]]) -> list[Scored]:
        """Scored, best first, hard-filtered, relevance scaled to [0, 1]."""
        ranked = sorted(self.scorer.score(request, candidates), key=lambda s: (-s.score, s.item_id))
        return normalise(self.filters.rerank(request, ranked))

    def _explained(self, request: Request, top: list[Scored]) -> list[RecommendedItem]:
        components = self.scorer.components(request, [s.item_id for s in top])
        return [
            RecommendedItem(s.item_id, round(s.score, 6), s.sources, self.explainer.reasons(request, s), parts)
            for s, parts in zip(top, components, strict=True)
        ]

    def _show(self, user_id: str, top: list[Scored], now: float) -> bool:
        """The list is shown: remember it as the user's last and count creator exposure; False
        (and nothing counted) when it is the same list as last time."""
        ids = tuple(s.item_id for s in top)
        self.shown_at[user_id] = now
        if self.lists.get(user_id) == ids:
            self.lists.move_to_end(user_id)
            return False
        self.lists[user_id] = ids
        self.lists.move_to_end(user_id)
        while len(self.lists) > self.settings.active_users:
            dropped, _ = self.lists.popitem(last=False)
            self.shown_at.pop(dropped, None)
        self.exposure.record([c for c in map(self.creator_of, ids) if c is not None], now)
        return True

    # ---------------------------------------------------------------- the index
    def maybe_refresh(self, now: float | None = None) -> int:
        """Write changed item vectors to the index when enough changed or enough time passed."""
        now = time.monotonic() if now is None else now
        s = self.settings
        if len(self.dirty) >= s.index_refresh_events or (
            self.dirty and now - self.last_refresh >= s.index_refresh_seconds
        ):
            return self.refresh_index(now)
        return 0

    def refresh_index(self, now: float | None = None, tolerance: float | None = None) -> int:
        """Write changed item vectors to the index now; returns how many were written.

        An item already indexed is rewritten only when its vector moved by more than
        ``tolerance`` (default: the setting) of its indexed length, compared with what the
        index holds, so small steps add up until they matter.
        """
        self.last_refresh = time.monotonic() if now is None else now
        tol = self.settings.index_tolerance if tolerance is None else tolerance
        self.content.flush()
        if self.uses_towers:
            self.tower_items.refresh()
        ids = sorted(i for i in self.dirty if self.catalog.is_available(i))
        self.dirty.clear()
        if not ids:
            return 0
        fresh = self.model.item_vectors(ids)
        moved = moved_since_indexed(self.index, ids, fresh, tol)
        if moved:
            self.index.upsert([ids[j] for j in moved], fresh[moved])
            self.counters["refreshes"] += 1
        return len(moved)

    def rebuild_index(self) -> None:
        """Derive the index afresh from item vectors (it is derived state)."""
        self.index = self._new_index(self.model.dim)
        self._wire()
        self.dirty = {i for i in self.model.item_ids() if self.catalog.is_available(i)}
        self.refresh_index(tolerance=0.0)

    def rebuild_derived(self) -> None:
        """Derive the content and two-tower indexes afresh from the catalogue and the towers."""
        s = self.settings
        self.content = ContentIndex(self._new_index(s.content_dim), seed=s.seed)
        for item_id, info in self.catalog.items.items():
            if self.catalog.is_available(item_id):
                self.content.upsert(item_id, info.attributes)
        self.tower_items = TowerItems(self.towers, self._new_index(s.tower_dim), self.catalog, s.index_tolerance)
        self.tower_items.refresh(everything=True)
        self._wire()

    # ---------------------------------------------------------------- snapshots
    def save(self, directory: Path) -> Path:
        """Snapshot item-side state (model, catalogue, index) atomically into ``directory``."""
        from recsys.snapshot import save_snapshot

        return save_snapshot(self, directory)

    def load(self, directory: Path) -> bool:
        """Restore a snapshot written by :meth:`save`; False when there is none."""
        from recsys.snapshot import load_snapshot

        return load_snapshot(self, directory)

    def note_offset(self, topic: str, partition: int, offset: int) -> None:
        """Remember the last source offset applied (recorded in snapshots)."""
        self.offsets[f"{topic}:{partition}"] = offset
