"""Per-user state: everything the engine knows about one user, as a plain JSON-able record.

It lives in a table partitioned by user id (a Faust table on RocksDB in the worker, a
dict in-process), so it moves with its partition and is restored from the changelog.

Examples
--------
>>> s = UserState("alice")
>>> s.remember_event("e1", window=2), s.remember_event("e1", window=2)
(True, False)
>>> s.touch("matrix", positive=True, history_size=3, max_seen=10)
>>> s.follow("bob", limit=2), s.follow("carol", limit=2), s.follow("dave", limit=2)
(True, True, True)
>>> s.following
['carol', 'dave']
>>> s.unfollow("carol"), s.unfollow("carol"), s.following
(True, False, ['dave'])
>>> UserState.from_dict(s.to_dict()) == s
True

A record saved before a field existed still loads, with that field's default, and one
with a field since dropped loads without it:

>>> UserState.from_dict({"user_id": "old", "last_recommended": ["a"]}).following
[]
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class UserState:
    """One user's vector, recent history, seen and disliked sets, dedupe window and followees."""

    user_id: str
    vector: list[float] | None = None
    bias: float = 0.0
    history: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    disliked: list[str] = field(default_factory=list)
    recent_events: list[str] = field(default_factory=list)
    events: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)  # session, device, location... (context events)
    following: list[str] = field(default_factory=list)  # followees, oldest first, bounded
    epoch: int = 0  # the item factors' epoch this vector fits; the engine folds the user in when it is stale

    def follow(self, followee_id: str, limit: int) -> bool:
        """Start following ``followee_id`` (the oldest followee goes beyond ``limit``); False if already."""
        if followee_id in self.following:
            return False
        self.following.append(followee_id)
        del self.following[:-limit]
        return True

    def unfollow(self, followee_id: str) -> bool:
        """Stop following ``followee_id``; False when the user did not follow them."""
        if followee_id not in self.following:
            return False
        self.following.remove(followee_id)
        return True

    def remember_event(self, event_id: str, window: int) -> bool:
        """Record ``event_id``; False when it was already applied (a redelivery)."""
        if event_id in self.recent_events:
            return False
        self.recent_events.append(event_id)
        del self.recent_events[:-window]
        return True

    def touch(self, item_id: str, positive: bool, history_size: int, max_seen: int, exclude: bool = True) -> None:
        """The user interacted with ``item_id``: it is recent, maybe disliked, and (with
        ``exclude``, as the event's type says) seen: never recommended again."""
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

    def recent_positives(self) -> list[str]:
        """The recent items that were not disliked, oldest first (what the user liked lately)."""
        disliked = set(self.disliked)
        return [i for i in self.history if i not in disliked]

    def excluded(self) -> set[str]:
        """Items never to recommend to this user again."""
        return set(self.seen) | set(self.disliked)

    def to_dict(self) -> dict[str, Any]:
        # shallow copies of each list: dataclasses.asdict's deep copy is a hot spot here
        return {f.name: _copy(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UserState:
        known = _FIELDS
        return cls(**{k: v for k, v in data.items() if k in known})  # fields since dropped are ignored

    def update_context(self, changes: dict[str, Any]) -> bool:
        """Merge a context change (None removes a key; a new ``session_id`` starts afresh);
        True when the context is different afterwards.

        >>> s = UserState("u"); s.update_context({"device": "tv", "session_id": "a"})
        True
        >>> s.update_context({"device": "tv"}), s.update_context({"session_id": "b"}), s.context
        (False, True, {'session_id': 'b'})
        """
        before = dict(self.context)
        if "session_id" in changes and changes["session_id"] != self.context.get("session_id"):
            self.context = {}
        for key, value in changes.items():
            if value is None:
                self.context.pop(key, None)
            else:
                self.context[key] = value
        return self.context != before


_FIELDS = frozenset(f.name for f in fields(UserState))


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value
