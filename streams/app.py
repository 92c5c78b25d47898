"""The Faust application: topics, the user table, agents and timers, wired to one Engine.

One event takes one trip: decode and validate (bad input goes to the dead-letter topic with
its reason) -> the engine applies it (deduplicated by ``event_id``) -> if the user's context
changed, the fresh list is published to the recommendations topic. Agents run with
concurrency 1 and the engine is synchronous, so the hnswlib index has one writer: this
event loop's thread (timers run on it too).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.types import EventT

from recsys.coalesce import Coalescer
from recsys.engine import Engine
from recsys.settings import Settings
from recsys.snapshot import reaped
from schemas import (
    Context,
    Follow,
    Interaction,
    Like,
    Recommendation,
    SchemaError,
    User,
    decode,
    encode,
    encode_batches,
)
from streams import security
from streams.consumer import App
from streams.dashboard import SAMPLE_SECONDS, Dashboard, RecentLists, Sampler, read_worker
from streams.dead_letters import dead_letter, letter_key
from streams.global_reader import ORIGIN_HEADER, GlobalReader, item_change, rule_change
from streams.logs import event_fields
from streams.metrics import CONTENT_TYPE, Metrics
from streams.service import Service
from streams.snapshot_copy import copy_snapshot
from streams.web import register_views

log = logging.getLogger("streams")
SHARE_BATCH = 200  # likes and item updates sent as soon as this many wait ...
SHARE_SECONDS = 0.1  # ... or at this interval
SHARE_MAX_BYTES = 512 * 1024  # per message (an item update with its two-tower step is about 20 KB)


def _raw_topic(app: faust.App, name: str, settings: Settings) -> faust.TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )


def create_app(settings: Settings) -> Service:
    """Build the Faust app for ``settings`` and restore the engine's last snapshot."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = App(
        settings.app_id,
        fetch_wait_ms=settings.fetch_wait_ms,
        broker=settings.broker_url,
        store="rocksdb://",
        datadir=str(settings.data_dir / "faust"),
        web_port=settings.web_port,
        web_host=settings.web_host,
        canonical_url=settings.web_url or f"http://{settings.web_host}:{settings.web_port}",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_ms / 1000.0,  # failover: see the setting
        broker_heartbeat_interval=settings.session_timeout_ms / 3000.0,
        env={},  # settings come from RECSYS_* only; stray faust variables cannot reconfigure us
        broker_credentials=security.faust_credentials(settings),
    )
    # The engine's UserStore splits each user into small records of raw bytes (recsys.users). Keys stay
    # JSON strings, as before: the records the table already holds keep their keys, and a user's
    # old JSON state record is read and rewritten in the new layout at the user's next event. (The
    # table's own store takes its serializers from key_type and value_type, not from the schema.)
    users = app.Table(
        "user-state",
        default=None,
        partitions=settings.partitions,
        key_type=str,
        value_type=bytes,
        schema=faust.Schema(key_type=str, value_type=bytes, key_serializer="json", value_serializer="raw"),
    )
    engine = Engine(settings, users=users)
    recent_lists = RecentLists()  # each recent user's last list, for the operator's page (streams.dashboard)

    def forget_users(sender: Any, *args: Any, **kwargs: Any) -> None:
        """Partitions moved: another worker may have changed those users meanwhile, and recovery
        rewrites the table under the store; drop every decoded state (they are read again), and
        the last lists (another worker may have published newer ones)."""
        engine.users.forget()
        recent_lists.clear()

    for signal in (app.on_partitions_revoked, app.on_partitions_assigned, app.on_rebalance_complete):
        signal.connect(forget_users)  # type: ignore[arg-type]  # (as on_before_shutdown below)
    taken_over: set[int] = set()  # input partitions assigned whose interactions wait for the item updates

    def note_assigned(sender: Any, assigned: Any = (), **kwargs: Any) -> None:
        taken_over.update(tp.partition for tp in assigned if tp.topic == settings.topic_interactions)

    app.on_partitions_assigned.connect(note_assigned)  # type: ignore[arg-type]
    metrics = Metrics(
        lambda: len(engine.indexes.mf), lambda: len(engine.catalog), lag=lambda: _lag(app, engine),
        online_quality=lambda: engine.online_quality or 0.0, variants=engine.variant_counts,
    )  # fmt: skip
    reader = GlobalReader(settings, engine)  # items, rules, likes, item updates: every partition, every worker
    service = Service(
        app,
        engine,
        settings,
        {"in": 0, "applied": 0, "duplicates": 0, "dead_letters": 0, "recommendations": 0},
        metrics,
        reader,
    )
    dashboard = Dashboard(Sampler(lambda: read_worker(service)), recent_lists)
    if settings.bootstrap_url:  # a new worker: another's snapshot first
        copy_snapshot(settings.bootstrap_url, service.model_dir, token=settings.api_token)
    if engine.load(service.model_dir):
        log.info("restored model snapshot: %d items, version %s", len(engine.catalog), engine.model_version)

    interactions = _raw_topic(app, settings.topic_interactions, settings)
    items = _raw_topic(app, settings.topic_items, settings)
    profiles = _raw_topic(app, settings.topic_users, settings)
    follows = _raw_topic(app, settings.topic_follows, settings)  # keyed by follower, like the user table
    contexts = _raw_topic(app, settings.topic_context, settings)  # keyed by user, like the user table
    rules = _raw_topic(app, settings.topic_rules, settings)
    recommendations = _raw_topic(app, settings.topic_recommendations, settings)
    # what this worker shares (likes; item learning unless share_items is off); every worker reads them
    likes = _raw_topic(app, settings.topic_likes, settings)
    item_updates = _raw_topic(app, settings.topic_item_updates, settings)
    engine.share(items=settings.share_items, origin=worker_origin(settings))
    dead_letters = _raw_topic(app, settings.topic_dead_letters, settings)

    async def to_dead_letters(event: EventT, error: BaseException) -> None:
        msg = event.message
        service.stats["dead_letters"] += 1
        metrics.dead_letter(invalid=isinstance(error, SchemaError))
        log.warning(
            "dead letter from %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, error,
            extra=event_fields(msg.topic, msg.partition, msg.offset, msg.value),
        )  # fmt: skip
        letter = dead_letter(msg.value, key=msg.key, topic=msg.topic, partition=msg.partition, offset=msg.offset,
                             error=error, max_bytes=settings.dead_letter_max_bytes)  # fmt: skip
        key = letter_key(msg.key)
        try:
            await dead_letters.send(key=key, value=letter)
        except Exception:  # noqa: BLE001 - e.g. the topic's limit is under dead_letter_max_bytes: a smaller one
            log.exception("sending the dead letter failed; sending it without the copy of the input")
            await dead_letters.send(key=key, value=dead_letter(
                msg.value, key=msg.key, topic=msg.topic, partition=msg.partition, offset=msg.offset, error=error,
                max_bytes=0))  # fmt: skip

    async def guarded(event: EventT, handle: Callable[[EventT], Awaitable[None]]) -> None:
        """Run ``handle``; any failure sends the input to the dead-letter topic, and we go on."""
        service.stats["in"] += 1
        msg = event.message
        metrics.event_in(msg.topic)
        try:
            size = len(msg.value or b"")
            if size > settings.max_event_bytes:
                raise SchemaError(f"the message is {size} bytes, over the limit of {settings.max_event_bytes} "
                                  "(RECSYS_MAX_EVENT_BYTES); events are small records, see schemas/json")  # fmt: skip
            await handle(event)
        except SchemaError as exc:
            await to_dead_letters(event, exc)
        except Exception as exc:  # noqa: BLE001 - a bad event must never stop the worker
            log.exception("processing failed", extra=event_fields(msg.topic, msg.partition, msg.offset, msg.value))
            await to_dead_letters(event, RuntimeError(f"processing failed: {type(exc).__name__}: {exc}"))
        finally:
            msg = event.message
            engine.note_offset(msg.topic, msg.partition, msg.offset)
        # A stream hands over buffered messages without yielding to the event loop: let the
        # task that ranks pending lists run between events, or it waits for the buffer to empty.
        if due or bursts:
            await asyncio.sleep(0)

    # Lists ranked for a change other than the user's own interaction are ranked by the task
    # below, outside any event: faust's RocksDB table reads only the current event's partition,
    # so a rule or item message would not find users stored in other partitions.
    coalescer = Coalescer(settings.coalesce_ms / 1000.0)
    bursts: dict[str, tuple[str, float]] = {}  # user in a burst window -> (latest trigger, first arrival)
    due: OrderedDict[str, tuple[str, float]] = OrderedDict()  # users to rank now, the same
    wake = asyncio.Event()

    async def publish(rec: Recommendation | None) -> None:
        if rec is None:
            metrics.unchanged.inc()
            return
        value = encode(rec)
        await recommendations.send(key=rec.user_id.encode(), value=value)
        recent_lists.put(rec.user_id, value)
        service.stats["recommendations"] += 1
        metrics.recommendations.inc()

    def rerank(user_id: str, trigger: str, received: float) -> None:
        """The user's context changed: rank soon, or when the user's burst window closes."""
        waiting = user_id in bursts or user_id in due
        if coalescer.offer(user_id, time.monotonic()):
            due[user_id] = (trigger, due.get(user_id, (trigger, received))[1])
        else:
            bursts[user_id] = (trigger, bursts.get(user_id, (trigger, received))[1])
        if waiting:
            metrics.coalesced.inc()
        wake.set()

    def rerank_affected(trigger: str, received: float | None = None) -> None:
        for user_id in engine.take_affected():
            rerank(user_id, trigger, time.time() if received is None else received)

    @app.task
    async def rank_pending() -> None:
        """Rank each user whose list is due (once per burst window, with the latest state)."""
        while True:
            wake.clear()
            for user_id in coalescer.due(time.monotonic()):
                due[user_id] = bursts.pop(user_id, ("", time.time()))
            while due:
                user_id, (trigger, first) = due.popitem(last=False)
                try:
                    await publish(engine.refresh_user(user_id, trigger, first))
                except Exception:  # noqa: BLE001 - one user's failure must not stop the others' lists
                    log.exception("ranking the list of %s failed", user_id)
                await asyncio.sleep(0)  # a rule change re-ranks every active user: let events through meanwhile
            if wake.is_set():  # more arrived while publishing
                continue
            deadline = coalescer.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                await asyncio.wait_for(wake.wait(), timeout)
            except TimeoutError:
                pass

    async def share() -> None:
        """Send what the other workers must learn from this one: a batch of likes and one of item updates
        (a message per interaction cost the worker a tenth of its throughput), keyed and headed by this
        worker's name, so every worker skips its own without decoding them."""
        shared = engine.take_shared()
        made, pending_since[0] = pending_since[0], None
        if not shared:
            return
        origin = engine.origin.encode()
        for topic, batch in ((likes, [s for s in shared if isinstance(s, Like)]),
                             (item_updates, [s for s in shared if not isinstance(s, Like)])):  # fmt: skip
            for value in encode_batches(batch, SHARE_MAX_BYTES):
                # timestamped when its oldest record was made: the readers measure the delay from there
                await topic.send(key=origin, value=value, headers={ORIGIN_HEADER: origin}, timestamp=made)

    pending_since: list[float | None] = [None]  # when the oldest record waiting to be shared was made

    @app.timer(interval=SHARE_SECONDS)
    async def share_timer() -> None:
        await share()

    app.before_commit = share  # an input offset is committed only once the learning before it is sent

    async def hand_over(sender: Any, *args: Any, **kwargs: Any) -> None:
        """Partitions are leaving: send the learning of their interactions (and every other) before the
        group lets the next owner read them, or it would take them for lost and learn them again."""
        await share()
        await app.producer.flush()

    app.on_partitions_revoked.connect(hand_over)  # type: ignore[arg-type]

    async def handle_interaction(event: EventT) -> None:
        received = time.time()
        record = decode(Interaction, event.message.value)
        key = event.message.key
        if key is not None and key.decode(errors="replace") != record.user_id:
            raise SchemaError(
                f"interaction: the message key {key!r} must be the user_id {record.user_id!r} "
                "(interactions are partitioned by user)"
            )
        msg = event.message
        if taken_over and msg.partition in taken_over:  # the first after taking partitions over: the
            taken_over.clear()  # item side first reads what the last owners learnt (Applier.learn)
            await reader.caught_up()
        started = time.perf_counter()
        outcome = engine.process(record, received_at=received, rank=coalescer.window <= 0,
                                 position=(msg.partition, msg.offset))  # fmt: skip
        if pending_since[0] is None and engine.shared_pending:
            pending_since[0] = time.time()
        if engine.shared_pending >= SHARE_BATCH:
            await share()
        metrics.interaction_done(time.perf_counter() - started, msg.timestamp)
        if not outcome.applied:
            service.stats["duplicates"] += 1
            metrics.deduplicated.inc()
            fields = event_fields(msg.topic, msg.partition, msg.offset, record.event_id)
            log.info("skipped %s", outcome.reason, extra=fields)
            return
        service.stats["applied"] += 1
        metrics.applied.inc()
        if coalescer.window <= 0:
            await publish(outcome.recommendation)
        else:
            rerank(record.user_id, record.event_id, received)

    async def check_reference(event: EventT) -> None:
        """Items and rules are applied by the global reader, on every worker; the group's agents only
        validate them, so that a bad record is dead-lettered once, by the partition's owner."""
        msg = event.message
        (item_change if msg.topic == settings.topic_items else rule_change)(msg.key, msg.value)

    async def handle_user(event: EventT) -> None:
        msg = event.message
        if msg.value is None:  # a tombstone: the user's erasure, everywhere the service keeps them
            if not msg.key:
                raise SchemaError("user: a tombstone (no value) needs the user_id as its key")
            user_id = msg.key.decode(errors="replace")
            records = engine.erase_user(user_id)
            coalescer.forget(user_id)
            recent_lists.forget(user_id)
            bursts.pop(user_id, None)
            due.pop(user_id, None)
            log.info("erased user %s (%d records of their state deleted)", user_id, records,
                     extra=event_fields(msg.topic, msg.partition, msg.offset, None))  # fmt: skip
            return
        user = decode(User, event.message.value)
        engine.apply_user(user)
        rerank_affected(f"profile:{user.user_id}")

    def skip_duplicate(event: EventT, what: str, event_id: str) -> None:
        service.stats["duplicates"] += 1
        metrics.deduplicated.inc()
        msg = event.message
        log.info("skipped %s %s: already applied", what, event_id,
                 extra=event_fields(msg.topic, msg.partition, msg.offset, event_id))  # fmt: skip

    async def handle_follow(event: EventT) -> None:
        record = decode(Follow, event.message.value)
        _require_user_key("follow", record.user_id, event.message.key, "the follower's user_id")
        if not engine.apply_follow(record):
            skip_duplicate(event, "follow", record.event_id)
            return
        rerank_affected(record.event_id)

    async def handle_context(event: EventT) -> None:
        received = time.time()
        record = decode(Context, event.message.value)
        _require_user_key("context", record.user_id, event.message.key, "the user_id")
        if not engine.apply_context(record):
            skip_duplicate(event, "context", record.event_id)
            return
        rerank_affected(record.event_id, received)

    def agent(handle: Callable[[EventT], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        async def consume(stream: Any) -> None:
            async for event in stream.events():
                await guarded(event, handle)

        return consume

    for name, topic, handle in [
        ("interactions", interactions, handle_interaction),
        ("items", items, check_reference),
        ("users", profiles, handle_user),
        ("follows", follows, handle_follow),
        ("context", contexts, handle_context),
        ("rules", rules, check_reference),
    ]:
        app.agent(topic, concurrency=1, name=name)(agent(handle))

    reader.on_change = rerank_affected
    reader.on_delay = metrics.shared_update_delay.observe

    @app.task
    async def read_global() -> None:
        """Every partition of the global topics, on every worker (after the start-up load)."""
        await reader.run()

    @app.timer(interval=max(settings.index_refresh_seconds, 0.1))
    async def refresh_index() -> None:
        engine.maybe_refresh()

    writing: list[int] = []  # the snapshot child at work, if any

    @app.timer(interval=settings.snapshot_seconds)
    async def snapshot() -> None:
        """Every snapshot_seconds, a snapshot written by a forked child (pickling a large catalogue
        would stop the event loop for seconds); one at a time."""
        if writing:
            status = reaped(writing[0])
            if status is None:
                return
            writing.clear()
            if status:
                log.error("writing the model snapshot failed (child exit status %d); retrying next time", status)
        pid = engine.save_in_background(service.model_dir)
        if pid is not None:
            writing.append(pid)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def final_snapshot(app: faust.App, **_: Any) -> None:
        await share()
        if writing:
            os.waitpid(writing.pop(), 0)  # the last periodic one must not rename over this one
        engine.save(service.model_dir)
        log.info("saved model snapshot at shutdown: %s (%s)", service.model_dir, engine.model_version)

    @app.timer(interval=SAMPLE_SECONDS)
    async def sample_dashboard() -> None:
        """A point of the operator's page's series (streams.dashboard)."""
        dashboard.sampler.sample()

    @app.page("/stats")
    async def stats(web: Any, request: Any) -> Any:
        extra: dict[str, float] = {"items": len(engine.catalog), "index": len(engine.indexes.mf),
                                   "global_applied": reader.applied, "global_skipped": reader.skipped,
                                   "global_own": reader.own}  # fmt: skip
        try:  # ?since=<epoch seconds>: the item updates' delay over the batches applied from then
            since = float(request.query.get("since", 0))
        except ValueError:
            return web.json({"error": "since must be a number of seconds since the epoch"}, status=400)
        extra.update(reader.delay_percentiles(since))
        # the worker's own counts win where a name is both: "applied" is an interaction this worker
        # applied; the engine's "applied" also counts one relearnt after a crash ("learnt" holds both)
        return web.json({**engine.counters, **service.stats, **extra})

    @app.page("/metrics")
    async def prometheus(web: Any, request: Any) -> Any:
        # aiohttp refuses a charset in content_type=, so the full header goes in headers
        return web.bytes(metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    register_views(service, users, dashboard=dashboard)
    return service


def worker_origin(settings: Settings) -> str:
    """This worker's name on the item updates it shares: made once per data folder and kept there, so a
    restarted worker knows its own updates (and replays those its snapshot missed)."""
    path = settings.data_dir / "worker-id"
    if not path.exists():
        path.write_text(f"{settings.app_id}-{uuid.uuid4().hex[:12]}\n")
    return path.read_text().strip()


def _require_user_key(record: str, user_id: str, key: bytes | None, who: str) -> None:
    """Events keyed by user share the partition of the user's state; a wrong key is bad input."""
    if key is None or key.decode(errors="replace") != user_id:
        raise SchemaError(
            f"{record}: the message key must be {who} {user_id!r} (got {key!r}); produce {record} events keyed "
            "by user_id, so they share the partition of the user's interactions and state"
        )


def _lag(app: faust.App, engine: Engine) -> dict[tuple[str, int], int]:
    """Per assigned partition: high watermark minus the next offset to process (read at scrape time)."""
    lags = {}
    for tp in app.consumer.assignment():
        last = engine.offsets.get(f"{tp.topic}:{tp.partition}")
        high = app.consumer.highwater(tp)
        if last is not None and high is not None:
            lags[(tp.topic, tp.partition)] = max(0, high - (last + 1))
    return lags
