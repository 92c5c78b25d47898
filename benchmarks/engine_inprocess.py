"""In-process engine throughput: events per second with a recommendation per event.

    .venv/bin/python benchmarks/engine_inprocess.py [--items 10000,100000] [--users 5000] [--events 20000]

Prints events/s and per-event latency p50/p99 (apply + index refresh + recommend), for the
hnsw and brute-force index back-ends in the same run, so their ratio is comparable on a
noisy machine. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings


def run(backend: str, items: int, users: int, events: int, warmup: int) -> dict[str, float]:
    world = SyntheticWorld(users=users, items=items, clusters=20, seed=1)
    engine = Engine(Settings(ann_backend=backend))
    for item in world.catalogue():
        engine.apply_item(item)
    engine.refresh_index()
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
    args = parser.parse_args()
    print(f"users={args.users} events={args.events} (after {args.warmup} warm-up)")
    for items in (int(n) for n in args.items.split(",")):
        for backend in ("hnsw", "brute"):
            r = run(backend, items, args.users, args.events, args.warmup)
            print(
                f"items={items:<7d} {backend:6s} {r['events/s']:8.0f} events/s   "
                f"p50 {r['p50 ms']:6.2f} ms   p99 {r['p99 ms']:6.2f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
