"""In-process engine throughput: events per second with a recommendation per event.

    .venv/bin/python benchmarks/engine_inprocess.py [--items 10000,100000] [--users 5000] [--events 20000]
        [--backends hnsw,brute] [--variant NAME:SETTING=VALUE[;SETTING=VALUE]]...

Prints events/s and per-event latency p50/p99 (apply + index refresh + recommend), for the
hnsw and brute-force index back-ends in the same run, so their ratio is comparable on a
noisy machine; each ``--variant`` adds a run with those settings changed (on the first
back-end), e.g. ``--variant learned:scorer=learned``. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings


def run(settings: Settings, items: int, users: int, events: int, warmup: int) -> dict[str, float]:
    world = SyntheticWorld(users=users, items=items, clusters=20, seed=1)
    engine = Engine(settings)
    for item in world.catalogue():
        engine.apply_item(item)
    engine.refresh_index()
    engine.indexes.wait()  # the auto backend's hnswlib graph, if it is being built
    stream = list(world.interactions(warmup + events))
    for event in stream[:warmup]:
        engine.apply(event)
        engine.maybe_refresh()
    latencies = []
    started = time.perf_counter()
    for event in stream[warmup:]:
        t0 = time.perf_counter()
        engine.process(event)
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    lat = np.array(latencies) * 1000
    return {
        "events/s": events / elapsed,
        "p50 ms": float(np.percentile(lat, 50)),
        "p99 ms": float(np.percentile(lat, 99)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", default="10000,100000", help="catalogue sizes, comma-separated")
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--warmup", type=int, default=20_000)
    parser.add_argument("--backends", default="hnsw,brute", help="index back-ends, comma-separated")
    parser.add_argument("--variant", action="append", default=[], help="NAME:SETTING=VALUE[;SETTING=VALUE]")
    args = parser.parse_args()
    print(f"users={args.users} events={args.events} (after {args.warmup} warm-up)")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    runs = [(backend, Settings(ann_backend=backend)) for backend in backends]
    for spec in args.variant:
        name, _, pairs = spec.partition(":")
        env = {"RECSYS_ANN_BACKEND": backends[0]}
        for pair in filter(None, pairs.split(";")):
            key, _, value = pair.partition("=")
            env[f"RECSYS_{key.strip().upper()}"] = value.strip()
        runs.append((name, Settings.from_env(env)))
    for items in (int(n) for n in args.items.split(",")):
        for label, settings in runs:
            r = run(settings, items, args.users, args.events, args.warmup)
            print(
                f"items={items:<7d} {label:8s} {r['events/s']:8.0f} events/s   "
                f"p50 {r['p50 ms']:6.2f} ms   p99 {r['p99 ms']:6.2f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
