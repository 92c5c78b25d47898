"""The closed-loop simulator against a running worker, through the broker: the end-to-end proof.

:mod:`recsys.simulate`'s users (planted tastes, position bias, browsing, taste drift) read their
lists from the recommendations topic and answer them on the interactions topic, as an
application's users would; the worker does everything else. ``recsys simulate --live``::

    recsys simulate --live --experiment '{"name": "mf", "variants": [{"name": "control"},
        {"name": "mf", "settings": {"generators": "mf", "scorer": "mf"}}]}'

1. once the worker is ready (``/ready/``), the world's catalogue goes to the items topic, then
   ``--warmup`` of its own interactions to the interactions topic; the loop waits until the
   worker applied them (``/stats``);
2. the experiment goes to the experiments topic (as ``recsys experiments start`` sends it), and
   the loop waits until the worker's ``/experiments/`` names it;
3. ``--steps`` answers: at most ``--inflight`` users at a time have an answer on its way; a user
   answers again once their next list arrived (or after ``--patience`` seconds: an unchanged list
   is not published);
4. what was true of each variant's lists (from the topic), beside the worker's own report
   (``/experiments/``, as ``recsys experiments report`` prints it).

Examples
--------
The live loop needs a broker and a worker; ``tests/integration/test_simulate_live.py`` runs it.
Its pacing is plain bookkeeping:

>>> due = Pending(patience=2.0)
>>> due.sent("u1", at=10.0); due.sent("u2", at=11.0)
>>> due.answered("u1"), sorted(due), due.expire(now=13.5), sorted(due)
(True, ['u2'], 1, [])
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

from recsys.datasets.synthetic import SyntheticWorld
from recsys.errors import RecsysError
from recsys.experiments import TOPIC_KEY, Experiment, format_report, report
from recsys.settings import Settings
from recsys.simulate import Simulation, print_truth
from schemas import Recommendation, decode, encode
from streams.client import Recommendations
from streams.kafka_io import create_topics, make_producer, produce, wait_for_broker


class Pending:
    """Users whose answer is on its way, and since when; a user leaves when their next list
    arrives, or after ``patience`` seconds (the worker publishes no list that did not change)."""

    def __init__(self, patience: float) -> None:
        self.patience = patience
        self._since: dict[str, float] = {}

    def __iter__(self) -> Iterator[str]:
        return iter(self._since)

    def __len__(self) -> int:
        return len(self._since)

    def __contains__(self, user: object) -> bool:
        return user in self._since

    def sent(self, user: str, at: float) -> None:
        self._since[user] = at

    def answered(self, user: str) -> bool:
        return self._since.pop(user, None) is not None

    def expire(self, now: float) -> int:
        late = [u for u, at in self._since.items() if now - at >= self.patience]
        for user in late:
            del self._since[user]
        return len(late)


class LiveLoop:
    """A :class:`~recsys.simulate.Simulation` whose lists come from a worker through the broker."""

    def __init__(self, settings: Settings, sim: Simulation, web_url: str, *, inflight: int = 32,
                 patience: float = 2.0, timeout: float = 600.0) -> None:  # fmt: skip
        self.settings, self.sim, self.web_url = settings, sim, web_url.rstrip("/")
        self.inflight, self.pending, self.timeout = inflight, Pending(patience), timeout
        self.producer = make_producer(settings)
        self.lists: Recommendations | None = None  # the topic's reader, from open()
        self.expired = 0  # answers whose next list never came (unchanged, or late)
        self.counting = False

    # ------------------------------------------------------------------ the worker
    def page(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.settings.api_token}"} if self.settings.api_token else {}
        request = urllib.request.Request(f"{self.web_url}{path}", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())

    def _wait(self, what: str, done: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain(0.2)
            try:
                if done():
                    return
            except OSError:
                pass  # the worker's web server is not up yet
        raise TimeoutError(f"the worker at {self.web_url} did not {what} within {timeout:.0f} s; is it running "
                           f"on the broker {self.settings.broker_url} with these topics?")  # fmt: skip

    # ------------------------------------------------------------------ the loop
    def open(self) -> None:
        """Read the recommendations topic from its end: only lists published from now on."""
        wait_for_broker(self.settings, 30.0)
        create_topics(self.settings)
        self.lists = Recommendations(self.settings)  # (waits for a topic just created to show its partitions)

    def send(self, topic: str, key: str | bytes, value: bytes | None) -> None:
        produce(self.producer, topic, value, key=key)  # type: ignore[arg-type]

    def drain(self, wait: float = 0.0) -> int:
        """Take every list published so far (waiting up to ``wait`` seconds for the first)."""
        got = 0
        assert self.lists is not None, "open() first"
        for msg in self.lists.consumer.consume(1000, wait):
            if msg.error() is not None or msg.value() is None:
                continue
            rec = decode(Recommendation, msg.value())
            self.sim.shown(rec, count=self.counting)
            self.pending.answered(rec.user_id)
            got += 1
        self.producer.poll(0)
        return got

    def warm_up(self, n: int) -> None:
        """The catalogue, then ``n`` of the world's own interactions; wait until the worker applied them."""
        s, world = self.settings, self.sim.world
        self._wait("become ready (/ready/)", lambda: self.page("/ready/")["ready"], self.timeout)
        start = int(self.page("/stats").get("applied", 0))
        for item in world.catalogue():
            self.send(s.topic_items, item.item_id, encode(item))
        self.producer.flush(30)
        for event in world.interactions(n):
            self.send(s.topic_interactions, event.user_id, encode(event))
        self.producer.flush(30)
        self._wait(f"apply the {n} warm-up interactions", lambda: self.page("/stats").get("applied", 0) >= start + n,
                   self.timeout)  # fmt: skip

    def experiment(self, spec: str | dict[str, Any]) -> Experiment:
        """Start the experiment on every worker (the experiments topic) and wait until this one runs it."""
        experiment = Experiment.parse(spec)
        self.send(self.settings.topic_experiments, TOPIC_KEY, json.dumps(experiment.to_dict()).encode())
        self.producer.flush(30)
        self._wait(f"start experiment {experiment.name!r}",
                   lambda: (self.page("/experiments/").get("experiment") or {}).get("name") == experiment.name,
                   60.0)  # fmt: skip
        return experiment

    def run(self, steps: int) -> dict[str, dict[str, Any]]:
        """``steps`` answers, at most ``inflight`` on their way at once; what was true of the lists."""
        self.counting = True
        topic, sent = self.settings.topic_interactions, 0
        deadline = time.monotonic() + self.timeout
        while sent < steps or len(self.pending):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{sent} of {steps} answers sent in {self.timeout:.0f} s; is the worker keeping up?")
            self.drain(0.05 if len(self.pending) >= self.inflight or sent >= steps else 0.0)
            self.expired += self.pending.expire(time.monotonic())
            while sent < steps and len(self.pending) < self.inflight:
                user = self.sim.pick_user(self.pending)
                event = self.sim.next_event(user)
                self.send(topic, event.user_id, encode(event))
                self.pending.sent(user, time.monotonic())
                sent += 1
        self.producer.flush(30)
        return self.sim.result()

    def close(self) -> None:
        self.producer.flush(10)
        if self.lists is not None:
            self.lists.close()


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """``recsys simulate --live``: the loop against a running worker (module docstring)."""
    parser = argparse.ArgumentParser(prog="recsys simulate --live", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--live", action="store_true", help="(this mode)")
    parser.add_argument("--url", default="", help="the worker's HTTP address (default: RECSYS_WEB_URL, or this host)")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--clusters", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2000, help="the world's own interactions first")
    parser.add_argument("--steps", type=int, default=2500, help="answers to lists")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--examine", type=float, default=0.7, help="examination decay per position")
    parser.add_argument("--quality", type=float, default=0.0, help="spread of the items' quality, 0 to 1")
    parser.add_argument("--drift-every", type=int, default=1000, metavar="N",
                        help="taste drift: every N of the world's own interactions, 10%% of the users change "
                        "their favourite cluster (0: none)")  # fmt: skip
    parser.add_argument("--experiment", default="", help="an experiment's JSON, started after the warm-up")
    parser.add_argument("--inflight", type=int, default=32, help="users whose answer may be on its way at once")
    parser.add_argument("--patience", type=float, default=2.0, help="seconds a user waits for their next list")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after this many seconds per phase")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    s = settings or Settings.from_env()
    url = args.url or s.web_url or f"http://127.0.0.1:{s.web_port}"
    world = SyntheticWorld(users=args.users, items=args.items, clusters=args.clusters, seed=args.seed,
                           drift_every=args.drift_every)  # fmt: skip
    sim = Simulation(world, None, examine=args.examine, quality=args.quality, seed=args.seed)
    loop = LiveLoop(s, sim, url, inflight=args.inflight, patience=args.patience, timeout=args.timeout)
    started = time.monotonic()
    try:
        loop.open()
        loop.warm_up(args.warmup)
        experiment = loop.experiment(args.experiment) if args.experiment else None
        truth = loop.run(args.steps)
        time.sleep(min(args.patience, 2.0))  # the last answers' counts reach the worker's page
        page = loop.page("/experiments/")
    except (OSError, TimeoutError, RecsysError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        loop.close()
    rows = report(page["variants"], experiment.control) if experiment is not None else []
    seconds = time.monotonic() - started
    if args.json:
        print(json.dumps({"truth": truth, "experiment": page.get("experiment"), "report": rows,
                          "expired": loop.expired, "seconds": round(seconds, 1)}, indent=2))  # fmt: skip
        return 0
    print_truth(truth)
    print(f"({loop.expired} answers got no new list within {args.patience:g} s; {seconds:.0f} s in all)")
    if experiment is not None:
        print(f"\nexperiment {experiment.name}, as the worker reports it:")
        print(format_report(rows, experiment.control))
    return 0
