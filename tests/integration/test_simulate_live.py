"""The closed-loop simulator against a running worker and the real broker (recsys simulate --live):
synthetic users read their lists from the recommendations topic and answer on the interactions
topic; an A/B experiment where one variant is known to be worse is found by the worker's report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from streams.simulate_live import main as live
from tests.conftest import WorkerProcess, get_json, wait_for
from tests.integration.test_worker import FIRST_RECOMMENDATION_TIMEOUT

pytestmark = pytest.mark.integration

WORSE = {"name": "live-ab", "variants": [
    {"name": "control"}, {"name": "popular", "settings": {"generators": "popular", "scorer": "blend"}},
]}  # fmt: skip


def test_the_live_loop_names_the_worse_variant(
    worker_env: Callable[..., dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = WorkerProcess(worker_env(), tmp_path / "worker.log")
    s = worker.settings
    worker.start()
    try:
        wait_for(lambda: get_json(s.web_port, "/ready/")[0] == 200, FIRST_RECOMMENDATION_TIMEOUT, "/ready/", worker)
        code = live(["--live", "--url", f"http://127.0.0.1:{s.web_port}", "--users", "200", "--items", "300",
                     "--warmup", "2000", "--steps", "2500", "--seed", "3", "--experiment", json.dumps(WORSE),
                     "--timeout", "300", "--json"], s)  # fmt: skip
        out = capsys.readouterr().out
        assert code == 0, out + worker.log_tail()
        assert worker.alive(), worker.log_tail()
    finally:
        assert worker.stop() == 0, worker.log_tail()
    result = json.loads(out)
    truth, rows = result["truth"], {row["variant"]: row for row in result["report"]}
    print(json.dumps(result, indent=1))
    # the truth, known to the simulator only: the default's lists hold more of what users like
    assert truth["control"]["precision"] > truth["popular"]["precision"] + 0.1, truth
    # and the worker's own report, from what users did with their lists, says so with confidence
    worse = rows["popular"]
    assert worse["significant"] and worse["diff"] < 0 and worse["diff_ci"][1] < 0, rows
    assert rows["control"]["lists"] > 500 and worse["lists"] > 500, rows
