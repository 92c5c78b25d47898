"""The user store: each user's state split into small records of a key-value table, and a cache of decoded states.

Over any ``MutableMapping[str, bytes]`` (a dict in-process, the worker's Faust table), a
:class:`~recsys.state.UserState` is written as (layouts in :mod:`recsys.users.codec`):

* a **hot record** under the user id, rewritten on every event: vector (float32), bias, event
  count, epoch, context, the numbers of the log chunks kept, and the **tail**, the log entries
  not yet sealed;
* **log chunks**: when the tail holds ``chunk_entries`` entries (or :data:`TAIL_BYTES` bytes of
  them, for long ids) it is sealed into the next chunk key, written once; a chunk is deleted
  when all its entries are older than the log's span (``max(max_seen, dedupe_window,
  history_size)`` entries);
* the **profile** and the **followees**, each under its own key, written when they change.

So an event writes the hot record (at most about ``TAIL_BYTES`` plus the vector and context),
and every ``chunk_entries`` events one chunk of the same size: what a write costs does not grow
with the user's history. A follow event also rewrites the whole followee list, a profile event
the whole profile. Writes go chunk, hot record, then deletions, so the hot record never names a
chunk that is not written; a crash between the hot record and a deletion leaves a stray chunk key.

Decoded states are kept in an LRU cache of ``cache`` users, so an event does not read and
decode the whole log again; a miss reads the hot record, the chunks, profile and followees. The
cache never hands out unsaved changes: a cached state that was changed and not saved (an event
that failed half-way) is dropped and read again. Whoever else writes the mapping must call
:meth:`UserStore.forget` (the worker does on every rebalance: another worker may have changed
those users meanwhile). A record stored before the split (one JSON document) still loads, and
is rewritten in the new layout at the next save.

Examples
--------
>>> users = UserStore({}, Limits(history_size=2, max_seen=4, dedupe_window=4), chunk_entries=2)
>>> alice = users.load("alice")
>>> for n, item in enumerate(["matrix", "alien", "heat"]):
...     _ = alice.remember_event(f"e{n}", 4); alice.touch(item, True, 2, 4)
...     users.save(alice)
>>> sorted(users.mapping), list(users)
(['alice', 'alice\\x1fl0'], ['alice'])
>>> users.forget(); again = users.load("alice")
>>> again == alice, again.history, again.seen
(True, ['alien', 'heat'], ['matrix', 'alien', 'heat'])
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict, deque
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from recsys.errors import StateError
from recsys.users import codec
from recsys.users.codec import SEP, Hot, chunk_key, followees_key, profile_key
from recsys.users.log import Entry, EventLog, Limits

if TYPE_CHECKING:
    from recsys.settings import Settings
    from recsys.state import UserState

__all__ = ["TAIL_BYTES", "UserStore"]

log = logging.getLogger(__name__)

TAIL_BYTES = 1024
"""The tail is sealed into a chunk when its entries reach this many encoded bytes (or
``chunk_entries`` entries), so a hot record stays small with ids of any length."""


@dataclass
class _Stored:
    """What the mapping holds for a cached state: to write only what changed, and to tell a
    state changed and not saved."""

    limits: Limits
    attributes: dict[str, Any]
    following: list[str]
    vector: list[float] | None = None
    bias: float = 0.0
    events: int = 0
    epoch: int = 0
    offset: int = -1
    context: dict[str, Any] = field(default_factory=dict)
    seq: int = 0  # the log's ``appended`` when stored
    first: int = 0  # chunks kept: first .. next - 1, with these entry counts
    next: int = 0
    chunks: deque[int] = field(default_factory=deque)
    tail: list[Entry] = field(default_factory=list)
    tail_bytes: bytearray = field(default_factory=bytearray)
    legacy: bool = False  # a record from before the split: the next save rewrites it whole

    @classmethod
    def of(cls, state: UserState, first: int = 0, tail: list[Entry] | None = None, **layout: Any) -> _Stored:
        """What the mapping holds once ``state`` is read (or about to be written, with its profile
        and followees), its log kept in chunks ``first ..`` and ``tail``."""
        tail = [] if tail is None else tail
        stored = cls(state.log.limits, dict(state.attributes), list(state.following), first=first, tail=tail,
                     tail_bytes=bytearray(codec.encode_entries(tail)), **layout)  # fmt: skip
        stored.note(state)
        return stored

    def matches(self, state: UserState) -> bool:
        return (
            state.log.appended == self.seq
            and state.log.limits == self.limits
            and state.vector == self.vector
            and (state.bias, state.events, state.epoch) == (self.bias, self.events, self.epoch)
            and state.offset == self.offset
            and state.context == self.context
            and state.attributes == self.attributes
            and state.following == self.following
        )

    def note(self, state: UserState) -> None:
        """The state's small fields are stored now."""
        self.vector = None if state.vector is None else list(state.vector)
        self.bias, self.events, self.epoch, self.offset = state.bias, state.events, state.epoch, state.offset
        self.context = dict(state.context)
        self.seq, self.limits = state.log.appended, state.log.limits

    @property
    def kept(self) -> int:
        return sum(self.chunks) + len(self.tail)


