"""The spine end to end on the real broker: interactions in, recommendations and dead letters out."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from recsys.datasets.synthetic import SyntheticWorld
from recsys.settings import Settings
from schemas import DeadLetter, Interaction, Item, Recommendation, decode, encode
from streams.kafka_io import create_topics, make_consumer, make_producer
from tests.conftest import WorkerProcess, stats, wait_for, worker_environment

pytestmark = pytest.mark.integration

FIRST_RECOMMENDATION_TIMEOUT = 120.0  # the first rebalance and table recovery of a new worker


class Reader:
    """Reads a topic from the beginning and keeps every message it saw."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.consumer = make_consumer(settings)
        self.consumer.subscribe([topic])
        self.messages: list[Any] = []
        self.pairs: set[tuple[str, str]] = set()  # (key, event_id) of every message seen

    def poll_until(self, predicate: Callable[[Reader], bool], timeout: float, worker: WorkerProcess) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for msg in self.consumer.consume(500, 0.5):
                if msg.error() is None:
                    self.messages.append(msg)
                    event_id = json.loads(msg.value()).get("event_id", "")
                    self.pairs.add(((msg.key() or b"").decode(), event_id))
            if predicate(self):
                return self.messages
            if not worker.alive():
                pytest.fail(f"the worker died:\n{worker.log_tail()}")
        pytest.fail(f"timed out after {timeout}s; saw {len(self.messages)} messages\n{worker.log_tail()}")

    def recommendations(self, user_id: str | None = None) -> list[Recommendation]:
        recs = [decode(Recommendation, m.value()) for m in self.messages]
        return [r for r in recs if user_id is None or r.user_id == user_id]

    def close(self) -> None:
        self.consumer.close()


def send(settings: Settings, topic: str, messages: list[tuple[str | None, bytes | None]]) -> None:
    producer = make_producer(settings)
    for key, value in messages:
        producer.produce(topic, key=key.encode() if key else None, value=value)
        producer.poll(0)
    assert producer.flush(30) == 0, "messages were not delivered"


def has_rec_for(user_id: str, event_id: str) -> Callable[[Reader], bool]:
    return lambda reader: (user_id, event_id) in reader.pairs


def applied(worker: WorkerProcess) -> int:
    """Interactions the worker applied since it started (its /stats page; -1 while it has none)."""
    return int(stats(worker).get("applied", -1))


def settle(reader: Reader, worker: WorkerProcess, target: int, timeout: float = FIRST_RECOMMENDATION_TIMEOUT) -> None:
    """Until the worker applied ``target`` interactions and the lists they published were read:
    a list is published only when it changed, so not every event has one to wait for."""
    wait_for(lambda: applied(worker) >= target, timeout, f"{target} interactions applied", worker)
    quiet = time.monotonic() + 2
    reader.poll_until(lambda r: time.monotonic() > quiet, 30, worker)


def like(event_id: str, user_id: str, item_id: str, ts: float = 1.0, kind: str = "like") -> tuple[str, bytes]:
    return user_id, encode(Interaction(event_id, user_id, item_id, kind, timestamp=ts))


@pytest.fixture(scope="module")
def running(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """One worker shared by the tests that do not restart it."""
    tmp = tmp_path_factory.mktemp("worker")
    limits = {"RECSYS_MAX_EVENT_BYTES": str(MAX_EVENT_BYTES), "RECSYS_DEAD_LETTER_MAX_BYTES": str(LETTER_BYTES)}
    worker = WorkerProcess(worker_environment(kafka, tmp, "spine", **limits), tmp / "worker.log")
    settings = worker.settings
    create_topics(settings)
    catalogue = [Item(f"item-{n}", title=f"Item {n}") for n in range(30)]
    send(settings, settings.topic_items, [(i.item_id, encode(i)) for i in catalogue])
    seed_legacy_state(settings, LEGACY_STATE)
    worker.start()
    yield worker
    worker.stop()


# dora's state as the worker's table held it before recsys.users: one JSON document (UserState.to_dict())
LEGACY_STATE = {
    "user_id": "dora", "vector": None, "bias": 0.0, "history": ["item-20", "item-21"],
    "seen": ["item-20", "item-21", "item-22"], "disliked": ["item-22"], "recent_events": ["d-old"],
    "events": 3, "attributes": {}, "context": {}, "following": [], "epoch": 0,
}  # fmt: skip


def seed_legacy_state(settings: Settings, state: dict[str, Any]) -> None:
    """Write ``state`` into the user table's changelog as the old worker did (JSON key and value, on the
    user's partition), before the worker starts: its table is recovered from there."""
    from confluent_kafka.admin import NewTopic

    from streams.kafka_io import make_admin
    from streams.web import owner_partition

    topic = f"{settings.app_id}-user-state-changelog"
    admin = make_admin(settings)  # kept until the topic exists: a destroyed client fails its futures
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=settings.partitions, replication_factor=settings.replication_factor,
                  config={"cleanup.policy": "compact"})]  # fmt: skip
    )
    futures[topic].result()
    producer = make_producer(settings)
    producer.produce(topic, key=json.dumps(state["user_id"]).encode(), value=json.dumps(state).encode(),
                     partition=owner_partition(state["user_id"], settings.partitions))  # fmt: skip
    assert producer.flush(30) == 0


