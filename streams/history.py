"""Read the input topics from the beginning up to their end offsets at start: the history ``recsys train`` fits.

Every partition of the items, users and interactions topics is assigned at its first offset and
read until the end offset it had when reading started, then reading stops: events produced
meanwhile are left to the worker. :func:`order_history` (pure, no Kafka) turns the messages into
the order a dataset loader yields (:mod:`recsys.datasets.base`): the catalogue (the latest record
per key; a tombstone removes the item), then the profiles, then the interactions by timestamp.
Messages that do not decode are counted and skipped; the worker sends them to the dead letters.

Examples
--------
>>> from schemas import Interaction, Item, encode
>>> msgs = [Message("interactions", 0, 0, b"u1", encode(Interaction("e2", "u1", "matrix", "like", 20.0))),
...         Message("interactions", 1, 0, b"u2", encode(Interaction("e1", "u2", "matrix", "view", 10.0))),
...         Message("items", 0, 0, b"matrix", encode(Item("matrix"))),
...         Message("items", 0, 1, b"alien", encode(Item("alien"))),
...         Message("items", 0, 2, b"alien", None),
...         Message("interactions", 1, 1, b"u2", b"not json")]
>>> history = order_history(msgs, items_topic="items", users_topic="users")
>>> [getattr(e, "event_id", getattr(e, "item_id", "")) for e in history.events], history.bad
(['matrix', 'e1', 'e2'], 1)
>>> history.last_offsets
{'interactions:0': 0, 'interactions:1': 1, 'items:0': 2}
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from recsys.datasets.base import Event
from recsys.settings import Settings
from schemas import Interaction, Item, SchemaError, User, decode
from streams.kafka_io import make_admin, make_consumer, watermarks

__all__ = ["History", "Message", "order_history", "read_history"]

POLL_S = 1.0


class Message(NamedTuple):
    """The parts of a Kafka message the history needs."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass
class History:
    """Events in replay order, how many messages were skipped, and the last offset read per partition."""

    events: list[Event] = field(default_factory=list)
    bad: int = 0
    last_offsets: dict[str, int] = field(default_factory=dict)  # "topic:partition" -> offset, as Engine.offsets


def order_history(messages: Iterable[Message], items_topic: str, users_topic: str) -> History:
    """The catalogue, then the profiles, then every interaction by timestamp (see the module)."""
    history = History()
    items: dict[str, Item] = {}
    users: dict[str, User] = {}
    interactions: list[Interaction] = []
    for msg in messages:
        spot = f"{msg.topic}:{msg.partition}"
        history.last_offsets[spot] = max(msg.offset, history.last_offsets.get(spot, -1))
        try:
            if msg.topic == items_topic:
                if msg.value is None:
                    items.pop((msg.key or b"").decode(errors="replace"), None)
                else:
                    item = decode(Item, msg.value)
                    items[item.item_id] = item
            elif msg.topic == users_topic:
                user = decode(User, msg.value or b"")
                users[user.user_id] = user
            else:
                interactions.append(decode(Interaction, msg.value or b""))
        except SchemaError:
            history.bad += 1
    interactions.sort(key=lambda e: e.timestamp)  # stable: a partition's order holds among equal times
    history.events = [*items.values(), *users.values(), *interactions]
    history.last_offsets = dict(sorted(history.last_offsets.items()))
    return history


def read_history(settings: Settings, timeout: float = 30.0) -> History:
    """Read the items, users and interactions topics from the beginning up to their end offsets now."""
    topics = [settings.topic_items, settings.topic_users, settings.topic_interactions]
    metadata = make_admin(settings).list_topics(timeout=timeout).topics
    consumer = make_consumer(settings)
    remaining: dict[tuple[str, int], int] = {}  # partition -> its end offset at start
    try:
        for topic in topics:
            if topic not in metadata:
                print(f"warning: topic {topic!r} does not exist; nothing read from it", file=sys.stderr)
                continue
            for partition in sorted(metadata[topic].partitions):
                low, high = watermarks(consumer, topic, partition, timeout)
                if high > low:
                    remaining[(topic, partition)] = high
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in remaining])
        return order_history(_poll(consumer, remaining, timeout), settings.topic_items, settings.topic_users)
    finally:
        consumer.close()


def _poll(consumer: Consumer, remaining: dict[tuple[str, int], int], timeout: float) -> Iterator[Message]:
    idle_since = time.monotonic()
    while remaining:
        msg = consumer.poll(POLL_S)
        if msg is None:
            # a partition whose last offsets hold no record (compaction, transaction markers) ends here
            for tp in consumer.position([TopicPartition(t, p) for t, p in remaining]):
                if tp.offset >= remaining[(str(tp.topic), int(tp.partition))]:
                    del remaining[(str(tp.topic), int(tp.partition))]
            if remaining and time.monotonic() - idle_since > timeout:
                raise TimeoutError(
                    f"no message for {timeout:g} s while reading the topics up to their end offsets; still "
                    f"missing {sorted(remaining)}. Is the broker up (RECSYS_BROKER_URL)?"
                )
            continue
        idle_since = time.monotonic()
        spot, offset = (str(msg.topic()), int(msg.partition() or 0)), int(msg.offset() or 0)
        end = remaining.get(spot)
        if msg.error() or end is None or offset >= end:
            continue
        yield Message(spot[0], spot[1], offset, msg.key(), msg.value())
        if offset >= end - 1:
            del remaining[spot]
