"""A client for the services around the recommender: send events, read recommendation lists.

A Python service that sends events needs the topic names, the key of each record, the
partitioner that puts a key where the worker expects it (``murmur2_random``, as Java's default
and faust's) and the JSON shapes; one that reads lists needs the topic and the decoding. Both
come from the same :class:`~recsys.settings.Settings` as the worker's (``RECSYS_*``).

:class:`EventProducer` validates each record before it is sent (a :class:`~schemas.SchemaError`
names the field and the fix), keys it as its topic requires, and produces it idempotently;
:meth:`EventProducer.flush` raises :class:`DeliveryError` when any message was not delivered.
:class:`Recommendations` yields the lists as they are published, for all users or some, as an
iterator, a callback loop or an async iterator.

Examples
--------
Which topic and key each record goes to (no broker needed):

>>> from schemas import Follow, Interaction, Item
>>> route(Interaction("e1", "alice", "m1", "click", timestamp=1.0))
('interactions', 'alice')
>>> route(Item("m1", title="Heat")), route(Follow("f1", "alice", "bob", "follow", 2.0))
(('items', 'm1'), ('follows', 'alice'))

With a broker (``tests/integration/test_client_kafka.py`` runs this)::

    from streams.client import EventProducer, Recommendations

    with EventProducer() as events:               # RECSYS_BROKER_URL, RECSYS_TOPIC_*
        events.upsert_item("m1", title="Heat", attributes={"genres": ["Crime"]})
        events.send_interaction("alice", "m1", "like")
    with Recommendations(users={"alice"}) as lists:
        for rec in lists:                          # blocks until the next list
            print(rec.user_id, [item.item_id for item in rec.items])
            break
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from types import TracebackType
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, KafkaError, Message, TopicPartition

from recsys.errors import RecsysError
from recsys.settings import Settings
from schemas import Context, Follow, Interaction, Item, Recommendation, Rule, User, decode, encode
from streams.events_io import Record, topic_and_key
from streams.kafka_io import make_admin, make_consumer, make_producer, produce, watermarks

TOPIC_SETTING = {
    "interactions": "topic_interactions", "items": "topic_items", "users": "topic_users",
    "follows": "topic_follows", "context": "topic_context", "rules": "topic_rules",
}  # fmt: skip
"""Each kind of record -> the setting that names its topic."""


def route(record: Record) -> tuple[str, str]:
    """The kind of topic a record goes to and its key (:data:`TOPIC_SETTING`)."""
    return topic_and_key(record)


class DeliveryError(RecsysError):
    """Messages were not delivered to the broker (the message says how many, and why)."""


class EventProducer:
    """Sends validated events to the recommender's input topics, keyed and partitioned as the
    worker expects (see the module docstring). Use as a context manager, or call :meth:`flush`."""

    def __init__(self, settings: Settings | None = None, **librdkafka: Any) -> None:
        """``librdkafka``: extra producer settings (``**{"linger.ms": 50}``); the partitioner and
        idempotence are the worker's and cannot be changed here."""
        for fixed in ("partitioner", "enable.idempotence"):
            if fixed in librdkafka:
                raise ValueError(f"{fixed!r} is set by the client so that keys land where the worker reads them")
        self.settings = settings or Settings.from_env()
        self.producer = make_producer(self.settings, **librdkafka)
        self.failed = 0
        self.reasons: list[str] = []

    # ------------------------------------------------------------------ any record
    def send(self, record: Record) -> None:
        """Validate ``record`` (as the worker will) and send it to its topic under its key."""
        raw = encode(record)
        decode(type(record), raw)  # a SchemaError names the field and the fix
        kind, key = route(record)
        self.send_encoded(kind, key, raw)

    def send_encoded(self, kind: str, key: str | None, value: bytes | None) -> None:
        """Send bytes as they are to the topic of ``kind`` (:data:`TOPIC_SETTING`) under ``key``
        (``value`` None: a tombstone). No validation: for records already checked, and raw input."""
        topic = getattr(self.settings, TOPIC_SETTING[kind])
        produce(self.producer, topic, value, None if key is None else key.encode(),  # type: ignore[arg-type]
                on_delivery=self._delivered)

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failed += 1
            if len(self.reasons) < 3:
                self.reasons.append(f"{msg.topic()}: {err.str()}")

    # ------------------------------------------------------------------ by kind
    def send_interaction(
        self, user_id: str, item_id: str, type: str, *, value: float | None = None,
        timestamp: float | None = None, event_id: str | None = None, context: dict[str, Any] | None = None,
        list_id: str = "", position: int = 0,
    ) -> Interaction:  # fmt: skip
        """What a user did to an item (``type``: view, click, like, dislike, rating with ``value``,
        purchase, skip...); ``list_id`` and ``position`` when it answers a recommendation list.
        Returns the event sent (its ``event_id`` makes a resend harmless)."""
        event = Interaction(event_id or uuid.uuid4().hex, user_id, item_id, type, time.time() if timestamp is None
                            else timestamp, value, dict(context or {}), list_id, position)  # fmt: skip
        self.send(event)
        return event

    def upsert_item(self, item_id: str, *, title: str = "", attributes: dict[str, Any] | None = None,
                    published_at: float | None = None, available: bool = True) -> Item:  # fmt: skip
        """Add or replace a catalogue entry."""
        item = Item(item_id, title, dict(attributes or {}), published_at, available)
        self.send(item)
        return item

    def delete_item(self, item_id: str) -> None:
        """Remove an item from every future list (a tombstone on the compacted items topic)."""
        Item.from_dict({"item_id": item_id})  # the id's own rules
        self.send_encoded("items", item_id, None)

    def upsert_user(self, user_id: str, attributes: dict[str, Any] | None = None) -> User:
        """Add or replace a user's profile attributes."""
        user = User(user_id, dict(attributes or {}))
        self.send(user)
        return user

    def follow(self, user_id: str, followee_id: str, *, follow: bool = True, timestamp: float | None = None,
               event_id: str | None = None) -> Follow:  # fmt: skip
        """``user_id`` starts (or with ``follow=False`` stops) following ``followee_id``."""
        event = Follow(event_id or uuid.uuid4().hex, user_id, followee_id, "follow" if follow else "unfollow",
                       time.time() if timestamp is None else timestamp)  # fmt: skip
        self.send(event)
        return event

    def set_context(self, user_id: str, *, timestamp: float | None = None, event_id: str | None = None,
                    **context: Any) -> Context:  # fmt: skip
        """Change the user's context (``device="tv"``, ``session_id="s9"``; None removes a key)."""
        event = Context(event_id or uuid.uuid4().hex, user_id, time.time() if timestamp is None else timestamp,
                        context)  # fmt: skip
        self.send(event)
        return event

    def upsert_rule(self, rule: Rule) -> Rule:
        """Add or replace a business rule (pin, boost) on the control topic."""
        self.send(rule)
        return rule

    def delete_rule(self, rule_id: str) -> None:
        """Delete a rule (a tombstone on the compacted rules topic)."""
        self.send_encoded("rules", rule_id, None)

    # ------------------------------------------------------------------ delivery
    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every message is delivered; :class:`DeliveryError` if any was not (or is
        still queued after ``timeout`` seconds)."""
        queued = self.producer.flush(timeout)
        if self.failed or queued:
            raise DeliveryError(
                f"{self.failed} message(s) not delivered, {queued} still queued after {timeout:g} s "
                f"(broker {self.settings.broker_url}){': ' + '; '.join(self.reasons) if self.reasons else ''}"
            )

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is None:
            self.flush()
        else:
            self.producer.flush(5.0)


class TopicReader:
    """Every message published to ``topic`` from now on (or from the start with
    ``from_beginning``), for all keys or ``keys`` only. Reads every partition directly: no consumer
    group to join, nothing committed."""

    def __init__(self, settings: Settings, topic: str, *, keys: Collection[str] | None = None,
                 from_beginning: bool = False, timeout: float = 30.0) -> None:  # fmt: skip
        self.settings, self.topic = settings, topic
        self.keys = set(keys) if keys is not None else None
        admin, deadline = make_admin(settings), time.monotonic() + timeout
        # all topics: a metadata request naming one topic would auto-create it on a default broker
        while not (meta := admin.list_topics(timeout=timeout).topics.get(topic)) or meta.error or not meta.partitions:
            if time.monotonic() > deadline:
                raise RecsysError(f"topic {topic!r} does not exist at {settings.broker_url}; run "
                                  "`recsys topics create` or start the worker")  # fmt: skip
            time.sleep(0.2)
        self.consumer = make_consumer(settings)
        # "now" is each partition's end as the broker says it now: OFFSET_END would be read at the
        # first fetch, and a message published before that (the answer to an event sent right after
        # this returns) would be skipped
        self.consumer.assign([
            TopicPartition(topic, p, OFFSET_BEGINNING if from_beginning else watermarks(self.consumer, topic, p,
                                                                                         timeout)[1])
            for p in sorted(meta.partitions)
        ])  # fmt: skip

    def poll_message(self, timeout: float = 1.0) -> Message | None:
        """The next message with a value for the keys asked for, or None after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            msg = self.consumer.poll(left)
            if msg is None or msg.error() is not None or msg.value() is None:
                continue
            if self.keys is not None and (msg.key() or b"").decode(errors="replace") not in self.keys:
                continue
            return msg
        return None

    def close(self) -> None:
        self.consumer.close()


