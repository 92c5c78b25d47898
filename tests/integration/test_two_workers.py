"""Two workers in one consumer group behave as one recommender for reference data.

Each worker owns one partition of ``interactions`` (and of the user table), but every worker
needs the whole catalogue and every rule: any user's list is drawn from all items. A new item,
a withdrawal and a rule are each produced once, on one partition of their topic; then every
user's list, asked of the worker that owns the user (``GET /recommendations/{user}/``, which
forwards to the owner and names it in ``X-Recsys-Served-By``), must show the change, and
every worker must know the new item itself (``GET /similar/{item}/`` answers locally).

Before the reference reader (``streams/global_reader.py``), ``items`` and ``rules`` were consumed
inside the group: the worker that did not own the record's partition never saw it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schemas import Follow, Item, Rule, encode
from streams.kafka_io import create_topics
from streams.web import SERVED_BY_HEADER, owner_partition
from tests.conftest import WorkerProcess, free_port, stats, wait_for, worker_environment
from tests.integration.test_worker import Reader, has_rec_for, like, send

pytestmark = pytest.mark.integration

ITEMS = 20
K = 50  # longer than the catalogue: every unseen available item is in every list
START_TIMEOUT = 120.0
CHANGE_TIMEOUT = 30.0
FAILOVER_TIMEOUT = 40.0  # lists came back after about 60 s with faust's default session timeout


def _get(worker: WorkerProcess, path: str) -> tuple[int, dict[str, Any], str]:
    """``(status, body, served by)`` of a GET on the worker's web port."""
    url = f"http://127.0.0.1:{worker.settings.web_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=15) as reply:
            return reply.status, json.loads(reply.read()), reply.headers.get(SERVED_BY_HEADER, "")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}"), ""
    except OSError:
        return 0, {}, ""


def _lists(workers: list[WorkerProcess], users: list[str]) -> dict[str, tuple[list[str], str]]:
    """Each user's list (asked of alternating workers, so half the asks are forwarded) and who served it."""
    out: dict[str, tuple[list[str], str]] = {}
    for n, user in enumerate(users):
        status, body, served_by = _get(workers[n % len(workers)], f"/recommendations/{user}/?k={K}")
        if status == 200:
            out[user] = ([i["item_id"] for i in body["items"]], served_by)
    return out


def _everyone(workers: list[WorkerProcess], users: list[str], check: Callable[[list[str]], bool]) -> Callable[[], bool]:
    def done() -> bool:
        lists = _lists(workers, users)
        return len(lists) == len(users) and all(check(items) for items, _ in lists.values())

    return done


class Pair:
    """Two workers in one group on fresh topics, with a catalogue and four users on each partition."""

    def __init__(self, kafka: str, folder: Path, **extra: str) -> None:
        # lists hold every item: any like changes them
        env = worker_environment(kafka, folder, "two", RECSYS_K=str(K), **extra)
        other = {**env, "RECSYS_DATA_DIR": str(folder / "data-b"), "RECSYS_WEB_PORT": str(free_port())}
        self.workers = [WorkerProcess(env, folder / "a.log"), WorkerProcess(other, folder / "b.log")]
        self.settings = s = self.workers[0].settings
        assert s.partitions == 2
        create_topics(s)
        send(s, s.topic_items, [(f"item-{n}", encode(Item(f"item-{n}", title=f"Item {n}"))) for n in range(ITEMS)])
        by_partition: dict[int, list[str]] = {0: [], 1: []}
        for n in range(100):
            user = f"user-{n}"
            if len(by_partition[owner_partition(user, 2)]) < 4:
                by_partition[owner_partition(user, 2)].append(user)
        self.users = by_partition[0] + by_partition[1]

    def start(self) -> dict[str, tuple[list[str], str]]:
        """Start both, let every user like item-0; each user's list and the worker that served it."""
        s, workers, users = self.settings, self.workers, self.users
        for worker in workers:
            worker.start()
        for worker in workers:
            wait_for(lambda w=worker: _get(w, "/ready/")[0] == 200, START_TIMEOUT, "the worker ready", worker)  # type: ignore[misc]
        send(s, s.topic_interactions, [like(f"e-{u}", u, "item-0") for u in users])
        wait_for(lambda: sum(max(stats(w).get("applied", 0), 0) for w in workers) == len(users), START_TIMEOUT,
                 "every user's interaction applied", workers[0])  # fmt: skip
        counts = [stats(w).get("applied", 0) for w in workers]
        assert all(c > 0 for c in counts), f"one worker holds every partition ({counts}); the test needs both busy"
        lists = _lists(workers, users)
        assert len({served for _, served in lists.values()}) == 2, f"each worker should serve its own users: {lists}"
        return lists

    def stop(self) -> None:
        for worker in self.workers:
            if worker.alive():
                worker.stop()


