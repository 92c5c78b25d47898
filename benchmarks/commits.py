"""Steady commits under load: how far the committed input offsets trail the log while events stream in.

    .venv/bin/python benchmarks/commits.py [--rate 150] [--seconds 60] [--items 2000]

Needs a broker on RECSYS_BROKER_URL (``python deploy/kafka.py start``). Starts one recsys worker on
fresh topics (``benchmarks/e2e_broker.py``'s ``Run``), warms it up, then produces ``--rate``
interactions a second for ``--seconds``. Every half second a sampler reads, outside the worker,
the group's committed offsets of ``interactions`` (all partitions, summed) against the log's end
offsets, and the worker's ``/ready/``. It prints:

* the longest time the committed offsets stood still while messages waited uncommitted (a crash
  at that moment redelivers everything since);
* the most messages uncommitted at once, and the share of samples in which ``/ready/`` said ready;
* after producing stops, how long until every message is committed;
* how often the worker logged faust's "Timer commit is overlapping".

Prints figures only; nothing here is a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.e2e_broker import Run  # noqa: E402
from recsys.datasets.synthetic import SyntheticWorld  # noqa: E402
from streams.kafka_io import make_consumer  # noqa: E402


class Sampler(threading.Thread):
    """Every ``every`` seconds: (time, committed, end, ready) of the worker's group on ``interactions``."""

    def __init__(self, run: Run, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        s = run.settings
        self.port, self.every, self.topic = run.ports[0], every, s.topic_interactions
        self.consumer: Consumer = make_consumer(s, group_id=s.app_id)  # never subscribes: reads the group's commits
        self.partitions = [TopicPartition(self.topic, p) for p in range(s.partitions)]
        self.samples: list[tuple[float, int, int, bool]] = []
        self.stopped = threading.Event()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready/", timeout=2) as reply:
                return bool(reply.status == 200)
        except (OSError, urllib.error.HTTPError):
            return False

    def sample(self) -> tuple[float, int, int, bool]:
        committed = sum(max(tp.offset, 0) for tp in self.consumer.committed(self.partitions, timeout=10))
        end = sum(self.consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in self.partitions)
        return time.time(), committed, end, self.ready()

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append(self.sample())
            self.stopped.wait(self.every)

    def summary(self, start: float, stop: float) -> dict[str, float]:
        """Over the samples from ``start`` to ``stop`` (the producing phase)."""
        phase = [s for s in self.samples if start <= s[0] <= stop]
        longest, since, last = 0.0, phase[0][0], phase[0][1]
        for at, committed, end, _ in phase:
            if committed != last or committed >= end:
                since, last = at, committed
            longest = max(longest, at - since)
        return {
            "stood_still_max_s": longest,
            "uncommitted_max": max(end - committed for _, committed, end, _ in phase),
            "ready_share": sum(ready for *_, ready in phase) / len(phase),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--users", type=int, default=2_000)
    args = parser.parse_args()
    world = SyntheticWorld(users=args.users, items=args.items, clusters=20, seed=5)
    with tempfile.TemporaryDirectory() as tmp:
        run = Run("recsys", world, Path(tmp), {})
        try:
            warm = list(world.interactions(200))
            run.send(warm, 0)
            run.wait_for([e.event_id for e in warm], 180, len(warm))
            sampler = Sampler(run)
            sampler.start()
            start = time.time()
            run.send(list(world.interactions(int(args.rate * args.seconds))), args.rate)
            stop = time.time()
            while time.time() - stop < 300:
                _, committed, end, _ = sampler.samples[-1]
                if committed >= end and sampler.samples[-1][0] > stop:
                    break
                time.sleep(0.5)
            caught_up = sampler.samples[-1][0] - stop
            sampler.stopped.set()
            sampler.join()
            figures = sampler.summary(start, stop)
        finally:
            run.stop()
        overlapping = Path(run.log.name).read_text(errors="replace").count("Timer commit is overlapping")
    print(f"{args.rate:.0f} events/s for {args.seconds:.0f} s, one worker, {args.items} items")
    print(f"  committed offsets stood still with messages waiting: at most {figures['stood_still_max_s']:.1f} s")
    print(f"  messages uncommitted at once: at most {figures['uncommitted_max']}")
    print(f"  /ready/ said ready in {figures['ready_share']:.0%} of the samples")
    print(f"  every message committed {caught_up:.1f} s after producing stopped")
    print(f"  'Timer commit is overlapping' logged {overlapping} times")


if __name__ == "__main__":
    main()
