"""What each stage of ``Engine.process`` costs per event, without a profiler's overhead.

    .venv/bin/python -m benchmarks.stage_costs [--items 10000] [--events 3000] [--warmup 5000]
        [--set SETTING=VALUE ...]

Builds the synthetic world of ``benchmarks/engine_inprocess.py``, applies the warm-up events,
then times ``Engine.process`` on the measured events with a ``perf_counter`` pair around each
stage's method (a sampling profiler adds its own cost to every small call, which is what this
engine is made of). Prints microseconds per event for each stage, indented under the stage
that calls it, and the events per second of the whole. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import functools
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from recsys import apply, engine, explain, indexing, ranking
from recsys.ann import hnsw
from recsys.candidates import GENERATORS
from recsys.datasets.synthetic import SyntheticWorld
from recsys.items import towers
from recsys.scoring import blend, learned
from recsys.settings import Settings
from recsys.users import store

spent: Counter[str] = Counter()
calls: Counter[str] = Counter()


def timed(owner: Any, name: str, label: str) -> None:
    """Replace ``owner.name`` by a wrapper that adds its time under ``label``."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - started
            calls[label] += 1

    setattr(owner, name, wrapper)


# (owner, method, label, depth): the stages, each under the one above it with a smaller depth
STAGES: list[tuple[Any, str, str, int]] = [
    (engine.Engine, "process", "process", 0),
    (apply.Applier, "learn", "learn", 1),
    (apply.Applier, "_learn_mf", "MF steps (BPR, two-tower, negatives)", 2),
    (apply.Applier, "_learn_towers", "two-tower step", 3),
    (store.UserStore, "save", "user records: save", 1),
    (indexing.Indexes, "maybe_refresh", "index refresh", 1),
    (towers.TowerEmbeddings, "refresh", "re-embed tower rows", 2),
    (hnsw.HnswIndex, "upsert", "hnswlib writes", 2),
    (ranking.Ranker, "request", "request", 1),
    (ranking.Ranker, "rank", "rank", 1),
    (None, "", "generate", 2),  # the sum of the generators below, filled in by main()
    (ranking, "merge", "merge", 2),
    (ranking.Ranker, "_scored", "score (features, product, sort)", 2),
    (learned.LearnedScorer, "features", "features", 3),
    (blend.Evidence, "gather", "evidence (signals, ranks)", 4),
    (learned.LearnedScorer, "_genre_affinity", "genre affinity", 4),
    (ranking.Ranker, "explain", "explain", 1),
    (explain.Explainer, "explain", "reasons", 2),
    (engine.Engine, "_show", "show (last list, exposure)", 1),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=3_000)
    parser.add_argument("--warmup", type=int, default=5_000)
    parser.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE")
    args = parser.parse_args()
    env = {f"RECSYS_{k.strip().upper()}": v.strip() for k, _, v in (p.partition("=") for p in args.set)}
    at = next(i for i, stage in enumerate(STAGES) if stage[2] == "generate") + 1
    generators = [(cls, "generate", f"generate: {name}", 3) for name, cls in GENERATORS.items()]
    stages = [*STAGES[:at], *generators, *STAGES[at:]]
    the_engine = engine.Engine(Settings.from_env(env))
    world = SyntheticWorld(users=args.users, items=args.items, clusters=20, seed=1)
    for item in world.catalogue():
        the_engine.apply_item(item)
    the_engine.refresh_index()
    the_engine.indexes.wait()
    stream = list(world.interactions(args.warmup + args.events))
    for event in stream[: args.warmup]:
        the_engine.apply(event)
        the_engine.maybe_refresh()
    for owner, name, label, _ in stages:
        if owner is not None:
            timed(owner, name, label)
    started = time.perf_counter()
    for event in stream[args.warmup :]:
        the_engine.process(event)
    elapsed = time.perf_counter() - started
    n = args.events
    print(f"items={args.items} events={n}: {n / elapsed:.0f} events/s, {elapsed / n * 1e6:.0f} us an event (timers on)")
    generated = sum(v for k, v in spent.items() if k.startswith("generate: "))
    spent["generate"], calls["generate"] = generated, calls["rank"]
    for _, _, label, depth in stages:
        if label in spent:
            share = 100 * spent[label] / elapsed
            print(f"{'  ' * depth}{label:<{44 - 2 * depth}} {spent[label] / n * 1e6:8.1f} us {share:5.1f}%"
                  f"  ({calls[label] / n:.2f} calls an event)")  # fmt: skip


if __name__ == "__main__":
    main()
