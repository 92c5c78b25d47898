"""Exploration: a few slots of each list for items whose value is still uncertain (Thompson sampling).

A ranker that only exploits shows what it already knows works; an item few users were shown
never gets the feedback that would prove it good, however well it fits. This step gives the
last ``slots`` places of the top ``k`` to a draw: for each candidate ranked from there down to
``depth`` places further, a take rate ``theta ~ Beta(1 + takes, 1 + max(0, impressions -
takes))`` is drawn (takes: the item's positives; impressions: lists it was in,
:mod:`recsys.items.impressions`), and the candidates with the highest ``relevance * theta`` fill
the slots, best draw first. An item listed often and rarely taken draws low and stays where it
was; an item nobody was shown draws anywhere in [0, 1] and sometimes wins its place; an item
the scorer put in a slot anyway may keep it. The moved items carry the reason "exploring".

Draws are seeded by the user and their event count, so a list is reproducible and a replay is
deterministic.

Examples
--------
>>> from recsys.items.catalog import Catalog
>>> from recsys.items.impressions import Impressions
>>> from recsys.request import Request
>>> from recsys.rerank.base import Ranked
>>> from recsys.scoring import Scored
>>> from recsys.state import UserState
>>> from schemas import Item
>>> cat = Catalog(); shown = Impressions(cat.rows)
>>> for i in ["a", "b", "c", "unseen"]:
...     _ = cat.upsert(Item(i))
>>> for i in ["a", "b", "c"]:  # listed 1000 times and taken 10 times each
...     cat.add_popularity(cat.rows.row(i), 10.0)
...     for _ in range(1000):
...         shown.record(cat.rows.rows([i]))
>>> step = Exploration(cat, shown, slots=1, depth=5)
>>> scores = [("a", 1.0), ("b", 0.9), ("c", 0.8), ("unseen", 0.7)]
>>> ranked = Ranked.of(cat.rows, [Scored(i, s, ("mf",)) for i, s in scores])
>>> step.rerank(Request(UserState("u"), None, k=2), ranked).ids  # the unseen item draws far above 1%
['a', 'unseen', 'b', 'c']
"""

from __future__ import annotations

import numpy as np

from recsys.features import stable_hash
from recsys.items.catalog import Catalog
from recsys.items.impressions import Impressions
from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker


class Exploration(Reranker):
    """The last ``slots`` of the top ``k`` go to the best Thompson draws among the next ``depth`` candidates."""

    name = "explore"

    def __init__(self, catalog: Catalog, impressions: Impressions, slots: int, depth: int = 50, seed: int = 0) -> None:
        if slots < 0 or depth < 1:
            raise ValueError(f"slots must be 0 or more and depth at least 1, got {slots} and {depth}")
        self.catalog = catalog
        self.impressions = impressions
        self.slots, self.depth, self.seed = slots, depth, seed

    def rerank(self, request: Request, ranked: Ranked) -> Ranked:
        k = request.k
        slots = min(self.slots, k - 1)  # the first place is never a draw
        if slots <= 0 or len(ranked) <= k - slots:
            return ranked
        start = k - slots
        pool = np.arange(start, min(len(ranked), start + self.depth))
        rows = ranked.rows[pool]
        takes = np.maximum(self.catalog.popularity.data[rows], 0.0)
        misses = np.maximum(self.impressions.counts(rows) - takes, 0.0)
        user = request.user
        rng = np.random.default_rng([stable_hash(user.user_id, self.seed), user.events])
        draws = np.maximum(ranked.scores[pool], 0.0) * rng.beta(1.0 + takes, 1.0 + misses)
        chosen = pool[np.argsort(-draws, kind="stable")[:slots]]
        rest = np.setdiff1d(np.arange(len(ranked)), chosen, assume_unique=True)
        order = np.concatenate([rest[:start], chosen, rest[start:]])
        moved = chosen[chosen != np.arange(start, start + len(chosen))]
        out = ranked.take(order)
        return out.with_reason(np.flatnonzero(np.isin(order, moved)), "exploring") if len(moved) else out
