"""Speed of one online MF learning step (BPR, 32 negatives), to compare implementations side by side.

    .venv/bin/python -m benchmarks.mf_step [--items 10000] [--steps 20000] [--negatives 32]

Times ``OnlineBPR.learn`` on a synthetic stream of (user, item, negatives) drawn from a seeded
generator, and prints steps per second and the mean user-vector norm at the end (a check that
the implementations learn alike). It runs against whichever ``recsys`` is imported, so the same
script measures two commits: run it from a checkout of each, one after the other. It takes the
model's id-based ``learn`` (before the row space) or its row-based one, whichever it has.
"""

from __future__ import annotations

import argparse
import inspect
import random
import time

import numpy as np

from recsys.models.bpr import OnlineBPR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--negatives", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ids = [f"i{n}" for n in range(args.items)]
    rng = np.random.default_rng(0)
    stream = [(int(rng.integers(args.users)), int(rng.integers(args.items)),
               rng.choice(args.items, args.negatives, replace=False)) for _ in range(args.steps)]  # fmt: skip
    by_rows = "rows" in inspect.signature(OnlineBPR).parameters
    for _ in range(args.rounds):
        model = OnlineBPR(factors=32, seed=1)
        user_rng = random.Random(0)
        users = [model.new_user(user_rng) for _ in range(args.users)]
        if by_rows:
            model.rows.rows(ids)
        started = time.perf_counter()
        for user, item, negatives in stream:
            if by_rows:
                users[user] = model.learn(users[user], item, 1.0, negatives)
            else:
                users[user] = model.learn(users[user], ids[item], 1.0, [ids[j] for j in negatives.tolist()])
        elapsed = time.perf_counter() - started
        norm = float(np.mean([np.linalg.norm(u.vector) for u in users]))
        print(f"{'rows' if by_rows else 'ids'}: {args.steps / elapsed:8.0f} steps/s   mean user norm {norm:.4f}",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
