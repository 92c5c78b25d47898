"""The worker's Kafka consumer takes its fetch wait from the settings (streams/consumer.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from recsys.errors import ConfigError
from recsys.settings import Settings
from streams.app import create_app
from streams.consumer import App


def _fetch_wait_of(app: App) -> int:
    async def build() -> int:
        consumer = app.consumer._new_consumer_thread()._create_worker_consumer(app.transport)  # type: ignore[attr-defined]
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()

    return asyncio.run(build())


def test_the_consumer_built_for_the_worker_uses_the_configured_fetch_wait(tmp_path: Path) -> None:
    settings = Settings.from_env({"RECSYS_FETCH_WAIT_MS": "70", "RECSYS_DATA_DIR": str(tmp_path)})
    service = create_app(settings)
    assert _fetch_wait_of(service.app) == 70  # type: ignore[arg-type]


def test_fetch_wait_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="RECSYS_FETCH_WAIT_MS"):
        Settings.from_env({"RECSYS_FETCH_WAIT_MS": "0"})
    with pytest.raises(ValueError, match="at least 1"):
        App("t", broker="kafka://127.0.0.1:9092", fetch_wait_ms=0)


def test_a_message_a_stream_skipped_is_not_acknowledged(tmp_path: Path) -> None:
    """faust's stream acknowledges a message it drops during a rebalance (untracked); acknowledged, its
    offset could be committed and never read again. The worker's consumer leaves it unacknowledged."""
    from faust.types import TP, Message

    service = create_app(Settings.from_env({"RECSYS_DATA_DIR": str(tmp_path)}))
    consumer = service.app.consumer
    topic = service.settings.topic_interactions
    service.app.topics.acks_enabled_for = lambda name: True  # type: ignore[method-assign]  # no broker here
    tp = TP(topic, 0)

    def message(offset: int, tracked: bool) -> Message:
        m = Message(topic, 0, offset, 0.0, 0, [], b"k", b"v", None)
        m.tracked = tracked
        return m

    assert consumer.ack(message(5, tracked=True))  # handed to the agent and done with: acknowledged
    assert not consumer.ack(message(6, tracked=False))  # dropped by the stream: left to be read again
    assert consumer.ack(message(7, tracked=True))
    assert sorted(consumer._acked[tp]) == [5, 7]  # type: ignore[attr-defined]
    consumer._committed_offset[tp] = 5  # type: ignore[attr-defined]
    assert consumer._new_offset(tp) == 6  # type: ignore[attr-defined]  # the commit stops before the dropped one

