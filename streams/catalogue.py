"""Read the compacted items topic from the beginning into the engine before serving.

Every worker needs the whole catalogue (any user's retrieval searches all items), and a
user's first list must not be computed on a half-read catalogue. So at start-up the
worker reads the items topic up to the end offsets it had then, with a throwaway
consumer group; the items agent carries on with live updates (applying an item twice is
harmless).
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from recsys.engine import Engine
from recsys.settings import Settings
from schemas import Item, SchemaError, decode
from streams.kafka_io import make_consumer

log = logging.getLogger("streams")


def load_catalogue(settings: Settings, engine: Engine, timeout: float = 120.0) -> int:
    """Apply every record of the items topic to ``engine``; returns how many were read."""
    consumer = make_consumer(settings)
    try:
        topic = settings.topic_items
        meta = consumer.list_topics(topic, timeout=30).topics[topic]
        ends: dict[int, int] = {}
        for partition in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=30)
            if high > low:
                ends[partition] = high
        if not ends:
            return 0
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        read = 0
        deadline = time.monotonic() + timeout
        while ends and time.monotonic() < deadline:
            for msg in consumer.consume(1000, 0.5):
                if msg.error() is not None:
                    continue
                read += 1
                _apply(engine, msg.key(), msg.value())
                partition, offset = msg.partition() or 0, msg.offset() or 0
                if offset + 1 >= ends.get(partition, 0):
                    ends.pop(partition, None)
        if ends:
            log.warning("catalogue not fully read within %ss; partitions left: %s", timeout, sorted(ends))
        engine.refresh_index()
        return read
    finally:
        consumer.close()


def _apply(engine: Engine, key: bytes | None, value: bytes | None) -> None:
    if value is None:
        if key is not None:
            engine.remove_item(key.decode(errors="replace"))
        return
    try:
        engine.apply_item(decode(Item, value))
    except SchemaError:
        pass  # the items agent dead-letters it with its reason
