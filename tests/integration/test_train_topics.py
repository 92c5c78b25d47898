"""``recsys train --from-topic`` against a real broker: reads the topics to their end offsets and saves a snapshot.

Works on its own uuid-suffixed topics and deletes them after.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings
from streams.cli import main

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(topic_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    return topic_settings("it-train", partitions=2, data_dir=tmp_path / "data", ann_backend="brute", factors=3)


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
    assert engine.load(settings.data_dir / "model") and engine.items.wals.epoch == 1
