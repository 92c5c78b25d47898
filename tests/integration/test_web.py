"""The worker's HTTP API on the real broker: health, readiness, on-demand lists, similar items, settings,
and a request for a user another worker owns answered by that worker."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas import Item, encode
from streams.kafka_io import create_topics
from streams.web import owner_partition
from tests.conftest import WorkerProcess, free_port, stats, wait_for
from tests.integration.test_worker import FIRST_RECOMMENDATION_TIMEOUT, like, send

pytestmark = pytest.mark.integration

HISTORY = {  # user -> items liked, in order
    "alice": ["item-3", "item-4", "item-7"],
    "bob": ["item-1", "item-2", "item-9"],
    "carol": ["item-1", "item-2"],
}


def _get(worker: WorkerProcess, path: str) -> tuple[int, dict[str, str], Any]:
    """(status, headers, decoded JSON body) of a GET; (0, {}, None) while the worker does not answer."""
    url = f"http://127.0.0.1:{worker.settings.web_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())
    except (OSError, ValueError):
        return 0, {}, None


def _catalogue(n: int) -> list[tuple[str | None, bytes | None]]:
    """``n`` items; item-1 and item-2 share attributes nobody else has."""
    items: list[tuple[str | None, bytes | None]] = []
    for i in range(n):
        genres = ["Noir"] if i in (1, 2) else [f"G{i % 3}"]
        items.append((f"item-{i}", encode(Item(f"item-{i}", title=f"Item {i}", attributes={"genres": genres}))))
    return items


def _applied(worker: WorkerProcess) -> int:
    status, _, body = _get(worker, "/stats")
    return int(body["applied"]) if status == 200 else -1


def test_health_ready_recommendations_similar_and_settings(
    worker_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    worker = WorkerProcess(worker_env(), tmp_path / "worker.log")
    s = worker.settings
    create_topics(s)
    send(s, s.topic_items, _catalogue(20))
    events: list[tuple[str | None, bytes | None]] = [
        like(f"{u}-{n}", u, item, ts=float(n)) for u, items in HISTORY.items() for n, item in enumerate(items)
    ]
    send(s, s.topic_interactions, events)
    worker.start()
    try:
        wait_for(lambda: _get(worker, "/health/")[0] == 200, 60, "/health/", worker)
        assert _get(worker, "/health/")[2] == {"status": "ok"}
        wait_for(lambda: _get(worker, "/ready/")[0] == 200, FIRST_RECOMMENDATION_TIMEOUT, "/ready/", worker)
        wait_for(lambda: _applied(worker) == len(events), 60, "the interactions to be applied", worker)

        status, _, ready = _get(worker, "/ready/")
        assert status == 200 and ready["ready"] is True
        assert ready["checks"] == {"recovered": True, "assigned": True, "commits": True}, ready

        status, headers, rec = _get(worker, "/recommendations/alice/?k=3&exclude=item-5,item-6&context.device=tv")
        assert status == 200, rec
        listed = [i["item_id"] for i in rec["items"]]
        assert len(listed) == 3 and len(set(listed)) == 3
        assert not set(listed) & {"item-5", "item-6"}, listed
        assert not set(listed) & set(HISTORY["alice"]), listed
        assert rec["user_id"] == "alice" and rec["event_id"] == "on-demand"
        assert rec["latency_ms"] >= 0 and rec["model_version"]
        assert headers["X-Recsys-Served-By"] == f"http://127.0.0.1:{s.web_port}"

        status, _, default = _get(worker, "/recommendations/nobody-yet/")  # cold start, k from the settings
        assert status == 200 and len(default["items"]) == s.k

        for query, says in [("k=0", "k must be"), ("k=abc", "k must be"), ("k=1001", "k must be"),
                            ("k=2&k=3", "give k once"), ("count=3", "unknown parameter 'count'"),
                            ("context.=tv", "needs a key")]:  # fmt: skip
            status, _, error = _get(worker, f"/recommendations/alice/?{query}")
            assert status == 400 and says in error["error"], (query, error)

        status, _, similar = _get(worker, "/similar/item-1/?k=4")
        assert status == 200, similar
        assert similar["item_id"] == "item-1"
        ids = [i["item_id"] for i in similar["items"]]
        assert len(ids) == 4 and "item-1" not in ids
        assert ids[0] == "item-2" and "covisit" in similar["items"][0]["sources"], similar

        status, _, missing = _get(worker, "/similar/no-such-item/")
        assert status == 404 and "unknown item 'no-such-item'" in missing["error"]
        assert _get(worker, "/similar/item-1/?k=-1")[0] == 400

        status, _, settings = _get(worker, "/settings/")
        assert status == 200 and settings["k"] == s.k and settings["topic_items"] == s.topic_items
    finally:
        assert worker.stop() == 0, worker.log_tail()


def test_a_request_to_any_worker_is_answered_by_the_owner_of_the_users_partition(
    worker_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    env = worker_env()
    first = WorkerProcess(env, tmp_path / "first.log")
    second = WorkerProcess(
        {**env, "RECSYS_WEB_PORT": str(free_port()), "RECSYS_DATA_DIR": env["RECSYS_DATA_DIR"] + "-second"},
        tmp_path / "second.log",
    )
    s = first.settings
    users = [f"user-{n}" for n in range(8)]
    assert {owner_partition(u, s.partitions) for u in users} == set(range(s.partitions))
    create_topics(s)
    send(s, s.topic_items, _catalogue(30))
    seen = {u: [f"item-{(3 * n + j) % 30}" for j in range(3)] for n, u in enumerate(users)}
    events: list[tuple[str | None, bytes | None]] = [
        like(f"{u}-{j}", u, item, ts=float(j)) for u, items in seen.items() for j, item in enumerate(items)
    ]
    send(s, s.topic_interactions, events)
    first.start()
    second.start()
    workers = (first, second)
    try:

        seen_last: list[object] = []

        def settled() -> bool:  # both ready, each with partitions of its own, and every event applied
            seen_last[:] = [(_get(w, "/ready/")[2], _applied(w)) for w in workers]
            ready = all((page or {}).get("ready") is True for page, _ in seen_last)
            return ready and sum(n for _, n in seen_last) == len(events)

        try:
            wait_for(settled, 2 * FIRST_RECOMMENDATION_TIMEOUT, "both workers to be ready", first)
        except BaseException:
            print("last readiness and applied counts:", seen_last, "\n---second\n", second.log_tail())
            raise
        # the worker that took over a partition re-read interactions the other applied: it skipped them,
        # and its item side learnt each once, from the other's update, not a second time itself
        wait_for(lambda: all(stats(w).get("learnt") == len(events) for w in workers), FIRST_RECOMMENDATION_TIMEOUT,
                 "both item sides to learn every interaction", first)  # fmt: skip
        assert [stats(w)["relearnt"] for w in workers] == [0, 0], [stats(w) for w in workers]
        urls = {f"http://127.0.0.1:{w.settings.web_port}" for w in workers}
        served_by: set[str] = set()
        for user in users:
            answers = [_get(w, f"/recommendations/{user}/?k=4") for w in workers]
            assert all(status == 200 for status, _, _ in answers), answers
            owners = {headers["X-Recsys-Served-By"] for _, headers, _ in answers}
            assert len(owners) == 1 and owners <= urls, (user, owners)  # one owner answered both requests
            served_by |= owners
            lists = [[i["item_id"] for i in body["items"]] for _, _, body in answers]
            assert lists[0] == lists[1], (user, lists)
            assert len(lists[0]) == 4 and not set(lists[0]) & set(seen[user]), (user, lists[0], seen[user])
        assert served_by == urls  # each worker owned some of the users, so each forwarded some requests
    finally:
        codes = [w.stop() for w in workers]
        assert codes == [0, 0], first.log_tail() + "\n---\n" + second.log_tail()
