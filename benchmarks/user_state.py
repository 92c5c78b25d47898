"""What a user's state costs per event: bytes written to the user table, and time, old JSON format against new.

    python benchmarks/user_state.py [--events 10000] [--window 100] [--items 50000]

One user at a time goes through ``--events`` + ``--window`` events the way the engine handles
one (read the state, remember the event id, touch the item, a new 32-float vector, the event
count, the context; write the state back), over a dict that counts what is written to it
(key and value bytes; a deletion counts its key), in two formats:

* ``old``: the whole state as one JSON document (a copy of ``UserState`` as of commit 0f73427,
  ``json.dumps`` as faust's json serializer wrote it): decoded and encoded on every event;
* ``new``: :class:`recsys.users.UserStore` (hot record, sealed log chunks; cache of decoded users).

For a user with N events behind them (N = 1, 10, 100, 1,000, 10,000), the writes of their next
``--window`` events give p50, p99 and max bytes, and the median and mean time of load + update
+ save (the mean takes the odd slow event of a shared machine).
``cold load`` is a read of that user with the store's cache emptied first (the median of 5; the
new format; the old format always reads cold). Events: 70% views, 20% likes, 10% dislikes, of items drawn
from ``--items``; with short ids (``i123``, ``e123``, ``u1``) and with 36-character ids (UUIDs).
Settings at their defaults (history 50, max_seen 5,000, dedupe window 200, 32 entries per chunk).
At the end: the bytes stored for the user, and the memory of one decoded state (``tracemalloc``
around a cold load: what the cache holds for the user).
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from recsys.settings import Settings  # noqa: E402
from recsys.users import UserStore  # noqa: E402

CHECKPOINTS = (1, 10, 100, 1000, 10_000)


class Counting(MutableMapping[str, bytes]):
    """A dict that counts the bytes written to it."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.written = 0

    def __getitem__(self, key: str) -> bytes:
        return self.data[key]

    def __setitem__(self, key: str, value: bytes) -> None:
        self.written += len(key.encode()) + len(value)
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        self.written += len(key.encode())
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


