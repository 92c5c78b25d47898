"""Prequential replay: for each interaction in time order, first test, then train.

For every positive interaction on an item the user has not interacted with before, each
model is asked for the user's top-k (excluding everything the user already interacted
with); whether the item is in it, and at which rank, is recorded; then every model learns
from the event. All models see the same events in the same pass.

With ``test_from`` (a time), the events before it only train (a time-based split: see
:func:`time_split`); testing starts at the first interaction at or after it, and goes on test
then train. Every test is also counted in the user's activity bucket at that moment (by the
interactions the user had before it): ``cold-user`` (fewer than 5), ``light-user`` (5 to 49)
and ``heavy-user`` (50 or more), reported as ``hr@k[<bucket>]``; a test of an item published
less than a day before is also counted in ``new-item``. ``new_item_reach`` is the share of the
items published after the first interaction that some list showed in their first day.

Examples
--------
>>> from recsys.datasets.synthetic import SyntheticWorld
>>> from recsys.evaluate.baselines import MostPopular, Random
>>> world = SyntheticWorld(users=30, items=60, clusters=3, seed=1)
>>> report = replay([*world.catalogue(), *world.interactions(600)], [MostPopular(), Random()], k=10)
>>> sorted(report["models"]), report["models"]["popular"]["hr@10"] > report["models"]["random"]["hr@10"]
(['popular', 'random'], True)
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from recsys.evaluate.beyond import ItemFacts
from recsys.evaluate.metrics import Scoreboard
from recsys.evaluate.protocol import Event, Positives, Recommender
from schemas import Interaction, Item

COLD_USER_EVENTS = 5
HEAVY_USER_EVENTS = 50
NEW_ITEM_SECONDS = 86400.0


def time_split(events: Sequence[Event], train_share: float) -> float:
    """The time before which ``train_share`` of the interactions happened: a replay with
    ``test_from`` at it trains on the first part of time and tests on the rest.

    >>> from schemas import Interaction
    >>> events = [Interaction(f"e{t}", "u", "i", "view", float(t)) for t in range(10)]
    >>> time_split(events, 0.8)
    8.0
    """
    if not 0 < train_share < 1:
        raise ValueError(f"train_share must be between 0 and 1, got {train_share}")
    times = sorted(e.timestamp for e in events if isinstance(e, Interaction))
    if not times:
        raise ValueError("no interactions to split")
    return times[min(int(len(times) * train_share), len(times) - 1)]


def replay(
    events: Iterable[Event],
    models: Sequence[Recommender],
    k: int = 10,
    positives: Positives | None = None,
    window: int = 1000,
    progress: Any = None,
    test_from: float | None = None,
) -> dict[str, Any]:
    """Run the prequential protocol (after training on the events before ``test_from``, if
    given); returns ``{"models": {name: summary}, ...}``."""
    positives = positives or Positives()
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"model names must be unique, got {names}")
    seen: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    published: dict[str, float] = {}
    published_live: set[str] = set()  # items published after the first interaction
    interactions = 0
    facts = ItemFacts()  # genres, creators and popularity, shared by every scoreboard
    catalogue = facts.catalogue
    boards = {m.name: Scoreboard(k, lambda: len(catalogue), window, facts) for m in models}
    n_events = 0
    testing = test_from is None
    for event in events:
        n_events += 1
        if progress is not None:
            progress.update(1)
        if isinstance(event, Item):
            facts.item(event)
            if event.published_at is not None:
                published.setdefault(event.item_id, event.published_at)
                if interactions:
                    published_live.add(event.item_id)
        is_positive = False
        if isinstance(event, Interaction):
            interactions += 1
            catalogue.add(event.item_id)
            is_positive = positives(event)
            user_seen = seen[event.user_id]
            testing = testing or event.timestamp >= test_from  # type: ignore[operator]
            if testing and is_positive and event.item_id not in user_seen:
                segments = _segments(event, counts[event.user_id], published)
                for model in models:
                    t0 = time.perf_counter()
                    listed = model.recommend(event.user_id, k, user_seen)
                    seconds = time.perf_counter() - t0
                    new = tuple(i for i in listed[:k] if _is_new(i, event.timestamp, published))
                    boards[model.name].record(listed, event.item_id, model.fallback, seconds, segments, new)
        for model in models:
            t0 = time.perf_counter()
            model.observe(event, is_positive)
            if isinstance(event, Interaction):
                boards[model.name].learned(time.perf_counter() - t0)
        if isinstance(event, Interaction):
            seen[event.user_id].add(event.item_id)
            if is_positive:
                facts.positive(event.item_id)  # after the tests: novelty is read before the event is known
            counts[event.user_id] += 1
    return {
        "k": k,
        "positives": positives.label,
        "events": n_events,
        "catalogue": len(catalogue),
        "split": "prequential" if test_from is None else "time",
        "test_from": test_from,
        "models": {name: board.summary(published_live) for name, board in boards.items()},
    }


def _is_new(item_id: str, now: float, published: dict[str, float]) -> bool:
    at = published.get(item_id)
    return at is not None and 0 <= now - at < NEW_ITEM_SECONDS


def _segments(event: Interaction, prior: int, published: dict[str, float]) -> tuple[str, ...]:
    out = ["cold-user" if prior < COLD_USER_EVENTS else "light-user" if prior < HEAVY_USER_EVENTS else "heavy-user"]
    if _is_new(event.item_id, event.timestamp, published):
        out.append("new-item")
    return tuple(out)
