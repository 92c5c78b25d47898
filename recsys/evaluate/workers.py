"""N workers in one process: the product's engine replayed with its users split as a consumer group splits them.

Each simulated worker is an :class:`~recsys.engine.Engine` of its own. Events keyed by user
(interactions, profiles, follows, context) go only to the worker that owns the user's partition
(:mod:`recsys.partitioning`); reference data (items, rules) goes to every worker, as every real
worker reads those topics whole (``streams/global_reader.py``), and so do the likes a worker shares
(:meth:`Engine.take_shared <recsys.engine.Engine.take_shared>`, topic ``likes``), which every
worker reads for the social generator. A list is asked of the user's owner.

Without ``share_items``, item-side learning (MF item vectors, co-visitation, popularity and
trend counts, the two-tower model, the learned scorer) stays in the worker that learnt it, from
its own users only; so ``recsys evaluate --workers N --independent`` measures
what splitting costs the lists, against ``--workers 1`` (``--independent``). With ``share_items``
(the default of ``recsys evaluate --workers N``, as of the workers: ``RECSYS_SHARE_ITEMS``) each
interaction's item-side learning also goes to every other worker (:mod:`recsys.items.updates`),
``delay`` interactions later (the time an update takes to cross the broker, counted in events).

>>> from schemas import Interaction, Item
>>> model = WorkersRecommender(Settings(), "default", workers=2, partitions=4)
>>> for n in range(3):
...     model.observe(Item(f"i{n}"), positive=False)
>>> model.observe(Interaction("e1", "alice", "i0", "like", timestamp=1.0), positive=True)
>>> [len(e.catalog) for e in model.engines], [e.user_state("alice").events for e in model.engines]
([3, 3], [0, 1])
"""

from __future__ import annotations

from collections import deque

from recsys.engine import Engine
from recsys.evaluate.protocol import Event, Recommender
from recsys.partitioning import partition_of, worker_of
from recsys.settings import Settings
from schemas import Interaction, Item, ItemUpdate, Like, Rule


class WorkersRecommender(Recommender):
    """The engine as ``workers`` workers over ``partitions`` partitions (the setting's, by default)."""

    def __init__(
        self, settings: Settings, name: str, workers: int, partitions: int | None = None,
        share_items: bool = False, delay: int = 0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.name = name
        self.partitions = settings.partitions if partitions is None else partitions
        if not 1 <= workers <= self.partitions:
            raise ValueError(
                f"workers must be between 1 and the number of partitions ({self.partitions}), got {workers}: "
                "a worker beyond the partition count gets no partition (raise RECSYS_PARTITIONS)"
            )
        self.engines = [Engine(settings) for _ in range(workers)]
        for n, engine in enumerate(self.engines):
            engine.share(items=share_items, origin=f"worker-{n}")
        if delay < 0:
            raise ValueError(f"delay must be 0 or more events, got {delay}")
        self.delay = delay
        self.events = 0  # interactions applied so far
        self.pending: deque[tuple[int, Engine, Like | ItemUpdate]] = deque()  # (due at event, sender, message)

    def owner(self, user_id: str) -> Engine:
        """The engine of the worker that owns ``user_id``'s partition."""
        return self.engines[worker_of(partition_of(user_id, self.partitions), len(self.engines))]

    def observe(self, event: Event, positive: bool) -> None:
        if isinstance(event, Item | Rule):
            for engine in self.engines:
                engine.apply_event(event)
            return
        engine = self.owner(event.user_id)
        engine.apply_event(event)
        if isinstance(event, Interaction):
            engine.maybe_refresh(now=event.timestamp)
            self.events += 1
            self.pending.extend((self.events + self.delay, engine, shared) for shared in engine.take_shared())
            while self.pending and self.pending[0][0] <= self.events:  # what reached the other workers by now
                _, sender, shared = self.pending.popleft()
                for other in self.engines:
                    if other is not sender:
                        other.apply_event(shared)

    def recommend(self, user_id: str, k: int, exclude: set[str]) -> list[str]:
        engine = self.owner(user_id)
        self.fallback = engine.user_state(user_id).vector is None
        return [r.item_id for r in engine.recommend(user_id, k=k, exclude=exclude, shown=True)]