@dataclass
class OldUserState:
    """``recsys.state.UserState`` as of commit 0f73427 (the fields and methods an event uses)."""

    user_id: str
    vector: list[float] | None = None
    bias: float = 0.0
    history: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    disliked: list[str] = field(default_factory=list)
    recent_events: list[str] = field(default_factory=list)
    events: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    following: list[str] = field(default_factory=list)
    epoch: int = 0

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

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _copy(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OldUserState:
        return cls(**data)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


class OldStore:
    """The old engine's user_state/_save_user over a mapping: one JSON document per user."""

    def __init__(self, mapping: Counting) -> None:
        self.mapping = mapping

    def load(self, user_id: str) -> OldUserState:
        raw = self.mapping.get(user_id)
        return OldUserState(user_id) if raw is None else OldUserState.from_dict(json.loads(raw))

    def save(self, state: OldUserState) -> None:
        self.mapping[state.user_id] = json.dumps(state.to_dict()).encode()

    def forget(self) -> None:
        pass


def events(rng: random.Random, n: int, items: int, long_ids: bool) -> list[tuple[str, str, bool]]:
    """(event id, item id, positive) for ``n`` events."""

    def name(prefix: str, k: int) -> str:
        return str(uuid.UUID(int=rng.getrandbits(128))) if long_ids else f"{prefix}{k}"

    catalogue = [name("i", k) for k in range(items)]
    return [(name("e", k), rng.choice(catalogue), rng.random() >= 0.1) for k in range(n)]


def run(fmt: str, long_ids: bool, args: argparse.Namespace) -> dict[int, dict[str, float]]:
    s = Settings()
    rng = random.Random(7)
    mapping = Counting()
    store: Any = OldStore(mapping) if fmt == "old" else UserStore.from_settings(mapping, s)
    user = str(uuid.UUID(int=rng.getrandbits(128))) if long_ids else "u1"
    stream = events(rng, max(CHECKPOINTS) + args.window, args.items, long_ids)
    vectors = np.random.default_rng(7).normal(0, 0.3, (64, s.factors))
    sizes: list[int] = []
    seconds: list[float] = []
    cold: dict[int, float] = {}
    for n, (event_id, item_id, positive) in enumerate(stream, start=1):
        before = mapping.written
        t0 = time.perf_counter()
        state = store.load(user)
        if state.remember_event(event_id, s.dedupe_window):
            state.touch(item_id, positive=positive, history_size=s.history_size, max_seen=s.max_seen,
                        exclude=True)  # fmt: skip
            state.vector = [float(x) for x in vectors[n % 64]]
            state.bias = 0.01 * (n % 7)
            state.events += 1
            state.context = {"device": "tv", "session_id": f"s-{n // 20}"}
            store.save(state)
        seconds.append(time.perf_counter() - t0)
        sizes.append(mapping.written - before)
        if n in CHECKPOINTS:
            cold[n] = statistics.median(_cold_load(store, user) for _ in range(5))
    store.forget()
    tracemalloc.start()
    store.load(user)  # the decoded state the cache keeps (the old format keeps nothing between events)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    out = {}
    for c in CHECKPOINTS:
        window = sorted(sizes[c : c + args.window])  # the events after the c-th
        out[c] = {
            "p50": window[len(window) // 2],
            "p99": window[min(len(window) - 1, int(0.99 * len(window)))],
            "max": window[-1],
            "us": 1e6 * statistics.fmean(seconds[c : c + args.window]),
            "us50": 1e6 * statistics.median(seconds[c : c + args.window]),
            "cold_us": 1e6 * cold[c],
            "stored": sum(len(k.encode()) + len(v) for k, v in mapping.data.items()),
            "held": held,
        }
    return out


def _cold_load(store: Any, user: str) -> float:
    store.forget()
    t0 = time.perf_counter()
    store.load(user)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="the largest checkpoint (default 10000)")
    parser.add_argument("--window", type=int, default=100, help="events measured after each checkpoint")
    parser.add_argument("--items", type=int, default=50_000)
    args = parser.parse_args()
    global CHECKPOINTS
    CHECKPOINTS = tuple(c for c in CHECKPOINTS if c <= args.events)
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus; "
          f"window {args.window} events after each checkpoint; items {args.items:,}")  # fmt: skip
    for long_ids in (False, True):
        label = "36-character ids (UUIDs)" if long_ids else "short ids (u1, i123, e123)"
        old, new = run("old", long_ids, args), run("new", long_ids, args)
        print(f"\n{label}: bytes written per event (p50 / p99 / max); time of load + update + save (p50 / mean)")
        print(f"{'events behind':>13} | {'old JSON p50/p99/max':>24} | {'new p50/p99/max':>18} | "
              f"{'old µs p50/mean':>15} | {'new µs p50/mean':>15} | {'new cold load µs':>16}")  # fmt: skip
        for c in CHECKPOINTS:
            o, w = old[c], new[c]
            print(f"{c:>13,} | {o['p50']:>8,.0f}/{o['p99']:>7,.0f}/{o['max']:>7,.0f} | "
                  f"{w['p50']:>6,.0f}/{w['p99']:>5,.0f}/{w['max']:>5,.0f} | {o['us50']:>7,.0f}/{o['us']:>7,.0f} | "
                  f"{w['us50']:>7,.0f}/{w['us']:>7,.0f} | {w['cold_us']:>16,.0f}")  # fmt: skip
        last = max(CHECKPOINTS)
        print(f"stored for the user after {last + args.window:,} events: old {old[last]['stored']:,} B, "
              f"new {new[last]['stored']:,} B; new, one decoded state (what the cache holds per user): "
              f"{new[last]['held'] / 1024:,.0f} KiB")  # fmt: skip


if __name__ == "__main__":
    main()
