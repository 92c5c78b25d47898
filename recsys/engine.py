"""The engine: one event in, state updated, and a fresh ranked list when the user's context changed.

The same engine serves the live worker, offline replay and the benchmarks. It holds no
Kafka: the worker hands it decoded records and a user store (a Faust table there, a dict
here), and publishes what it returns.

It is a thin composition of named stages around one item-side state:

* :class:`~recsys.items.state.ItemState`: everything known about items and learned from all
  users, around one row space; snapshotted whole (:mod:`recsys.snapshot`);
* :class:`~recsys.indexing.Indexes`: the ANN indexes derived from it;
* :class:`~recsys.apply.Applier`: one dispatcher that applies every kind of record;
* :class:`~recsys.ranking.Ranker`: candidates -> score -> filter -> re-rank, and explanations;
* :class:`~recsys.shown.ShownLists`: what each active user was shown last (publish only changes).

The stages hold no state of their own beyond what they are built from, so after a snapshot
load the engine simply builds them again from the loaded state (:meth:`Engine.load`).

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

import time
import uuid
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recsys.ann import VectorIndex
from recsys.apply import Applier, Position, UserTable
from recsys.experiments import Experiment, VariantStats
from recsys.indexing import Indexes
from recsys.items.catalog import Catalog
from recsys.items.state import ItemState
from recsys.models.base import UserFactors
from recsys.ranking import Ranker, factors_of
from recsys.rows import Rows
from recsys.settings import Settings
from recsys.shown import ShownLists
from recsys.similar import similar_items
from recsys.snapshot import fork_snapshot, load_snapshot, save_snapshot
from recsys.state import UserState
from recsys.users.store import UserStore
from schemas import Context, Follow, Interaction, Item, ItemUpdate, Like, Recommendation, RecommendedItem, Rule, User

Record = Interaction | Item | User | Follow | Context | Rule | Like | ItemUpdate


@dataclass
class Outcome:
    """What processing one interaction did."""

    applied: bool
    recommendation: Recommendation | None = None
    reason: str = ""


class Engine:
    """The recommender core: item-side state, indexes, and the stages that apply and rank."""

    def __init__(
        self,
        settings: Settings | None = None,
        users: UserStore | MutableMapping[str, bytes] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or Settings()
        self.wall_clock = wall_clock  # rules' time windows are wall-clock time
        # user states, split into small records of ``users`` (a dict here, the worker's table there)
        self.users = users if isinstance(users, UserStore) else UserStore.from_settings(
            {} if users is None else users, self.settings
        )
        self.shown = ShownLists(self.settings.active_users, self.settings.active_seconds)
        self.experiment = Experiment.parse(self.settings.experiment) if self.settings.experiment else None
        self.variant_stats: dict[str, VariantStats] = {}  # what each variant's lists did (experiments.py)
        self._assemble(ItemState(self.settings))

    def _assemble(self, items: ItemState, mf: VectorIndex | None = None) -> None:
        """Build the stages from ``items`` (a new state, or one just loaded with its MF index)."""
        s = self.settings
        old: Indexes | None = getattr(self, "indexes", None)
        if old is not None:
            old.close()  # the indexes being replaced: stop their background writes
        self.items = items
        self.indexes = Indexes(items, s, mf)
        self.table = UserTable(self.users, items.wals.seed_users)
        self.ranker = Ranker(items, self.indexes, s, self.wall_clock)
        self.rankers = self._variant_rankers(self.experiment)
        self.applier = Applier(items, self.indexes, self.table, self.shown, s)

    def _variant_rankers(self, experiment: Experiment | None) -> dict[str, Ranker]:
        """A ranker per variant of ``experiment`` (the engine's own where a variant changes nothing)."""
        if experiment is None:
            return {}
        out = {}
        for name, settings in experiment.settings_of(self.settings).items():
            own = settings.scorer == "learned" and name != experiment.control  # a learned scorer of its own
            if not own:
                same = settings is self.settings
                out[name] = self.ranker if same else Ranker(self.items, self.indexes, settings, self.wall_clock)
                continue
            model = self.items.learned_model(f"{experiment.name}/{name}")
            assert model is not None  # settings_of: a learned variant needs the shared scorer
            model.debias, model.propensity_power = settings.learned_debias, settings.learned_propensity_power
            model.negatives = settings.learned_negatives
            out[name] = Ranker(self.items, self.indexes, settings, self.wall_clock, learned=model)
        return out

    # ---------------------------------------------------------------- experiments
    def set_experiment(self, experiment: Experiment | None) -> None:
        """Start, change or (None) stop the A/B experiment, now: the next lists follow it, and the
        active users are re-ranked (:meth:`take_affected`). Its statistics start afresh unless it
        keeps its name."""
        rankers = self._variant_rankers(experiment)  # raises ConfigError before anything changes
        if experiment is None or self.experiment is None or experiment.name != self.experiment.name:
            self.variant_stats = {}
        self.experiment, self.rankers = experiment, rankers
        self.shown.affected.update(self.active_users())

    def variant_counts(self) -> tuple[str, dict[str, dict[str, Any]]]:
        """The running experiment's name and each variant's counts (every variant, zeros before
        its first list); ``("", {})`` when none runs."""
        if self.experiment is None:
            return "", {}
        return self.experiment.name, {
            v.name: self.variant_stats.get(v.name, VariantStats()).to_dict() for v in self.experiment.variants
        }

    def variant_of(self, user_id: str) -> str:
        """The user's variant in the running experiment ("" when none runs)."""
        return self.experiment.assign(user_id) if self.experiment is not None else ""

    def _answer(self, event: Interaction) -> None:
        """Count the event for the variant that ranked the user's last list: against the list it
        names (``list_id`` and ``position``, when the application sends them), else the last one."""
        tag = self.shown.tag(event.user_id)
        if tag is None or not tag[0] or self.experiment is None:
            return
        listed = self.shown.last(event.user_id)
        if event.list_id and event.list_id != tag[1]:
            position = event.position  # an older list of theirs: where the application says it was
        else:
            position = listed.index(event.item_id) + 1 if event.item_id in listed else 0
        self.variant_stats.setdefault(tag[0], VariantStats()).answered(self.applier.weight(event), position)

    # ---------------------------------------------------------------- state access
    @property
    def catalog(self) -> Catalog:
        return self.items.catalog

    @property
    def counters(self) -> dict[str, int]:
        """What the engine counted (kept in the snapshot): applied events, duplicates, records..."""
        return self.items.counters

    @property
    def offsets(self) -> dict[str, int]:
        """The last source offset applied per ``"topic:partition"`` (recorded in snapshots)."""
        return self.items.offsets

    @property
    def clock(self) -> float:
        """The latest event time seen."""
        return self.items.clock

    def user_state(self, user_id: str) -> UserState:
        return self.table.load(user_id)

    @staticmethod
    def factors_of(state: UserState) -> UserFactors | None:
        return factors_of(state)

    @property
    def model_version(self) -> str:
        return f"{self.settings.model_name}-f{self.settings.factors}@{self.items.model.updates}"

    @property
    def online_quality(self) -> float | None:
        """The share of positive interactions that took an item of the user's last list."""
        positives = self.counters["online_positives"]
        return self.counters["online_hits"] / positives if positives else None

    # ---------------------------------------------------------------- records
    def apply_event(self, record: Record) -> bool:
        """Apply any record (see :class:`~recsys.apply.Applier`); False when it was a duplicate."""
        return self.applier.apply(record)

    def apply_item(self, item: Item) -> None:
        """A catalogue record: add, update, or (``available: false``) withdraw an item."""
        self.applier.apply_item(item)

    def remove_item(self, item_id: str) -> None:
        """A tombstone on the items topic."""
        self.applier.remove_item(item_id)

    def apply_user(self, user: User) -> None:
        """A profile record on the users topic."""
        self.applier.apply_user(user)

    def erase_user(self, user_id: str) -> int:
        """A tombstone on the users topic: the user's erasure (see :meth:`recsys.apply.Applier.erase_user`);
        the user records deleted."""
        return self.applier.erase_user(user_id)

    def apply_follow(self, follow: Follow) -> bool:
        """A follow or unfollow; False when it was applied before."""
        return self.applier.apply_follow(follow)

    def apply_context(self, change: Context) -> bool:
        """A context change; False when it was applied before."""
        return self.applier.apply_context(change)

    def share(self, items: bool = False, origin: str = "local") -> None:
        """From now on, collect what the other workers must learn from this one (:meth:`take_shared`):
        the likes of its users and, with ``items``, each interaction's item-side learning
        (:class:`schemas.ItemUpdate`, numbered under ``origin``, this worker's name); the others apply
        them with :meth:`apply_event`. The worker calls it; a single engine in-process (replay,
        tests) does not need it."""
        if self.applier.outbox is None:
            self.applier.outbox = []
        self.applier.share_items = items
        self.applier.origin = origin
        if items:
            self.items.towers.keep_journal()

    @property
    def shared_pending(self) -> int:
        """How many records :meth:`take_shared` would return now."""
        return len(self.applier.outbox or ())

    @property
    def origin(self) -> str:
        """This worker's name on the item updates it shares (:meth:`share`)."""
        return self.applier.origin

    def take_shared(self) -> list[Like | ItemUpdate]:
        """What was collected since the last call, to publish (empty unless :meth:`share` was called)."""
        out = self.applier.outbox
        if not out:
            return []
        self.applier.outbox = []
        return out

    def apply_rule(self, rule: Rule) -> None:
        """A record on the rules topic: in force from the next list; active users are re-ranked."""
        self.applier.apply_rule(rule)

    def remove_rule(self, rule_id: str) -> None:
        """A tombstone on the rules topic."""
        self.applier.remove_rule(rule_id)

    def apply(self, event: Interaction) -> bool:
        """Learn from one interaction; False (and nothing changed) if it was applied before."""
        return self.applier.apply_interaction(event)

    def weight(self, event: Interaction) -> float:
        """The signed strength of an event: its type's weight; ratings scaled by value."""
        return self.applier.weight(event)

    def active_users(self) -> list[str]:
        """Users shown a list within ``active_seconds`` of event time (all remembered when 0),
        the most recent first: whom a rule change re-ranks."""
        return self.shown.active_users(self.items.clock)

    def take_affected(self) -> list[str]:
        """Users whose list a catalogue, profile, follow, context or rule change may have changed
        since the last call; the caller re-ranks them (:meth:`refresh_user`)."""
        return self.shown.take_affected()

    # ---------------------------------------------------------------- interactions and lists
    def process(
        self,
        event: Interaction,
        received_at: float | None = None,
        rank: bool = True,
        position: Position | None = None,
    ) -> Outcome:
        """Apply ``event`` and rank the user's list; the outcome carries it when it changed.

        With ``rank=False`` only the state is updated: the caller ranks later
        (:meth:`refresh_user`), once for a burst of events (see :mod:`recsys.coalesce`).
        ``position``, the event's ``(partition, offset)`` in its input topic, lets a redelivery
        after a crash restore learning the crash lost (:meth:`recsys.apply.Applier.learn`).
        """
        started = time.time() if received_at is None else received_at
        state = self.applier.learn(event, position)
        if state is None:
            return Outcome(applied=False, reason=f"event {event.event_id} was already applied")
        self.table.save(state)  # one read and one write of the user's state per event
        self._answer(event)
        self.shown.affected.discard(event.user_id)  # its list is ranked now, or by the caller
        if not rank:
            return Outcome(applied=True)
        self.maybe_refresh()
        rec = self._ranked_for(state, event.event_id, started)
        return Outcome(applied=True, recommendation=rec, reason="" if rec else "the list did not change")

    def refresh_user(self, user_id: str, trigger: str, started: float | None = None) -> Recommendation | None:
        """Rank a known user's list now (after a burst, or a change of rules, catalogue,
        profile, follows or context); the list when it differs from the one last shown, else
        None. ``trigger`` names the event that caused it (the list's ``event_id``)."""
        if user_id not in self.table:
            return None
        self.maybe_refresh()
        return self._ranked_for(self.user_state(user_id), trigger, time.time() if started is None else started)

    def _ranked_for(self, state: UserState, trigger: str, started: float) -> Recommendation | None:
        variant = self.variant_of(state.user_id)
        ranker = self.rankers.get(variant, self.ranker)
        request = ranker.request(state, ranker.settings.k)
        top = ranker.rank(request)
        list_id = uuid.uuid4().hex[:16]
        if not self._show(state.user_id, top.rows, request.now, (variant, list_id)):
            self.counters["unchanged"] += 1
            return None  # nothing to publish: not worth explaining
        items = ranker.explain(request, top)
        now = time.time()
        latency_ms = round((now - started) * 1000.0, 3)
        if variant:
            self.variant_stats.setdefault(variant, VariantStats()).shown(self.shown.last(state.user_id), latency_ms)
        return Recommendation(
            user_id=state.user_id,
            event_id=trigger,
            generated_at=now,
            model_version=self.model_version,
            items=tuple(items),
            latency_ms=latency_ms,
            variant=variant,
            list_id=list_id,
        )

    def _show(self, user_id: str, rows: Rows, now: float, tag: tuple[str, str] | None = None) -> bool:
        """The list is shown: remember it as the user's last (``tag``: its variant and list id) and
        count creator exposure; False (and nothing counted) when it is the same list as last time."""
        catalog = self.items.catalog
        if not self.shown.show(user_id, tuple(self.items.rows.ids_of(rows.tolist())), now, tag):
            return False
        creators = [c for c in map(catalog.creator_of, rows.tolist()) if c is not None]
        self.items.exposure.record(creators, now)
        self.items.impressions.record(rows)
        return True

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
        variant = self.variant_of(user_id)
        ranker = self.rankers.get(variant, self.ranker)
        request = ranker.request(state, ranker.settings.k if k is None else k, exclude, context)
        top = ranker.rank(request)
        if shown:
            self._show(user_id, top.rows, request.now, (variant, uuid.uuid4().hex[:16]))
        return ranker.explain(request, top)

    def similar(self, item_id: str, k: int | None = None) -> list[RecommendedItem]:
        """Items like ``item_id`` (co-visited with it, near it in MF and content space), best first."""
        return similar_items(self.items, self.indexes, item_id, self.settings.k if k is None else k,
                             depth=self.settings.candidates)  # fmt: skip

    # ---------------------------------------------------------------- the indexes
    def maybe_refresh(self, now: float | None = None) -> int:
        """Write changed item vectors to the indexes when enough changed or enough time passed."""
        return self.indexes.maybe_refresh(now)

    def refresh_index(self, now: float | None = None, tolerance: float | None = None) -> int:
        """Write changed item vectors to the indexes now; returns how many MF vectors were written."""
        return self.indexes.refresh(now, tolerance)

    def rebuild_index(self) -> None:
        """Derive the MF index afresh from the item vectors (it is derived state)."""
        self.indexes.rebuild_mf()

    # ---------------------------------------------------------------- snapshots
    def save(self, directory: Path) -> Path:
        """Snapshot the item-side state and the MF index atomically into ``directory``."""
        self.indexes.refresh(tolerance=0.0)
        return save_snapshot(self.items, self.indexes.mf, self.settings, self.model_version, directory)

    def save_in_background(self, directory: Path) -> int | None:
        """Snapshot like :meth:`save`, from a forked child; returns its pid (see
        :func:`recsys.snapshot.reaped`), or None when it was written here. The index gets the
        changes due by the usual tolerance first (a few writes), not every small move."""
        self.indexes.refresh()
        return fork_snapshot(self.items, self.indexes.mf, self.settings, self.model_version, directory)

    def load(self, directory: Path) -> bool:
        """Restore a snapshot written by :meth:`save`; False when there is none (or it was written
        for other settings). The stages are built again from the loaded state."""
        loaded = load_snapshot(self.settings, directory)
        if loaded is None:
            return False
        items, mf = loaded
        self._assemble(items, mf)
        self.indexes.rebuild_derived()
        if mf is None:
            self.indexes.rebuild_mf()
        return True

    def note_offset(self, topic: str, partition: int, offset: int) -> None:
        """Remember the last source offset applied (recorded in snapshots)."""
        self.items.offsets[f"{topic}:{partition}"] = offset
