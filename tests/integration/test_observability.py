"""A running worker's /metrics page and JSON logs show what it processed, on the real broker."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from schemas import Item, encode
from streams.kafka_io import create_topics
from tests.conftest import WorkerProcess, wait_for
from tests.integration.test_worker import FIRST_RECOMMENDATION_TIMEOUT, Reader, has_rec_for, like, send

pytestmark = pytest.mark.integration


def _scrape(worker: WorkerProcess) -> tuple[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    url = f"http://127.0.0.1:{worker.settings.web_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        content_type, text = response.headers["Content-Type"], response.read().decode()
    families = text_string_to_metric_families(text)
    return content_type, {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def _json_lines(worker: WorkerProcess) -> list[dict[str, Any]]:
    """The worker's log lines: every one a JSON object (stdout and stderr go to the same file)."""
    return [json.loads(line) for line in worker.log_path.read_text(errors="replace").splitlines()]


def test_metrics_and_logs_show_processed_events_and_dead_letters(
    worker_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    worker = WorkerProcess(worker_env(), tmp_path / "worker.log")
    s = worker.settings
    create_topics(s)
    # 11 items: after d-1 the list holds all 10 others, so d-2 (item-2) changes it (an unchanged list is not published)
    send(s, s.topic_items, [(f"item-{n}", encode(Item(f"item-{n}", title=f"Item {n}"))) for n in range(11)])
    bad = b'{"event_id": "d-0", "user_id": "dana", "item_id": '
    invalid = json.dumps({"event_id": "d-bad", "user_id": "dana", "item_id": "item-1", "type": "love",
                          "timestamp": 1}).encode()  # fmt: skip
    dup = like("d-1", "dana", "item-1")
    send(s, s.topic_interactions, [("dana", bad), ("dana", invalid), dup, dup, like("d-2", "dana", "item-2")])
    reader = Reader(s, s.topic_recommendations)
    worker.start()
    try:
        reader.poll_until(has_rec_for("dana", "d-2"), FIRST_RECOMMENDATION_TIMEOUT, worker)
        interactions = (("topic", s.topic_interactions),)
        wait_for(lambda: _scrape(worker)[1].get(("recsys_events_in_total", interactions)) == 5, 30, "metrics", worker)
        content_type, got = _scrape(worker)
    finally:
        reader.close()
        assert worker.stop() == 0, worker.log_tail()

    assert content_type.startswith("text/plain; version=0.0.4")
    assert got[("recsys_events_in_total", (("topic", s.topic_items),))] == 11
    assert got[("recsys_dead_letters_total", (("reason", "invalid"),))] == 2
    assert got[("recsys_dead_letters_total", (("reason", "processing"),))] == 0
    assert got[("recsys_events_applied_total", ())] == 2
    assert got[("recsys_events_deduplicated_total", ())] == 1
    assert got[("recsys_recommendations_emitted_total", ())] == 2
    assert got[("recsys_processing_seconds_count", ())] == 3  # the duplicate went through the engine too
    assert got[("recsys_end_to_end_seconds_count", ())] == 3
    assert got[("recsys_catalogue_size", ())] == 11
    assert ("recsys_index_size", ()) in got

    lines = _json_lines(worker)
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert any(line["message"].startswith("global topics: read 11 records") for line in lines)
    dead = [line for line in lines if line["message"].startswith("dead letter")]
    assert sorted(str(line["event_id"]) for line in dead) == ["None", "d-bad"]  # the cut-off JSON has no id
    assert all(line["topic"] == s.topic_interactions and line["offset"] >= 0 for line in dead)
    skipped = [line for line in lines if line["message"].startswith("skipped")]
    assert [(line["event_id"], line["topic"]) for line in skipped] == [("d-1", s.topic_interactions)]
    assert isinstance(skipped[0]["partition"], int) and skipped[0]["level"] == "INFO"
