"""A Java producer, configured as the README says (key = user_id, the Java client's default
partitioner, JSON per the exported schema), sends interactions that the worker applies: each lands
on the partition the Python client would choose (murmur2), so the user's state stays on one worker.
A value framed by a schema registry's serializer is applied too."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from recsys.partitioning import partition_of
from schemas import Interaction, encode
from streams.client import EventProducer
from streams.kafka_io import create_topics
from tests.conftest import WorkerProcess, _kafka_launcher, get_json, wait_for
from tests.integration.test_worker import FIRST_RECOMMENDATION_TIMEOUT

pytestmark = pytest.mark.integration

SOURCE = Path(__file__).resolve().parents[1] / "java" / "ProduceInteractions.java"


def test_a_java_producers_interactions_are_applied_on_the_pythons_partitions(
    worker_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    java = shutil.which("java")
    assert java, "Java 17 is needed (the broker runs on it too)"
    worker = WorkerProcess(worker_env(RECSYS_PARTITIONS="4"), tmp_path / "worker.log")
    s = worker.settings
    create_topics(s)
    with EventProducer(s) as events:
        for n in range(6):
            events.upsert_item(f"j{n}", title=f"Item {n}")
        # as a schema registry's serializer frames it: a zero byte and a 4-byte schema id first
        framed = Interaction("framed-1", "framed-user", "j1", "like", timestamp=1_700_000_100.0)
        events.send_encoded("interactions", framed.user_id, bytes(1) + (42).to_bytes(4, "big") + encode(framed))
    users = [f"java-user-{n}" for n in range(10)]
    events_sent = [Interaction(f"java-{u}", u, f"j{n % 6}", "like", timestamp=1_700_000_000.0 + n)
                   for n, u in enumerate(users)]  # fmt: skip
    lines = "".join(f"{e.user_id}\t{encode(e).decode()}\n" for e in events_sent)
    classpath = f"{_kafka_launcher().libs_dir()}/*"  # the broker's own jars hold the Java client
    run = subprocess.run([java, "-cp", classpath, str(SOURCE), s.broker_servers, s.topic_interactions],
                         input=lines, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    partitions = dict(line.split("\t") for line in run.stdout.splitlines())
    assert {u: int(p) for u, p in partitions.items()} == {u: partition_of(u, s.partitions) for u in users}
    worker.start()
    try:
        def applied() -> bool:
            pages = [get_json(s.web_port, f"/users/{u}/") for u in [*users, "framed-user"]]
            return all(status == 200 and body["events"] == 1 for status, body in pages)

        wait_for(applied, FIRST_RECOMMENDATION_TIMEOUT, "the worker to apply every Java-produced interaction", worker)
        _, stats = get_json(s.web_port, "/stats")
        assert stats["dead_letters"] == 0, json.dumps(stats)
    finally:
        assert worker.stop() == 0, worker.log_tail()
