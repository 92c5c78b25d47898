"""The user store: a user's state split into a hot record, sealed log chunks, profile and followees."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Iterator, MutableMapping
from pathlib import Path

import numpy as np
import pytest

from recsys.engine import Engine
from recsys.errors import ConfigError, StateError
from recsys.settings import Settings
from recsys.state import UserState
from recsys.users import Limits, UserStore
from recsys.users.codec import SEP, chunk_key
from recsys.users.store import TAIL_BYTES
from schemas import Follow, Interaction, Item
from tests.unit.test_user_log import SMALL, OldUserState, Step, apply, make_id, random_events, views

# --------------------------------------------------------------------------- helpers


class Counting(MutableMapping[str, bytes]):
    """A dict that records every write: bytes written (key and value; a deletion counts its key)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.written = 0
        self.puts: dict[str, int] = {}
        self.deleted: list[str] = []

    def __getitem__(self, key: str) -> bytes:
        return self.data[key]

    def __setitem__(self, key: str, value: bytes) -> None:
        self.written += len(key.encode()) + len(value)
        self.puts[key] = self.puts.get(key, 0) + 1
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        self.written += len(key.encode())
        self.deleted.append(key)
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


# --------------------------------------------------------------------------- the store


def run(
    store: UserStore, user_id: str, steps: list[Step], rng: random.Random | None = None, social: bool = False
) -> list[int]:
    """Apply each step as the engine does (load, change, save); bytes written per applied event. With
    ``social``, now and then the profile changes and the user follows someone; with ``rng``, the store
    forgets its cache now and then."""
    mapping = store.mapping
    assert isinstance(mapping, Counting)
    sizes = []
    for n, step in enumerate(steps):
        state = store.load(user_id)
        if not apply(state, step, store.limits):
            continue
        state.events += 1
        state.vector = [float(x) for x in np.sin(np.arange(32) + n)]
        state.bias = n / 7
        state.context = {"device": "tv", "session_id": f"s{n // 50}"}
        if social and n % 97 == 0:
            state.attributes = {"country": "NL", "n": n}
        if social and n % 89 == 0:
            state.follow(f"friend-{n}", 1000)
        before = mapping.written
        store.save(state)
        sizes.append(mapping.written - before)
        if rng is not None and rng.random() < 0.05:
            store.forget()
    return sizes