class UserStore:
    """Users' states in a key-value mapping, split into small records (see the module)."""

    def __init__(
        self,
        mapping: MutableMapping[str, bytes],
        limits: Limits | None = None,
        chunk_entries: int = 32,
        cache: int = 1000,
    ) -> None:
        if chunk_entries < 1 or cache < 1:
            raise ValueError(f"chunk_entries and cache must be at least 1 (got {chunk_entries}, {cache})")
        self.mapping = mapping
        self.limits = limits or Limits()
        self.chunk_entries = chunk_entries
        self.cache = cache
        self._cache: OrderedDict[str, tuple[UserState, _Stored]] = OrderedDict()

    @classmethod
    def from_settings(cls, mapping: MutableMapping[str, bytes], settings: Settings) -> UserStore:
        s = settings
        limits = Limits(history_size=s.history_size, max_seen=s.max_seen, dedupe_window=s.dedupe_window)
        return cls(mapping, limits, chunk_entries=s.user_chunk, cache=s.user_cache)

    # ---------------------------------------------------------------- reading
    def get(self, user_id: str) -> UserState | None:
        """The user's state, or None when the mapping does not know the user."""
        if SEP in user_id:
            return None  # never stored (save refuses it); its key would name another user's record
        hit = self._cache.get(user_id)
        if hit is not None:
            state, stored = hit
            if stored.matches(state):
                self._cache.move_to_end(user_id)
                return state
            del self._cache[user_id]  # changed and never saved: what the mapping holds is the truth
        return self._read(user_id)

    def load(self, user_id: str, seed: Mapping[str, Any] | None = None) -> UserState:
        """The user's state; a new one (from ``seed``, a ``UserState.to_dict()``, when given) when unknown."""
        from recsys.state import UserState  # recsys.state imports recsys.users

        state = self.get(user_id)
        if state is not None:
            return state
        if seed is not None:
            return UserState.from_dict({**seed, "user_id": user_id}, self.limits)
        return UserState(user_id, log=EventLog(self.limits))

    def __contains__(self, user_id: object) -> bool:
        if not isinstance(user_id, str) or SEP in user_id:
            return False  # not a user's key (a profile, followees or chunk key, maybe)
        return user_id in self._cache or user_id in self.mapping

    def __iter__(self) -> Iterator[str]:
        """The ids of the users stored (their hot records' keys)."""
        for key in self.mapping:
            key = key.decode() if isinstance(key, bytes) else key
            if SEP not in key:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def forget(self) -> None:
        """Drop every decoded state: the next read of each user goes to the mapping."""
        self._cache.clear()

    def erase(self, user_id: str) -> int:
        """Delete every record of the user (hot record, log chunks, profile, followees): on the worker's
        table each deletion is a tombstone in the changelog, so compaction removes the user there too.
        Returns how many records there were.

        >>> users = UserStore({}, Limits(history_size=2, max_seen=4, dedupe_window=4), chunk_entries=1)
        >>> bob = users.load("bob"); bob.attributes = {"age": 30}
        >>> for n in range(3):
        ...     _ = bob.remember_event(f"e{n}", 4); bob.touch(f"i{n}", True, 2, 4); users.save(bob)
        >>> users.erase("bob"), users.mapping, "bob" in users
        (5, {}, False)
        """
        self._cache.pop(user_id, None)
        if SEP in user_id:
            return 0
        keys = [user_id, profile_key(user_id), followees_key(user_id)]
        raw = self.mapping.get(user_id)
        if raw is not None and not codec.is_legacy(raw):
            keys += [chunk_key(user_id, n) for n in range(codec.decode_hot(raw, user_id).next)]  # strays too
        erased = 0
        for key in keys:
            if key in self.mapping:
                del self.mapping[key]
                erased += 1
        return erased

    def _read(self, user_id: str) -> UserState | None:
        from recsys.state import UserState

        raw = self.mapping.get(user_id)
        if raw is None:
            return None
        if codec.is_legacy(raw):
            try:
                state = UserState.from_dict(json.loads(raw), self.limits)
            except (ValueError, KeyError, TypeError) as exc:
                raise StateError(f"user {user_id!r}: the stored JSON state record does not load ({exc}); "
                                 "delete the key from the user table (the user then starts afresh)") from exc
            self._remember(user_id, state, _Stored.of(state, legacy=True))
            return state
        hot = codec.decode_hot(raw, user_id)
        entries: list[Entry] = []
        chunks: deque[int] = deque()
        for number in range(hot.first, hot.next):
            chunk = self.mapping.get(chunk_key(user_id, number))
            if chunk is None:
                log.warning("user %r: log chunk %d is missing; reading on without it", user_id, number)
                chunks.append(0)
                continue
            got = codec.decode_chunk(chunk, user_id)
            entries += got
            chunks.append(len(got))
        entries += hot.tail
        profile = self.mapping.get(profile_key(user_id))
        followees = self.mapping.get(followees_key(user_id))
        state = UserState(
            user_id, hot.vector, hot.bias, events=hot.events, epoch=hot.epoch, context=hot.context, offset=hot.offset,
            attributes=codec.decode_profile(profile) if profile is not None else {},
            following=codec.decode_followees(followees) if followees is not None else [],
            log=EventLog(self.limits, entries[-self.limits.span :]),
        )  # fmt: skip
        self._remember(user_id, state, _Stored.of(state, hot.first, hot.tail, next=hot.next, chunks=chunks))
        return state

    # ---------------------------------------------------------------- writing
    def save(self, state: UserState) -> None:
        """Write what changed since the state was read or saved (everything, for a state this store
        did not hand out or a legacy record). The vector is rounded to float32, as stored."""
        user_id = state.user_id
        _check_id(user_id)
        state.log.relimit(self.limits)
        state.log.close()
        if state.vector is not None:
            state.vector = np.asarray(state.vector, "<f4").astype(float).tolist()  # what a read gives back
        hit = self._cache.get(user_id)
        stored = hit[1] if hit is not None and hit[0] is state else None
        if (
            stored is None
            or stored.legacy
            or stored.limits != self.limits
            or state.log.appended - stored.seq > len(state.log)
        ):
            stored = self._rewrite(state)
        else:
            self._append(state, stored)
        self._remember(user_id, state, stored)

    def _append(self, state: UserState, stored: _Stored) -> None:
        user_id, entries = state.user_id, state.log.entries
        for back in range(state.log.appended - stored.seq, 0, -1):
            self._add_to_tail(user_id, stored, entries[-back])
        drop = []
        kept = stored.kept
        while stored.chunks and kept - stored.chunks[0] >= self.limits.span:
            kept -= stored.chunks.popleft()
            drop.append(stored.first)
            stored.first += 1
        self._write_hot(state, stored)
        for number in drop:
            self.mapping.pop(chunk_key(user_id, number), None)
        if state.attributes != stored.attributes:
            self._put(profile_key(user_id), codec.encode_profile(state.attributes) if state.attributes else None)
            stored.attributes = dict(state.attributes)
        if state.following != stored.following:
            self._put(followees_key(user_id), codec.encode_followees(state.following) if state.following else None)
            stored.following = list(state.following)

    def _rewrite(self, state: UserState) -> _Stored:
        """Write the whole state: its log as fresh chunks after any the mapping holds, the hot
        record, then delete the old chunks."""
        user_id = state.user_id
        old = self.mapping.get(user_id)
        old_chunks = range(0)
        if old is not None and not codec.is_legacy(old):
            hot = codec.decode_hot(old, user_id)
            old_chunks = range(hot.first, hot.next)
        stored = _Stored.of(state, old_chunks.stop, next=old_chunks.stop)
        for entry in state.log.entries:
            self._add_to_tail(user_id, stored, entry)
        self._write_hot(state, stored)
        for number in old_chunks:
            self.mapping.pop(chunk_key(user_id, number), None)
        self._put(profile_key(user_id), codec.encode_profile(state.attributes) if state.attributes else None)
        self._put(followees_key(user_id), codec.encode_followees(state.following) if state.following else None)
        return stored

    def _add_to_tail(self, user_id: str, stored: _Stored, entry: Entry) -> None:
        stored.tail.append(entry)
        stored.tail_bytes += codec.encode_entries((entry,))
        if len(stored.tail) >= self.chunk_entries or len(stored.tail_bytes) >= TAIL_BYTES:
            chunk = codec.encode_chunk(bytes(stored.tail_bytes), len(stored.tail))
            self.mapping[chunk_key(user_id, stored.next)] = chunk
            stored.chunks.append(len(stored.tail))
            stored.next += 1
            stored.tail, stored.tail_bytes = [], bytearray()

    def _write_hot(self, state: UserState, stored: _Stored) -> None:
        fields = codec.encode_fields(state.vector, state.bias, state.events, state.epoch, state.context, state.offset)
        hot = Hot(first=stored.first, next=stored.next, tail=stored.tail)
        self.mapping[state.user_id] = codec.encode_hot(hot, fields, bytes(stored.tail_bytes))
        stored.note(state)

    def _put(self, key: str, value: bytes | None) -> None:
        if value is None:
            self.mapping.pop(key, None)
        else:
            self.mapping[key] = value

    def _remember(self, user_id: str, state: UserState, stored: _Stored) -> None:
        self._cache[user_id] = (state, stored)
        self._cache.move_to_end(user_id)
        while len(self._cache) > self.cache:
            self._cache.popitem(last=False)


def _check_id(user_id: str) -> None:
    if SEP in user_id:
        raise StateError(
            f"user id {user_id!r} contains the unit separator \\x1f, which the user store keeps for its own "
            "keys; produce user ids without control characters"
        )
