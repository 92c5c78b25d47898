"""An A/B experiment on a running worker and the real broker: each user's lists come from their
variant and say so; /experiments/, /metrics and `recsys experiments report` count what they did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from recsys.experiments import Experiment
from schemas import Item, encode
from streams.kafka_io import create_topics
from tests.conftest import WorkerProcess, get_json, wait_for
from tests.integration.test_worker import Reader, like, send, settle

pytestmark = pytest.mark.integration

EXPERIMENT = {"name": "mf-alone", "variants": [
    {"name": "control", "share": 1},
    {"name": "mf", "share": 1, "settings": {"generators": "mf", "scorer": "mf", "k": 4}},
]}  # fmt: skip


def test_variants_rank_their_users_lists_and_are_counted(
    worker_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    env = worker_env(RECSYS_EXPERIMENT=json.dumps(EXPERIMENT))
    worker = WorkerProcess(env, tmp_path / "worker.log")
    s = worker.settings
    experiment = Experiment.parse(s.experiment)
    create_topics(s)
    send(s, s.topic_items, [(f"item-{n}", encode(Item(f"item-{n}", title=f"Item {n}"))) for n in range(20)])
    users = [f"user-{n}" for n in range(12)]
    assert {experiment.assign(u) for u in users} == {"control", "mf"}
    events = [like(f"{u}-{n}", u, f"item-{(3 * i + n) % 20}") for n in range(3) for i, u in enumerate(users)]
    send(s, s.topic_interactions, events)
    reader = Reader(s, s.topic_recommendations)
    worker.start()
    try:
        settle(reader, worker, len(events))
        _, page = get_json(s.web_port, "/experiments/")
        with urllib.request.urlopen(f"http://127.0.0.1:{s.web_port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        cli = subprocess.run(
            [sys.executable, "-m", "streams.cli", "experiments", "report", "--url", f"http://127.0.0.1:{s.web_port}"],
            env={**os.environ, **env}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        reader.close()
        assert worker.stop() == 0, worker.log_tail()

    lists = reader.recommendations()
    assert lists and all(r.variant == experiment.assign(r.user_id) for r in lists)
    assert all(len(r.list_id) == 16 for r in lists) and len({r.list_id for r in lists}) == len(lists)
    for r in lists:
        assert [i.position for i in r.items] == list(range(1, len(r.items) + 1))
        if r.variant == "mf":
            assert len(r.items) == 4 and all(set(i.sources) <= {"mf", "catalog"} for i in r.items)
        else:
            assert len(r.items) == s.k
    published = {v: sum(r.variant == v for r in lists) for v in ("control", "mf")}
    assert page["experiment"]["name"] == "mf-alone" and page["experiment"]["control"] == "control"
    assert {v: c["lists"] for v, c in page["variants"].items()} == published
    samples = {(x.name, tuple(sorted(x.labels.items()))): x.value
               for f in text_string_to_metric_families(text) for x in f.samples}  # fmt: skip
    for variant, count in published.items():
        assert samples[("recsys_experiment_lists_total", (("experiment", "mf-alone"), ("variant", variant)))] == count
    assert cli.returncode == 0, cli.stderr
    assert "experiment mf-alone (1 worker(s))" in cli.stdout and "(control)" in cli.stdout
    assert any(line.startswith("mf ") for line in cli.stdout.splitlines())


def test_an_experiment_starts_and_stops_on_a_running_worker(
    worker_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    """`recsys experiments start` and `stop` go through the experiments topic: the running worker
    follows them, no restart; a spec that is not valid is refused by the command."""
    env = worker_env()
    worker = WorkerProcess(env, tmp_path / "worker.log")
    s = worker.settings
    create_topics(s)
    send(s, s.topic_items, [(f"item-{n}", encode(Item(f"item-{n}", title=f"Item {n}"))) for n in range(20)])
    users = [f"user-{n}" for n in range(8)]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "streams.cli", "experiments", *args],
                              env={**os.environ, **env}, capture_output=True, text=True, timeout=60)  # fmt: skip

    def round_of(n: int) -> list[tuple[str, bytes]]:
        return [like(f"{u}-{n}", u, f"item-{(2 * i + n) % 20}") for i, u in enumerate(users)]

    reader = Reader(s, s.topic_recommendations)
    worker.start()
    try:
        send(s, s.topic_interactions, round_of(0))
        settle(reader, worker, 8)
        bad = {"name": "x", "variants": [{"name": "a"}, {"name": "b", "settings": {"factors": 2}}]}
        refused = cli("start", json.dumps(bad))
        assert refused.returncode != 0 and "cannot differ" in refused.stderr
        started = cli("start", json.dumps(EXPERIMENT))
        assert started.returncode == 0, started.stderr
        wait_for(lambda: (get_json(s.web_port, "/experiments/")[1] or {}).get("experiment") is not None, 30,
                 "the experiment running", worker)  # fmt: skip
        send(s, s.topic_interactions, round_of(1))
        settle(reader, worker, 16)
        stopped = cli("stop")
        assert stopped.returncode == 0, stopped.stderr
        wait_for(lambda: (get_json(s.web_port, "/experiments/")[1] or {"experiment": 1}).get("experiment") is None,
                 30, "the experiment stopped", worker)  # fmt: skip
        send(s, s.topic_interactions, round_of(2))
        settle(reader, worker, 24)
    finally:
        reader.close()
        assert worker.stop() == 0, worker.log_tail()
    experiment = Experiment.parse(json.dumps(EXPERIMENT))
    by_event = {r.event_id: r for r in reader.recommendations()}
    first = [by_event[f"{u}-0"] for u in users if f"{u}-0" in by_event]
    during = [by_event[f"{u}-1"] for u in users if f"{u}-1" in by_event]
    after = [by_event[f"{u}-2"] for u in users if f"{u}-2" in by_event]
    assert first and during and after
    assert all(r.variant == "" for r in first + after)
    assert all(r.variant == experiment.assign(r.user_id) for r in during)
    assert {r.variant for r in during} == {"control", "mf"}
