"""The CLI against a real broker: topic creation, produce (partitioning as faust expects), tail.

Needs a Kafka broker at RECSYS_BROKER_URL (default kafka://127.0.0.1:9092); fails, not skips,
when there is none. Every test works on its own uuid-suffixed topics and deletes them after.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from aiokafka.partitioner import murmur2  # what faust (aiokafka) partitions keys with

from recsys.settings import Settings
from schemas import DeadLetter, Interaction, Recommendation, RecommendedItem, decode, encode
from streams.cli import main
from streams.kafka_io import (
    create_topics,
    make_admin,
    make_consumer,
    make_producer,
)
from tests.conftest import TOPIC_FIELDS

pytestmark = pytest.mark.integration

PARTITIONS = 4


@pytest.fixture
def settings(topic_settings: Callable[..., Settings]) -> Settings:
    """Settings on fresh topics of the test broker, also exported as RECSYS_* variables for ``main``."""
    return topic_settings("it", partitions=PARTITIONS)


class Received(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


def _consume(settings: Settings, topics: list[str], expected: int, timeout: float = 30.0) -> list[Received]:
    """Every keyed message of ``topics``: ``expected`` of them, then one second more for extras."""
    consumer = make_consumer(settings)
    consumer.subscribe(topics)
    messages: list[Received] = []
    deadline = time.monotonic() + timeout
    extra_until = None
    try:
        while time.monotonic() < (extra_until or deadline):
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
                key, value = msg.key(), msg.value()
                assert topic and partition is not None and offset is not None and key and value, msg
                messages.append(Received(topic, partition, offset, bytes(key), bytes(value)))
            if len(messages) >= expected and extra_until is None:
                extra_until = time.monotonic() + 1.0
    finally:
        consumer.close()
    return messages


def test_create_topics_then_exists_then_partition_mismatch(settings: Settings) -> None:
    topics = [getattr(settings, name) for name in TOPIC_FIELDS]

    assert create_topics(settings) == {topic: "created" for topic in topics}
    assert create_topics(settings) == {topic: "exists" for topic in topics}
    assert create_topics(settings.replace(partitions=2)) == {
        topic: f"exists with {PARTITIONS} partitions, expected 2" for topic in topics
    }

    metadata = make_admin(settings).list_topics(timeout=10).topics
    assert {len(metadata[topic].partitions) for topic in topics} == {PARTITIONS}


def test_topics_create_command_fails_on_a_partition_mismatch(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["topics", "create"]) == 0
    out = capsys.readouterr().out
    for name in TOPIC_FIELDS:
        assert re.search(rf"^{getattr(settings, name)} +created$", out, re.MULTILINE), out

    monkeypatch.setenv("RECSYS_PARTITIONS", "2")
    assert main(["topics", "create"]) == 1
    captured = capsys.readouterr()
    assert f"exists with {PARTITIONS} partitions, expected 2" in captured.out
    assert "RECSYS_PARTITIONS" in captured.err


def _events_file(tmp_path: Path) -> tuple[Path, list[Interaction]]:
    interactions = [
        Interaction(f"e{n}", user, f"i{n % 3}", "view", float(n))
        for n, user in enumerate(["alice", "bob", "carol", "dave", "erin", "frank"] * 3)
    ]
    lines = [
        "# catalogue first",
        json.dumps({"item": {"item_id": "i0", "title": "Zero"}}),
        json.dumps({"item": {"item_id": "i1", "title": "One"}}),
        json.dumps({"user": {"user_id": "alice", "attributes": {"country": "NL"}}}),
        json.dumps({"rule": {"rule_id": "sale", "action": "boost", "item_ids": ["i1"], "weight": 0.2}}),
        *(json.dumps(i.to_dict()) for i in interactions[:8]),
        json.dumps({"event_id": "bad", "user_id": "carol", "item_id": "i1", "type": "love", "timestamp": 1}),
        json.dumps({"context": {"event_id": "c1", "user_id": "dave", "timestamp": 8, "context": {"device": "tv"}}}),
        *(json.dumps({"interaction": i.to_dict()}) for i in interactions[8:]),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, interactions


def test_produce_puts_each_key_on_the_partition_faust_expects(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create_topics(settings)
    path, interactions = _events_file(tmp_path)

    status = main(["produce", str(path), "--skip-invalid", "--no-progress"])

    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "sent 18 interactions, 2 items, 1 users, 1 context, 1 rules in " in captured.out
    assert "1 invalid lines sent raw" in captured.out
    assert f"{path}:14:" in captured.err

    topics = [settings.topic_interactions, settings.topic_items, settings.topic_users, settings.topic_context,
              settings.topic_rules]  # fmt: skip
    messages = _consume(settings, topics, expected=18 + 1 + 2 + 1 + 1 + 1)
    by_topic: dict[str, list[Received]] = defaultdict(list)
    for msg in messages:
        by_topic[msg.topic].append(msg)
    assert {t: len(m) for t, m in by_topic.items()} == {topics[0]: 19, topics[1]: 2, topics[2]: 1, topics[3]: 1,
                                                        topics[4]: 1}  # fmt: skip
    assert [m.key for m in by_topic[topics[3]] + by_topic[topics[4]]] == [b"dave", b"sale"]

    partitions_of_key: dict[bytes, set[int]] = defaultdict(set)
    for msg in messages:
        # the partition aiokafka/faust would choose for this key: murmur2, as in the Java client
        assert msg.partition == (murmur2(msg.key) & 0x7FFFFFFF) % PARTITIONS, msg.key
        partitions_of_key[msg.key].add(msg.partition)
    assert all(len(parts) == 1 for parts in partitions_of_key.values())
    assert len({next(iter(p)) for p in partitions_of_key.values()}) > 1  # keys do spread out

    # every interaction arrives once, keyed by its user, in the file's order per user
    received = defaultdict(list)
    for msg in sorted(by_topic[topics[0]], key=lambda m: (m.partition, m.offset)):
        if b'"love"' in msg.value:
            assert msg.key == b"carol"  # the invalid line still went to its user's partition
            continue
        record = decode(Interaction, msg.value)
        assert msg.key == record.user_id.encode()
        received[record.user_id].append(record)
    expected = defaultdict(list)
    for interaction in interactions:
        expected[interaction.user_id].append(interaction)
    assert received == expected


def test_produce_stops_at_the_first_bad_line_by_default(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create_topics(settings)
    path, _ = _events_file(tmp_path)

    assert main(["produce", str(path), "--no-progress"]) == 1

    captured = capsys.readouterr()
    assert f"error: {path}:14: interaction: field 'type' must be one of" in captured.err
    assert "sent 8 interactions, 2 items, 1 users, 1 rules" in captured.out


def test_tail_prints_recommendations_and_dead_letters(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    create_topics(settings)
    now = time.time()
    rec = Recommendation(
        user_id="alice", event_id="e7", generated_at=now, model_version="online-mf@3",
        items=(RecommendedItem("i1", 0.9, ("mf", "covisit"), ("matches your taste", "because you liked i0")),
               RecommendedItem("i22", 0.25)),
        latency_ms=4.31,
    )  # fmt: skip
    other = Recommendation("bob", "e8", now, "online-mf@3", (RecommendedItem("i3", 0.5),), 1.0)
    raw = b'{"user_id": "alice", "type": "love"}'
    letter = DeadLetter(
        reason="interaction: field 'type' must be one of ...", error="SchemaError",
        source_topic=settings.topic_interactions, partition=1, offset=42, key="alice",
        value_base64=base64.b64encode(raw).decode(), value=raw.decode(), failed_at=now,
    )  # fmt: skip
    producer = make_producer(settings)
    producer.produce(settings.topic_recommendations, encode(other), key="bob")
    producer.produce(settings.topic_recommendations, encode(rec), key="alice")
    producer.produce(settings.topic_dead_letters, encode(letter), key="alice")
    assert producer.flush(60) == 0  # a fresh broker may still be loading its coordinators
    clock = time.strftime("%H:%M:%S", time.localtime(now))

    status = main(["tail", "--from-beginning", "--user", "alice", "--max-messages", "1", "--timeout", "10"])
    assert status == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{clock}  user alice  after e7  4.3 ms  online-mf@3",
        "  1. i1   0.900  [mf, covisit]  matches your taste; because you liked i0",
        "  2. i22  0.250  []",
    ]

    assert main(["tail", "--from-beginning", "--max-messages", "2", "--timeout", "10", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(decode(Recommendation, json.dumps(line)).user_id for line in lines) == ["alice", "bob"]

    assert main(["tail", "--dead-letters", "--from-beginning", "--timeout", "3"]) == 0
    out = capsys.readouterr().out
    header = f"{clock}  DEAD LETTER from {settings.topic_interactions}[1]@42: "
    assert out.startswith(header + "interaction: field 'type' must be one of")
    assert raw.decode() in out
