"""Prometheus metrics of one worker, served as text (format 0.0.4) at ``/metrics``.

Each :class:`Metrics` owns its own ``CollectorRegistry``, not the process-global one, so a
test can build several apps in one process. Counters and histograms are updated by the
agents; gauges (index size, catalogue size, consumer lag) are read when the page is scraped.

Examples
--------
>>> m = Metrics(index_size=lambda: 3, catalogue_size=lambda: 5)
>>> m.event_in("interactions")
>>> m.dead_letter(invalid=True)
>>> text = m.render().decode()
>>> 'recsys_events_in_total{topic="interactions"} 1.0' in text
True
>>> 'recsys_dead_letters_total{reason="invalid"} 1.0' in text
True
>>> "recsys_index_size 3.0" in text
True
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
DEAD_LETTER_REASONS = ("invalid", "processing")
"""``invalid``: the bytes did not decode or validate; ``processing``: a valid event whose handling raised."""

PROCESSING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
END_TO_END_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

Lag = Callable[[], Mapping[tuple[str, int], int]]


class _LagCollector(Collector):
    """Consumer lag per source partition, computed at scrape time; absent while unknown."""

    def __init__(self, lag: Lag) -> None:
        self.lag = lag

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "recsys_consumer_lag", "Messages behind the partition's high watermark.", labels=["topic", "partition"]
        )
        try:
            lags = self.lag()
        except Exception:  # noqa: BLE001 - no consumer yet, or mid-rebalance: report nothing rather than fail
            lags = {}
        for (topic, partition), value in sorted(lags.items()):
            family.add_metric([topic, str(partition)], value)
        yield family


Variants = Callable[[], tuple[str, Mapping[str, Mapping[str, object]]]]
"""The running experiment's name and each variant's counts (:meth:`recsys.experiments.VariantStats.to_dict`)."""


class _ExperimentCollector(Collector):
    """What each variant's lists did, read from the engine at scrape time; absent outside an experiment."""

    COUNTS = (("lists", "Lists published"), ("positives", "Positive interactions of the variant's users after a list"),
              ("hits", "Positive interactions on an item of the user's last list"),
              ("negatives", "Skips and dislikes of an item of the user's last list"))  # fmt: skip

    def __init__(self, variants: Variants) -> None:
        self.variants = variants

    def collect(self) -> Iterator[Metric]:
        name, stats = self.variants()
        labels = ["experiment", "variant"]
        for key, text in self.COUNTS:
            family = CounterMetricFamily(f"recsys_experiment_{key}", f"{text}, per variant.", labels=labels)
            for variant, s in sorted(stats.items()):
                family.add_metric([name, variant], float(s[key]))  # type: ignore[arg-type]
            yield family
        positions = CounterMetricFamily("recsys_experiment_hits_at", "Hits by 1-based position in the list.",
                                        labels=[*labels, "position"])  # fmt: skip
        coverage = GaugeMetricFamily("recsys_experiment_coverage", "Distinct items shown.", labels=labels)
        latency = GaugeMetricFamily("recsys_experiment_latency_seconds", "Mean event-to-list latency.", labels=labels)
        for variant, s in sorted(stats.items()):
            for position, count in dict(s["positions"]).items():  # type: ignore[call-overload]
                positions.add_metric([name, variant, str(position)], float(count))
            coverage.add_metric([name, variant], float(s["coverage"]))  # type: ignore[arg-type]
            if s["latency_ms"] is not None:
                latency.add_metric([name, variant], float(s["latency_ms"]) / 1000.0)  # type: ignore[arg-type]
        yield from (positions, coverage, latency)


class Metrics:
    """The worker's counters, histograms and gauges, in a registry of their own."""

    def __init__(
        self,
        index_size: Callable[[], float],
        catalogue_size: Callable[[], float],
        lag: Lag | None = None,
        online_quality: Callable[[], float] | None = None,
        variants: Variants | None = None,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.events_in = Counter("recsys_events_in", "Events read, by source topic.", ["topic"], registry=r)
        self.applied = Counter("recsys_events_applied", "Interactions applied to state and models.", registry=r)
        self.deduplicated = Counter(
            "recsys_events_deduplicated", "Events skipped because their event_id was already applied.", registry=r
        )
        self.dead_letters = Counter(
            "recsys_dead_letters", "Events sent to the dead-letter topic, by reason class.", ["reason"], registry=r
        )
        for reason in DEAD_LETTER_REASONS:
            self.dead_letters.labels(reason)  # exported at 0 from the start, so rate() sees the first one
        self.recommendations = Counter("recsys_recommendations_emitted", "Recommendation lists published.", registry=r)
        self.unchanged = Counter(
            "recsys_recommendations_unchanged", "Lists ranked but not published: the same as the last one.", registry=r
        )
        self.coalesced = Counter(
            "recsys_events_coalesced", "Events that joined a pending burst of their user (no list of their own).",
            registry=r,
        )  # fmt: skip
        self.processing = Histogram(
            "recsys_processing_seconds", "Engine time per interaction.", buckets=PROCESSING_BUCKETS, registry=r
        )
        self.end_to_end = Histogram(
            "recsys_end_to_end_seconds",
            "Time from the interaction's Kafka record timestamp to the end of its processing.",
            buckets=END_TO_END_BUCKETS,
            registry=r,
        )
        self.shared_update_delay = Histogram(
            "recsys_shared_update_delay_seconds",
            "Time from another worker learning an interaction to this worker applying its item update "
            "(per batch: its oldest update, by the batch's Kafka timestamp).",
            buckets=END_TO_END_BUCKETS,
            registry=r,
        )
        Gauge("recsys_index_size", "Items in the ANN index.", registry=r).set_function(index_size)
        Gauge("recsys_catalogue_size", "Items in the catalogue.", registry=r).set_function(catalogue_size)
        if lag is not None:
            r.register(_LagCollector(lag))
        if variants is not None:
            r.register(_ExperimentCollector(variants))
        if online_quality is not None:
            Gauge(
                "recsys_online_quality",
                "Share of positive interactions that took an item of the user's last list (since start).",
                registry=r,
            ).set_function(online_quality)

    def event_in(self, topic: str) -> None:
        self.events_in.labels(topic).inc()

    def dead_letter(self, *, invalid: bool) -> None:
        self.dead_letters.labels("invalid" if invalid else "processing").inc()

    def interaction_done(self, engine_seconds: float, record_timestamp: float | None) -> None:
        """Observe one processed interaction; ``record_timestamp`` is the Kafka timestamp in epoch seconds."""
        self.processing.observe(engine_seconds)
        if record_timestamp:
            self.end_to_end.observe(max(0.0, time.time() - record_timestamp))

    def render(self) -> bytes:
        """The text exposition format 0.0.4 (serve with :data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
