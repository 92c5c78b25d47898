"""What the operator's page (``GET /dashboard/``) shows: the worker's counters over time, and users' last lists.

Two small pieces of worker state, both bounded:

* :class:`Sampler` reads the worker every :data:`SAMPLE_SECONDS` (a timer in :mod:`streams.app`) and
  keeps the last :data:`SAMPLES` points: events in, interactions applied, lists published and dead
  letters per second (from the deltas of the worker's counters), processing and end-to-end time
  (p50, p99 and mean over the interval, from the deltas of the Prometheus histograms' buckets),
  catalogue and index sizes, and each experiment variant's lists, hits and hit rate.
* :class:`RecentLists` keeps the last list published to each of the :data:`RECENT_USERS` most
  recently served users, encoded as it went to the topic (about 1.5 KB a list).

Both live in the worker's memory only: a restarted worker starts a new series, and a worker forgets
the lists on a rebalance (another worker may have published newer ones meanwhile) and a user's list
when the user is erased.

Examples
--------
The p50 of an interval is interpolated in its bucket, as Prometheus' ``histogram_quantile`` does:

>>> from prometheus_client import CollectorRegistry, Histogram
>>> h = Histogram("t", "t", buckets=(0.001, 0.01, 0.1), registry=CollectorRegistry())
>>> before = Buckets.of(h)
>>> for seconds in (0.002, 0.004, 0.006, 0.05):
...     h.observe(seconds)
>>> interval = Buckets.of(h).minus(before)
>>> interval.count, round(interval.quantile(0.5), 4), round(interval.mean(), 4)
(4.0, 0.007, 0.0155)

A bounded map of the last list of each recent user:

>>> lists = RecentLists(capacity=2)
>>> for user in ("alice", "bob", "carol"):
...     lists.put(user, b'{"user_id": "%s"}' % user.encode())
>>> lists.get("alice") is None, lists.get("carol")
(True, b'{"user_id": "carol"}')
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Histogram

from recsys.experiments import report
from streams.service import Service

SAMPLE_SECONDS = 2.0
"""Seconds between two points of the series."""
SAMPLES = 600
"""Points kept: 20 minutes at :data:`SAMPLE_SECONDS`."""
RECENT_USERS = 10_000
"""Users whose last published list the worker keeps for ``GET /lists/{user_id}/``."""


@dataclass(frozen=True, slots=True)
class Buckets:
    """A Prometheus histogram's cumulative bucket counts at one instant (or their difference over an interval)."""

    bounds: tuple[float, ...]  # upper bounds, the last one +Inf
    counts: tuple[float, ...]  # observations at or under each bound
    total: float  # the sum of the observations

    @classmethod
    def of(cls, histogram: Histogram) -> Buckets:
        """Read ``histogram`` (unlabelled) now."""
        bounds: list[float] = []
        counts: list[float] = []
        total = 0.0
        for metric in histogram.collect():
            for sample in metric.samples:
                if sample.name.endswith("_bucket"):
                    bounds.append(float(sample.labels["le"]))
                    counts.append(sample.value)
                elif sample.name.endswith("_sum"):
                    total = sample.value
        return cls(tuple(bounds), tuple(counts), total)

    @property
    def count(self) -> float:
        """How many observations."""
        return self.counts[-1] if self.counts else 0.0

    def minus(self, earlier: Buckets) -> Buckets:
        """The observations made since ``earlier`` (a reading of the same histogram)."""
        if earlier.bounds != self.bounds:
            return self
        return Buckets(self.bounds, tuple(a - b for a, b in zip(self.counts, earlier.counts, strict=True)),
                       self.total - earlier.total)  # fmt: skip

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile, interpolated linearly inside its bucket; the largest finite bound when it
        falls in the +Inf bucket; None without observations."""
        if self.count <= 0:
            return None
        rank = q * self.count
        lower_bound, lower_count = 0.0, 0.0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            if count >= rank:
                if math.isinf(bound):
                    return lower_bound
                return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
            lower_bound, lower_count = bound, count
        return lower_bound

    def mean(self) -> float | None:
        """The mean observation; None without observations."""
        return self.total / self.count if self.count > 0 else None


@dataclass(frozen=True, slots=True)
class Reading:
    """What the worker's counters say at one instant (cumulative since the worker started)."""

    at: float  # epoch seconds
    events_in: int
    applied: int
    published: int
    dead_letters: int
    processing: Buckets
    end_to_end: Buckets
    catalogue: int
    index: int
    model_version: str = ""
    experiment: str = ""  # "" when none runs
    control: str = ""
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # VariantStats.to_dict() per variant

    def to_dict(self) -> dict[str, Any]:
        """The counters as JSON, with the experiment's report against its control."""
        variants = {name: dict(v) for name, v in self.variants.items()}
        rows = report(variants, self.control) if self.experiment else []
        return {"at": self.at, "events_in": self.events_in, "applied": self.applied, "published": self.published,
                "dead_letters": self.dead_letters, "catalogue": self.catalogue, "index": self.index,
                "model_version": self.model_version, "experiment": self.experiment, "control": self.control,
                "variants": variants, "report": _finite(rows)}  # fmt: skip


def read_worker(service: Service) -> Reading:
    """Read a running worker's counters (cheap: a few dozen numbers)."""
    engine, stats, metrics = service.engine, service.stats, service.metrics
    name, variants = engine.variant_counts()
    return Reading(
        at=time.time(), events_in=stats["in"], applied=stats["applied"], published=stats["recommendations"],
        dead_letters=stats["dead_letters"], processing=Buckets.of(metrics.processing),
        end_to_end=Buckets.of(metrics.end_to_end), catalogue=len(engine.catalog), index=len(engine.indexes.mf),
        model_version=engine.model_version, experiment=name,
        control=engine.experiment.control if engine.experiment is not None else "", variants=variants,
    )  # fmt: skip


