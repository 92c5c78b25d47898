"""The operator's page's state (streams/dashboard.py): the sampler's rates and latencies from real counters and
Prometheus histograms, its bounds, the recent lists; and what the page is allowed to load without the token."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request

from recsys.engine import Engine
from recsys.settings import Settings
from recsys.users import UserStore
from schemas import Interaction, Item
from streams.dashboard import Buckets, Reading, RecentLists, Sampler, read_worker
from streams.metrics import Metrics
from streams.web import OPEN_PAGES, STATIC_FILES, bearer_token_required, load_static

EXPERIMENT = {"name": "ab", "variants": [{"name": "a", "share": 1}, {"name": "b", "share": 1,
                                                                        "settings": {"scorer": "mf"}}]}  # fmt: skip


class Worker:
    """The counters a worker keeps, real ones (a :class:`Metrics` and its histograms), and a clock."""

    def __init__(self) -> None:
        self.metrics = Metrics(index_size=lambda: 0, catalogue_size=lambda: 0)
        self.stats = {"in": 0, "applied": 0, "recommendations": 0, "dead_letters": 0}
        self.at = 100.0
        self.catalogue = 0
        self.variants: dict[str, dict[str, Any]] = {}

    def read(self) -> Reading:
        m, s = self.metrics, self.stats
        return Reading(at=self.at, events_in=s["in"], applied=s["applied"], published=s["recommendations"],
                       dead_letters=s["dead_letters"], processing=Buckets.of(m.processing),
                       end_to_end=Buckets.of(m.end_to_end), catalogue=self.catalogue, index=self.catalogue,
                       experiment="ab" if self.variants else "", control="a",
                       variants={k: dict(v) for k, v in self.variants.items()})  # fmt: skip


def test_a_point_holds_the_intervals_rates_and_latency_quantiles() -> None:
    w = Worker()
    sampler = Sampler(w.read, capacity=10)
    assert sampler.sample() is None  # the first reading only starts the first interval
    w.at += 2.0
    w.stats.update({"in": 50, "applied": 40, "recommendations": 30, "dead_letters": 1})
    for _ in range(99):
        w.metrics.processing.observe(0.002)  # in the bucket (0.001, 0.0025]
    w.metrics.processing.observe(0.2)
    for seconds in (0.02, 0.03, 0.04, 0.6):
        w.metrics.end_to_end.observe(seconds)
    w.catalogue = 12
    point = sampler.sample()
    assert point is not None
    assert (point["t"], point["events_in"], point["applied"], point["published"], point["dead_letters"]) == (
        102.0, 25.0, 20.0, 15.0, 0.5)  # fmt: skip
    # p50: rank 50 of 100, all 99 in (1 ms, 2.5 ms]: 1 + 1.5 * 50/99 ms, interpolated as Prometheus does
    assert point["processing_p50_ms"] == round(1 + 1.5 * 50 / 99, 3) == 1.758
    assert point["processing_p99_ms"] == 2.5  # rank 99: the top of that bucket
    assert point["processing_mean_ms"] == pytest.approx((99 * 2 + 200) / 100, abs=1e-3)
    assert point["end_to_end_p50_ms"] == 37.5  # rank 2 of 4: halfway through (25 ms, 50 ms], which holds 2
    assert point["end_to_end_mean_ms"] == pytest.approx(172.5, abs=1e-3)
    assert (point["catalogue"], point["index"]) == (12, 12)

    w.at += 4.0  # a quiet interval: rates 0, no latency (not the previous interval's)
    quiet = sampler.sample()
    assert quiet is not None
    assert (quiet["events_in"], quiet["published"], quiet["processing_p50_ms"], quiet["end_to_end_mean_ms"]) == (
        0.0, 0.0, None, None)  # fmt: skip

    w.at += 1.0  # the next observations count in their own interval only
    w.metrics.processing.observe(0.0003)
    assert sampler.sample()["processing_p99_ms"] == round(0.5 * 0.99, 3)  # type: ignore[index]


def test_the_series_keeps_the_last_points_and_each_variant_as_a_column() -> None:
    w = Worker()
    sampler = Sampler(w.read, capacity=3)
    sampler.sample()
    for n in range(1, 6):
        w.at += 2.0
        w.stats["in"] += 10 * n
        if n >= 4:  # the experiment started between the 3rd and the 4th point
            w.variants = {
                "a": {"lists": 4 * n, "hits": n, "positives": 2 * n, "coverage": 3, "latency_ms": 1.0},
                "b": {"lists": 0, "hits": 0, "positives": 0, "coverage": 0, "latency_ms": None},
            }
        sampler.sample()
    series = sampler.series()
    assert series["t"] == [106.0, 108.0, 110.0]  # the capacity: the last three of five points
    assert series["events_in"] == [15.0, 20.0, 25.0]
    assert series["experiment"] == ["", "ab", "ab"]
    assert series["variants"]["a"] == {"lists": [None, 16, 20], "hits": [None, 4, 5], "positives": [None, 8, 10],
                                       "hit_rate": [None, 0.25, 0.25]}  # fmt: skip
    assert series["variants"]["b"]["hit_rate"] == [None, None, None]  # no list yet: no rate, not 0

    page = sampler.page()  # the variant without lists has no interval: null in the JSON, never NaN
    text = json.dumps(page, allow_nan=False)
    assert json.loads(text)["now"]["report"][1]["ci"] is None
    assert page["now"]["events_in"] == 150 and page["capacity"] == 3


def test_read_worker_reads_the_services_counters_engine_and_experiment(tmp_path: Path) -> None:
    from streams.app import create_app

    settings = Settings.from_env({"RECSYS_DATA_DIR": str(tmp_path), "RECSYS_EXPERIMENT": json.dumps(EXPERIMENT)})
    service = create_app(settings)
    service.engine = engine = Engine(settings, users=UserStore({}))  # on a dict: the table writes in events only
    for n in range(6):
        engine.apply_item(Item(f"i{n}"))
    lists = [engine.process(Interaction(f"e{n}", f"u{n}", f"i{n}", "like", timestamp=1.0)).recommendation
             for n in range(4)]  # fmt: skip
    service.stats.update({"in": 10, "applied": 4, "recommendations": 4, "dead_letters": 2})
    service.metrics.processing.observe(0.004)
    reading = read_worker(service)
    assert (reading.events_in, reading.applied, reading.published, reading.dead_letters) == (10, 4, 4, 2)
    assert reading.catalogue == 6 and reading.index == len(engine.indexes.mf)
    assert reading.processing.count == 1 and reading.model_version == engine.model_version
    assert (reading.experiment, reading.control, sorted(reading.variants)) == ("ab", "a", ["a", "b"])
    shown = {v: sum(r is not None and r.variant == v for r in lists) for v in ("a", "b")}
    assert {v: c["lists"] for v, c in reading.variants.items()} == shown and sum(shown.values()) == 4


def test_recent_lists_keep_the_last_list_of_the_most_recent_users() -> None:
    lists = RecentLists(capacity=2)
    lists.put("ann", b"1")
    lists.put("bob", b"2")
    lists.put("ann", b"3")  # a new list: ann is now the most recent, bob goes first
    lists.put("cid", b"4")
    assert (lists.get("ann"), lists.get("bob"), lists.get("cid"), len(lists)) == (b"3", None, b"4", 2)
    lists.forget("ann")  # erased
    assert lists.get("ann") is None and len(lists) == 1
    lists.clear()  # a rebalance
    assert len(lists) == 0
    with pytest.raises(ValueError, match="at least one"):
        RecentLists(capacity=0)


def test_the_page_loads_only_files_the_worker_serves() -> None:
    files = load_static()
    assert all(files[name] for name in ("dashboard.html", *STATIC_FILES))
    html = files["dashboard.html"].decode()
    loaded = set(re.findall(r'(?:src|href)="(/[^"]*)"', html))
    assert loaded == {f"/static/{name}" for name in ("uPlot.iife.min.js", "uPlot.min.css", "dashboard.js",
                                                     "dashboard.css", "uPlot.LICENSE")}  # fmt: skip
    assert "http://" not in html and "https://" not in html  # nothing from the internet
    assert b"uPlot" in files["uPlot.iife.min.js"][:100] and b"MIT License" in files["uPlot.LICENSE"]
    script = files["dashboard.js"].decode()
    assert set(re.findall(r'get\(`?"?(/[a-z/]+)', script)) == {"/dashboard/data/", "/lists/"}
    assert "innerHTML" not in script  # producers' ids and reasons are only ever set as text


def test_the_page_and_its_files_are_open_and_its_data_needs_the_token() -> None:
    check = bearer_token_required("s3cret")

    async def handler(request: Any) -> str:
        return "served"

    def status(path: str, token: str | None = None) -> int | str:
        import asyncio

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = asyncio.run(check(make_mocked_request("GET", path, headers=headers), handler))
        return answer if isinstance(answer, str) else answer.status

    assert OPEN_PAGES >= {"/dashboard/", "/static/uPlot.iife.min.js", "/health/"}
    for path in ("/dashboard/", "/static/uPlot.iife.min.js", "/static/dashboard.js"):
        assert status(path) == "served", path
    for path in ("/dashboard/data/", "/lists/ann/", "/stats", "/static/../stats", "/static/other.js", "/dashboard"):
        assert status(path) == 401, path
        assert status(path, "s3cret") == "served", path
