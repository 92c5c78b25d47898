"""One worker, a stream of interactions, a fault in the middle, and an oracle that counts from outside.

:class:`FaultRun` makes fresh topics, a catalogue of :data:`ITEMS` items and :data:`USERS` users who
each like :data:`ROUNDS` different items, one round after another; it produces them in small batches
(with delivery reports: an event is *acknowledged* when the broker confirmed it) and calls the
scenario's fault half way. Then :meth:`FaultRun.verdict` asks, for every user, what the worker holds
(``GET /users/{id}/``: ``events`` counts each applied interaction once, ``history`` names the items)
and the list at ``k`` = the catalogue (every unseen item must be in it, no seen one), and reads the
dead-letter topic. An acknowledged interaction missing from its user is *lost*; a user counting more
events than were acknowledged had one *applied twice*.

The oracle does not read the worker's own counters (``/stats``). Recovery is read from the
recommendations topic: the time from the end of the fault (a restart, the broker back) to the
first list published after it.

``benchmarks/faults.py`` runs the same scenarios many times and prints the table.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, Message

from schemas import Interaction, Item, encode
from streams.kafka_io import create_topics, make_consumer, make_producer
from tests.conftest import WorkerProcess, _kafka_launcher, free_port, get_json, worker_environment

ITEMS = 40
USERS = 24
ROUNDS = 12
START_TIMEOUT = 120.0
SETTLE_TIMEOUT = 120.0


@contextmanager
def own_broker(folder: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A broker of one's own on free ports (its state under ``folder``), to stop and start: its URL and
    a function that restarts it. Stopped at the end."""
    launcher = _kafka_launcher()
    port, controller, state = free_port(), free_port(), folder / "kafka"
    launcher.start(port=port, controller_port=controller, state_dir=state, timeout=180)

    def restart() -> None:
        launcher.stop(state)
        launcher.start(port=port, controller_port=controller, state_dir=state, timeout=180)

    try:
        yield f"kafka://127.0.0.1:{port}", restart
    finally:
        launcher.stop(state)


def item_of(user: int, round_: int, items: int = ITEMS) -> str:
    """The item user ``user`` likes in ``round_``: a different one each round (``round_`` < ``items``)."""
    return f"item-{(user * 5 + round_) % items}"


@dataclass
class Verdict:
    """What the oracle found after one run (see the module)."""

    produced: int
    acknowledged: int
    lost: int
    applied_twice: int
    wrong_lists: int
    dead_letters: int
    recovery_s: float | None
    details: dict[str, Any] = field(default_factory=dict)

    def row(self, scenario: str) -> str:
        recovery = "-" if self.recovery_s is None else f"{self.recovery_s:.1f}"
        return (f"| {scenario} | {self.produced} | {self.acknowledged} | {self.lost} | {self.applied_twice} | "
                f"{self.wrong_lists} | {self.dead_letters} | {recovery} |")  # fmt: skip


