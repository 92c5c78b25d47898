"""The fault matrix on the real broker: a fault in the middle of a stream, then the oracle of
:mod:`tests.faults.harness` — no acknowledged interaction lost, none applied twice, every list right.

Each scenario runs one worker on fresh topics (the broker's restart, on a broker of its own). The
figures of many runs of each are in BENCHMARKS.md (``benchmarks/faults.py``).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys.settings import Settings
from schemas import Interaction
from tests.faults.harness import ROUNDS, FaultRun, Verdict, item_of, own_broker

pytestmark = pytest.mark.integration


@pytest.fixture
def run(kafka: str, tmp_path: Path) -> Iterator[FaultRun]:
    fault_run = FaultRun(kafka, tmp_path)
    yield fault_run
    fault_run.close()


def _clean(verdict: Verdict, scenario: str) -> None:
    print(verdict.row(scenario))
    assert (verdict.lost, verdict.applied_twice, verdict.wrong_lists, verdict.dead_letters) == (0, 0, 0, 0), verdict
    assert verdict.acknowledged == verdict.produced


def test_kill_9_mid_stream_with_the_data_folder_kept(run: FaultRun) -> None:
    run.start()
    run.produce(run.stream(), fault=run.kill_and_restart)
    verdict = run.verdict()
    _clean(verdict, "kill -9, data kept")
    assert verdict.recovery_s is not None and verdict.recovery_s < 30


def test_kill_9_mid_stream_with_the_data_folder_deleted(run: FaultRun) -> None:
    run.start()
    run.produce(run.stream(), fault=lambda: run.kill_and_restart(delete_data=True))
    verdict = run.verdict()
    _clean(verdict, "kill -9, data deleted")
    assert verdict.recovery_s is not None and verdict.recovery_s < 30


def test_a_clean_stop_mid_stream(run: FaultRun) -> None:
    run.start()
    run.produce(run.stream(), fault=run.stop_and_restart)
    _clean(run.verdict(), "SIGTERM and restart")


def test_every_event_sent_twice(run: FaultRun) -> None:
    run.start()
    events = run.stream()
    twice = [e for pair in zip(events, events, strict=True) for e in pair]
    thrice = events[: len(events) // 3]  # and some a third time, later
    run.produce(twice[: len(twice) // 2] + thrice + twice[len(twice) // 2 :])
    verdict = run.verdict()
    _clean(verdict, "every event twice")
    assert verdict.produced > len(events) * 2


def test_late_and_out_of_order_events(run: FaultRun) -> None:
    """Rounds shuffled and timestamped out of order, some days in the past: each still applied once."""
    rng = random.Random(3)

    def shuffled(round_: int) -> list[Interaction]:
        events = [Interaction(f"{u}-{round_}", u, item_of(n, round_), "like",
                              timestamp=1.7e9 + rng.choice([-86_400 * 3, -5, 0, 7]) - round_)
                  for n, u in enumerate(run.users)]  # fmt: skip
        rng.shuffle(events)
        return events

    run.start()
    rounds = [shuffled(r) for r in range(ROUNDS)]
    rng.shuffle(rounds)
    run.produce([e for r in rounds for e in r])
    _clean(run.verdict(), "late and out of order")


def test_the_broker_stopped_and_started_mid_stream(tmp_path: Path) -> None:
    with own_broker(tmp_path) as (url, restart):
        run = FaultRun(url, tmp_path)
        try:
            run.start()
            run.produce(run.stream(), fault=lambda: run.broker_restart(restart))
            verdict = run.verdict()
        finally:
            run.close()
    _clean(verdict, "broker stopped and started")


def test_tombstones_for_an_item_a_rule_and_a_user(run: FaultRun) -> None:
    """A tombstone on ``items`` removes the item from every list; on ``rules``, a rule (one that never
    existed too: nothing breaks); on ``users``, the user: every record of their state is deleted, so
    the changelog's last word on each of their keys is a tombstone (compaction then drops them)."""
    s = run.settings
    run.start()
    run.produce(run.stream())
    run.settle()
    erased = "user-3"
    assert run.get(f"/users/{erased}/")[0] == 200
    for topic, key in ((s.topic_items, "item-39"), (s.topic_rules, "no-such-rule"), (s.topic_users, erased)):
        run.producer.produce(topic, key=key.encode(), value=None)
    assert run.producer.flush(30) == 0
    deadline = time.monotonic() + 30
    while run.get(f"/users/{erased}/")[0] != 404 and time.monotonic() < deadline:
        time.sleep(0.2)
    status, body = run.get(f"/users/{erased}/")
    assert status == 404, body

    def listing_it() -> list[str]:  # the global reader applies the item's tombstone within a fetch
        lists = {u: run.get(f"/recommendations/{u}/?k=40")[1] or {} for u in run.users}
        return [u for u, body in lists.items() if "item-39" in {i["item_id"] for i in body.get("items", [])}]

    while listing_it() and time.monotonic() < deadline + 10:
        time.sleep(0.5)
    assert not listing_it()
    assert run.dead_letters() == 0
    last = _changelog(s, erased)
    assert last and all(value is None for value in last.values()), last  # hot record, log chunks: tombstones


def _changelog(settings: Settings, user_id: str) -> dict[str, bytes | None]:
    """The last value of each changelog key of ``user_id`` (the hot record and its ``<id>\\x1f...`` keys)."""
    from streams.kafka_io import make_consumer

    consumer = make_consumer(settings)
    topic = f"{settings.app_id}-user-state-changelog"
    consumer.subscribe([topic])
    last: dict[str, bytes | None] = {}
    deadline, idle = time.monotonic() + 30, 0
    while time.monotonic() < deadline and idle < 4:
        batch = consumer.consume(1000, 0.5)
        idle = idle + 1 if not batch else 0
        for msg in batch:
            if msg.error() is None:
                key = json.loads(msg.key())
                if key == user_id or key.startswith(user_id + "\x1f"):
                    last[key] = msg.value()
    consumer.close()
    return last


def test_a_backlog_consumed_after_a_stop(kafka: str, tmp_path: Path) -> None:
    """5,000 interactions produced while no worker runs, then one starts (the 100,000 of the issue:
    ``benchmarks/faults.py --scenarios backlog``, figures in BENCHMARKS.md)."""
    run = FaultRun(kafka, tmp_path, items=60, users=100, rounds=50)
    try:
        run.produce(run.stream(), batch=2500, pause=0.0)
        run.start()
        verdict = run.verdict(timeout=600)
    finally:
        run.close()
    _clean(verdict, "a backlog of 5,000")
    assert verdict.acknowledged == 5000
