"""Per-user state: everything the engine knows about one user.

A state is the user's vector, bias, event count, factor epoch, context, profile attributes,
followees, and a bounded event log (:class:`~recsys.users.log.EventLog`): every applied event
appends one entry (its event id's 8-byte hash, the item, a dislike and an "excluded" flag),
and ``history``, ``seen``, ``disliked`` and the dedupe window are derived from the last
``max(max_seen, dedupe_window, history_size)`` entries. They keep the meaning they had when
they were stored as lists, with bounds counted in log entries rather than distinct items (the
log module says exactly what differs).

The state lives in a table partitioned by user id (a Faust table on RocksDB in the worker, a
dict in-process), so it moves with its partition and is restored from the changelog. It is not
stored as one record: :class:`~recsys.users.store.UserStore` writes a small hot record per event
plus a sealed chunk of log entries every few events, and the profile and followees only when
they change, so a write does not grow with the user's history.

Examples
--------
>>> s = UserState("alice")
>>> s.remember_event("e1", window=2), s.remember_event("e1", window=2)
(True, False)
>>> s.touch("matrix", positive=True, history_size=3, max_seen=10)
>>> s.history, s.seen, s.disliked
(['matrix'], ['matrix'], [])
>>> s.follow("bob", limit=2), s.follow("carol", limit=2), s.follow("dave", limit=2)
(True, True, True)
>>> s.following
['carol', 'dave']
>>> s.unfollow("carol"), s.unfollow("carol"), s.following
(True, False, ['dave'])
>>> UserState.from_dict(s.to_dict()) == s
True

A record saved before the log existed (lists of items and event ids) still loads, and so does one
saved before a field existed (with that field's default) or with a field since dropped:

>>> old = UserState.from_dict({"user_id": "old", "history": ["a"], "seen": ["a"], "recent_events": ["e7"],
...                            "last_recommended": ["a"]})
>>> old.history, old.seen, old.following, old.remember_event("e7", window=200)
(['a'], ['a'], [], False)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from recsys.users.log import EventLog, Limits

__all__ = ["UserState"]

_SCALARS = ("vector", "bias", "events", "attributes", "context", "following", "epoch", "offset")


class UserState:
    """One user's vector, event log (recent history, seen and disliked sets, dedupe window) and followees.

    ``vector`` is a list of floats (None before the first learning step): the engine and the
    fold-in assign lists, tests compare with ``==``, and the store rounds it to float32 when it
    saves, so a state read back equals the one saved. ``history``, ``seen``, ``disliked`` and
    ``recent_events`` are read-only views of :attr:`log`; the constructor takes them as lists
    (the old record's shape) and turns them into log entries (:meth:`EventLog.from_lists`).
    """

    def __init__(
        self,
        user_id: str,
        vector: list[float] | None = None,
        bias: float = 0.0,
        history: Iterable[str] = (),
        seen: Iterable[str] = (),
        disliked: Iterable[str] = (),
        recent_events: Iterable[str | bytes] = (),
        events: int = 0,
        attributes: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,  # session, device, location... (context events)
        following: list[str] | None = None,  # followees, oldest first, bounded
        epoch: int = 0,  # the item factors' epoch this vector fits; the engine folds the user in when it is stale
        offset: int = -1,  # the source offset of the last interaction applied (-1: none known; see recsys.apply)
        *,
        log: EventLog | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.user_id = user_id
        self.vector = vector
        self.bias = bias
        self.events = events
        self.attributes: dict[str, Any] = {} if attributes is None else attributes
        self.context: dict[str, Any] = {} if context is None else context
        self.following: list[str] = [] if following is None else following
        self.epoch = epoch
        self.offset = offset
        self.log = log if log is not None else EventLog.from_lists(history, seen, disliked, recent_events, limits)

    # ---------------------------------------------------------------- the log's views
    @property
    def history(self) -> list[str]:
        """The last ``history_size`` distinct items, most recent last."""
        return self.log.history()

    @property
    def seen(self) -> list[str]:
        """Items the user interacted with in a way that excludes them, least recent first."""
        return self.log.seen()

    @property
    def disliked(self) -> list[str]:
        """Items whose latest interaction was not positive, least recently disliked first."""
        return self.log.disliked()

    @property
    def recent_events(self) -> list[bytes]:
        """The dedupe window: 8-byte hashes of the last ``dedupe_window`` event ids, oldest first."""
        return self.log.recent_events()

    # ---------------------------------------------------------------- changes
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
        """Record ``event_id`` (a new log entry); False when it was already applied (a redelivery)."""
        if window != self.log.limits.dedupe_window:
            self.log.relimit(replace(self.log.limits, dedupe_window=window))
        return self.log.remember(event_id)

    def touch(self, item_id: str, positive: bool, history_size: int, max_seen: int, exclude: bool = True) -> None:
        """The user interacted with ``item_id``: it is recent, maybe disliked, and (with
        ``exclude``, as the event's type says) seen: never recommended again. The entry of the
        event just remembered takes the item."""
        limits = self.log.limits
        if (history_size, max_seen) != (limits.history_size, limits.max_seen):
            self.log.relimit(replace(limits, history_size=history_size, max_seen=max_seen))
        self.log.touch(item_id, positive, exclude)

    def recent_positives(self) -> list[str]:
        """The recent items that were not disliked, oldest first (what the user liked lately)."""
        disliked = set(self.disliked)
        return [i for i in self.history if i not in disliked]

    def excluded(self) -> set[str]:
        """Items never to recommend to this user again."""
        return self.log.excluded()

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

    # ---------------------------------------------------------------- plain records
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able copy (the seeds ``recsys train`` ships in a snapshot): the fields and the log's
        entries as ``[hash hex or None, item or None, flags]``."""
        out = {"user_id": self.user_id, **{name: _copy(getattr(self, name)) for name in _SCALARS}}
        out["log"] = [[None if h is None else h.hex(), item, flags] for h, item, flags in self.log.entries]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], limits: Limits | None = None) -> UserState:
        """The state of :meth:`to_dict`, or of the record stored before the log (with ``history``,
        ``seen``, ``disliked`` and ``recent_events`` lists); unknown fields are ignored."""
        scalars = {name: _copy(data[name]) for name in _SCALARS if name in data}
        if "log" in data:
            entries = [(None if h is None else bytes.fromhex(h), item, int(flags)) for h, item, flags in data["log"]]
            log = EventLog(limits, entries[-(limits or Limits()).span :])
        else:
            log = EventLog.from_lists(data.get("history", ()), data.get("seen", ()), data.get("disliked", ()),
                                      data.get("recent_events", ()), limits)  # fmt: skip
        return cls(data["user_id"], **scalars, log=log)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UserState):
            return NotImplemented
        return self.user_id == other.user_id and self.log == other.log and all(
            getattr(self, name) == getattr(other, name) for name in _SCALARS
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"UserState({self.user_id!r}, events={self.events}, epoch={self.epoch}, "
            f"history={self.history[-5:]!r}..., log={self.log!r})"
        )


def _copy(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value
