"""The client's producer without a broker: each record's topic and key, and validation before sending."""

from __future__ import annotations

import pytest

from recsys.settings import Settings
from schemas import Context, Follow, Interaction, Item, Rule, SchemaError, User
from streams.client import TOPIC_SETTING, EventProducer, route


def test_every_record_goes_to_its_topic_under_the_key_the_worker_partitions_by() -> None:
    records = [
        (Interaction("e", "alice", "m1", "click", 1.0), ("interactions", "alice")),
        (Item("m1"), ("items", "m1")),
        (User("alice"), ("users", "alice")),
        (Follow("f", "alice", "bob", "follow", 1.0), ("follows", "alice")),  # the follower's partition
        (Context("c", "alice", 1.0, {"device": "tv"}), ("context", "alice")),
        (Rule("r1", "boost", ("m1",)), ("rules", "r1")),
    ]
    for record, expected in records:
        assert route(record) == expected
    assert set(TOPIC_SETTING) == {kind for _, (kind, _) in records}  # every kind has its topic setting
    assert all(hasattr(Settings(), name) for name in TOPIC_SETTING.values())


class Recorder(EventProducer):
    """The producer with its sending recorded instead of produced."""

    def __init__(self) -> None:
        super().__init__(Settings(broker_url="kafka://127.0.0.1:1"))
        self.sent: list[tuple[str, str | None, bytes | None]] = []

    def send_encoded(self, kind: str, key: str | None, value: bytes | None) -> None:
        self.sent.append((kind, key, value))


def test_invalid_records_raise_before_anything_is_sent() -> None:
    events = Recorder()
    with pytest.raises(SchemaError, match="type"):
        events.send_interaction("alice", "m1", "teleport")
    with pytest.raises(SchemaError, match="follow"):
        events.follow("alice", "alice")
    with pytest.raises(SchemaError):
        events.set_context("alice")  # no key changed
    assert events.sent == []
    event = events.send_interaction("alice", "m1", "rating", value=4.5, list_id="l1", position=2)
    events.delete_item("m1")
    assert [(k, key) for k, key, _ in events.sent] == [("interactions", "alice"), ("items", "m1")]
    assert events.sent[1][2] is None and event.position == 2 and len(event.event_id) == 32
    with pytest.raises(ValueError, match="partitioner"):
        EventProducer(Settings(), partitioner="random")