def test_items_and_rules_reach_the_users_of_every_worker(kafka: str, tmp_path: Path) -> None:
    pair = Pair(kafka, tmp_path)
    s, workers, users = pair.settings, pair.workers, pair.users
    try:
        pair.start()

        # A new item, produced once (on one partition of the items topic): every worker knows it ...
        send(s, s.topic_items, [("fresh", encode(Item("fresh", title="Fresh")))])
        for worker in workers:
            wait_for(lambda w=worker: _get(w, "/similar/fresh/")[0] == 200, CHANGE_TIMEOUT,  # type: ignore[misc]
                     "the new item known to every worker", worker)  # fmt: skip
        # ... and every user's list holds it, whichever worker owns the user.
        wait_for(_everyone(workers, users, lambda items: "fresh" in items), CHANGE_TIMEOUT,
                 "the new item in every user's list", workers[1])  # fmt: skip

        # A withdrawal leaves every list.
        send(s, s.topic_items, [("item-5", encode(Item("item-5", title="Item 5", available=False)))])
        wait_for(_everyone(workers, users, lambda items: "item-5" not in items), CHANGE_TIMEOUT,
                 "the withdrawn item gone from every list", workers[1])  # fmt: skip

        # A rule is in force for every user: item-7 pinned first.
        rule = Rule("pin-7", "pin", item_ids=("item-7",), position=1)
        send(s, s.topic_rules, [(rule.rule_id, encode(rule))])
        wait_for(_everyone(workers, users, lambda items: items[:1] == ["item-7"]), CHANGE_TIMEOUT,
                 "the pinned item first in every list", workers[1])  # fmt: skip
    finally:
        pair.stop()


def test_a_followees_like_reaches_a_follower_on_the_other_worker(kafka: str, tmp_path: Path) -> None:
    """The likes topic: the follower's worker learns what the followee liked on the other worker."""
    pair = Pair(kafka, tmp_path, RECSYS_GENERATORS="popular,social", RECSYS_SCORER="blend",
                RECSYS_BLEND_WEIGHTS="social=1,popular=0.01")  # fmt: skip
    s, workers = pair.settings, pair.workers
    try:
        lists = pair.start()
        port = str(workers[0].settings.web_port)
        follower = next(u for u, (_, served) in sorted(lists.items()) if port in served)
        followee = next(u for u, (_, served) in sorted(lists.items()) if port not in served)
        follow = Follow("f-1", follower, followee, "follow", timestamp=3.0)
        send(s, s.topic_follows, [(follower, encode(follow))])
        send(s, s.topic_interactions, [like("g-1", followee, "item-19", ts=4.0)])

        def social_first() -> bool:
            status, body, served = _get(workers[1], f"/recommendations/{follower}/?k=5")  # forwarded to workers[0]
            top = body.get("items", [{}])[0] if status == 200 else {}
            return port in served and top.get("item_id") == "item-19" and "social" in top.get("sources", [])

        wait_for(social_first, CHANGE_TIMEOUT, "the followee's like first in the follower's list", workers[0])
    finally:
        pair.stop()


