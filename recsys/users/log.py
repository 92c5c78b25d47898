"""A user's bounded event log, and what the engine reads from it: history, seen, disliked, recent event ids.

Every applied event appends one :data:`Entry`: the 8-byte hash of its event id (for
deduplication), the item it touched (none for a follow or context event) and flags (a dislike;
whether the event's type excludes the item). The log keeps the last :attr:`Limits.span` entries,
and every view is a function of those entries alone, kept up to date as entries arrive and leave:

* ``history``: the last ``history_size`` distinct items, most recent last (as the old
  ``UserState.touch`` kept it);
* ``seen``: items with an excluding entry, ordered by their latest one, at most ``max_seen``;
* ``disliked``: items whose latest entry is a dislike, ordered by that entry, at most ``max_seen``;
* the dedupe window: the hashes of the last ``dedupe_window`` event ids.

Because the views depend only on the retained entries, a log rebuilt from stored entries has
the same views as the one that wrote them. The price: bounds count log entries, not distinct
items. An item leaves ``seen`` (and ``disliked``, and ``history``) once ``span`` entries came
after its last one, however few distinct items those were, and follow and context events take
entries too. ``disliked`` is ordered by each item's latest dislike (the old list kept the first
and, at its cap, dropped an item disliked long ago even when it was disliked again since).

Examples
--------
>>> log = EventLog(Limits(history_size=2, max_seen=3, dedupe_window=2))
>>> log.remember("e1"), log.remember("e1")
(True, False)
>>> log.touch("matrix", positive=False, exclude=True)
>>> for n, item in enumerate(["alien", "heat"]):
...     _ = log.remember(f"e{n + 2}"); log.touch(item, positive=True, exclude=item != "heat")
>>> log.history(), log.seen(), log.disliked()
(['alien', 'heat'], ['matrix', 'alien'], ['matrix'])
>>> log.remember("e9"), log.seen(), log.disliked()  # "matrix" is now 3 entries back: gone
(True, ['alien'], [])
>>> log.remember("e1")  # out of the 2-event dedupe window
True
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import blake2b
from itertools import islice
from typing import Any

__all__ = ["DISLIKE", "EXCLUDE", "Entry", "EventLog", "Limits", "event_hash"]

DISLIKE = 1
"""Flag: the user's reaction was not positive (``touch(positive=False)``): the item is disliked."""
EXCLUDE = 2
"""Flag: the event's type excludes the item from the user's recommendations (it is seen)."""

Entry = tuple[bytes | None, str | None, int]
"""``(event id hash or None, item id or None, flags)``; oldest first in a log."""


