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
from tests.conftest import WorkerProcess, get_json
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