def test_what_one_workers_users_teach_the_item_side_reaches_the_other_worker(kafka: str, tmp_path: Path) -> None:
    """Item learning is shared (topic item-updates): the users of one worker make an item popular, and a
    user of the other worker sees it first in a list ranked by popularity alone."""
    pair = Pair(kafka, tmp_path, RECSYS_GENERATORS="popular", RECSYS_SCORER="blend",
                RECSYS_BLEND_WEIGHTS="popular=1")  # fmt: skip
    s, workers = pair.settings, pair.workers
    try:
        lists = pair.start()  # every user liked item-0
        port = str(workers[0].settings.web_port)
        here = [u for u, (_, served) in sorted(lists.items()) if port in served]
        there = next(u for u, (_, served) in sorted(lists.items()) if port not in served)
        send(s, s.topic_interactions, [like(f"p-{u}", u, "item-19", ts=4.0) for u in here])

        def popular_there() -> bool:
            status, body, served = _get(workers[1], f"/recommendations/{there}/?k=3")
            items = [i["item_id"] for i in body.get("items", [])] if status == 200 else []
            return port not in served and items[:1] == ["item-19"]

        wait_for(popular_there, CHANGE_TIMEOUT, "the item the other worker's users liked first", workers[1])
        assert all(stats(w).get("shared", 0) > 0 for w in workers)  # both wrote item updates
        # and each timed the other's: from learnt there to applied here (/stats; ?since= narrows it)
        delays = [stats(w) for w in workers]
        assert all(0 <= d["update_delay_p50_ms"] <= d["update_delay_p99_ms"] < 30_000 for d in delays), delays
    finally:
        pair.stop()


def test_lists_flow_again_soon_after_a_worker_is_killed(kafka: str, tmp_path: Path) -> None:
    """``kill -9`` of one worker: its partitions move to the other (after the session timeout,
    ``RECSYS_SESSION_TIMEOUT_MS``, 6 s; faust's default of 60 s kept them idle for a minute), and
    its users' next interactions are applied there, on the state its changelog kept, and get lists."""
    pair = Pair(kafka, tmp_path)
    s, workers, users = pair.settings, pair.workers, pair.users
    reader = Reader(s, s.topic_recommendations)
    try:
        lists = pair.start()
        victim, survivor = workers[1], workers[0]
        orphans = sorted(u for u, (_, served) in lists.items() if str(victim.settings.web_port) in served)
        assert orphans, lists
        victim.kill()
        killed = time.monotonic()
        # every user likes item-1 now; the orphans' events wait for their partition to move
        send(s, s.topic_interactions, [like(f"k-{u}", u, "item-1", ts=2.0) for u in users])
        reader.poll_until(lambda r: all(has_rec_for(u, f"k-{u}")(r) for u in users), FAILOVER_TIMEOUT, survivor)
        took = time.monotonic() - killed
        after = {r.user_id: r for r in reader.recommendations() if r.event_id.startswith("k-")}
    finally:
        reader.close()
        pair.stop()
    print(f"lists for the killed worker's {len(orphans)} users flowed again {took:.1f} s after kill -9")
    for user in users:  # both likes are in the state the survivor used: neither item is listed again
        listed = {i.item_id for i in after[user].items}
        assert not listed & {"item-0", "item-1"}, (user, listed)


def test_after_kill_9_mid_stream_every_interaction_is_applied_once_on_both_sides(kafka: str, tmp_path: Path) -> None:
    """At-least-once with a crash in the middle: ``kill -9`` of one worker while interactions stream in,
    the other takes its partitions over, then it comes back on its data folder (its last snapshot,
    written every second here). Afterwards every user's state counts each of their interactions once
    (``GET /users/{id}/``), and their lists leave out every item they interacted with; and each worker's
    item side learnt from every interaction once (``learnt`` on ``/stats``): none lost with the killed
    worker's unsent item updates, none applied twice from the redelivered events."""
    pair = Pair(kafka, tmp_path, RECSYS_SNAPSHOT_SECONDS="1")
    s, workers = pair.settings, pair.workers
    users = [f"crash-{n}" for n in range(40)]
    rounds = 12  # each user likes item-1 .. item-12; lists (K > catalogue) hold the other unseen items
    try:
        pair.start()  # pair.users (8) liked item-0
        stream = [like(f"c-{u}-{r}", u, f"item-{r}", ts=10.0 + r) for r in range(1, rounds + 1) for u in users]
        victim = workers[1]
        for n in range(0, len(stream), 20):
            send(s, s.topic_interactions, stream[n : n + 20])
            if n == len(stream) // 2:
                assert stats(victim).get("learnt", 0) > len(pair.users), "the victim should be learning already"
                victim.kill()  # mid-stream: events in flight, item updates not yet sent
            time.sleep(0.05)
        total = len(pair.users) + len(stream)
        deadline = time.monotonic() + FAILOVER_TIMEOUT * 2
        while stats(workers[0]).get("learnt", 0) < total and time.monotonic() < deadline:
            time.sleep(0.5)
        if stats(workers[0]).get("learnt", 0) < total:
            short = {u: _get(workers[0], f"/users/{u}/")[1].get("events") for u in users}
            pytest.fail(f"the survivor learnt {stats(workers[0])} of {total}; users' event counts (of {rounds}): "
                        f"{ {u: n for u, n in short.items() if n != rounds} }")
        victim.start()
        wait_for(lambda: _get(victim, "/ready/")[0] == 200, START_TIMEOUT, "the restarted worker ready", victim)
        wait_for(lambda: all(stats(w).get("learnt", 0) >= total for w in workers), START_TIMEOUT,
                 "both workers learnt every interaction", victim)  # fmt: skip
        time.sleep(3.0)  # anything applied twice would show by now
        learnt = [stats(w) for w in workers]
        states = {u: _get(workers[n % 2], f"/users/{u}/")[1] for n, u in enumerate(users)}
        lists = _lists(workers, users)
    finally:
        pair.stop()
    print("learnt / relearnt / user only / duplicates per worker:",
          [(w.get("learnt"), w.get("relearnt"), w.get("user_only"), w.get("duplicates")) for w in learnt])  # fmt: skip
    assert [w["learnt"] for w in learnt] == [total, total]
    seen = {f"item-{r}" for r in range(1, rounds + 1)}
    for user in users:
        assert states[user].get("events") == rounds, (user, states[user])
        assert set(states[user]["history"]) == seen, (user, states[user])
        assert not set(lists[user][0]) & seen and len(lists[user][0]) == ITEMS - rounds, (user, lists[user])