def test_a_state_stored_as_one_json_document_still_loads(running: WorkerProcess) -> None:
    s = running.settings
    reader = Reader(s, s.topic_recommendations)
    before = max(applied(running), 0)
    send(s, s.topic_interactions, [like("d-old", "dora", "item-23"), like("d-1", "dora", "item-24")])
    reader.poll_until(has_rec_for("dora", "d-1"), FIRST_RECOMMENDATION_TIMEOUT, running)
    settle(reader, running, before + 1)
    dora = reader.recommendations("dora")
    reader.close()
    assert [r.event_id for r in dora] == ["d-1"]  # d-old was in the old record's dedupe window
    assert applied(running) == before + 1
    listed = {i.item_id for i in dora[-1].items}
    assert not listed & {"item-20", "item-21", "item-22", "item-24"}  # the old seen items stay excluded


def test_interactions_produce_a_recommendation_that_excludes_what_was_seen(running: WorkerProcess) -> None:
    s = running.settings
    reader = Reader(s, s.topic_recommendations)
    seen = ["item-1", "item-2", "item-3"]
    before = max(applied(running), 0)
    send(s, s.topic_interactions, [like(f"a-{n}", "alice", item) for n, item in enumerate(seen)])
    settle(reader, running, before + len(seen))
    last = reader.recommendations("alice")[-1]  # after a-2, or unchanged by it
    reader.close()
    listed = [i.item_id for i in last.items]
    assert len(listed) == s.k
    assert not set(listed) & set(seen), f"recommended already-seen items: {listed}"
    assert all(i.startswith("item-") for i in listed)
    assert last.model_version and last.latency_ms >= 0


def test_malformed_event_is_dead_lettered_and_the_next_one_is_processed(running: WorkerProcess) -> None:
    s = running.settings
    recs = Reader(s, s.topic_recommendations)
    letters = Reader(s, s.topic_dead_letters)
    bad = b'{"event_id": "b-1", "user_id": "bob", "item_id": '
    invalid_type = json.dumps({"event_id": "b-2", "user_id": "bob", "item_id": "item-4", "type": "love",
                               "timestamp": 1}).encode()  # fmt: skip
    send(s, s.topic_interactions, [("bob", bad), ("bob", invalid_type), like("b-3", "bob", "item-5")])
    recs.poll_until(has_rec_for("bob", "b-3"), FIRST_RECOMMENDATION_TIMEOUT, running)
    letters.poll_until(lambda r: len(r.messages) >= 2, 30, running)
    dead = [decode(DeadLetter, m.value()) for m in letters.messages]
    recs.close()
    letters.close()
    by_value = {d.value: d for d in dead}
    assert "not valid JSON" in by_value[bad.decode()].reason
    assert by_value[bad.decode()].source_topic == s.topic_interactions
    assert "'type' must be one of" in by_value[invalid_type.decode()].reason
    assert all(d.key == "bob" and d.offset >= 0 for d in dead)


MAX_EVENT_BYTES = 60_000  # the shared worker's limits, low enough to test on a broker's default topics
LETTER_BYTES = 20_000


def test_hostile_inputs_are_each_dead_lettered_within_the_limits_and_the_worker_goes_on(
    running: WorkerProcess,
) -> None:
    s = running.settings
    recs = Reader(s, s.topic_recommendations)
    letters = Reader(s, s.topic_dead_letters)
    good = {"event_id": "h-ok", "user_id": "hal", "item_id": "item-9", "type": "like", "timestamp": 1}
    hostile = {
        "nested past the decoder": json.dumps({**good, "event_id": "h-0", "context": {"a": 0}}).encode()
        .replace(b"0}}", b"[" * 20_000 + b"]" * 20_000 + b"}}"),  # RecursionError in the decoder
        "not UTF-8": b'{"event_id": "h-1", "user_id": "hal", "item_id": "' + bytes([0xFF, 0xFE]) + b'"}',
        "a JSON array": b"[1, 2, 3]",
        "an integer of 5,000 digits": b'{"event_id": "h-2", "value": ' + b"9" * 5000 + b"}",
        "context nested too deep": json.dumps({**good, "event_id": "h-3", "context": {"a": [[[[[[[[1]]]]]]]]}})
        .encode(),
        "a type of 50,000 characters": json.dumps({**good, "event_id": "h-4", "type": "x" * 50_000}).encode(),
        "over max_event_bytes": json.dumps({**good, "event_id": "h-5", "context": {"note": "y" * 70_000}}).encode(),
    }
    send(s, s.topic_interactions, [("hal", raw) for raw in hostile.values()] + [("hal", json.dumps(good).encode())])
    recs.poll_until(has_rec_for("hal", "h-ok"), FIRST_RECOMMENDATION_TIMEOUT, running)  # the worker went on
    letters.poll_until(lambda r: sum(m.key() == b"hal" for m in r.messages) >= len(hostile), 30, running)
    mine = [m for m in letters.messages if m.key() == b"hal"]
    recs.close()
    letters.close()
    assert all(len(m.value()) <= LETTER_BYTES for m in mine), [len(m.value()) for m in mine]
    dead = sorted((decode(DeadLetter, m.value()) for m in mine), key=lambda d: d.offset)
    assert len(dead) == len(hostile) and len({d.offset for d in dead}) == len(hostile)
    by_size = {d.value_bytes: d for d in dead}
    for what, raw in hostile.items():
        letter = by_size[len(raw)]
        copy = base64.b64decode(letter.value_base64)
        assert raw.startswith(copy) and letter.truncated == (copy != raw), what
        assert letter.error == "SchemaError", (what, letter.reason)  # a record error, not a crash
    reasons = {what: by_size[len(raw)].reason for what, raw in hostile.items()}
    assert "nested too deeply" in reasons["nested past the decoder"]
    assert "not UTF-8" in reasons["not UTF-8"]
    assert "expected a JSON object" in reasons["a JSON array"]
    assert "'value' is out of range" in reasons["an integer of 5,000 digits"]
    assert "deeper than 8 levels" in reasons["context nested too deep"]
    assert "'type' must be one of" in reasons["a type of 50,000 characters"]
    assert len(reasons["a type of 50,000 characters"]) <= 1000
    assert f"over the limit of {MAX_EVENT_BYTES} (RECSYS_MAX_EVENT_BYTES)" in reasons["over max_event_bytes"]
    assert by_size[len(hostile["over max_event_bytes"])].truncated


