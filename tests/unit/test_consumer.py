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