def test_a_new_worker_copies_a_snapshot_and_so_learns_what_the_log_no_longer_holds(kafka: str, tmp_path: Path) -> None:
    """``recsys-item-updates`` keeps only what its retention allows. A new worker (no data folder)
    with ``RECSYS_BOOTSTRAP_URL`` copies a running worker's snapshot (``GET /snapshot/``) and replays
    the log from there, so its item side holds the learning of interactions whose updates the log
    dropped (here: deleted with the admin API, as retention would)."""
    from confluent_kafka import TopicPartition

    from streams.kafka_io import make_admin, make_consumer

    pair = Pair(kafka, tmp_path, RECSYS_SNAPSHOT_SECONDS="1")
    s, workers = pair.settings, pair.workers
    newcomer = WorkerProcess({**workers[0].env, "RECSYS_DATA_DIR": str(tmp_path / "data-new"),
                              "RECSYS_WEB_PORT": str(free_port()),
                              "RECSYS_BOOTSTRAP_URL": f"http://127.0.0.1:{workers[0].settings.web_port}"},
                             tmp_path / "new.log")  # fmt: skip
    try:
        pair.start()  # every user liked item-0
        send(s, s.topic_interactions, [like(f"n-{u}", u, "item-3", ts=3.0) for u in pair.users])
        total = 2 * len(pair.users)
        wait_for(lambda: all(stats(w).get("learnt", 0) == total for w in workers), CHANGE_TIMEOUT,
                 "both workers learnt every interaction", workers[0])  # fmt: skip
        time.sleep(2.5)  # a snapshot after them (every second here)
        consumer, admin = make_consumer(s), make_admin(s)
        ends = [TopicPartition(s.topic_item_updates, p, consumer.get_watermark_offsets(
            TopicPartition(s.topic_item_updates, p), timeout=10)[1]) for p in range(s.partitions)]  # fmt: skip
        for future in admin.delete_records(ends).values():
            future.result()
        lows = [consumer.get_watermark_offsets(tp, timeout=10)[0] for tp in ends]
        consumer.close()
        assert lows == [tp.offset for tp in ends] and sum(lows) > 0, "the update log should be empty now"
        newcomer.start()
        # (a third worker of two partitions may get none: it is not "ready", but it serves and learns)
        wait_for(lambda: stats(newcomer).get("learnt", 0) >= total, START_TIMEOUT, "the new worker's item side",
                 newcomer)  # fmt: skip
        assert stats(newcomer)["learnt"] == total
        assert "copied the model snapshot" in newcomer.log_path.read_text()
    finally:
        if newcomer.alive():
            newcomer.stop()
        pair.stop()
