"""Which interactions the item side has learnt from: the keys of the latest ones, a bounded window.

A worker's item-side state learns from every interaction once, whichever worker applied it: its
own users' (:meth:`recsys.apply.Applier.learn`) and the others' through their item updates
(:meth:`recsys.apply.Applier.apply_update`). After a crash the two can disagree with the user
state, which is written separately (the user table and its changelog): an interaction can be in
its user's state while its item update never reached Kafka (the worker died with it unsent), or
the other way round. The window says which interactions the item side holds, so the applier
learns the missing side only, and applies an update it already holds never twice. It is part of
the item state, so a snapshot records exactly what it holds.

It also keeps, per input partition, the highest offset learnt (from the worker's own events and
from updates, which say where their interaction was read): on a redelivery, only an interaction
past it can be one whose learning a crash lost. (One at or before it was learnt, or was skipped
as a duplicate when it first came: a producer's resend of an event applied before.)

A key is 8 bytes of BLAKE2b of the event id and the item id (an update carries both; event ids
are unique per user, so the item keeps two users' equal ids apart in all but freak cases).

>>> learnt = Learnt(window=2)
>>> k1, k2, k3 = (learnt_key(f"e{n}", "matrix") for n in (1, 2, 3))
>>> learnt.add(k1), learnt.add(k1), k1 in learnt
(True, False, True)
>>> learnt.add(k2), learnt.add(k3), k1 in learnt, len(learnt)  # k1 is out of the window of 2
(True, True, False, 2)
>>> learnt.note_position(0, 41), learnt.note_position(0, 7), learnt.note_position(1, -1), learnt.past(0, 41)
(None, None, None, False)
>>> learnt.offsets, learnt.past(0, 42), learnt.past(1, 0)
({0: 41}, True, True)
>>> import pickle; again = pickle.loads(pickle.dumps(learnt)); (k3 in again, k1 in again, len(again), again.offsets)
(True, False, 2, {0: 41})
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from recsys.users.log import event_hash

__all__ = ["Learnt", "learnt_key"]


def learnt_key(event_id: str, item_id: str) -> int:
    """The key of an interaction in the window (stable across processes)."""
    return int.from_bytes(event_hash(f"{event_id}\x1f{item_id}"), "little")


class Learnt:
    """The keys of the last ``window`` interactions the item side learnt from."""

    def __init__(self, window: int) -> None:
        self.window = window
        self._order: deque[int] = deque()
        self._keys: set[int] = set()
        self.offsets: dict[int, int] = {}  # input partition -> the highest offset learnt

    def note_position(self, partition: int, offset: int) -> None:
        """An interaction read at ``offset`` of input ``partition`` was learnt (-1: not from Kafka)."""
        if partition >= 0 and offset >= 0 and offset > self.offsets.get(partition, -1):
            self.offsets[partition] = offset

    def past(self, partition: int, offset: int) -> bool:
        """Is ``offset`` past every interaction learnt from input ``partition``?"""
        return offset > self.offsets.get(partition, -1)

    def __contains__(self, key: int) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: int) -> bool:
        """Remember ``key``; False when it is in the window already."""
        if key in self._keys:
            return False
        self._keys.add(key)
        self._order.append(key)
        if len(self._order) > self.window:
            self._keys.discard(self._order.popleft())
        return True

    def __getstate__(self) -> dict[str, Any]:  # 8 bytes a key in a snapshot, not a pickled set
        order = np.fromiter(self._order, dtype=np.uint64, count=len(self._order))
        return {"window": self.window, "order": order, "offsets": dict(self.offsets)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.window = int(state["window"])
        self._order = deque(int(k) for k in state["order"])
        self._keys = set(self._order)
        self.offsets = dict(state.get("offsets", {}))
