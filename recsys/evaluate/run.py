"""``recsys evaluate``: replay a dataset through the default engine and every baseline.

Writes ``results.json`` (``{"models": {NAME: {"hr@10", "ndcg@10", "mrr@10", "coverage",
"ild@10", "novelty@10", "gini@10", "item_gini@10", "events", "seconds", ...}}}`` with
``default`` for the product's default configuration), a PNG of HR@10 over the stream beside
it, and prints a table. No Kafka involved. The beyond-accuracy measures are defined in
``recsys.evaluate.beyond``; an undefined one is ``null``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from recsys.candidates import GENERATORS
from recsys.evaluate.baselines import all_baselines
from recsys.evaluate.protocol import EngineRecommender, Event, Positives, Recommender
from recsys.evaluate.replay import replay, time_split
from recsys.evaluate.workers import WorkersRecommender
from recsys.settings import Settings

FORMATS = ("movielens-latest", "movielens-100k", "jsonl", "synthetic")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="dataset folder or file (not needed for synthetic)")
    parser.add_argument("--format", choices=FORMATS, default="synthetic", dest="fmt")
    parser.add_argument("--out", type=Path, default=Path("results.json"), help="results file (PNG beside it)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--positives", default="all", help="all, or a minimum rating such as 4")
    parser.add_argument("--limit", type=int, default=0, help="replay only the first N events (0: all)")
    parser.add_argument("--events", type=int, default=30000, help="interactions of the synthetic stream")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="", help="comma-separated subset of model names to run")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="override a setting of the default engine, e.g. --set factors=64 (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--variant", action="append", default=[], metavar="NAME:SETTING=VALUE[;SETTING=VALUE]",
        help="also run the default engine with these settings changed, named NAME, e.g. "
        "--variant 'mmr:mmr_lambda=0.7;mmr_space=genres' (repeatable; a policy's cost beside the default)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=1,
        help="replay the engine's models as N workers of one consumer group: users split by partition "
        "(RECSYS_PARTITIONS), items and rules to every worker (recsys.evaluate.workers)",
    )  # fmt: skip
    parser.add_argument(
        "--independent", action="store_true",
        help="with --workers: each worker learns the item side from its own users only (RECSYS_SHARE_ITEMS=false); "
        "by default each interaction's item-side learning reaches every other worker, as the workers share it",
    )  # fmt: skip
    parser.add_argument("--share-delay", type=int, default=0, help="with --workers: interactions before a "
                        "worker's item update reaches the other workers")  # fmt: skip
    parser.add_argument(
        "--split", choices=("prequential", "time"), default="prequential",
        help="prequential: test then train on every interaction; time: train on the interactions before the "
        "time that --train-share of them precede, then test then train on the rest",
    )  # fmt: skip
    parser.add_argument("--train-share", type=float, default=0.8, help="with --split time: the share of "
                        "interactions, first in time, that only train")  # fmt: skip
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--no-plot", action="store_true")


def load_events(fmt: str, data: Path | None, events: int, seed: int) -> Iterator[Event]:
    """The events of a dataset in time order."""
    from recsys import datasets

    if fmt == "synthetic":
        return datasets.SyntheticWorld.benchmark(seed=seed).stream(events)
    if data is None:
        raise SystemExit(f"--data is required for --format {fmt}")
    loaders = {
        "movielens-latest": datasets.load_movielens_latest,
        "movielens-100k": datasets.load_movielens_100k,
        "jsonl": datasets.load_jsonl,
    }
    return iter(loaders[fmt](data))


def build_models(settings: Settings, seed: int, only: str = "") -> list[Recommender]:
    """The product's default, the MF generator alone, and every baseline; ``only`` picks a
    subset by name and may also name ``only-<generator>``: one generator ranked by its own
    signal (popular fills in for cold users), measured alone."""
    models: list[Recommender] = [
        EngineRecommender(settings, "default"),
        # the matrix-factorisation generator alone: MF retrieval, MF score (popular only for cold users)
        EngineRecommender(settings.replace(generators="mf,popular", scorer="mf"), "mf"),
        # the same with River's BiasedMF (pointwise squared loss) in place of BPR, for comparison
        EngineRecommender(
            settings.replace(generators="mf,popular", scorer="mf", mf_loss="squared", negatives=4), "mf-squared"
        ),
        *all_baselines(seed),
    ]
    on_request = {
        "blend": EngineRecommender(settings.replace(scorer="blend"), "blend"),  # the default's fallback alone
        **{
            f"only-{name}": EngineRecommender(
                settings.replace(
                    generators=f"{name},popular", scorer="blend", blend_weights={name: 1.0, "popular": 0.001}
                ),
                f"only-{name}",
            )
            for name in GENERATORS
            if name != "popular"
        },
    }
    if only:
        wanted = {name.strip() for name in only.split(",") if name.strip()}
        known = [m.name for m in models] + list(on_request)
        unknown = wanted - set(known)
        if unknown:
            raise SystemExit(f"unknown model(s) {sorted(unknown)}; known: {known}")
        models = [m for m in models if m.name in wanted] + [m for n, m in on_request.items() if n in wanted]
    return models


def engine_settings(overrides: Sequence[str], seed: int, positives: Positives) -> Settings:
    """The product's defaults, seeded, with what counts as a positive rating matched to the
    protocol's (every rating, or ratings from the threshold up), then ``--set`` overrides."""
    neutral = 0.0 if positives.min_rating is None else positives.min_rating - 0.5
    env = {"RECSYS_SEED": str(seed), "RECSYS_RATING_NEUTRAL": str(neutral)}
    for pair in overrides:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--set takes NAME=VALUE, got {pair!r}")
        env["RECSYS_" + name.strip().upper()] = value.strip()
    return Settings.from_env(env)