class FaultRun:
    """One worker on fresh topics of ``kafka_url``: ``items`` items, ``users`` users who like ``rounds``
    items each (the module's sizes unless given)."""

    def __init__(self, kafka_url: str, folder: Path, items: int = ITEMS, users: int = USERS, rounds: int = ROUNDS,
                 **extra: str) -> None:  # fmt: skip
        assert rounds < items and rounds <= 50, "a user likes different items, all kept in the history (50)"
        self.items, self.rounds = items, rounds
        env = worker_environment(kafka_url, folder, "fault", RECSYS_K=str(items), RECSYS_SNAPSHOT_SECONDS="2",
                                 **extra)  # fmt: skip
        self.folder = folder
        self.worker = WorkerProcess(env, folder / "worker.log")
        self.settings = s = self.worker.settings
        create_topics(s)
        self.producer = make_producer(s, **{"message.timeout.ms": 180_000})  # outlasts a broker restart
        for n in range(items):
            item = Item(f"item-{n}", title=f"Item {n}")
            self.producer.produce(s.topic_items, key=item.item_id.encode(), value=encode(item))
        assert self.producer.flush(30) == 0
        self.users = [f"user-{n}" for n in range(users)]
        self.acked: dict[str, set[str]] = {u: set() for u in self.users}  # user -> item ids acknowledged
        self.acked_events = 0
        self.produced = 0
        self.fault_ended: float | None = None
        self.lists = make_consumer(s)
        self.lists.subscribe([s.topic_recommendations])
        self.list_times: list[float] = []  # broker timestamps of every list read

    # ----------------------------------------------------------------- stream
    def stream(self, round_events: Callable[[int], list[Interaction]] | None = None) -> list[Interaction]:
        """Every user's ``rounds`` likes, round by round (``round_events`` may reshape a round)."""
        events = []
        for r in range(self.rounds):
            batch = [Interaction(f"{u}-{r}", u, item_of(n, r, self.items), "like", timestamp=1000.0 + r)
                     for n, u in enumerate(self.users)]  # fmt: skip
            events += round_events(r) if round_events else batch
        return events

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is None:
            record = json.loads(msg.value())
            self.acked[record["user_id"]].add(record["item_id"])
            self.acked_events += 1

    def produce(self, events: list[Interaction], fault: Callable[[], None] | None = None, batch: int = 12,
                pause: float = 0.05) -> None:  # fmt: skip
        """Produce ``events`` in batches; ``fault`` runs once half of them are sent. Waits for every
        delivery report."""
        s = self.settings
        half = len(events) // 2
        for n in range(0, len(events), batch):
            if fault is not None and n >= half:
                fault()
                fault = None
            for event in events[n : n + batch]:
                self.producer.produce(s.topic_interactions, key=event.user_id.encode(), value=encode(event),
                                      on_delivery=self._delivered)  # fmt: skip
                self.produced += 1
            self.producer.poll(0)
            self.read_lists(pause)
        remaining = self.producer.flush(180)
        assert remaining == 0, f"{remaining} messages were never delivered"

    def read_lists(self, seconds: float) -> None:
        for msg in self.lists.consume(1000, seconds):
            if msg.error() is None:
                self.list_times.append(msg.timestamp()[1] / 1000.0)

    # ----------------------------------------------------------------- faults
    def start(self) -> None:
        self.worker.start()
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.get("/ready/")[0] == 200:
                return
            if not self.worker.alive():
                raise AssertionError(f"the worker died:\n{self.worker.log_tail()}")
            time.sleep(0.2)
        raise AssertionError(f"the worker was not ready within {START_TIMEOUT}s:\n{self.worker.log_tail()}")

    def kill_and_restart(self, delete_data: bool = False) -> None:
        """``kill -9``, optionally the data folder deleted (a lost disk), then started again at once."""
        self.worker.kill()
        if delete_data:
            shutil.rmtree(self.settings.data_dir, ignore_errors=True)
        self.worker.start()
        self.fault_ended = time.time()

    def stop_and_restart(self) -> None:
        """SIGTERM (final snapshot, offsets committed, the group left), then started again."""
        assert self.worker.stop() == 0, self.worker.log_tail()
        self.worker.start()
        self.fault_ended = time.time()

    def broker_restart(self, restart: Callable[[], None]) -> None:
        """The broker stopped and started (``restart`` of :func:`own_broker`) while the worker runs."""
        restart()
        self.fault_ended = time.time()

    # ----------------------------------------------------------------- oracle
    def get(self, path: str) -> tuple[int, Any]:
        return get_json(self.settings.web_port, path)

    def states(self) -> dict[str, dict[str, Any]]:
        return {u: (self.get(f"/users/{u}/")[1] or {}) for u in self.users}

    def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        """Until every user's state counts at least its acknowledged interactions (or the timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read_lists(0.5)
            states = self.states()
            if all(states[u].get("events", -1) >= len(self.acked[u]) for u in self.users):
                break
            if not self.worker.alive():
                raise AssertionError(f"the worker died:\n{self.worker.log_tail()}")
        self.read_lists(2.0)  # a redelivered event applied twice would show by now

    def dead_letters(self) -> int:
        consumer = make_consumer(self.settings)
        consumer.subscribe([self.settings.topic_dead_letters])
        count = 0
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            count += sum(m.error() is None for m in consumer.consume(1000, 0.5))
        consumer.close()
        return count

    def verdict(self, timeout: float = SETTLE_TIMEOUT) -> Verdict:
        self.settle(timeout)
        states = self.states()
        lost = twice = wrong = 0
        details: dict[str, Any] = {}
        for user in self.users:
            state, acked = states[user], self.acked[user]
            events, history = state.get("events", 0), set(state.get("history", []))
            lost += len(acked - history)  # (history keeps 50 items; a user likes ROUNDS = 12)
            twice += max(0, events - len(acked))
            status, body = self.get(f"/recommendations/{user}/?k={self.items}")
            listed = {i["item_id"] for i in body["items"]} if status == 200 else set()
            if listed & acked or len(listed) != self.items - len(acked):
                wrong += 1
                details[user] = {"events": events, "acked": sorted(acked), "listed_seen": sorted(listed & acked),
                                 "listed": len(listed)}  # fmt: skip
        recovery = None
        if self.fault_ended is not None:
            after = [t for t in self.list_times if t >= self.fault_ended]
            recovery = min(after) - self.fault_ended if after else None
        return Verdict(self.produced, self.acked_events, lost, twice, wrong, self.dead_letters(), recovery, details)

    def close(self) -> None:
        self.lists.close()
        if self.worker.alive():
            self.worker.stop()
