"""Exploration slots in the engine: items with little feedback reach lists, each with its reason."""

from __future__ import annotations

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings


def lists(slots: int) -> tuple[set[str], int, list[str]]:
    """Items listed to 60 users over a stream (distinct), lists with an "exploring" item, and what a
    user was shown when a slot explored."""
    world = SyntheticWorld(users=60, items=300, clusters=3, seed=4)
    engine = Engine(Settings(explore_slots=slots, generators="covisit,popular", scorer="blend"))
    for item in world.catalogue():
        engine.apply_item(item)
    listed: set[str] = set()
    exploring, example = 0, []
    for event in world.interactions(1200):
        engine.apply(event)
        top = engine.recommend(event.user_id, shown=True)
        listed.update(r.item_id for r in top)
        explored = [r.item_id for r in top if "exploring" in r.reasons]
        exploring += bool(explored)
        example = example or explored
    return listed, exploring, example


def test_exploration_widens_what_is_listed_and_says_so() -> None:
    plain, none_exploring, _ = lists(0)
    explored, exploring, example = lists(2)
    assert none_exploring == 0
    assert exploring > 100 and example
    assert len(explored) > 1.2 * len(plain), (len(explored), len(plain))