def event_hash(event_id: str) -> bytes:
    """The 8 bytes that stand for ``event_id`` in the dedupe window (BLAKE2b; stable across processes).

    >>> event_hash("e1").hex(), len(event_hash("a" * 256))
    ('1b5d5e51f54f0f04', 8)
    """
    return blake2b(event_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()


@dataclass(frozen=True)
class Limits:
    """The bounds of the views; the log keeps the last :attr:`span` entries."""

    history_size: int = 50
    max_seen: int = 5000
    dedupe_window: int = 200

    @property
    def span(self) -> int:
        return max(self.history_size, self.max_seen, self.dedupe_window)


class EventLog:
    """The last :attr:`Limits.span` entries of one user and the views derived from them (see the module)."""

    def __init__(self, limits: Limits | None = None, entries: Iterable[Entry] = ()) -> None:
        self._reset(limits or Limits(), 0)
        for entry in entries:
            self._push(entry)

    def _reset(self, limits: Limits, appended: int) -> None:
        self.limits = limits
        self.entries: deque[Entry] = deque()
        self.appended = appended  # entries ever appended: the sequence number of the next one
        self._open = False  # the last entry has an event id and may still take its item (touch)
        self._latest: dict[str, int] = {}  # item -> its entries; ordered by the latest of them (small ints)
        self._seen: dict[str, int] = {}  # item -> its excluding entries; ordered by the latest of them
        self._disliked: dict[str, None] = {}  # items whose latest entry is a dislike; ordered by it
        self._ids: dict[bytes, int] = {}  # event hash -> sequence number; the last dedupe_window, oldest first

    @classmethod
    def from_lists(
        cls,
        history: Iterable[str] = (),
        seen: Iterable[str] = (),
        disliked: Iterable[str] = (),
        recent_events: Iterable[str | bytes] = (),
        limits: Limits | None = None,
    ) -> EventLog:
        """A log whose views hold the lists of the old state record (``UserState.to_dict()`` before
        the log): one entry per distinct item, history last and in order, then one entry per event
        id. ``seen`` and ``disliked`` keep their members, not their order (history items move to
        the end), and when everything exceeds the span the oldest seen items are left out.

        >>> log = EventLog.from_lists(history=["b", "c"], seen=["a", "b"], disliked=["a", "x"],
        ...                           recent_events=["e1"])
        >>> log.history(), log.seen(), sorted(log.disliked()), log.seen_event("e1")
        (['x', 'a', 'b', 'c'], ['a', 'b'], ['a', 'x'], True)
        """
        limits = limits or Limits()
        recent = list(dict.fromkeys(history))
        seen, disliked = list(dict.fromkeys(seen)), list(dict.fromkeys(disliked))
        in_seen, in_disliked, in_history = set(seen), set(disliked), set(recent)

        def entry(item_id: str) -> Entry:
            return None, item_id, (EXCLUDE if item_id in in_seen else 0) | (DISLIKE if item_id in in_disliked else 0)

        items = [entry(i) for i in disliked if i not in in_seen and i not in in_history]
        items += [entry(i) for i in seen if i not in in_history] + [entry(i) for i in recent]
        ids: list[Entry] = [(e if isinstance(e, bytes) else event_hash(e), None, 0) for e in recent_events]
        ids = ids[len(ids) - limits.span :] if len(ids) > limits.span else ids
        room = limits.span - len(ids)
        return cls(limits, (items[len(items) - room :] if len(items) > room else items) + ids)

    # ---------------------------------------------------------------- writing
    def remember(self, event_id: str) -> bool:
        """Record an event; False (and nothing recorded) when its id is in the dedupe window."""
        digest = event_hash(event_id)
        if digest in self._ids:
            return False
        self._push((digest, None, 0))
        self._open = True
        return True

    def touch(self, item_id: str, positive: bool, exclude: bool) -> None:
        """The user interacted with ``item_id``: the entry of the event just remembered takes it
        (a new entry without an event id when there is none)."""
        flags = (0 if positive else DISLIKE) | (EXCLUDE if exclude else 0)
        if self._open:
            digest = self.entries[-1][0]
            self.entries[-1] = (digest, item_id, flags)
            self._index(item_id, flags)
        else:
            self._push((None, item_id, flags))
        self._open = False

    def close(self) -> None:
        """The last entry is stored: a later :meth:`touch` starts a new entry."""
        self._open = False

    def relimit(self, limits: Limits) -> None:
        """Apply other bounds: the views are derived again from the entries kept (entries
        beyond a smaller span are dropped; a larger span cannot bring back dropped ones)."""
        if limits == self.limits:
            return
        kept, is_open = list(self.entries)[-limits.span :], self._open
        self._reset(limits, self.appended - len(kept))
        for entry in kept:
            self._push(entry)
        self._open = is_open

    def _push(self, entry: Entry) -> None:
        if len(self.entries) >= self.limits.span:
            self._drop_oldest()
        self.entries.append(entry)
        seq = self.appended
        self.appended += 1
        digest, item_id, flags = entry
        if digest is not None:
            self._ids.pop(digest, None)
            self._ids[digest] = seq
            if len(self._ids) > self.limits.dedupe_window:
                del self._ids[next(iter(self._ids))]
        if item_id is not None:
            self._index(item_id, flags)
        self._open = False

    def _index(self, item_id: str, flags: int) -> None:
        self._latest[item_id] = self._latest.pop(item_id, 0) + 1
        if flags & EXCLUDE:
            self._seen[item_id] = self._seen.pop(item_id, 0) + 1
        self._disliked.pop(item_id, None)
        if flags & DISLIKE:
            self._disliked[item_id] = None

    def _drop_oldest(self) -> None:
        seq = self.appended - len(self.entries)
        digest, item_id, flags = self.entries.popleft()
        if digest is not None and self._ids.get(digest) == seq:
            del self._ids[digest]
        if item_id is None:
            return
        left = self._latest[item_id] - 1
        if left:
            self._latest[item_id] = left  # keeps its place: its latest entry is still kept
        else:  # its last entry: the item leaves every view
            del self._latest[item_id]
            self._disliked.pop(item_id, None)
        if flags & EXCLUDE:
            left = self._seen[item_id] - 1
            if left:
                self._seen[item_id] = left  # keeps its place: a later excluding entry set it
            else:
                del self._seen[item_id]

    # ---------------------------------------------------------------- reading
    def seen_event(self, event_id: str) -> bool:
        """True when ``event_id`` is in the dedupe window."""
        return event_hash(event_id) in self._ids

    def history(self) -> list[str]:
        return list(islice(reversed(self._latest), self.limits.history_size))[::-1]

    def seen(self) -> list[str]:
        return _last(self._seen, self.limits.max_seen)

    def disliked(self) -> list[str]:
        return _last(self._disliked, self.limits.max_seen)

    def recent_events(self) -> list[bytes]:
        """Hashes of the event ids in the dedupe window, oldest first."""
        return list(self._ids)

    def excluded(self) -> set[str]:
        """Items never to recommend again: seen or disliked."""
        cap = self.limits.max_seen
        if len(self._seen) <= cap and len(self._disliked) <= cap:
            return self._seen.keys() | self._disliked.keys()
        return set(self.seen()) | set(self.disliked())

    def __len__(self) -> int:
        return len(self.entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EventLog) and list(self.entries) == list(other.entries)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EventLog({len(self.entries)} entries of {self.appended}, {self.limits})"


def _last(ordered: dict[str, Any], n: int) -> list[str]:
    if len(ordered) <= n:
        return list(ordered)
    return list(islice(reversed(ordered), n))[::-1]