RATES = (("events_in", "events_in"), ("applied", "applied"), ("published", "published"),
         ("dead_letters", "dead_letters"))  # fmt: skip
"""(series, Reading field) of the counters the series shows per second."""


def _point(before: Reading, now: Reading) -> dict[str, Any]:
    """One point of the series: the interval from ``before`` to ``now``."""
    seconds = max(now.at - before.at, 1e-9)
    point: dict[str, Any] = {"t": round(now.at, 3)}
    for name, attr in RATES:
        delta = getattr(now, attr) - getattr(before, attr)
        point[name] = round(delta / seconds, 3) if delta >= 0 else None  # a negative delta: counters restarted
    for name, histogram in (("processing", "processing"), ("end_to_end", "end_to_end")):
        interval: Buckets = getattr(now, histogram).minus(getattr(before, histogram))
        for stat, value in (("p50", interval.quantile(0.5)), ("p99", interval.quantile(0.99)),
                            ("mean", interval.mean())):  # fmt: skip
            point[f"{name}_{stat}_ms"] = None if value is None else round(value * 1000.0, 3)
    point["catalogue"], point["index"], point["experiment"] = now.catalogue, now.index, now.experiment
    point["variants"] = {
        name: {"lists": v["lists"], "hits": v["hits"], "positives": v["positives"],
               "hit_rate": round(v["hits"] / v["lists"], 6) if v["lists"] else None}
        for name, v in now.variants.items()
    }  # fmt: skip
    return point


SERIES = ("t", *(name for name, _ in RATES), *(f"{h}_{s}_ms" for h in ("processing", "end_to_end")
          for s in ("p50", "p99", "mean")), "catalogue", "index", "experiment")  # fmt: skip
"""The columns of :meth:`Sampler.series` besides ``variants``."""
VARIANT_SERIES = ("lists", "hits", "positives", "hit_rate")


class Sampler:
    """A bounded time series of one worker's counters, one point per :meth:`sample`.

    ``read`` returns the counters now (:func:`read_worker`); a point holds the rates and latencies of
    the interval since the previous reading, so the first reading makes no point. Called on the event
    loop's thread only (a faust timer and the web views), so it needs no lock.
    """

    def __init__(self, read: Callable[[], Reading], capacity: int = SAMPLES, interval: float = SAMPLE_SECONDS):
        if capacity < 1:
            raise ValueError(f"a series keeps at least one point (got capacity={capacity})")
        self.read = read
        self.interval = interval
        self.points: deque[dict[str, Any]] = deque(maxlen=capacity)
        self.last: Reading | None = None

    def sample(self) -> dict[str, Any] | None:
        """Read the worker and add the point of the interval since the last reading (None at the first)."""
        now = self.read()
        before, self.last = self.last, now
        if before is None:
            return None
        point = _point(before, now)
        self.points.append(point)
        return point

    def series(self) -> dict[str, Any]:
        """The points as columns, ready for a chart: ``{"t": [...], "events_in": [...], ...,
        "variants": {name: {"lists": [...], "hit_rate": [...]}}}``; a variant absent from a point
        (an experiment started or stopped meanwhile) is null there."""
        columns: dict[str, Any] = {name: [p[name] for p in self.points] for name in SERIES}
        names: dict[str, None] = {}
        for p in self.points:
            names.update(dict.fromkeys(p["variants"]))
        columns["variants"] = {
            name: {key: [p["variants"].get(name, {}).get(key) for p in self.points] for key in VARIANT_SERIES}
            for name in names
        }
        return columns

    def page(self) -> dict[str, Any]:
        """What ``GET /dashboard/data/`` answers: the counters now, and the series."""
        return {"interval": self.interval, "capacity": self.points.maxlen, "now": self.read().to_dict(),
                "series": self.series()}  # fmt: skip


class RecentLists:
    """The last list published to each recent user (least recently published dropped beyond ``capacity``).

    Values are the encoded :class:`~schemas.Recommendation`, as sent to the topic: kept as bytes, a
    list costs about its JSON size, and ``GET /lists/{user_id}/`` answers them as they are.
    """

    def __init__(self, capacity: int = RECENT_USERS) -> None:
        if capacity < 1:
            raise ValueError(f"keep the lists of at least one user (got capacity={capacity})")
        self.capacity = capacity
        self._lists: OrderedDict[str, bytes] = OrderedDict()

    def put(self, user_id: str, encoded: bytes) -> None:
        """Remember ``encoded`` as the user's last list."""
        self._lists[user_id] = encoded
        self._lists.move_to_end(user_id)
        while len(self._lists) > self.capacity:
            self._lists.popitem(last=False)

    def get(self, user_id: str) -> bytes | None:
        """The user's last list, None when not kept."""
        return self._lists.get(user_id)

    def forget(self, user_id: str) -> None:
        """Drop the user's list (the user was erased)."""
        self._lists.pop(user_id, None)

    def clear(self) -> None:
        """Drop every list (partitions moved: another worker may have published newer ones)."""
        self._lists.clear()

    def __len__(self) -> int:
        return len(self._lists)


@dataclass
class Dashboard:
    """The operator's page's state in one worker: the sampler and the recent lists."""

    sampler: Sampler
    lists: RecentLists = field(default_factory=RecentLists)


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None: JSON has no NaN (a browser refuses it)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
