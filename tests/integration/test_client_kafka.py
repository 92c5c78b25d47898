"""The client (streams/client.py) against a running worker and the real broker: the README's
example runs as written; keys land on the partitions the worker reads; lists come back as an
iterator, a callback and an async iterator; a tombstone deletes an item; bad input and lost
messages raise before anything is silently dropped."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from recsys.partitioning import partition_of
from recsys.settings import Settings
from schemas import Recommendation, SchemaError
from streams.client import DeliveryError, EventProducer, Recommendations, TopicReader
from streams.kafka_io import make_consumer, make_producer
from tests.conftest import WorkerProcess, get_json, wait_for
from tests.integration.test_worker import FIRST_RECOMMENDATION_TIMEOUT

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("## A client for your services", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's client section has no python example"
    return match.group(1)


@pytest.fixture
def worker(worker_env: Callable[..., dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    env = worker_env()
    for key, value in env.items():
        if key.startswith("RECSYS_"):
            monkeypatch.setenv(key, value)  # what Settings.from_env() in the example reads
    process = WorkerProcess(env, tmp_path / "worker.log").start()
    wait_for(lambda: get_json(process.settings.web_port, "/ready/")[0] == 200, FIRST_RECOMMENDATION_TIMEOUT,
             "/ready/", process)  # fmt: skip
    yield process
    assert process.stop() == 0, process.log_tail()


def test_the_readme_example_runs_against_a_worker(worker: WorkerProcess, capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(readme_example(), "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "('m2'," in out and "('m1'," not in out, out  # the liked item is not recommended back
    assert worker.alive(), worker.log_tail()


def test_keys_land_where_the_worker_reads_and_lists_come_back_every_way(worker: WorkerProcess) -> None:
    s = Settings.from_env()
    users = [f"user-{n}" for n in range(8)]
    with Recommendations(s, users=set(users[:4])) as some, Recommendations(s) as every:
        with EventProducer(s) as events:
            for n in range(5):
                events.upsert_item(f"i{n}", title=f"Item {n}")
            sent = [events.send_interaction(u, f"i{n % 5}", "like") for n, u in enumerate(users)]
        got: list[Recommendation] = []

        def collect(rec: Recommendation) -> bool:
            got.append(rec)
            return {r.user_id for r in got} != set(users)  # False: every user has a list, stop

        assert every.run(collect, seconds=30) >= len(users)
        assert {r.user_id for r in got} == set(users)
        mine = [some.poll(10.0) for _ in range(4)]
        assert all(r is not None and r.user_id in users[:4] for r in mine), mine

        async def first() -> Recommendation:
            with EventProducer(s) as again:
                again.send_interaction(users[0], "i3", "click")
            async for rec in some:
                return rec
            raise AssertionError("unreachable")

        assert asyncio.run(asyncio.wait_for(first(), 30)).user_id == users[0]
    consumer = make_consumer(s)  # every interaction sits on the partition its user's state lives on
    consumer.assign([TopicPartition(s.topic_interactions, p, 0) for p in range(s.partitions)])
    seen: dict[str, int] = {}
    while len(seen) < len(sent):
        msg = consumer.poll(10.0)
        assert msg is not None, f"read {len(seen)} of {len(sent)} interactions"
        seen[msg.key().decode()] = msg.partition()
    consumer.close()
    assert seen == {u: partition_of(u, s.partitions) for u in users}


def test_a_deleted_item_leaves_the_lists_and_bad_input_raises(worker: WorkerProcess) -> None:
    s = Settings.from_env()
    with Recommendations(s, users={"bob"}) as lists:
        with EventProducer(s) as events:
            for n in range(4):
                events.upsert_item(f"d{n}")
            events.send_interaction("bob", "d0", "like")
        assert {i.item_id for i in next(iter(lists)).items} >= {"d1", "d2", "d3"}
        with EventProducer(s) as events:
            events.delete_item("d2")
        wait_for(lambda: "d2" not in get_json(s.web_port, "/recommendations/bob/")[1]["items"].__repr__(),
                 30, "the tombstone to reach the worker")  # fmt: skip
        with EventProducer(s) as events:
            events.send_interaction("bob", "d1", "click")
        assert "d2" not in {i.item_id for i in next(iter(lists)).items}
    events = EventProducer(s)
    with pytest.raises(SchemaError, match="type"):
        events.send_interaction("bob", "d1", "teleport")  # never sent: the worker would dead-letter it
    with pytest.raises(ValueError, match="partitioner"):
        EventProducer(s, partitioner="random")


def test_a_reader_starts_where_each_partition_ends_when_it_is_opened(worker: WorkerProcess) -> None:
    """Not at the first fetch: a message published between opening and the first poll (the answer
    to an event sent right after opening) is read, and nothing published before opening is."""
    s = Settings.from_env()
    producer = make_producer(s)
    producer.produce(s.topic_recommendations, b"before", b"reader-test")
    producer.flush(10)
    reader = TopicReader(s, s.topic_recommendations, keys={"reader-test"})
    producer.produce(s.topic_recommendations, b"after", b"reader-test")
    producer.flush(10)
    msg = reader.poll_message(30.0)
    reader.close()
    assert msg is not None and msg.value() == b"after"


def test_undelivered_messages_raise() -> None:
    s = Settings.from_env({"RECSYS_BROKER_URL": "kafka://127.0.0.1:1"})  # nothing listens there
    events = EventProducer(s, **{"message.timeout.ms": 1000, "socket.connection.setup.timeout.ms": 1000})
    events.send_interaction("carol", "x1", "view")
    with pytest.raises(DeliveryError, match="1 message"):
        events.flush(10.0)
