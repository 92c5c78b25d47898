"""The worker's Prometheus exposition (streams/metrics.py): names, labels and values parse back."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from recsys.settings import Settings
from streams.app import create_app
from streams.metrics import CONTENT_TYPE, Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, as (name, sorted labels) -> value, after parsing the text."""
    families = text_string_to_metric_families(metrics.render().decode())
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def test_counters_carry_their_labels_and_counts() -> None:
    m = Metrics(index_size=lambda: 0, catalogue_size=lambda: 0)
    for topic in ("interactions", "interactions", "items"):
        m.event_in(topic)
    m.applied.inc()
    m.deduplicated.inc()
    m.recommendations.inc(2)
    m.dead_letter(invalid=True)
    m.dead_letter(invalid=False)
    m.dead_letter(invalid=False)
    got = _samples(m)
    assert got[("recsys_events_in_total", (("topic", "interactions"),))] == 2
    assert got[("recsys_events_in_total", (("topic", "items"),))] == 1
    assert got[("recsys_events_applied_total", ())] == 1
    assert got[("recsys_events_deduplicated_total", ())] == 1
    assert got[("recsys_recommendations_emitted_total", ())] == 2
    assert got[("recsys_dead_letters_total", (("reason", "invalid"),))] == 1
    assert got[("recsys_dead_letters_total", (("reason", "processing"),))] == 2


def test_dead_letter_reasons_are_exported_at_zero_before_any() -> None:
    got = _samples(Metrics(index_size=lambda: 0, catalogue_size=lambda: 0))
    assert got[("recsys_dead_letters_total", (("reason", "invalid"),))] == 0
    assert got[("recsys_dead_letters_total", (("reason", "processing"),))] == 0


def test_histograms_count_processing_and_end_to_end_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    m = Metrics(index_size=lambda: 0, catalogue_size=lambda: 0)
    monkeypatch.setattr("streams.metrics.time.time", lambda: 1000.0)
    m.interaction_done(0.002, record_timestamp=999.7)  # 0.3 s after the record was written
    m.interaction_done(0.2, record_timestamp=None)  # no Kafka timestamp: end-to-end not observed
    got = _samples(m)
    assert got[("recsys_processing_seconds_count", ())] == 2
    assert got[("recsys_processing_seconds_sum", ())] == pytest.approx(0.202)
    assert got[("recsys_processing_seconds_bucket", (("le", "0.0025"),))] == 1
    assert got[("recsys_processing_seconds_bucket", (("le", "+Inf"),))] == 2
    assert got[("recsys_end_to_end_seconds_count", ())] == 1
    assert got[("recsys_end_to_end_seconds_sum", ())] == pytest.approx(0.3)
    assert got[("recsys_end_to_end_seconds_bucket", (("le", "0.25"),))] == 0
    assert got[("recsys_end_to_end_seconds_bucket", (("le", "0.5"),))] == 1


def test_gauges_are_read_at_scrape_time_and_lag_is_labelled_by_partition() -> None:
    size = [3]
    lag = {("interactions", 1): 7, ("interactions", 0): 0}
    m = Metrics(index_size=lambda: size[0], catalogue_size=lambda: 10, lag=lambda: lag)
    size[0] = 4
    got = _samples(m)
    assert got[("recsys_index_size", ())] == 4
    assert got[("recsys_catalogue_size", ())] == 10
    assert got[("recsys_consumer_lag", (("partition", "1"), ("topic", "interactions")))] == 7
    assert got[("recsys_consumer_lag", (("partition", "0"), ("topic", "interactions")))] == 0


def test_an_unavailable_lag_is_left_out_rather_than_failing_the_scrape() -> None:
    def no_consumer() -> dict[tuple[str, int], int]:
        raise RuntimeError("not started")

    got = _samples(Metrics(index_size=lambda: 0, catalogue_size=lambda: 0, lag=no_consumer))
    assert not [key for key in got if key[0] == "recsys_consumer_lag"]


def test_the_content_type_is_text_format_0_0_4() -> None:
    assert CONTENT_TYPE.startswith("text/plain; version=0.0.4")


def test_two_apps_in_one_process_keep_separate_registries(tmp_path: Path) -> None:
    first = create_app(Settings.from_env({"RECSYS_DATA_DIR": str(tmp_path / "a")}))
    second = create_app(Settings.from_env({"RECSYS_DATA_DIR": str(tmp_path / "b")}))
    first.metrics.event_in("interactions")
    assert ("recsys_events_in_total", (("topic", "interactions"),)) in _samples(first.metrics)
    assert ("recsys_events_in_total", (("topic", "interactions"),)) not in _samples(second.metrics)
    assert _samples(second.metrics)[("recsys_catalogue_size", ())] == 0