def run(args: argparse.Namespace) -> dict[str, Any]:
    positives = Positives(None if args.positives == "all" else float(args.positives))
    settings = engine_settings(args.set, args.seed, positives)
    events: Iterator[Event] = load_events(args.fmt, args.data, args.events, args.seed)
    if args.limit:
        events = islice(events, args.limit)
    test_from = None
    if args.split == "time":
        stream = list(events)
        test_from = time_split(stream, args.train_share)
        events = iter(stream)
    models = build_models(settings, args.seed, args.models)
    for spec in args.variant:
        name, sep, pairs = spec.partition(":")
        if not sep or not name.strip():
            raise SystemExit(f"--variant takes NAME:SETTING=VALUE[;SETTING=VALUE], got {spec!r}")
        changed = engine_settings([*args.set, *filter(None, (p.strip() for p in pairs.split(";")))], args.seed,
                                  positives)  # fmt: skip
        models.append(EngineRecommender(changed, name.strip()))
    if args.workers != 1:
        models = [WorkersRecommender(m.engine.settings, m.name, args.workers,
                                     share_items=m.engine.settings.share_items and not args.independent,
                                     delay=args.share_delay) if isinstance(m, EngineRecommender)
                  else m for m in models]  # fmt: skip
    progress = None
    if not args.no_progress:
        from tqdm import tqdm

        progress = tqdm(unit=" events", file=sys.stderr, mininterval=1.0)
    try:
        report = replay(events, models, k=args.k, positives=positives, progress=progress, test_from=test_from)
    finally:
        if progress is not None:
            progress.close()
    report.update({"dataset": str(args.data or "synthetic"), "format": args.fmt, "seed": args.seed,
                   "workers": args.workers, "independent": args.independent, "share_delay": args.share_delay,
                   "settings": {p.split("=")[0]: p.split("=", 1)[1] for p in args.set}})  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    if not args.no_plot:
        plot(report, args.out.with_suffix(".png"))
    print(table(report))
    return report


def table(report: dict[str, Any]) -> str:
    k = report["k"]
    cols = [f"hr@{k}", f"ndcg@{k}", f"mrr@{k}", "coverage", f"ild@{k}", f"novelty@{k}", f"gini@{k}",
            f"item_gini@{k}", "new_item_reach", "cold_fallback_share", "ms_per_event"]  # fmt: skip
    extra = sorted({c for m in report["models"].values() for c in m if c.startswith(f"hr@{k}[")})
    head = f"{'model':18s}" + "".join(f"{c:>22s}" for c in cols + extra)
    split = "" if report.get("test_from") is None else f", tested from t={report['test_from']:.0f} (time split)"
    lines = [f"{report['events']} events, {report['catalogue']} items, positives: {report['positives']}{split}", head]
    for name, m in report["models"].items():
        cells = [m.get(c) for c in cols + extra]
        lines.append(f"{name:18s}" + "".join(f"{float('nan') if v is None else v:>22.4f}" for v in cells))
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = report["k"]
    fig, ax = plt.subplots(figsize=(9, 5))
    for name, m in report["models"].items():
        points = m.get(f"hr@{k}_over_time") or []
        if points:
            ax.plot([p[0] for p in points], [p[1] for p in points], label=name, linewidth=2 if name == "default" else 1)
    ax.set_xlabel("tested interactions")
    ax.set_ylabel(f"HR@{k} per window")
    ax.set_title(f"Prequential HR@{k}: {report.get('dataset', '')} ({report['positives']})")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="recsys evaluate", description=__doc__)
    add_arguments(parser)
    run(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
