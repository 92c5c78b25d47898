"""End to end through the real broker: event-to-recommendation latency and sustained throughput.

    .venv/bin/python benchmarks/e2e_broker.py [--events 20000] [--rate 200] [--items 2000]

Needs a broker on RECSYS_BROKER_URL (``python deploy/kafka.py start``). For each of two
workers — the recsys worker and a pass-through Faust agent (consume one, produce one: the
plumbing's own ceiling) — on fresh topics, it measures:

* fixed rate: ``--rate`` events/s for ``--events / 4`` events; latency from the moment an
  event is handed to the producer to the moment its output is read back, p50/p99;
* flat out: ``--events`` events produced as fast as possible; sustained events per second
  from the first event sent to the last output.

The recsys worker publishes a list only when it changed, so not every event has an output:
latency is measured over the events that had one (the share is printed), and a phase ends
when the worker's ``/stats`` says every event was applied and its last lists were read.
``--set NAME=VALUE`` changes a setting of the recsys worker (e.g. ``--set coalesce_ms=50``);
``--only recsys`` skips the pass-through; ``--workers 2`` runs the recsys phase with two workers
in one consumer group (each with its own data folder and web port; ``/stats`` summed), then
again with one, so the scale-out ratio comes from one invocation (``--workers 1,2``). With
several workers it also prints, per worker, how long the others' item updates took from being
learnt to being applied there (p50/p99 over the fixed-rate phase; ``/stats``). Each run prints
the workers' CPU time per event over the flat-out phase.

Both workers run in one invocation so their ratio is comparable on a noisy machine. Prints
figures only; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recsys.datasets.synthetic import SyntheticWorld  # noqa: E402
from recsys.settings import Settings  # noqa: E402
from schemas import encode  # noqa: E402
from streams.kafka_io import create_topics, make_consumer, make_producer, produce  # noqa: E402


def _env(tag: str, data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    env.update({
        "RECSYS_BROKER_URL": os.environ.get("RECSYS_BROKER_URL", "kafka://127.0.0.1:9092"),
        "RECSYS_APP_ID": f"bench-{tag}",
        # every topic its own (each topic_* setting), so runs never share one
        **{f"RECSYS_{name.upper()}": f"bench-{name.removeprefix('topic_').replace('_', '-')}-{tag}"
           for name in Settings.__struct_fields__ if name.startswith("topic_")},  # fmt: skip
        "RECSYS_DATA_DIR": str(data),
        "RECSYS_WEB_PORT": str(6100 + (hash(tag) % 800)),
        "RECSYS_LOG_LEVEL": "warning",
    })  # fmt: skip
    return env


class Run:
    def __init__(
        self, kind: str, world: SyntheticWorld, workdir: Path, extra: dict[str, str], workers: int = 1
    ) -> None:
        self.kind = kind
        self.tag = f"{kind}-{uuid.uuid4().hex[:6]}"
        self.env = {**_env(self.tag, workdir / self.tag), **(extra if kind == "recsys" else {})}
        self.settings = Settings.from_env({k: v for k, v in self.env.items() if k.startswith("RECSYS_")})
        create_topics(self.settings)
        self.producer = make_producer(self.settings)
        for item in world.catalogue():
            self.producer.produce(self.settings.topic_items, key=item.item_id.encode(), value=encode(item))
        self.producer.flush()
        module = "streams.worker" if kind == "recsys" else "benchmarks.passthrough_app"
        self.log = open(workdir / f"{self.tag}.log", "wb")
        self.ports = [self.settings.web_port + n for n in range(workers)]
        self.procs = [
            subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                             env={**self.env, "RECSYS_DATA_DIR": str(workdir / self.tag / str(n)),
                                  "RECSYS_WEB_PORT": str(port)})  # fmt: skip
            for n, port in enumerate(self.ports)
        ]
        self.consumer = make_consumer(self.settings)
        self.consumer.subscribe([self.settings.topic_recommendations])
        self.sent: dict[str, float] = {}
        self.arrived: dict[str, float] = {}

    def send(self, events: list, rate: float) -> None:
        start = time.perf_counter()
        for n, event in enumerate(events):
            if rate > 0:
                due = start + n / rate
                while (wait := due - time.perf_counter()) > 0:
                    self.drain(min(wait, 0.05))
            self.sent[event.event_id] = time.time()
            produce(self.producer, self.settings.topic_interactions, encode(event), event.user_id)
        self.producer.flush()

    def drain(self, seconds: float) -> None:
        for msg in self.consumer.consume(1000, seconds):
            if msg.error() is None:
                self.arrived.setdefault(json.loads(msg.value())["event_id"], time.time())

    def stats(self, query: str = "") -> list[dict]:
        """Each recsys worker's /stats page (empty while it does not answer)."""
        out = []
        for port in self.ports:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats{query}", timeout=2) as reply:
                    out.append(json.loads(reply.read()))
            except (OSError, ValueError):
                out.append({})
        return out

    def applied(self) -> int:
        """Events the recsys workers applied (their /stats pages, summed); -1 while one does not answer."""
        pages = self.stats()
        return -1 if any("applied" not in p for p in pages) else sum(int(p["applied"]) for p in pages)

    def cpu_seconds(self) -> float:
        """User and system CPU the worker processes used so far (Linux /proc)."""
        ticks = 0
        for proc in self.procs:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def wait_for(self, ids: list[str], timeout: float, total: int) -> None:
        """Until the last events' outputs arrived (pass-through), or the worker applied ``total``
        events and no list came for a second (recsys: an unchanged list is not published)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(proc.poll() is not None for proc in self.procs):
                raise SystemExit(f"{self.tag} worker died; see {self.log.name}")
            if self.kind != "recsys" and all(i in self.arrived for i in ids[-50:]):
                return
            if self.kind == "recsys" and self.applied() >= total:
                before = len(self.arrived)
                self.drain(1.0)
                if len(self.arrived) == before:
                    return
            self.drain(0.2)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(60)
        self.consumer.close()


def measure(
    kind: str, world: SyntheticWorld, workdir: Path, events: int, rate: float, extra: dict[str, str], workers: int = 1
) -> dict[str, float]:
    run = Run(kind, world, workdir, extra, workers)
    try:
        warm = list(world.interactions(200))
        run.send(warm, 0)
        run.wait_for([e.event_id for e in warm], 180, len(warm))  # start-up, rebalance, first events
        paced = list(world.interactions(events // 4))
        paced_from = time.time()
        run.send(paced, rate)
        run.wait_for([e.event_id for e in paced], 120, len(warm) + len(paced))
        lat = np.array([run.arrived[e.event_id] - run.sent[e.event_id] for e in paced if e.event_id in run.arrived])
        # the other workers' item updates, from learning to applied here, over the paced phase's last batches
        delays = [(p.get("update_delay_p50_ms", float("nan")), p.get("update_delay_p99_ms", float("nan")))
                  for p in run.stats(f"?since={paced_from}")] if kind == "recsys" and workers > 1 else []  # fmt: skip
        flat = list(world.interactions(events))
        cpu = run.cpu_seconds()
        run.send(flat, 0)
        run.wait_for([e.event_id for e in flat], 600, len(warm) + len(paced) + len(flat))
        cpu = run.cpu_seconds() - cpu
        times = sorted(run.arrived[e.event_id] for e in flat if e.event_id in run.arrived)
        return {
            "delays": delays,
            "cpu_ms_per_event": cpu / len(flat) * 1000,
            "p50_ms": float(np.percentile(lat, 50) * 1000),
            "p99_ms": float(np.percentile(lat, 99) * 1000),
            "paced_listed": len(lat) / len(paced),
            "flat_per_s": len(flat) / max(times[-1] - run.sent[flat[0].event_id], 1e-9),
            "flat_listed": len(times) / len(flat),
        }
    finally:
        run.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a recsys worker setting")
    parser.add_argument("--only", choices=["recsys", "passthrough"], help="run one worker only")
    parser.add_argument("--workers", default="1", help="recsys workers in the group, comma-separated runs: 1,2")
    args = parser.parse_args()
    extra = {f"RECSYS_{k.strip().upper()}": v.strip() for k, _, v in (p.partition("=") for p in args.set)}
    print(f"events={args.events} (flat out), {args.events // 4} at {args.rate:g}/s; items={args.items}")
    results = {}
    counts = [int(n) for n in args.workers.split(",")]
    runs = [("passthrough", 1)] if args.only != "recsys" else []
    runs += [("recsys", n) for n in counts] if args.only != "passthrough" else []
    with tempfile.TemporaryDirectory() as tmp:
        for kind, workers in runs:
            world = SyntheticWorld(users=args.users, items=args.items, clusters=20, seed=5)
            label = kind if workers == 1 else f"{kind} x{workers}"
            results[label] = r = measure(kind, world, Path(tmp), args.events, args.rate, extra, workers)
            listed = f"(events with a list: {r['paced_listed']:.0%} paced, {r['flat_listed']:.0%} flat out)"
            print(f"{label:12s} at {args.rate:g}/s: p50 {r['p50_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms   "
                  f"flat out: {r['flat_per_s']:7.0f} events/s, CPU {r['cpu_ms_per_event']:.2f} ms/event   {listed}",
                  flush=True)  # fmt: skip
            for n, (p50, p99) in enumerate(r["delays"]):
                print(f"    worker {n}: the others' item updates applied here p50 {p50:.1f} ms, p99 {p99:.1f} ms "
                      f"after they were learnt (at {args.rate:g}/s)", flush=True)  # fmt: skip
    if "passthrough" in results and "recsys" in results:
        ratio = results["recsys"]["flat_per_s"] / results["passthrough"]["flat_per_s"]
        print(f"recsys / pass-through sustained throughput: {ratio:.2f}")
    for label, r in results.items():
        if label.startswith("recsys x") and "recsys" in results:
            print(f"{label} / recsys sustained throughput: {r['flat_per_s'] / results['recsys']['flat_per_s']:.2f}")


if __name__ == "__main__":
    main()
