"""WALS bootstrap vs the online model alone, measured on the same last part of a stream.

Both arms learn from the first ``--train`` share of the interactions (with the catalogue and
profiles before them): ``online`` through the engine event by event, ``wals`` the same way and
then a WALS fit over it installed into the online model (:func:`recsys.bootstrap.bootstrap`).
Then both are replayed prequentially (test, then learn) through the rest, and HR@k / NDCG@k
are printed for each, for the product's default configuration and for MF alone.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python -m benchmarks.wals_bootstrap \\
        --data ../shared/data/ml-latest-small --format movielens-latest
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from recsys.bootstrap import bootstrap
from recsys.evaluate.protocol import EngineRecommender, Event, Positives, Recommender
from recsys.evaluate.replay import replay
from recsys.evaluate.run import FORMATS, engine_settings, load_events
from schemas import Interaction

CONFIGS = {
    "default": {},
    "mf": {"generators": "mf,popular", "scorer": "mf"},
}


def split(events: list[Event], share: float) -> tuple[list[Event], list[Event]]:
    """Cut after ``share`` of the interactions; the records before the cut stay with the first part."""
    total = sum(isinstance(e, Interaction) for e in events)
    seen = 0
    for n, event in enumerate(events):
        if isinstance(event, Interaction):
            seen += 1
            if seen > share * total:
                return events[:n], events[n:]
    return events, []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path)
    parser.add_argument("--format", choices=FORMATS, default="synthetic", dest="fmt")
    parser.add_argument("--events", type=int, default=30000, help="interactions of the synthetic stream")
    parser.add_argument("--train", type=float, default=0.8, help="share of interactions learned before testing")
    parser.add_argument("--configs", default="default,mf", help=f"subset of {sorted(CONFIGS)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=10)
    args = parser.parse_args(argv)
    positives = Positives()
    base = engine_settings([], args.seed, positives)
    head, tail = split(list(load_events(args.fmt, args.data, args.events, args.seed)), args.train)
    models: list[Recommender] = []
    for config in args.configs.split(","):
        settings = base.replace(**CONFIGS[config])
        online, wals = EngineRecommender(settings, f"{config}-online"), EngineRecommender(settings, f"{config}-wals")
        started = time.perf_counter()
        for event in head:
            online.observe(event, True)
        print(f"{config}-online: learned {len(head)} events in {time.perf_counter() - started:.1f} s")
        summary = bootstrap(wals.engine, head)
        print(f"{config}-wals: {summary}")
        models += [online, wals]
    report = replay(tail, models, k=args.k, positives=positives)
    k = args.k
    print(f"tested on the last {len(tail)} events ({1 - args.train:.0%} of the interactions)")
    for name, m in report["models"].items():
        print(f"{name:16s} hr@{k} {m[f'hr@{k}']:.4f}  ndcg@{k} {m[f'ndcg@{k}']:.4f}  tests {m.get('tests', '')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
