"""The learned scorer's position-bias corrections, measured in the closed loop: true relevance of
what each shows, in a world with strong position bias.

    .venv/bin/python -m benchmarks.position_bias [--seeds 8] [--examine 0.5] [--modes none,ipw,feature]

For each seed, one :class:`recsys.simulate.Simulation` per ``RECSYS_LEARNED_DEBIAS`` mode, all
else equal (the same world, warm-up and users' dice): users examine position ``p`` with
probability ``examine ** (p - 1)`` (0.5: position 4 is looked at one time in eight), and a
relevant item's chance of a click is scaled by its quality (spread by ``--quality``), so what a
list holds and in which order matters. Prints, per seed and mode, the truth of the lists shown:
the expected clicks (the chance of a click on the list under the users' true model) and the true
precision (the share of listed items of the user's planted cluster), and the click rate; then
each mode's means and its paired difference from ``none`` with a 95% interval over seeds (t,
n - 1 degrees of freedom). Nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import statistics

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings
from recsys.simulate import Simulation

T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23, 15: 2.13, 20: 2.09}


def one(mode: str, seed: int, args: argparse.Namespace) -> dict[str, float]:
    world = SyntheticWorld(users=args.users, items=args.items, clusters=args.clusters, seed=seed)
    # refresh the index at every changed vector: a seed's run does not depend on the machine's load
    engine = Engine(Settings(ann_backend="brute", index_refresh_seconds=0.0, learned_debias=mode, seed=seed))
    sim = Simulation(world, engine, examine=args.examine, quality=args.quality, seed=seed)
    sim.warm_up(args.warmup)
    truth = sim.run(args.steps)[""]
    return {k: truth[k] for k in ("precision", "expected_clicks", "click_rate")}


def interval(diffs: list[float]) -> tuple[float, float, float]:
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return mean, float("nan"), float("nan")
    t = T95.get(len(diffs) - 1, 2.0)
    half = t * statistics.stdev(diffs) / len(diffs) ** 0.5
    return mean, mean - half, mean + half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--modes", default="none,ipw,feature")
    parser.add_argument("--examine", type=float, default=0.5)
    parser.add_argument("--quality", type=float, default=0.8, help="spread of the items' quality (recsys.simulate)")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--clusters", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1500)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    modes = args.modes.split(",")
    results: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    for seed in range(1, args.seeds + 1):
        for mode in modes:
            r = one(mode, seed, args)
            results[mode].append(r)
            print(f"seed {seed:3d}  {mode:8s} expected clicks {r['expected_clicks']:.4f}  true precision "
                  f"{r['precision']:.4f}  click rate {r['click_rate']:.4f}", flush=True)  # fmt: skip
    print(f"\n{args.seeds} seeds, examine {args.examine} ** (p - 1), quality spread {args.quality}, "
          f"{args.users} users, {args.items} items, {args.clusters} clusters, {args.warmup} warm-up events, "
          f"{args.steps} answers")
    print(f"{'mode':8s} {'expected':>8s} {'precision':>9s} {'clicks':>7s}  difference from {modes[0]} [95% interval]: "
          "expected clicks; precision")  # fmt: skip
    for mode in modes:
        mean = {k: statistics.fmean(r[k] for r in results[mode]) for k in ("expected_clicks", "precision",
                                                                             "click_rate")}  # fmt: skip
        line = f"{mode:8s} {mean['expected_clicks']:8.4f} {mean['precision']:9.4f} {mean['click_rate']:7.4f}"
        if mode != modes[0]:
            parts = []
            for key in ("expected_clicks", "precision"):
                pairs = zip(results[mode], results[modes[0]], strict=True)
                d, low, high = interval([a[key] - b[key] for a, b in pairs])
                parts.append(f"{d:+.4f} [{low:+.4f}, {high:+.4f}]")
            line += "  " + "; ".join(parts)
        print(line)


if __name__ == "__main__":
    main()