@pytest.mark.parametrize("id_length", [8, 36, 256])
def test_a_per_event_write_stays_under_2_kb_after_10000_events(id_length: int) -> None:
    rng = random.Random(id_length)
    store = UserStore(Counting(), Limits(), chunk_entries=32)
    user = make_id(rng, "u", id_length)
    steps = [(make_id(rng, f"e{n}", id_length), make_id(rng, f"i{n}", id_length), True, True) for n in range(10_000)]
    sizes = run(store, user, steps)
    assert len(sizes) == 10_000
    # three keys of a 256-character user id (hot record, new chunk, deleted chunk) take ~780 bytes of it
    assert max(sizes) <= (2048 if id_length <= 36 else 2304), max(sizes)
    assert max(sizes[-1000:]) == max(sizes[5000:])  # no growth with history
    chunks = [k for k in store.mapping if SEP + "l" in k]
    per_chunk = min(32, TAIL_BYTES // (1 + 8 + 1 + id_length) + 1)
    assert len(chunks) <= Limits().span // per_chunk + 2  # old chunks are deleted
    state = UserStore(store.mapping, Limits()).load(user)  # everything reads back from the records
    assert len(state.seen) == Limits().max_seen and state.events == 10_000


def test_sealed_chunks_are_written_once_and_deleted_when_out_of_the_span() -> None:
    limits = Limits(history_size=5, max_seen=100, dedupe_window=20)
    store = UserStore(Counting(), limits, chunk_entries=8)
    run(store, "alice", [(f"e{n}", f"i{n}", True, True) for n in range(1000)])
    mapping = store.mapping
    assert isinstance(mapping, Counting)
    chunks = [k for k in mapping.puts if k.startswith("alice" + SEP + "l")]
    assert len(chunks) == 1000 // 8 and all(mapping.puts[k] == 1 for k in chunks)
    kept = sorted(int(k.rsplit("l", 1)[1]) for k in mapping.data if k.startswith("alice" + SEP + "l"))
    assert kept == list(range(1000 // 8 - len(kept), 1000 // 8))  # the newest, consecutive
    assert (len(kept) - 1) * 8 < limits.span <= len(kept) * 8  # just enough to cover the span
    assert sorted(mapping.deleted) == sorted(chunk_key("alice", n) for n in range(kept[0]))
    assert mapping.puts["alice"] == 1000  # the hot record: once per event


@pytest.mark.parametrize("seed", range(5))
def test_the_cache_is_coherent_with_the_mapping_after_forget(seed: int) -> None:
    rng = random.Random(seed)
    steps = random_events(rng, 400, items=80, id_length=36)
    cached, forgetful = UserStore(Counting(), SMALL, chunk_entries=6), UserStore(Counting(), SMALL, chunk_entries=6)
    run(cached, "u", steps, social=True)
    run(forgetful, "u", steps, rng=random.Random(seed), social=True)  # forgets now and then, mid-sequence
    state = cached.load("u")
    assert forgetful.load("u") == state
    assert UserStore(cached.mapping, SMALL).load("u") == state  # a fresh store reads what the cache holds
    cached.forget()
    reread = cached.load("u")
    assert reread is not state and reread == state and views(reread) == views(state)
    assert reread.vector == state.vector and reread.attributes == state.attributes
    assert reread.following == state.following and reread.context == state.context


def test_a_state_changed_and_not_saved_is_not_handed_out_again() -> None:
    store = UserStore({}, SMALL)
    state = store.load("u")
    apply(state, ("e1", "matrix", True, True), SMALL)
    state.vector = [1.0, 2.0]
    store.save(state)
    apply(state, ("e2", "alien", True, True), SMALL)  # an event that failed half-way: never saved
    state.vector = [3.0, 4.0]
    again = store.load("u")
    assert again is not state and again.history == ["matrix"] and again.vector == [1.0, 2.0]
    assert again.remember_event("e2", SMALL.dedupe_window)  # not taken for applied


def test_round_trip_of_every_field_with_the_vector_as_float32() -> None:
    store = UserStore({}, SMALL, chunk_entries=3)
    state = store.load("ann")
    for n in range(10):
        apply(state, (f"e{n}", f"i{n % 4}", n % 3 != 0, n % 2 == 0), SMALL)
    state.vector, state.bias, state.events, state.epoch, state.offset = [0.1, -2.5, 1e-3], 0.25, 10, 3, 2**40
    state.attributes, state.context = {"age": 34, "genres": ["Sci-Fi"]}, {"device": "tv"}
    state.following = ["bob", "cid"]
    store.save(state)
    assert state.vector == [float(np.float32(x)) for x in (0.1, -2.5, 1e-3)]  # rounded as stored
    store.forget()
    back = store.load("ann")
    assert back == state and views(back) == views(state)
    assert isinstance(store.mapping["ann"], bytes) and store.mapping["ann"][:1] == b"\xb5"
    assert list(store) == ["ann"] and "ann" in store and "bob" not in store and len(store) == 1


def test_a_hot_record_of_layout_1_loads_without_a_source_offset() -> None:
    """Records written before the source offset existed (layout 1) still load, with offset -1."""
    store = UserStore({}, SMALL)
    state = store.load("ann")
    apply(state, ("e1", "i1", True, True), SMALL)
    state.events, state.offset = 1, 5
    store.save(state)
    raw = store.mapping["ann"]
    old = raw[:1] + b"\x01" + raw[2:10] + raw[18:]  # layout 1: no offset after the chunk range
    store2 = UserStore({"ann": old}, SMALL)
    back = store2.load("ann")
    assert (back.offset, back.events, back.history) == (-1, 1, ["i1"])


def test_a_legacy_json_record_loads_and_is_rewritten_at_the_next_save() -> None:
    old = OldUserState()
    steps = random_events(random.Random(3), 25, items=10)
    for step in steps:
        apply(old, step, SMALL)
    record = {"user_id": "ann", "vector": [0.5, 0.25], "bias": 0.1, "history": old.history, "seen": old.seen,
              "disliked": old.disliked, "recent_events": old.recent_events, "events": 20,
              "attributes": {"country": "NL"}, "context": {"device": "tv"}, "following": ["bob"], "epoch": 1,
              "last_recommended": ["x"]}  # fmt: skip
    mapping = Counting()
    mapping["ann"] = json.dumps(record).encode()
    store = UserStore(mapping, SMALL, chunk_entries=4)
    state = store.load("ann")
    assert state.history == old.history and set(state.seen) == set(old.seen)
    assert set(state.disliked) == set(old.disliked)
    assert all(not state.remember_event(e, SMALL.dedupe_window) for e in old.recent_events)  # still deduplicated
    assert (state.vector, state.bias, state.events, state.epoch) == ([0.5, 0.25], 0.1, 20, 1)
    assert (state.attributes, state.context, state.following) == ({"country": "NL"}, {"device": "tv"}, ["bob"])
    assert mapping.puts == {"ann": 1}  # reading writes nothing
    store.save(state)
    assert mapping["ann"][:1] == b"\xb5" and mapping.puts.get("ann" + SEP + "p") == 1
    store.forget()
    assert store.load("ann") == state


def test_a_seed_or_a_state_built_elsewhere_is_written_whole_and_replaces_what_was_stored() -> None:
    store = UserStore(Counting(), SMALL, chunk_entries=4)
    run(store, "ann", [(f"e{n}", f"i{n}", True, True) for n in range(30)])
    fresh = UserState("ann", history=["x", "y"], seen=["x"], following=["bob"])
    store.save(fresh)
    store.forget()
    again = store.load("ann")
    assert again == fresh and again.history == ["x", "y"] and again.seen == ["x"]
    assert [k for k in store.mapping if SEP + "l" in k] == []  # the old chunks are gone
    seeded = UserStore({}, SMALL).load("cid", seed=UserState("trained", history=["z"]).to_dict())
    assert seeded.user_id == "cid" and seeded.history == ["z"]


def test_a_user_id_with_the_key_separator_is_refused_with_a_fix() -> None:
    store = UserStore({}, SMALL)
    store.save(UserState("a", attributes={"country": "NL"}))  # "a\x1fp" holds a's profile
    stranger = store.load("a" + SEP + "p")  # not the profile record of "a"
    assert stranger == UserState("a" + SEP + "p") and "a" + SEP + "p" not in store
    with pytest.raises(StateError, match="without control characters"):
        store.save(stranger)


def test_a_damaged_record_says_what_to_do() -> None:
    with pytest.raises(StateError, match="delete the user's keys"):
        UserStore({"ann": b"\x00garbage"}, SMALL).load("ann")


def test_settings_bound_the_cache_and_the_chunks() -> None:
    s = Settings.from_env({"RECSYS_USER_CACHE": "5", "RECSYS_USER_CHUNK": "7"})
    store = UserStore.from_settings({}, s)
    assert (store.cache, store.chunk_entries, store.limits.span) == (5, 7, s.max_seen)
    for name in ("RECSYS_USER_CACHE", "RECSYS_USER_CHUNK"):
        with pytest.raises(ConfigError, match=f"{name}: must be at least 1"):
            Settings.from_env({name: "0"})
    for n in range(20):
        store.save(store.load(f"u{n}"))
    assert len(store._cache) == 5 and len(store) == 20


# --------------------------------------------------------------------------- the engine


def test_the_engine_keeps_users_in_the_store_and_a_second_engine_reads_them() -> None:
    table: dict[str, bytes] = {}
    settings = Settings(ann_backend="brute", factors=4, user_chunk=4)
    engine = Engine(settings, users=table)
    assert isinstance(engine.users, UserStore) and engine.users.mapping is table
    for name in ["matrix", "alien", "heat", "up", "jaws"]:
        engine.apply_item(Item(name))
    for n, item in enumerate(["matrix", "alien", "heat", "up", "matrix"]):
        assert engine.process(Interaction(f"e{n}", "ann", item, "like", timestamp=float(n))).applied
    engine.apply_follow(Follow("f1", "ann", "bob", "follow", timestamp=9.0))
    assert all(isinstance(v, bytes) for v in table.values())
    other = Engine(settings, users=table)  # e.g. the worker that takes the partition over
    state = other.user_state("ann")
    assert state == engine.user_state("ann")
    assert state.history == ["alien", "heat", "up", "matrix"] and state.following == ["bob"] and state.events == 5
    assert not other.process(Interaction("e2", "ann", "heat", "like", timestamp=2.0)).applied  # a redelivery


def test_the_worker_forgets_decoded_users_on_every_rebalance(tmp_path: Path) -> None:
    from streams.app import create_app

    service = create_app(Settings.from_env({"RECSYS_DATA_DIR": str(tmp_path)}))
    app, store = service.app, UserStore({})
    service.engine.users = store  # a dict instead of the Faust table (writes need an event there)
    signals = [(app.on_partitions_revoked, (set(),)), (app.on_partitions_assigned, (set(),)),
               (app.on_rebalance_complete, ())]  # fmt: skip
    for n, (signal, args) in enumerate(signals):
        mine = store.load("u")
        mine.events = 10 * n
        store.save(mine)
        theirs = UserStore(store.mapping).load("u")  # the worker that owned the partition meanwhile
        theirs.events = 10 * n + 1
        UserStore(store.mapping).save(theirs)
        assert store.load("u").events == 10 * n  # still the decoded state
        asyncio.run(signal.send(*args))
        assert store.load("u").events == 10 * n + 1, signal
