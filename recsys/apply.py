"""Applying events: one dispatcher from each kind of record to what it changes.

Every record the service reads goes through :meth:`Applier.apply`: an interaction teaches the
models and the user's state, a catalogue record or tombstone changes the catalogue and the
indexes, a profile, follow or context record changes the user's state, a rule changes the
rules in force. Records that may change users' lists mark those users (:attr:`ShownLists.affected
<recsys.shown.ShownLists.affected>`) for the caller to re-rank. Follows, context events and
interactions are deduplicated by ``event_id`` in the user's window, so a redelivered record
changes nothing.

An interaction's learning, in order: deduplicate; fold the user in when the MF item factors
were batch-fitted since (:mod:`recsys.models.wals_link`); register the item; then, with the
event's signed weight (:func:`recsys.event_types.event_weight`): click-bait feedback, online
quality, the user's context, the learned scorer's label, co-visitation, transitions and recent
likes (from positives), the user's history, seen and disliked sets, one MF step (against sampled negatives
for a positive), popularity, trending counts and one two-tower step (for a positive), and the
changed item vectors marked for the index. Parts registered by generators
(:attr:`ItemState.parts <recsys.items.state.ItemState.parts>`) that have an ``observe`` method
see every applied interaction last.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recsys.event_types import event_weight
from recsys.indexing import Indexes
from recsys.items.learnt import learnt_key
from recsys.items.state import ItemState
from recsys.items.trending import segments_of
from recsys.items.updates import apply_update, pack
from recsys.ranking import factors_of
from recsys.rows import Rows
from recsys.settings import Settings
from recsys.shown import ShownLists
from recsys.state import UserState
from recsys.users.store import UserStore
from schemas import Context, Follow, Interaction, Item, ItemUpdate, Like, Rule, User

Position = tuple[int, int]
"""Where an interaction was read: ``(partition, offset)`` of its input topic."""


class UserTable:
    """User state by id (:class:`~recsys.users.store.UserStore`), with the users ``recsys train``
    seeded as the fallback for users the store does not know yet."""

    def __init__(self, store: UserStore, seeds: Mapping[str, Any]) -> None:
        self.store = store
        self.seeds = seeds

    def __contains__(self, user_id: object) -> bool:
        return user_id in self.store

    def load(self, user_id: str) -> UserState:
        return self.store.load(user_id, seed=self.seeds.get(user_id))

    def save(self, state: UserState) -> None:
        self.store.save(state)

    def erase(self, user_id: str) -> int:
        return self.store.erase(user_id)


@dataclass
class Observation:
    """One applied interaction, as the parts that learn from it see it."""

    event: Interaction
    row: int  # the item's row
    user: UserState
    weight: float
    recent: Rows  # the user's recent positives before this event (empty unless it is a positive)
    negatives: Rows = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # sampled against a positive


class Applier:
    """Applies records to the item-side state, the indexes and the user table."""

    def __init__(
        self, items: ItemState, indexes: Indexes, users: UserTable, shown: ShownLists, settings: Settings
    ) -> None:
        self.items = items
        self.indexes = indexes
        self.users = users
        self.shown = shown
        self.settings = settings
        self.exclude_types = frozenset(t.strip() for t in settings.exclude_types.split(",") if t.strip())
        self.handlers: dict[type, Callable[[Any], bool]] = {
            Interaction: self.apply_interaction,
            Item: self.apply_item,
            User: self.apply_user,
            Follow: self.apply_follow,
            Context: self.apply_context,
            Rule: self.apply_rule,
            Like: self.apply_like,
            ItemUpdate: self.apply_update,
        }
        # what other workers must learn from this one, collected once a worker asks (Engine.share):
        # likes, and (share_items) each interaction's item-side learning
        self.outbox: list[Like | ItemUpdate] | None = None
        self.share_items = False
        self.origin = "local"  # names this worker's item updates (counters["shared"] numbers them)

    def apply(self, record: Interaction | Item | User | Follow | Context | Rule | Like | ItemUpdate) -> bool:
        """Apply any record; False when it was a duplicate (nothing changed)."""
        handler = self.handlers.get(type(record))
        if handler is None:
            kinds = ", ".join(k.__name__ for k in self.handlers)
            raise TypeError(f"cannot apply a {type(record).__name__}: records are one of {kinds} (see schemas)")
        return handler(record)

    # ---------------------------------------------------------------- catalogue
    def apply_item(self, item: Item) -> bool:
        """A catalogue record: add, update, or (``available: false``) withdraw an item."""
        items = self.items
        items.counters["items"] += 1
        row = items.rows.row(item.item_id)
        if items.catalog.upsert(item):
            if items.content.upsert(row, item.attributes):
                self.indexes.content_changed(row)
            items.fresh.publish(row, item.published_at)
            items.tower_items.encode(row)
            items.tower_items.mark(row)
            self.indexes.changed(row)
        else:
            self.withdraw(item.item_id, row)
        return True

    def remove_item(self, item_id: str) -> None:
        """A tombstone on the items topic."""
        self.items.counters["items"] += 1
        self.items.catalog.remove(item_id)
        self.withdraw(item_id, self.items.rows.row(item_id))

    def withdraw(self, item_id: str, row: int) -> None:
        """An item is gone: out of the indexes at once, and the active users whose last list
        showed it are re-ranked."""
        self.shown.affected.update(self.shown.showing(item_id))
        self.items.content.remove(row)
        self.indexes.withdraw(row)

    # ---------------------------------------------------------------- rules
    def apply_rule(self, rule: Rule) -> bool:
        """A record on the rules topic: in force from the next list; active users are re-ranked."""
        self.items.counters["rules"] += 1
        self.items.rules.apply(rule)
        self.shown.affected.update(self.shown.active_users(self.items.clock))
        return True

    def remove_rule(self, rule_id: str) -> None:
        """A tombstone on the rules topic."""
        self.items.counters["rules"] += 1
        self.items.rules.remove(rule_id)
        self.shown.affected.update(self.shown.active_users(self.items.clock))

    # ---------------------------------------------------------------- users
    def apply_user(self, user: User) -> bool:
        """A profile record on the users topic."""
        self.items.counters["users"] += 1
        state = self.users.load(user.user_id)
        if state.attributes != user.attributes:
            state.attributes = dict(user.attributes)
            self.shown.affected.add(user.user_id)
        self.users.save(state)
        return True

    def apply_follow(self, follow: Follow) -> bool:
        """A record on the follows topic: the follower starts (or stops) following someone.

        Deduplicated by ``event_id`` in the follower's event window, like interactions (as
        ``follow:<event_id>``, so an interaction's id cannot shadow it); False (and nothing
        changed) when it was applied before. The follower's list is re-ranked.
        """
        state = self.users.load(follow.user_id)
        if not state.remember_event(f"follow:{follow.event_id}", self.settings.dedupe_window):
            self.items.counters["duplicates"] += 1
            return False
        if follow.action == "follow":
            state.follow(follow.followee_id, self.settings.max_following)
        else:
            state.unfollow(follow.followee_id)
        self.items.tick(follow.timestamp)
        self.items.counters["follows"] += 1
        self.users.save(state)
        self.shown.affected.add(follow.user_id)
        return True

    def apply_context(self, change: Context) -> bool:
        """A record on the context topic (session, device, location...); deduplicated like
        follows (as ``context:<event_id>``). The user's list is re-ranked when the context
        actually changed."""
        state = self.users.load(change.user_id)
        if not state.remember_event(f"context:{change.event_id}", self.settings.dedupe_window):
            self.items.counters["duplicates"] += 1
            return False
        if state.update_context(change.context):
            self.shown.affected.add(change.user_id)
        self.items.tick(change.timestamp)
        self.items.counters["contexts"] += 1
        self.users.save(state)
        return True

    def apply_like(self, like: Like) -> bool:
        """A positive interaction another worker applied (topic ``likes``): the liker's recent likes,
        which the social generator reads for the liker's followers. Applying one twice (or the
        worker's own, read back) changes nothing: a user's like of an item is kept once. A like
        marked ``erased`` says the user was erased on their owner: forget what this worker holds."""
        if like.erased:
            self.forget_user(like.user_id)
            return True
        self.items.likes.add(like.user_id, self.items.rows.row(like.item_id), like.timestamp, like.weight)
        return True

    def erase_user(self, user_id: str) -> int:
        """A tombstone on ``users`` (a user's erasure, e.g. under GDPR), on the worker that owns the user:
        every record of the user's state deleted, every trace the item side keeps forgotten, and the
        other workers told (a like marked ``erased``). Returns the user records deleted."""
        erased = self.users.erase(user_id)
        self.forget_user(user_id)
        if self.outbox is not None:
            self.outbox.append(Like(f"erase-{user_id}", user_id, "-", 1.0, self.items.clock, erased=True))
        return erased

    def forget_user(self, user_id: str) -> None:
        """Forget what the item side keeps of one user: recent likes (social), the last list shown and
        its impression (learned scorer), WALS' seed and re-fit buffer. The models' learned weights
        hold no user's data by id (the two-tower user tower hashes ids into shared buckets)."""
        items = self.items
        items.likes.forget(user_id)
        self.shown.forget(user_id)
        for _, model in items.learned_models():
            model.impressions.pop(user_id, None)
        items.wals.forget(user_id)

    def apply_update(self, update: ItemUpdate) -> bool:
        """A worker's item-side learning from one interaction (:mod:`recsys.items.updates`); False when
        it is this worker's own and already applied (its ``seq`` is not past ``counters["shared"]``:
        a worker reads its own updates back, and after a restart replays those its snapshot missed),
        or when the item side learnt the interaction already (:mod:`recsys.items.learnt`)."""
        counters = self.items.counters
        if update.origin == self.origin:
            if update.seq <= counters["shared"]:
                return False
            counters["shared"] = update.seq
        learnt = self.items.learnt
        learnt.note_position(update.partition, update.offset)
        if not learnt.add(learnt_key(update.event_id, update.item_id)):
            return False  # learnt already: a redelivered interaction learnt again after a crash, or its first update
        apply_update(self.items, self.indexes, update)
        counters["learnt"] += 1
        return True

    # ---------------------------------------------------------------- interactions
    def weight(self, event: Interaction) -> float:
        """The signed strength of an event (see :func:`recsys.event_types.event_weight`)."""
        return event_weight(event, self.settings.event_weights, self.settings.rating_neutral)

    def apply_interaction(self, event: Interaction, position: Position | None = None) -> bool:
        """Learn from one interaction; False (and nothing changed) if it was applied before."""
        state = self.learn(event, position)
        if state is None:
            return False
        self.users.save(state)
        return True

    def learn(self, event: Interaction, position: Position | None = None) -> UserState | None:
        """:meth:`apply_interaction` without writing the user's state back (the caller does, once);
        None when the user's state has the event already.

        ``position`` is where the event was read: ``(partition, offset)`` of its input topic (the
        worker passes it; None in-process). With it, a crash cannot make the user side and the
        item side disagree for good (see :mod:`recsys.items.learnt`):

        * a redelivered event the user's state holds already (at or before the user's last applied
          offset; a producer's resend comes later), past every event the item side learnt from its
          partition and not among those it learnt, was applied by a worker that died before its
          item update was sent: the item side learns it again, on a copy of the user (whose state
          has it), and sends the update;
        * an event the item side learnt (from its update) but the user's state lacks (the user's
          record was lost) updates the user only.
        """
        s, items = self.settings, self.items
        state = self.users.load(event.user_id)
        key = learnt_key(event.event_id, event.item_id)
        partition, offset = position if position is not None else (-1, -1)
        if not state.remember_event(event.event_id, s.dedupe_window):
            lost = 0 <= offset <= state.offset and items.learnt.past(partition, offset) and key not in items.learnt
            if not lost:
                items.counters["duplicates"] += 1  # a producer's resend, or a redelivery learnt in full
                return None
            items.counters["relearnt"] += 1
            self._learn(event, copy.deepcopy(state), key, partition, offset)
            return None
        state.offset = max(state.offset, offset)
        if key in items.learnt:
            items.counters["user_only"] += 1
            if event.context:
                state.update_context(event.context)
            state.events += 1
            self._touch(state, event, self.weight(event))
            return state
        return self._learn(event, state, key, partition, offset)

    def _learn(self, event: Interaction, state: UserState, key: int, partition: int, offset: int) -> UserState:
        """The learning of :meth:`learn`, user side and item side, for an event not learnt before."""
        s, items = self.settings, self.items
        items.learnt.add(key)
        items.learnt.note_position(partition, offset)
        items.counters["learnt"] += 1
        if items.wals.is_stale(state):  # item factors were batch-fitted since this vector was: fold in
            items.wals.fold_in(items.model, s, state)
        available = items.catalog.observe(event.item_id)
        row = items.rows.row(event.item_id)
        weight = self.weight(event)
        engaged_before = event.item_id in state.history
        items.feedback.observe(row, event.type, engaged_before, event.timestamp)
        if weight > 0:  # online quality: did the user take an item of the list we last showed them?
            items.counters["online_positives"] += 1
            items.counters["online_hits"] += event.item_id in self.shown.last(event.user_id)
        if event.context:
            state.update_context(event.context)
        scorer: tuple[dict[str, float], int, str] = ({}, 0, "")  # the learned scorer's change, when shared
        if weight != 0:
            scorer = self._label(event, row, weight > 0)
        state.events += 1
        items.tick(event.timestamp)
        recent = items.rows.known(state.recent_positives()) if weight > 0 else np.empty(0, dtype=np.int64)
        seen = Observation(event, row, state, weight, recent)
        if weight > 0:
            items.learn_order(recent, row, event.timestamp)
            items.likes.add(event.user_id, row, event.timestamp, weight)
            if self.outbox is not None:
                self.outbox.append(Like(event.event_id, event.user_id, event.item_id, weight, event.timestamp))
        self._touch(state, event, weight)
        moved = self._learn_mf(seen, available) if weight != 0 else None
        if self.outbox is not None and self.share_items:
            self.outbox.append(self._update(seen, engaged_before, moved, scorer, (partition, offset)))
        items.counters["applied"] += 1
        for part in items.parts.values():
            if hasattr(part, "observe"):
                part.observe(seen)
        if weight > 0 and items.wals.observe(s, event.user_id, event.item_id, weight):
            items.wals.refit(items.model, s)  # periodic WALS re-fit (wals_refresh_events); others fold in lazily
            self.indexes.rebuild_mf()
            items.wals.fold_in(items.model, s, state)
        return state

    def _label(self, event: Interaction, row: int, positive: bool) -> tuple[dict[str, float], int, str]:
        """The event labels the user's last impression, in the learned scorer that ranked it (the
        shared one, or the user's experiment variant's own: each holds the impressions it ranked);
        its weight changes, pairs and model key, for the other workers."""
        holding = sorted((m.impressions[event.user_id].order, key) for key, m in self.items.learned_models()
                         if event.user_id in m.impressions)  # fmt: skip
        if not holding:
            return {}, 0, ""
        for _, stale in holding[:-1]:  # ranked before the user's variant changed
            self.items.learned_model(stale).impressions.pop(event.user_id)  # type: ignore[union-attr]
        key = holding[-1][1]
        model = self.items.learned_model(key)
        assert model is not None
        rows = None
        if model.debias != "none":  # where the last list showed the item
            listed = self.shown.last(event.user_id)
            if not (event.list_id and event.position and event.item_id not in listed):
                rows = self.items.rows.known(list(listed))  # (else an older list: no correction)
        before = dict(model.model.weights) if self.share_items else None
        pairs = model.observe(event.user_id, row, positive=positive, listed=rows)
        if before is None or not pairs:
            return {}, pairs, key
        after = model.model.weights
        return {k: float(v - before.get(k, 0.0)) for k, v in after.items() if v != before.get(k, 0.0)}, pairs, key

    def _touch(self, state: UserState, event: Interaction, weight: float) -> None:
        """The event in the user's log: history, seen (when its type excludes), disliked."""
        s = self.settings
        state.touch(event.item_id, positive=weight >= 0, history_size=s.history_size, max_seen=s.max_seen,
                    exclude=event.type in self.exclude_types)  # fmt: skip

    def _learn_mf(self, seen: Observation, available: bool) -> tuple[Rows, np.ndarray] | None:
        """The MF step (and, for a positive, popularity, trends and the towers) of one interaction;
        when item learning is shared, the rows the step moved and how much (vector and bias)."""
        s, items, state, row = self.settings, self.items, seen.user, seen.row
        factors = factors_of(state) or items.model.new_user(items.rng)
        if seen.weight > 0:
            taken = items.rows.lookup([*state.seen, *state.history])
            seen.negatives = items.catalog.sample(items.sampler, s.negatives, np.unique(taken), engaged=True)
        moved: tuple[Rows, np.ndarray] | None = None
        if self.share_items:
            touched = np.concatenate([[row], seen.negatives[seen.negatives != row]]).astype(np.int64)
            moved = (touched, items.model.vectors(touched))  # (initialises new rows as learn would)
        factors = items.model.learn(factors, row, seen.weight, seen.negatives)
        if moved is not None:
            moved = (moved[0], items.model.vectors(moved[0]) - moved[1])
        state.vector = factors.vector.tolist()
        state.bias = factors.bias
        if seen.weight > 0:
            at = seen.event.timestamp
            items.catalog.add_popularity(row, seen.weight)
            items.trending.observe(row, seen.weight, at, segments_of(items.catalog.genres(row), state.attributes))
            if self.indexes.uses_towers:
                self._learn_towers(seen)
        self.indexes.changed_rows(np.concatenate([[row], seen.negatives]) if available else seen.negatives)
        return moved

    def _update(
        self, seen: Observation, engaged_before: bool, moved: tuple[Rows, np.ndarray] | None,
        scorer: tuple[dict[str, float], int, str], position: Position,
    ) -> ItemUpdate:  # fmt: skip
        """The item side of ``seen``, for the other workers (:mod:`recsys.items.updates`)."""
        event, items, positive = seen.event, self.items, seen.weight > 0
        rows, deltas = moved if moved is not None else (np.empty(0, dtype=np.int64), np.zeros((0, 0)))
        tower_rows, tower_split, tower_deltas = items.towers.take_journal()
        items.counters["shared"] += 1
        return ItemUpdate(
            self.origin, items.counters["shared"], event.event_id, event.item_id, event.type, seen.weight,
            event.timestamp, engaged_before,
            recent=tuple(items.rows.ids_of(seen.recent)) if positive else (),
            segments=tuple(segments_of(items.catalog.genres(seen.row), seen.user.attributes)) if positive else (),
            mf_items=tuple(items.rows.ids_of(rows)), mf_deltas=pack(deltas),
            tower_rows=pack(tower_rows, "<i4"), tower_split=tower_split, tower_deltas=pack(tower_deltas),
            scorer_deltas=scorer[0], scorer_pairs=scorer[1], scorer_model=scorer[2], partition=position[0],
            offset=position[1],
        )  # fmt: skip

    def _learn_towers(self, seen: Observation) -> None:
        self.items.tower_items.learn(seen.user, seen.recent, seen.row, seen.negatives)
