"""``recsys train --from-topic`` against a real broker: reads the topics to their end offsets and saves a snapshot.

Works on its own uuid-suffixed topics and deletes them after.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings
from streams.cli import main
from streams.kafka_io import BrokerUnavailable, make_admin, wait_for_broker

pytestmark = pytest.mark.integration

TOPICS = ("topic_interactions", "topic_items", "topic_users", "topic_recommendations", "topic_dead_letters",
          "topic_follows")  # fmt: skip


@pytest.fixture
def settings(kafka: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    monkeypatch.setenv("RECSYS_BROKER_URL", kafka)
    suffix = uuid.uuid4().hex[:8]
    names = {name: f"it-train-{name.removeprefix('topic_')}-{suffix}" for name in TOPICS}
    env = {**names, "partitions": "2", "data_dir": str(tmp_path / "data"), "ann_backend": "brute", "factors": "3"}
    for name, value in env.items():
        monkeypatch.setenv(f"RECSYS_{name.upper()}", value)
    settings = Settings.from_env()
    try:
        wait_for_broker(settings, timeout=5)
    except BrokerUnavailable as exc:
        pytest.fail(f"integration tests need a running Kafka broker: {exc}", pytrace=False)
    yield settings
    admin = make_admin(settings)
    doomed = [t for t in names.values() if t in admin.list_topics(timeout=10).topics]
    if doomed:
        for future in admin.delete_topics(doomed).values():
            future.result()


def test_train_from_topics_reads_to_the_end_offsets(settings: Settings, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    world = SyntheticWorld(users=30, items=45, clusters=3, seed=4)
    path = world.write_jsonl(tmp_path / "history.jsonl", 600)
    assert main(["topics", "create"]) == 0
    assert main(["produce", str(path), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", "--from-topic"]) == 0
    assert "trained on 675 events" in capsys.readouterr().out  # 45 items, 30 users, 600 interactions
    meta = json.loads((settings.data_dir / "model" / "snapshot" / "meta.json").read_text())
    per_topic = {t: sum(o + 1 for k, o in meta["offsets"].items() if k.startswith(t + ":"))
                 for t in (settings.topic_items, settings.topic_users, settings.topic_interactions)}  # fmt: skip
    assert per_topic == {settings.topic_items: 45, settings.topic_users: 30, settings.topic_interactions: 600}
    engine = Engine(settings)
    assert engine.load(settings.data_dir / "model") and engine.wals.epoch == 1
