"""Small confluent-kafka helpers for the CLI and the tests: producer, consumer, topics, broker check.

The worker itself talks to Kafka through faust (aiokafka); these helpers are for everything
around it. Two facts they encode:

* faust partitions keys with Java's murmur2, so every producer here uses
  ``partitioner=murmur2_random``; librdkafka's default (``consistent_random``, CRC32) would put
  a user's events on another partition than the worker's table expects.
* faust's table changelogs must have as many partitions as the source topic, so
  :func:`create_topics` reports a topic that exists with another partition count.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from recsys.errors import RecsysError
from recsys.settings import Settings
from streams import security

__all__ = [
    "BrokerUnavailable",
    "create_topics",
    "make_admin",
    "make_consumer",
    "make_producer",
    "topic_specs",
    "wait_for_broker",
    "watermarks",
]

# librdkafka logs every failed connection attempt; route its log lines to Python logging
# (silent unless configured) instead of stderr, and report failures as exceptions instead.
# Transient states (e.g. "coordinator load in progress: retrying") are logged at WARNING; keep
# them out of the CLI's output unless the application configures logging.
_LOG = logging.getLogger("streams.kafka")
_LOG.addHandler(logging.NullHandler())


class BrokerUnavailable(RecsysError):
    """No Kafka broker answered at the configured URL."""


def _base_config(settings: Settings) -> dict[str, Any]:
    return {"bootstrap.servers": settings.broker_servers, "logger": _LOG, **security.librdkafka(settings)}


_SETTLING = frozenset({
    KafkaError.NOT_LEADER_FOR_PARTITION, KafkaError.LEADER_NOT_AVAILABLE, KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._TIMED_OUT, KafkaError.REQUEST_TIMED_OUT, KafkaError._TRANSPORT,
})  # fmt: skip
"""Errors of a partition whose leader is still being elected (a topic created a moment ago, a broker
restarting): asking again shortly succeeds."""


def watermarks(consumer: Consumer, topic: str, partition: int, timeout: float = 30.0) -> tuple[int, int]:
    """The partition's (low, high) offsets from its leader, asking again while the partition
    settles (:data:`_SETTLING`, e.g. just after the topic was created) until ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=max(1.0, deadline - time.monotonic())
            )
            return low, high
        except KafkaException as exc:
            if exc.args[0].code() not in _SETTLING or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def make_producer(settings: Settings, **overrides: Any) -> Producer:
    """A producer whose keyed messages land on the partitions faust expects.

    ``overrides`` are extra librdkafka settings, e.g. ``**{"message.timeout.ms": 5000}``.
    """
    config: dict[str, Any] = {
        **_base_config(settings),
        "partitioner": "murmur2_random",  # same partition as faust/aiokafka for the same key
        "enable.idempotence": True,
        "linger.ms": 5,
    }
    config.update(overrides)
    return Producer(config)


def produce(producer: Producer, topic: str, value: bytes, key: str | bytes | None = None, **kw: Any) -> None:
    """``producer.produce`` that waits (serving delivery reports) while the local queue is full."""
    while True:
        try:
            producer.produce(topic, value=value, key=key, **kw)
            break
        except BufferError:
            producer.poll(0.1)
    producer.poll(0)


def make_consumer(settings: Settings, group_id: str | None = None, from_beginning: bool = True) -> Consumer:
    """A consumer; without ``group_id`` a throwaway group that commits nothing."""
    config: dict[str, Any] = {
        **_base_config(settings),
        "group.id": group_id or f"recsys-cli-{uuid.uuid4().hex[:12]}",
        "auto.offset.reset": "earliest" if from_beginning else "latest",
        "enable.auto.commit": group_id is not None,
        "enable.partition.eof": False,
    }
    return Consumer(config)


def make_admin(settings: Settings) -> AdminClient:
    return AdminClient(_base_config(settings))


def topic_specs(settings: Settings) -> dict[str, dict[str, str]]:
    """Every topic the service owns, mapped to its topic-level config."""
    compact = {"cleanup.policy": "compact"}
    return {
        settings.topic_interactions: {},
        settings.topic_items: dict(compact),
        settings.topic_users: dict(compact),
        settings.topic_follows: {},  # not compacted: keyed by follower, each key holds many follows
        settings.topic_context: {},  # not compacted: a user's context changes are events, merged in order
        settings.topic_rules: dict(compact),  # keyed by rule_id: the latest version of each rule
        settings.topic_experiments: dict(compact),  # one key: the experiment running now
        settings.topic_recommendations: {},
        settings.topic_dead_letters: {},
        # written by the workers; a like older than 4 half-lives weighs under 1/16 in the social generator
        settings.topic_likes: {"retention.ms": str(int(4 * settings.social_half_life * 1000))},
        settings.topic_item_updates: {},  # the log of item learning: a restarted worker replays it past its snapshot
    }


def wait_for_broker(settings: Settings, timeout: float) -> None:
    """Return once the broker answers; raise :class:`BrokerUnavailable` after ``timeout`` seconds."""
    admin = make_admin(settings)
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        remaining = deadline - time.monotonic()
        try:
            admin.list_topics(timeout=max(0.5, min(remaining, 5.0)))
            return
        except KafkaException as exc:
            last = exc
        if time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    raise BrokerUnavailable(
        f"no Kafka broker answered at {settings.broker_url} within {timeout:g} s ({last}); "
        "start one with `python deploy/kafka.py start`, or set RECSYS_BROKER_URL"
    )


def create_topics(settings: Settings, timeout: float = 30.0) -> dict[str, str]:
    """Create the service's topics; return topic -> "created", "exists" or a partition-count mismatch."""
    admin = make_admin(settings)
    specs = topic_specs(settings)
    existing = admin.list_topics(timeout=timeout).topics
    result: dict[str, str] = {}
    missing = [
        NewTopic(name, num_partitions=settings.partitions,
                 replication_factor=settings.replication_factor, config=config)
        for name, config in specs.items()
        if name not in existing
    ]  # fmt: skip
    futures = admin.create_topics(missing, request_timeout=timeout) if missing else {}
    for name, future in futures.items():
        try:
            future.result()
            result[name] = "created"
        except KafkaException as exc:
            error = exc.args[0]
            if not (isinstance(error, KafkaError) and error.code() == KafkaError.TOPIC_ALREADY_EXISTS):
                raise  # another client created it meanwhile: checked below like any existing topic
    if len(result) < len(specs):
        # Metadata of a topic created a moment ago may not list its partitions yet: look again
        # for a few seconds before calling a partition count a mismatch, and while any topic shows
        # none at all (no topic has 0 partitions: a broker just started is still loading them),
        # for up to ``timeout``.
        began = time.monotonic()
        while True:
            existing = admin.list_topics(timeout=timeout).topics
            counts = [len(existing[n].partitions) if n in existing else 0 for n in specs if n not in result]
            waited = time.monotonic() - began
            if all(c == settings.partitions for c in counts) or waited > timeout or (waited > 5.0 and all(counts)):
                break
            time.sleep(0.2)
    for name in specs:
        if name in result:
            continue
        count = len(existing[name].partitions) if name in existing else 0
        if count == settings.partitions:
            result[name] = "exists"
        else:
            result[name] = f"exists with {count} partitions, expected {settings.partitions}"
    return {name: result[name] for name in specs}