class Recommendations(TopicReader):
    """The recommendation lists as they are published (all users, or ``users`` only), decoded."""

    def __init__(self, settings: Settings | None = None, *, users: Collection[str] | None = None,
                 from_beginning: bool = False, timeout: float = 30.0) -> None:  # fmt: skip
        settings = settings or Settings.from_env()
        super().__init__(settings, settings.topic_recommendations, keys=users, from_beginning=from_beginning,
                         timeout=timeout)  # fmt: skip

    def poll(self, timeout: float = 1.0) -> Recommendation | None:
        """The next list for the users asked for, or None after ``timeout`` seconds without one."""
        msg = self.poll_message(timeout)
        return None if msg is None else decode(Recommendation, msg.value())

    def __iter__(self) -> Iterator[Recommendation]:
        """Every list from now on, blocking between them (stop with ``break``)."""
        while True:
            rec = self.poll(1.0)
            if rec is not None:
                yield rec

    def run(self, callback: Callable[[Recommendation], Any], *, seconds: float | None = None) -> int:
        """Call ``callback`` with each list until it returns ``False`` (or raises), or for ``seconds``;
        returns how many lists it was given."""
        seen, deadline = 0, None if seconds is None else time.monotonic() + seconds
        while deadline is None or time.monotonic() < deadline:
            rec = self.poll(1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic())))
            if rec is not None:
                seen += 1
                if callback(rec) is False:
                    break
        return seen

    async def __aiter__(self) -> AsyncIterator[Recommendation]:
        """The lists for ``async for``: each poll runs in a thread, so the event loop stays free."""
        while True:
            rec = await asyncio.to_thread(self.poll, 1.0)
            if rec is not None:
                yield rec

    def __enter__(self) -> Recommendations:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