def test_an_event_sent_twice_is_applied_once(running: WorkerProcess) -> None:
    s = running.settings
    reader = Reader(s, s.topic_recommendations)
    dup = like("c-1", "carol", "item-7")
    before = max(applied(running), 0)
    send(s, s.topic_interactions, [dup, dup, like("c-2", "carol", "item-8")])
    settle(reader, running, before + 2)
    carol = reader.recommendations("carol")
    reader.close()
    assert [r.event_id for r in carol].count("c-1") == 1
    # the second list still excludes both items: carol's state saw c-1 once and c-2
    assert not {"item-7", "item-8"} & {i.item_id for i in carol[-1].items}


def _own_cluster_share(world: SyntheticWorld, rec: Recommendation) -> float:
    own = world.cluster_of_user(rec.user_id)
    return sum(world.cluster_of_item(i.item_id) == own for i in rec.items) / len(rec.items)


def _updates(rec: Recommendation) -> int:
    return int(rec.model_version.rsplit("@", 1)[1])


def test_learned_state_survives_a_restart(worker_env: Callable[..., dict[str, str]], tmp_path: Path) -> None:
    world = SyntheticWorld(users=100, items=200, clusters=4, affinity=0.95, dislike_rate=0.0, seed=8)
    worker = WorkerProcess(worker_env(RECSYS_SNAPSHOT_SECONDS="3600"), tmp_path / "worker.log")
    s = worker.settings
    create_topics(s)
    send(s, s.topic_items, [(i.item_id, encode(i)) for i in world.catalogue()])
    history = list(world.interactions(6000))
    send(s, s.topic_interactions, [(e.user_id, encode(e)) for e in history])
    last_event = {e.user_id: e.event_id for e in history}
    probes = sorted(last_event)[:20]
    reader = Reader(s, s.topic_recommendations)
    worker.start()
    try:
        settle(reader, worker, len(history), timeout=280)  # then each probe's latest list
        before = {u: reader.recommendations(u)[-1] for u in probes}
    finally:
        assert worker.stop() == 0, worker.log_tail()
    assert _mean_share(world, [before[u] for u in probes]) >= 0.6

    worker.start()
    try:
        old = history[0]
        # each probe takes the first item of its list: it is excluded now, so the list changes
        fresh = [like(f"after-{u}", u, before[u].items[0].item_id, ts=2e9) for u in probes]
        send(s, s.topic_interactions, [like(old.event_id, old.user_id, old.item_id, kind=old.type), *fresh])
        done = lambda r: all(has_rec_for(u, f"after-{u}")(r) for u in probes)  # noqa: E731
        reader.poll_until(done, FIRST_RECOMMENDATION_TIMEOUT, worker)
        after = {r.user_id: r for r in reader.recommendations() if r.event_id.startswith("after-")}
        replayed = [r for r in reader.recommendations(old.user_id) if r.event_id == old.event_id]
    finally:
        worker.stop()
        reader.close()
    # The model continued from its snapshot rather than starting over ...
    assert min(_updates(r) for r in after.values()) > max(_updates(r) for r in before.values())
    # ... users' learned vectors came back from the table: lists still fit the planted taste
    # (fresh random vectors would give about 1 in 4) ...
    assert _mean_share(world, list(after.values())) >= 0.6
    # ... and the dedupe window came back too: an old event id sent again was not applied.
    assert len(replayed) == 1


def _mean_share(world: SyntheticWorld, recs: list[Recommendation]) -> float:
    shares = [_own_cluster_share(world, r) for r in recs]
    return sum(shares) / len(shares)
