"""A/A and A/B tests against a running worker through the broker, repeated: how often each is
called significant by the worker's own report.

    .venv/bin/python -m benchmarks.ab_live [--aa 20] [--ab 10] [--steps 2500]

Needs a broker on RECSYS_BROKER_URL (``python deploy/kafka.py start``). Each run starts a fresh
worker (topics of its own) and a fresh world of its own seed, warms the worker up with the world's
own interactions, then runs one experiment with :class:`streams.simulate_live.LiveLoop`: ``--aa``
A/A tests (two identical variants: a 95% interval should exclude zero in about 5% of them) and
``--ab`` A/B tests of the default against most-popular only (known worse). (One worker for all
runs would not do: its users run out of unseen items of their taste, and lists of nothing
relevant compare nothing.) Prints each run's difference in hit rate with its interval and the
true precision of both variants. Nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.e2e_broker import ROOT, _env
from recsys.datasets.synthetic import SyntheticWorld
from recsys.experiments import report
from recsys.settings import Settings
from recsys.simulate import Simulation
from streams.simulate_live import LiveLoop

WORSE = {"generators": "popular", "scorer": "blend"}


def one(name: str, second: dict[str, Any], seed: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One run on a fresh worker: warm-up, the experiment, the answers; the second variant's report row."""
    tag = f"ablive-{uuid.uuid4().hex[:6]}"
    env = _env(tag, workdir / tag)
    settings = Settings.from_env({k: v for k, v in env.items() if k.startswith("RECSYS_")})
    log = open(workdir / f"{tag}.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "streams.worker"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)  # fmt: skip
    world = SyntheticWorld(users=args.users, items=args.items, clusters=6, seed=seed)
    loop = LiveLoop(settings, Simulation(world, None, seed=seed), f"http://127.0.0.1:{settings.web_port}")
    try:
        loop.open()
        loop.warm_up(args.warmup)
        loop.experiment({"name": name, "variants": [{"name": "control"}, {"name": "b", "settings": second}]})
        truth = loop.run(args.steps)
        time.sleep(2.0)  # the last answers reach the worker's counts
        rows = {r["variant"]: r for r in report(loop.page("/experiments/")["variants"], "control")}
    finally:
        loop.close()
        worker.terminate()
        worker.wait(60)
        log.close()
    return {**rows["b"], "precision": (truth["control"]["precision"], truth["b"]["precision"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aa", type=int, default=20)
    parser.add_argument("--ab", type=int, default=10)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=2500)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ab-live-"))
    started = time.monotonic()
    for label, count, second in (("A/A", args.aa, {}), ("A/B popular", args.ab, WORSE)):
        found = 0
        for seed in range(1, count + 1):
            t0 = time.monotonic()
            r = one(f"{label.split()[0].replace('/', '').lower()}-{seed}", second, seed, args, workdir)
            found += r["significant"]
            low, high = r["diff_ci"]
            print(f"{label:12s} seed {seed:3d}  diff {r['diff']:+.4f} [{low:+.4f}, {high:+.4f}]"
                  f"{'  significant' if r['significant'] else ''}  true precision control "
                  f"{r['precision'][0]:.3f} b {r['precision'][1]:.3f}  ({time.monotonic() - t0:.0f} s)",
                  flush=True)  # fmt: skip
        print(f"{label}: significant in {found} of {count} runs", flush=True)
    print(f"{time.monotonic() - started:.0f} s in all; worker logs in {workdir}")


if __name__ == "__main__":
    main()
