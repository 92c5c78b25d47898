"""Where the engine's time goes: a sampling profile (pyinstrument) of ``Engine.process`` in-process.

    .venv/bin/python -m benchmarks.profile_engine [--items 10000] [--events 2000] [--warmup 5000]
        [--set SETTING=VALUE ...] [--depth 14] [--min-share 0.02]

Builds the synthetic world of ``benchmarks/engine_inprocess.py`` (20 clusters, 5,000 users),
applies the warm-up events, then profiles ``Engine.process`` (apply, index refresh when due,
a ranked and explained list) for the measured events, and prints events per second (with the
profiler's overhead, so lower than ``engine_inprocess``) and the call tree down to ``--depth``
levels, hiding frames under ``--min-share`` of the time. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import time

from pyinstrument import Profiler

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=2_000)
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE")
    parser.add_argument("--depth", type=int, default=14)
    parser.add_argument("--min-share", type=float, default=0.02)
    args = parser.parse_args()
    env = {f"RECSYS_{k.strip().upper()}": v.strip() for k, _, v in (p.partition("=") for p in args.set)}
    engine = Engine(Settings.from_env(env))
    world = SyntheticWorld(users=args.users, items=args.items, clusters=20, seed=1)
    for item in world.catalogue():
        engine.apply_item(item)
    engine.refresh_index()
    engine.indexes.wait()  # the auto backend's hnswlib graph, if it is being built
    stream = list(world.interactions(args.warmup + args.events))
    for event in stream[: args.warmup]:
        engine.apply(event)
        engine.maybe_refresh()
    profiler = Profiler(interval=0.0005)
    profiler.start()
    started = time.perf_counter()
    for event in stream[args.warmup :]:
        engine.process(event)
    elapsed = time.perf_counter() - started
    profiler.stop()
    print(f"items={args.items} events={args.events}: {args.events / elapsed:.0f} events/s under the profiler")
    print(profiler.output_text(unicode=False, color=False, show_all=False, time="percent_of_total",
                               flat=False, processor_options={"filter_threshold": args.min_share}))  # fmt: skip


if __name__ == "__main__":
    main()
