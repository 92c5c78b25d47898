"""Resident memory of an in-process ``Engine``, per 100k items and per 100k users.

    .venv/bin/python benchmarks/memory.py [--items 100000] [--users 100000]

Each measurement runs in a fresh subprocess (this script with ``--child``), so none sees
another's garbage; each reads its own RSS (``VmRSS`` in /proc/self/status) before and
after, after a ``gc.collect()``:

* ``baseline``: a bare interpreter, then after importing ``recsys.engine`` and building an
  ``Engine(Settings())`` (the default auto index backend) with no data;
* ``items``: the engine after ``apply_item`` of N catalogue records (title, two genres, a
  creator, a year: like the README's example), then after ``refresh_index()`` puts their
  MF vectors (created on first use) into the index (hnswlib past 20,000 items, its graph built
  in a thread that the script waits for);
* ``users``: the same N items, then one ``like`` interaction processed (``engine.process``:
  learn, refresh the index when due, rank a list) for each of U new users, so each has a
  vector and a full state in ``engine.users`` (a UserStore over a plain dict here). Also the
  size of a user's hot record (what the worker writes to its user table, and so to the table's
  changelog, on every event) after 1 event and as one user's history grows
  (``benchmarks/user_state.py`` measures the writes in detail, old JSON format against new).

In the worker, user state is a Faust table on RocksDB, so it sits on disk (plus RocksDB's
caches), not in the Python heap; the in-process figure is the dict used by tests, replay
and benchmarks. Not a test: nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PER = 100_000
GENRES = ["Action", "Comedy", "Drama", "Sci-Fi", "Thriller", "Romance", "Horror", "Animation"]


def rss_mib() -> float:
    gc.collect()
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def deep_size(obj: Any) -> int:
    """Bytes of the Python objects reachable through dicts and lists (shared objects once)."""
    seen: set[int] = set()
    stack = [obj]
    total = 0
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list | tuple | set):
            stack.extend(o)
    return total


# ----------------------------------------------------------------------------- children


def new_engine() -> Any:
    from recsys.engine import Engine
    from recsys.settings import Settings

    return Engine(Settings())  # the default: the auto backend, hnswlib past 20,000 items


def load_items(engine: Any, n: int) -> None:
    from schemas import Item

    for j in range(n):
        engine.apply_item(
            Item(
                f"item-{j:07d}",
                title=f"Item number {j} ({1950 + j % 70})",
                attributes={
                    "genres": [GENRES[j % 8], GENRES[(j // 8) % 8]],
                    "creator": f"creator-{j % 5000}",
                    "year": 1950 + j % 70,
                },
                published_at=float(1_600_000_000 + j),
            )
        )


def child_baseline(args: argparse.Namespace) -> dict[str, Any]:
    out = {"python MiB": rss_mib()}
    engine = new_engine()
    out["after import + empty Engine MiB"] = rss_mib()
    del engine
    return out


def child_items(args: argparse.Namespace) -> dict[str, Any]:
    engine = new_engine()
    out: dict[str, Any] = {"before MiB": rss_mib()}
    t0 = time.perf_counter()
    load_items(engine, args.items)
    out["catalogue s"] = time.perf_counter() - t0
    out["after catalogue MiB"] = rss_mib()
    t0 = time.perf_counter()
    written = engine.refresh_index()
    engine.indexes.wait()  # the auto backend's hnswlib graph, if it is being built
    out["refresh_index s"] = time.perf_counter() - t0
    out["after index MiB"] = rss_mib()
    out["indexed"] = written
    out["index capacity"] = engine.indexes.mf.capacity
    return out


def child_users(args: argparse.Namespace) -> dict[str, Any]:
    import random

    from schemas import Interaction

    engine = new_engine()
    load_items(engine, args.items)
    engine.refresh_index()
    engine.indexes.wait()
    out: dict[str, Any] = {"before MiB": rss_mib()}
    rng = random.Random(3)
    t0 = time.perf_counter()
    for u in range(args.users):
        item = f"item-{rng.randrange(args.items):07d}"
        engine.process(Interaction(f"e-{u:07d}", f"user-{u:07d}", item, "like", timestamp=1_700_000_000.0 + u))
    out["process s"] = time.perf_counter() - t0
    out["after users MiB"] = rss_mib()
    out["users"] = len(engine.users)
    out["users dict deep MiB"] = deep_size(engine.users.mapping) / 2**20
    sizes = sorted(len(engine.users.mapping[user_id]) for user_id in engine.users)
    out["state json bytes p50"] = sizes[len(sizes) // 2]
    out["state json bytes max"] = sizes[-1]
    sample = engine.users.load("user-0000000").to_dict()
    out["state json compact bytes"] = len(json.dumps(sample, separators=(",", ":")).encode())
    out["example state"] = sample

    # One user's hot record as its history grows: every event rewrites it (a log chunk every few events).
    growth = {}
    kinds = ["view", "click", "like", "view", "purchase"]
    for e in range(1, 1001):
        item = f"item-{rng.randrange(args.items):07d}"
        event = Interaction(f"h-{e:07d}", "heavy-user", item, kinds[e % 5], timestamp=1_800_000_000.0 + e)
        engine.process(event)
        if e in (1, 10, 50, 100, 1000):
            growth[e] = len(engine.users.mapping["heavy-user"])
    out["state json bytes by events"] = growth
    return out


CHILDREN = {"baseline": child_baseline, "items": child_items, "users": child_users}


# ------------------------------------------------------------------------------ parent


def run_child(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--items", str(args.items), "--users", str(args.users)]
    print(f"[{time.strftime('%H:%M:%S')}] {kind} ...", file=sys.stderr, flush=True)
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=PER)
    parser.add_argument("--users", type=int, default=PER)
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(CHILDREN[args.child](args)))
        return

    base = run_child("baseline", args)
    items = run_child("items", args)
    users = run_child("users", args)
    n_items, n_users = args.items, args.users
    catalogue = items["after catalogue MiB"] - items["before MiB"]
    index = items["after index MiB"] - items["after catalogue MiB"]
    user_delta = users["after users MiB"] - users["before MiB"]

    def per100k(mib: float, n: int) -> str:
        return f"{mib * PER / n:8.1f}"

    print(f"Engine(Settings()) (auto index backend), {n_items:,} items, {n_users:,} users; RSS from VmRSS, MiB")
    print(f"{'measurement (own subprocess each)':<60} {'RSS MiB':>8} {'per 100k':>8}")
    print(f"{'bare interpreter':<60} {base['python MiB']:8.1f}")
    print(f"{'after import + empty Engine (baseline)':<60} {base['after import + empty Engine MiB']:8.1f}")
    print(f"{'items: catalogue records (apply_item)':<60} {catalogue:8.1f} {per100k(catalogue, n_items)}")
    print(f"{'items: vectors + indexes (refresh_index)':<60} {index:8.1f} {per100k(index, n_items)}")
    print(f"{'items: total':<60} {catalogue + index:8.1f} {per100k(catalogue + index, n_items)}")
    print(f"{'users: state in engine.users after 1 like each':<60} {user_delta:8.1f} {per100k(user_delta, n_users)}")
    deep = users["users dict deep MiB"]
    print(f"{'users: deep getsizeof of the user table (cross-check)':<60} {deep:8.1f} {per100k(deep, n_users)}")
    print(f"{'whole engine with items and users':<60} {users['after users MiB']:8.1f}")
    print()
    print(
        f"MF index capacity {items['index capacity']:,} for {items['indexed']:,} vectors (doubling from 1,024); "
        f"catalogue {items['catalogue s']:.1f} s, refresh_index {items['refresh_index s']:.1f} s, "
        f"{n_users:,} process() calls {users['process s']:.1f} s"
    )
    print(
        f"user hot record (what the worker writes per event to its RocksDB table and changelog): "
        f"p50 {users['state json bytes p50']:,} B, max {users['state json bytes max']:,} B after 1 event "
        f"(the state as a JSON document, UserState.to_dict(): {users['state json compact bytes']:,} B)"
    )
    growth = ", ".join(f"{e} events {b:,} B" for e, b in users["state json bytes by events"].items())
    print(f"one user's hot record as the history grows (rewritten on every event): {growth}")
    print("example state after 1 event:", json.dumps(users["example state"])[:400], "...")
    print(
        "note: in the worker, user state lives in a Faust table on RocksDB (disk plus RocksDB caches), "
        "not in this process's heap; the users figure is the in-process dict store."
    )


if __name__ == "__main__":
    main()
