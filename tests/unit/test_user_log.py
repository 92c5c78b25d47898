"""A user's event log and the views derived from it, against the old state's lists.

The old state (lists of items and event ids, as ``UserState`` kept them before the log) is the
reference: on the same random events, the views must equal its lists wherever the semantics did
not change, and the documented differences (bounds counted in log entries) must hold.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from recsys.state import UserState
from recsys.users import EventLog, Limits, event_hash


class OldUserState:
    """The per-user lists as ``UserState`` kept them before the event log (the reference)."""

    def __init__(self) -> None:
        self.history: list[str] = []
        self.seen: list[str] = []
        self.disliked: list[str] = []
        self.recent_events: list[str] = []

    def remember_event(self, event_id: str, window: int) -> bool:
        if event_id in self.recent_events:
            return False
        self.recent_events.append(event_id)
        del self.recent_events[:-window]
        return True

    def touch(self, item_id: str, positive: bool, history_size: int, max_seen: int, exclude: bool = True) -> None:
        lists = [(self.history, history_size)] + ([(self.seen, max_seen)] if exclude else [])
        for bounded, limit in lists:
            if item_id in bounded:
                bounded.remove(item_id)
            bounded.append(item_id)
            del bounded[:-limit]
        if not positive and item_id not in self.disliked:
            self.disliked.append(item_id)
            del self.disliked[:-max_seen]
        elif positive and item_id in self.disliked:
            self.disliked.remove(item_id)


Step = tuple[str, str | None, bool, bool]  # event id, item (None: a follow or context event), positive, exclude


def random_events(rng: random.Random, n: int, items: int = 30, id_length: int = 0) -> list[Step]:
    """Interactions, follow/context events (no item) and redeliveries of earlier event ids."""
    steps: list[Step] = []
    names = [make_id(rng, f"i{k}", id_length) for k in range(items)]
    for k in range(n):
        roll = rng.random()
        if steps and roll < 0.1:
            steps.append(rng.choice(steps))  # a redelivery (applied again once out of the window)
        elif roll < 0.2:
            steps.append((make_id(rng, f"c{k}", id_length), None, True, False))
        else:
            steps.append((make_id(rng, f"e{k}", id_length), rng.choice(names), rng.random() < 0.8, rng.random() < 0.7))
    return steps


def make_id(rng: random.Random, short: str, length: int) -> str:
    return short if not length else str(uuid.UUID(int=rng.getrandbits(128)))[:length].ljust(length, "x")


def apply(state: UserState | OldUserState, step: Step, limits: Limits) -> bool:
    event_id, item, positive, exclude = step
    if not state.remember_event(event_id, limits.dedupe_window):
        return False
    if item is not None:
        state.touch(item, positive, limits.history_size, limits.max_seen, exclude)
    return True


def oracle(applied: list[Step], limits: Limits) -> dict[str, Any]:
    """The documented views, computed from scratch over the last ``span`` applied events."""
    window = applied[-limits.span :]
    latest: dict[str, int] = {}
    seen: dict[str, int] = {}
    for n, (_, item, _, exclude) in enumerate(window):
        if item is not None:
            latest.pop(item, None)
            latest[item] = n
            if exclude:
                seen.pop(item, None)
                seen[item] = n
    disliked = [i for i in latest if not window[latest[i]][2]]  # the latest entry is not positive
    ids = [event_hash(e) for e, *_ in window][-limits.dedupe_window :]
    return {"history": list(latest)[-limits.history_size :], "seen": list(seen)[-limits.max_seen :],
            "disliked": disliked[-limits.max_seen :], "recent_events": ids}  # fmt: skip


def views(state: UserState) -> dict[str, Any]:
    return {"history": state.history, "seen": state.seen, "disliked": state.disliked,
            "recent_events": state.recent_events}  # fmt: skip


SMALL = Limits(history_size=5, max_seen=40, dedupe_window=15)

# --------------------------------------------------------------------------- the old semantics


@pytest.mark.parametrize("seed", range(20))
def test_views_equal_the_old_lists_while_the_log_holds_every_event(seed: int) -> None:
    rng = random.Random(seed)
    old, new = OldUserState(), UserState("u", log=EventLog(SMALL))
    applied = 0
    for step in random_events(rng, 60, items=12):
        outcome = apply(old, step, SMALL)
        assert apply(new, step, SMALL) == outcome  # the same events are found to be redeliveries
        applied += outcome
        if applied > SMALL.span:
            break
        assert new.history == old.history
        assert new.seen == old.seen  # the same items, in the same order (least recent first)
        assert set(new.disliked) == set(old.disliked)  # the same items; ordered by the latest dislike
        assert new.recent_events == [event_hash(e) for e in old.recent_events]


@pytest.mark.parametrize("seed", range(10))
def test_beyond_the_span_views_are_the_documented_window_and_never_more_than_the_old_lists(seed: int) -> None:
    rng = random.Random(seed)
    old, new = OldUserState(), UserState("u", log=EventLog(SMALL))
    applied: list[Step] = []
    for step in random_events(rng, 600, items=300):
        outcome = apply(old, step, SMALL)
        assert apply(new, step, SMALL) == outcome
        if outcome:
            applied.append(step)
            assert views(new) == oracle(applied, SMALL)
            assert set(new.seen) <= set(old.seen)
            # an item disliked again keeps its place from the latest dislike; the old list, at its
            # cap, dropped it by its first one
            again = {i for i in set(new.disliked) - set(old.disliked)
                     if sum(1 for _, item, positive, _ in applied if item == i and not positive) >= 2}  # fmt: skip
            assert set(new.disliked) - set(old.disliked) == again
    # the difference is real: old lists remember items from before the last span events
    assert len(old.seen) == SMALL.max_seen > len(new.seen)


def test_an_item_repeated_for_a_whole_span_is_all_the_history_left() -> None:
    old, new = OldUserState(), UserState("u", log=EventLog(SMALL))
    steps: list[Step] = [(f"a{n}", f"i{n}", True, True) for n in range(5)]
    steps += [(f"b{n}", "again", True, True) for n in range(SMALL.span)]
    for step in steps:
        apply(old, step, SMALL)
        apply(new, step, SMALL)
    assert old.history == ["i1", "i2", "i3", "i4", "again"]  # counted in distinct items
    assert new.history == ["again"] == new.seen  # counted in log entries


def test_follow_and_context_events_take_log_entries() -> None:
    new = UserState("u", log=EventLog(SMALL))
    apply(new, ("e0", "matrix", False, True), SMALL)
    for n in range(SMALL.span - 1):
        apply(new, (f"follow:{n}", None, True, False), SMALL)
    assert new.seen == ["matrix"] and new.disliked == ["matrix"]
    apply(new, ("context:last", None, True, False), SMALL)
    assert new.seen == [] and new.disliked == [] and new.history == []


def test_a_state_with_the_old_lists_keeps_them() -> None:
    old = OldUserState()
    for step in random_events(random.Random(5), 30, items=10):
        apply(old, step, SMALL)
    state = UserState("u", history=old.history, seen=old.seen, disliked=old.disliked,
                      recent_events=old.recent_events, limits=SMALL)  # fmt: skip
    assert state.history == old.history and set(state.seen) == set(old.seen)
    assert set(state.disliked) == set(old.disliked)
    assert state.recent_events == [event_hash(e) for e in old.recent_events]
    assert UserState.from_dict(state.to_dict(), SMALL) == state


def test_other_bounds_derive_the_views_again_from_the_entries_kept() -> None:
    state = UserState("u", log=EventLog(SMALL))
    for n in range(30):
        apply(state, (f"e{n}", f"i{n}", True, True), SMALL)
    state.touch("last", True, history_size=3, max_seen=10)  # the bounds the caller passes win
    assert state.history == ["i28", "i29", "last"] and len(state.log) == 15  # the span is now the dedupe window
    assert state.seen == [*(f"i{n}" for n in range(21, 30)), "last"]  # at most max_seen, the most recent
    assert state.remember_event("e0", window=15) and not state.remember_event("e29", window=15)
