"""The topics every worker reads whole: ``items``, ``rules``, ``likes``, ``item-updates`` and ``experiments``.

Users are split between the workers of the consumer group (``interactions``, ``users``,
``follows`` and ``context`` are keyed by user, and each worker reads its share of the
partitions). But any user's list is drawn from the whole catalogue under every rule, so each
worker must see every record of ``items`` and ``rules``, whichever partition it was produced
on: a new item, a withdrawal or a rule takes effect on every worker. Inside the group a worker
would read only its share of them.

The workers write the other two, in batches keyed by the writing worker's name (which an
``recsys-origin`` header repeats, so a worker skips its own batches without decoding them):
``likes`` carries the positive interactions each worker applied (:meth:`Engine.take_shared
<recsys.engine.Engine.take_shared>`): a user's followees may live on any worker, and the social
generator reads their recent likes. ``item-updates`` carries what each interaction taught the
item side (:class:`schemas.ItemUpdate`), so every worker learns from every user; it is a log,
read from where the restored snapshot stopped (the snapshot records the offsets), and a worker
skips its own updates it applied (by their number).

So every worker reads them with a consumer of its own, outside the group, assigned every
partition (faust's ``GlobalTable`` does not reliably deliver every partition's updates to every
worker: faust issue 541). Two steps:

1. :meth:`GlobalReader.load`, at start-up, before the worker serves: read each partition
   from the beginning to the end offset it had then (a user's first list sees the whole
   catalogue and every rule), with a blocking confluent-kafka consumer.
2. :meth:`GlobalReader.run`, an app task on the event loop (so the engine keeps one
   writer): carry on from there with aiokafka, applying each record as it arrives; the
   worker re-ranks the users a change affects (``on_change``).

Applying a record of ``items``, ``rules`` or ``likes`` twice is harmless (an item or a rule is
replaced by its id, a user's like of an item is kept once), so reading them from the beginning
after a restart is correct; ``items`` and ``rules`` are compacted, so it stays short.

A record that is not valid is skipped here: the group's ``items`` and ``rules`` agents validate
the same records and dead-letter the bad ones, once, on the worker that owns the partition
(:func:`item_change` and :func:`rule_change` are the one decoding both use). ``likes`` is
written by the workers themselves; a bad one is logged.

>>> item_change(b"a", b'{"item_id": "a", "title": "A"}')
('a', Item(item_id='a', title='A', attributes={}, published_at=None, available=True, schema_version=2))
>>> item_change(b"gone", None)
('gone', None)
>>> rule_change(b"r2", b'{"rule_id": "r1", "action": "boost", "item_ids": ["a"]}')  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
schemas.errors.SchemaError: rule: the message key b'r2' must be the rule_id 'r1' (the topic is compacted ...
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

import numpy as np
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition as AioPartition
from confluent_kafka import TopicPartition

from recsys.engine import Engine
from recsys.errors import ConfigError
from recsys.experiments import Experiment
from recsys.settings import Settings
from schemas import Item, ItemUpdate, Like, Rule, SchemaError, decode, decode_many
from streams import security
from streams.kafka_io import make_admin, make_consumer, watermarks

log = logging.getLogger("streams")

Position = tuple[str, int]  # (topic, partition)
ORIGIN_HEADER = "recsys-origin"  # on the batches of likes and item updates: the worker that wrote them
FETCH_WAIT_MS = 500  # the most a change waits on the broker for others to batch with
FETCH_MIN_BYTES = 64 * 1024
DELAYS = 2000  # batches of item updates whose delay /stats summarises
CATCH_UP_SECONDS = 30.0  # the most a worker that took over partitions waits for the item updates


def item_change(key: bytes | None, value: bytes | None) -> tuple[str, Item | None]:
    """The item id and its record (None: a tombstone, the item is deleted) of a message on the
    items topic; :class:`SchemaError` when it is not valid."""
    if value is None:
        if key is None:
            raise SchemaError("item: a tombstone needs the item_id as its key")
        return key.decode(errors="replace"), None
    item = decode(Item, value)
    return item.item_id, item


def rule_change(key: bytes | None, value: bytes | None) -> tuple[str, Rule | None]:
    """The rule id and its record (None: a tombstone) of a message on the rules topic;
    :class:`SchemaError` when it is not valid."""
    if value is None:
        if key is None:
            raise SchemaError("rule: a tombstone needs the rule_id as its key")
        return key.decode(errors="replace"), None
    rule = decode(Rule, value)
    if key is not None and key.decode(errors="replace") != rule.rule_id:
        raise SchemaError(f"rule: the message key {key!r} must be the rule_id {rule.rule_id!r} (the topic is "
                          "compacted by key, so a rule is replaced or deleted by its id)")  # fmt: skip
    return rule.rule_id, rule


class GlobalReader:
    """Reads every partition of the four global topics into ``engine`` (see the module)."""

    def __init__(self, settings: Settings, engine: Engine, on_change: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.on_change = on_change
        self.topics = [settings.topic_items, settings.topic_rules, settings.topic_likes, settings.topic_item_updates,
                       settings.topic_experiments]  # fmt: skip
        self.logs = {settings.topic_item_updates}  # read from where the snapshot stopped, not from the beginning
        self.batches = {settings.topic_likes, settings.topic_item_updates}  # written by the workers, in batches
        self.positions: dict[Position, int] = {}  # the next offset to read, per partition
        self.applied = 0  # records applied since start
        self.own = 0  # batches of this worker read back (and skipped: applied when learnt)
        self.skipped = 0  # records not valid (items and rules: dead-lettered by the partition's owner)
        # per batch of another worker's item updates read live: (when applied, seconds from its oldest
        # update's learning, the batch's Kafka timestamp, to then); the latest DELAYS, on_delay sees each
        self.delays: deque[tuple[float, float]] = deque(maxlen=DELAYS)
        self.on_delay: Callable[[float], None] | None = None
        self.live: AIOKafkaConsumer | None = None  # :meth:`run`'s consumer, once it reads

    def delay_percentiles(self, since: float = 0.0) -> dict[str, float]:
        """p50 and p99 (ms) of the :attr:`delays` of batches applied from ``since`` (epoch seconds), and
        how many; empty when there is none.

        >>> reader = GlobalReader.__new__(GlobalReader); reader.delays = deque([(1.0, 0.1), (5.0, 0.2), (6.0, 0.4)])
        >>> reader.delay_percentiles(since=5.0)
        {'update_delay_p50_ms': 300.0, 'update_delay_p99_ms': 398.0, 'update_delays': 2}
        """
        delays = [delay for at, delay in self.delays if at >= since]
        if not delays:
            return {}
        p50, p99 = np.percentile(delays, [50, 99]) * 1000.0
        return {"update_delay_p50_ms": round(float(p50), 1), "update_delay_p99_ms": round(float(p99), 1),
                "update_delays": len(delays)}  # fmt: skip

    def apply(self, topic: str, key: bytes | None, value: bytes | None) -> str | None:
        """Apply one record; the re-rank trigger it makes (``item:<id>``, ``rule:<id>``); None for a
        like (it re-ranks nobody: a follower's next list holds it) or a record that is not valid."""
        try:
            if topic == self.settings.topic_item_updates:  # a batch of one worker's updates
                for update in decode_many(ItemUpdate, value):
                    self.engine.apply_event(update)  # (a worker's own, applied before: skipped)
                    self.applied += 1
                return None
            if topic == self.settings.topic_likes:  # a batch of one worker's likes
                for like in decode_many(Like, value):
                    self.engine.apply_event(like)
                    self.applied += 1
                return None
            if topic == self.settings.topic_experiments:
                experiment = None if value is None else Experiment.parse(value.decode(errors="replace"))
                self.engine.set_experiment(experiment)
                log.info("experiment %s", "stopped" if experiment is None else f"{experiment.name} running")
                self.applied += 1
                return "experiment"  # every active user's next list follows it
            if topic == self.settings.topic_items:
                item_id, item = item_change(key, value)
                self.engine.remove_item(item_id) if item is None else self.engine.apply_item(item)
                trigger = f"item:{item_id}"
            else:
                rule_id, rule = rule_change(key, value)
                self.engine.remove_rule(rule_id) if rule is None else self.engine.apply_rule(rule)
                log.info("rule %s %s", rule_id, "applied" if rule is not None and rule.enabled else "deleted")
                trigger = f"rule:{rule_id}"
        except ConfigError as exc:  # an experiment that is not valid: the one running goes on
            self.skipped += 1
            log.warning("skipped an experiment record that is not valid: %s", exc)
            return None
        except SchemaError as exc:
            self.skipped += 1
            if topic in (self.settings.topic_likes, self.settings.topic_item_updates):  # written by workers
                log.warning("skipped a record of %s that is not valid: %s", topic, exc)
            return None
        except Exception:  # noqa: BLE001 - one record must not stop every later one
            log.exception("applying %s record %r failed", topic, key)
            self.skipped += 1
            return None
        self.applied += 1
        return trigger

    def _consume(
        self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None, own: bool = False
    ) -> str | None:
        """Apply one message (unless it is this worker's ``own`` batch) and record how far the partition
        was read; the snapshot records how far the item learning got. Returns the re-rank trigger."""
        trigger = None
        if own:
            self.own += 1
        else:
            trigger = self.apply(topic, key, value)
        self.positions[(topic, partition)] = offset + 1
        if topic in self.logs:
            self.engine.note_offset(topic, partition, offset)
        return trigger

    def _partitions(self) -> list[Position]:
        """Every partition of the global topics (from the broker's metadata)."""
        admin = make_admin(self.settings)
        topics = admin.list_topics(timeout=30).topics
        return [(t, p) for t in self.topics if t in topics for p in sorted(topics[t].partitions)]

    # ------------------------------------------------------------------ start-up
    def load(self, timeout: float = 120.0) -> int:
        """Read every partition from the beginning to its end offset now; returns how many records
        were read. :meth:`run` carries on from where this stopped."""
        consumer = make_consumer(self.settings)
        read = 0
        try:
            ends: dict[Position, int] = {}
            for topic, partition in self._partitions():
                low, high = watermarks(consumer, topic, partition)
                start = low
                if topic in self.logs:  # past what the restored snapshot applied
                    start = max(low, self.engine.offsets.get(f"{topic}:{partition}", -1) + 1)
                self.positions[(topic, partition)] = start
                if high > start:
                    ends[(topic, partition)] = high
            if not ends:
                return 0
            consumer.assign([TopicPartition(t, p, self.positions[(t, p)]) for t, p in ends])
            deadline = time.monotonic() + timeout
            while ends and time.monotonic() < deadline:
                for msg in consumer.consume(1000, 0.5):
                    if msg.error() is not None:
                        continue
                    read += 1
                    topic, partition, offset = msg.topic() or "", msg.partition() or 0, msg.offset() or 0
                    self._consume(topic, partition, offset, msg.key(), msg.value())
                    if offset + 1 >= ends.get((topic, partition), 0):
                        ends.pop((topic, partition), None)
            if ends:
                log.warning("global topics not fully read within %ss; partitions left: %s", timeout, sorted(ends))
            self.engine.refresh_index()
            return read
        finally:
            consumer.close()

    # ------------------------------------------------------------------ live
    async def caught_up(self, timeout: float = CATCH_UP_SECONDS) -> bool:
        """Wait until every item update written so far (the end offsets now) was applied here; False
        when ``timeout`` passed first (logged). A worker that takes over partitions calls it before
        their first interaction: the item side must know which of the re-read interactions the last
        owner learnt and shared (its updates, sent before it let go of them or before it died)
        before :meth:`~recsys.apply.Applier.learn` takes one of them for lost and learns it again."""
        deadline = time.monotonic() + timeout
        topic = self.settings.topic_item_updates
        while self.live is None:  # run() starts with the app, moments after load()
            if time.monotonic() > deadline:
                log.warning("the item updates were not read within %ss: the live reader did not start", timeout)
                return False
            await asyncio.sleep(0.02)
        partitions = [AioPartition(t, p) for t, p in self.positions if t == topic]
        ends = await self.live.end_offsets(partitions) if partitions else {}
        while behind := {tp: end for tp, end in ends.items() if self.positions.get((tp.topic, tp.partition), 0) < end}:
            if time.monotonic() > deadline:
                log.warning("the item updates were not all read within %ss: %s", timeout,
                            ", ".join(f"{tp.topic}[{tp.partition}]@{self.positions.get((tp.topic, tp.partition))}"
                                      f" of {end}" for tp, end in behind.items()))  # fmt: skip
                return False
            await asyncio.sleep(0.01)
        return True

    async def run(self) -> None:
        """Apply every new record of every partition as it arrives, until cancelled."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.broker_servers,
            group_id=None,  # outside the group: every partition, no commits
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # batches, not a fetch round trip per record: a busy worker's likes and item updates arrive
            # hundreds a second, and each round trip costs the event loop ~1 ms of Python
            fetch_max_wait_ms=FETCH_WAIT_MS,
            fetch_min_bytes=FETCH_MIN_BYTES,
            client_id=f"{self.settings.app_id}-global",
            **security.aiokafka(self.settings),
        )
        await consumer.start()
        try:
            if not self.positions:  # not loaded: every partition from the beginning
                self.positions = {(t, p): 0 for t, p in self._partitions()}
            assigned = [AioPartition(topic, partition) for topic, partition in sorted(self.positions)]
            consumer.assign(assigned)
            for tp in assigned:
                consumer.seek(tp, self.positions[(tp.topic, tp.partition)])
            self.live = consumer
            log.info("reading the global topics from every partition: %s",
                     ", ".join(f"{tp.topic}[{tp.partition}]@{self.positions[(tp.topic, tp.partition)]}"
                               for tp in assigned))  # fmt: skip
            mine = (ORIGIN_HEADER, self.engine.origin.encode())
            while True:
                batches = await consumer.getmany(timeout_ms=1000, max_records=500)
                for tp, records in batches.items():
                    for record in records:
                        # this worker's own batch, written since start, was applied when it was learnt
                        own = tp.topic in self.batches and mine in (record.headers or ())
                        trigger = self._consume(tp.topic, tp.partition, record.offset, record.key, record.value, own)
                        if tp.topic == self.settings.topic_item_updates and not own and record.timestamp:
                            now = time.time()
                            delay = max(0.0, now - record.timestamp / 1000.0)
                            self.delays.append((now, delay))
                            if self.on_delay is not None:
                                self.on_delay(delay)
                        if trigger is not None and self.on_change is not None:
                            self.on_change(trigger)
                    await asyncio.sleep(0)  # let events through between partitions' batches
        finally:
            self.live = None
            await consumer.stop()
