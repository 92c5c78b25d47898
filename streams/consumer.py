"""The worker's Kafka consumer: faust's aiokafka consumer with four fixes and a hook.

**The fetch wait is a setting** (``RECSYS_FETCH_WAIT_MS``). faust-streaming builds its aiokafka
consumer with ``fetch_max_wait_ms=1500``, fixed. aiokafka
keeps one fetch in flight per broker and leaves out of it every partition whose records
the application has not taken yet. When the worker is busy for a moment (an index refresh,
a burst), every partition of ``interactions`` still holds records when the next fetch is
sent, so that fetch asks only for the quiet topics (``items``, ``users``, the table's
changelog), and the broker holds it until data comes to one of them, up to the fetch wait.
Interactions arriving meanwhile are not fetched: the worker sat idle with a second and more
of events waiting on the broker. ``benchmarks/e2e_broker.py`` measured p50 1.25 s at 100
events/s with 1,500 ms against 20 ms with 100 ms (see BENCHMARKS.md). A pass-through worker
with one input topic never shows it: its fetch always includes a busy partition.

A low wait costs a few empty fetch round trips per second while everything is quiet.

**A partition with no committed offset is read from its beginning after a rebalance.** When a
partition moves to this worker, aiokafka may fetch its first records before faust's recovery
has finished; faust drops them (its flow is stopped) and then seeks every partition to its
committed offset to read them again. aiokafka's ``seek_to_committed`` skips a partition that has
no committed offset (or offset 0), so the position stays past the dropped records and they are
never processed. It happens when a worker is killed before its first commit (faust commits every
2.8 s): measured with ``tests/integration/test_two_workers.py``, the killed worker's users' events
were lost in 2 of 3 runs. Here such a partition is sought to its beginning, which is what the
consumer's ``auto_offset_reset="earliest"`` means for a partition nobody committed; events already
applied are then skipped by the engine's dedupe.

**Resuming flow clears the stream buffers only when flow was suspended.** faust's recovery resumes
flow (``app.flow_control.resume()``, which empties every stream's buffer) once before it seeks the
partitions to their committed offsets and once after. Between the two, flow is on: records are
fetched and buffered, and the second resume threw them away while the consumer's read position
stayed past them, so they were never processed and later commits passed them. Seen with
``tests/integration/test_two_workers.py`` (``kill -9`` mid-stream): right after the survivor took
the dead worker's partition over, one to three interactions vanished, in about one run in four,
with no log line (the loss issue 13 reported from its own crash tests). Emptying the buffers is
right when flow resumes after a suspension (what they hold predates the rebalance, and the seek
that follows reads it again); here a resume of flow that is on changes nothing.

**A message a stream skipped is not acknowledged.** faust's stream drops a message it takes while
flow is stopped (a rebalance under way) or that was fetched for an older consumer generation, and
acknowledges it all the same (``Stream._py_aiter``, logged at debug level only), so a commit may
pass its offset and the seek after the rebalance never reads it again: the first message of the
range the new owner re-reads would be lost without a trace (issue 13 saw such losses). Streams
mark every message they hand on as tracked first; an untracked one is left unacknowledged, so the
commit stops before it and the seek reads it again.

**Before offsets are committed, the app's ``before_commit`` runs** (when it has one). faust flushes
its producer before it commits input offsets, so whatever the events up to those offsets wrote
(the user table's changelog, lists) is durable first. The worker batches the item updates and
likes it shares (sent every 100 ms); ``before_commit`` hands the pending batch to the producer,
so an input offset is never committed ahead of the item learning of the events before it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message, TransportT
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait_ms = getattr(self.app, "fetch_wait_ms", None)
        if wait_ms is not None:
            # aiokafka hands this to its Fetcher at start(); faust gives no other way to set it.
            consumer._fetch_max_wait_ms = int(wait_ms)
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        changelogs = self.app.tables.changelog_topics  # faust tracks their offsets itself
        uncommitted = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
        if uncommitted:
            await self.call_thread(self._ensure_consumer().seek_to_beginning, *uncommitted)
        return committed


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def ack(self, message: Message) -> bool:
        if not message.tracked:  # taken by a stream while flow was stopped, or of an older generation: see module
            return False
        return bool(super().ack(message))

    async def _commit_offsets(self, offsets: Mapping[TP, int], start_new_transaction: bool = True) -> bool:
        hook = getattr(self.app, "before_commit", None)
        if hook is not None:
            await hook()  # hands the producer what must be durable first; faust flushes it before committing
        return bool(await super()._commit_offsets(offsets, start_new_transaction=start_new_transaction))


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class FlowControl(FlowControlEvent):
    """faust's flow control, whose ``resume`` empties the stream buffers only when flow was suspended.

    >>> from mode.utils.queues import FlowControlQueue
    >>> flow = FlowControl(initially_suspended=False)
    >>> queue = FlowControlQueue(flow_control=flow, clear_on_resume=True)
    >>> queue.put_nowait("record")
    >>> flow.resume(); queue.qsize()  # on already: the buffered record stays
    1
    >>> flow.suspend(); flow.resume(); queue.qsize()  # after a suspension: emptied, the seek reads it again
    0
    """

    def resume(self) -> None:
        suspended = self._suspend.is_set()
        self._suspend.clear()
        self._resume.set()
        if suspended:
            self.clear()


class App(faust.App):
    """``faust.App`` on the aiokafka (``kafka://``) transport with ``fetch_wait_ms`` of its own.

    >>> app = App("doc-app", broker="kafka://127.0.0.1:9092", fetch_wait_ms=100)
    >>> type(app.transport).__name__, app.fetch_wait_ms
    ('_Transport', 100)
    """

    def __init__(self, *args: Any, fetch_wait_ms: int = 100, **kwargs: Any) -> None:
        if fetch_wait_ms < 1:
            raise ValueError(f"fetch_wait_ms must be at least 1 (got {fetch_wait_ms})")
        self.fetch_wait_ms = fetch_wait_ms
        self.before_commit: Callable[[], Awaitable[None]] | None = None  # see the module
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return FlowControl(loop=self.loop)
