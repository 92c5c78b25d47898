"""A/B and A/A tests in the closed loop, repeated over seeds: how often each is called significant.

    .venv/bin/python -m benchmarks.ab_loop [--seeds 20] [--users 200] [--items 300] [--steps 2500]

Runs :class:`recsys.simulate.Simulation` once per seed for an A/A pair (two identical variants:
a 95% interval should exclude zero in about 5% of seeds) and for an A/B pair where the second
variant is known to be worse (most popular items only: it should be found in nearly every
seed). Prints each seed's difference in hit rate with its interval, and the rates. Nothing here
asserts anything.
"""

from __future__ import annotations

import argparse
from typing import Any

from recsys.simulate import ab_test

PAIRS: dict[str, dict[str, Any]] = {"A/A": {}, "A/B popular": {"generators": "popular", "scorer": "blend"}}


def one(second: dict[str, Any], seed: int, users: int, items: int, steps: int) -> dict[str, Any]:
    truth, rows = ab_test(second, seed=seed, users=users, items=items, steps=steps)
    return {**rows["b"], "precision": (truth["control"]["precision"], truth["b"]["precision"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--steps", type=int, default=2500)
    args = parser.parse_args()
    for name, second in PAIRS.items():
        found = 0
        for seed in range(1, args.seeds + 1):
            r = one(second, seed, args.users, args.items, args.steps)
            found += r["significant"]
            low, high = r["diff_ci"]
            print(f"{name:12s} seed {seed:3d}  diff {r['diff']:+.4f} [{low:+.4f}, {high:+.4f}]"
                  f"{'  significant' if r['significant'] else ''}  true precision {r['precision'][0]:.3f} / "
                  f"{r['precision'][1]:.3f}", flush=True)  # fmt: skip
        print(f"{name}: significant in {found} of {args.seeds} seeds ({found / args.seeds:.0%})", flush=True)


if __name__ == "__main__":
    main()
