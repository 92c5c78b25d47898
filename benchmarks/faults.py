"""The fault matrix, many times: what each fault costs in lost, doubled and dead-lettered events.

    .venv/bin/python benchmarks/faults.py [--scenarios kill-deleted,kill-kept,...] [--runs 20]
    .venv/bin/python benchmarks/faults.py --scenarios backlog --backlog 100000

Needs a broker on 127.0.0.1:9092 (``python deploy/kafka.py start``); the ``broker`` scenario starts
one of its own to stop and start. Each run is one :class:`tests.faults.harness.FaultRun` (one
worker, fresh topics, 24 users liking 12 items each, the fault half way) judged by its oracle.
``backlog`` produces ``--backlog`` events while no worker runs, then starts one and times how long
it takes to apply them. Prints a Markdown table, one row per run, and the totals.

Prints figures only; ``tests/faults/`` asserts the same on one run of each.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults.harness import FaultRun, Verdict, own_broker  # noqa: E402

KAFKA = "kafka://127.0.0.1:9092"


def one(scenario: str, folder: Path, backlog: int) -> Verdict:
    if scenario == "broker":
        with own_broker(folder) as (url, restart):
            run = FaultRun(url, folder)
            try:
                run.start()
                run.produce(run.stream(), fault=lambda: run.broker_restart(restart))
                return run.verdict()
            finally:
                run.close()
    if scenario == "backlog":
        users = max(24, backlog // 50)
        run = FaultRun(KAFKA, folder, items=60, users=users, rounds=min(50, -(-backlog // users)))
        try:
            run.produce(run.stream()[:backlog], batch=5000, pause=0.0)  # no worker yet: a backlog
            began = time.time()
            run.start()
            run.fault_ended = began
            verdict = run.verdict(timeout=3600)
            verdict.details = {"events_per_s": verdict.acknowledged / (time.time() - began)}
            return verdict
        finally:
            run.close()
    run = FaultRun(KAFKA, folder)
    try:
        run.start()
        events = run.stream()
        if scenario == "kill-kept":
            run.produce(events, fault=run.kill_and_restart)
        elif scenario == "kill-deleted":
            run.produce(events, fault=lambda: run.kill_and_restart(delete_data=True))
        elif scenario == "stop":
            run.produce(events, fault=run.stop_and_restart)
        elif scenario == "twice":
            run.produce([e for pair in zip(events, events, strict=True) for e in pair])
        else:
            raise SystemExit(f"unknown scenario {scenario!r}")
        return run.verdict()
    finally:
        run.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", default="kill-deleted",
                        help="comma-separated: kill-kept, kill-deleted, stop, twice, broker, backlog")  # fmt: skip
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--backlog", type=int, default=100_000)
    args = parser.parse_args()
    print("| scenario | produced | acknowledged | lost | applied twice | wrong lists | dead letters | recovery s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    totals: dict[str, list[int]] = {}
    for scenario in args.scenarios.split(","):
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                verdict = one(scenario, Path(tmp), args.backlog)
            print(verdict.row(scenario) + (f" {verdict.details}" if scenario == "backlog" else ""), flush=True)
            t = totals.setdefault(scenario, [0, 0, 0, 0, 0])
            counts = (1, verdict.acknowledged, verdict.lost, verdict.applied_twice, verdict.wrong_lists)
            for n, value in enumerate(counts):
                t[n] += value
    for scenario, (runs, acked, lost, twice, wrong) in totals.items():
        print(f"{scenario}: {runs} runs, {acked} acknowledged, {lost} lost, {twice} applied twice, {wrong} wrong lists")


if __name__ == "__main__":
    main()
