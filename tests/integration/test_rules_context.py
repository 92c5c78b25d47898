"""Business rules, context and coalescing on the real broker.

* A rule on the control topic changes the lists of the active users without a restart, and
  its tombstone takes it away again.
* A context event (``{"device": "tv"}``) brings a rule limited to that context into force
  for that user only, and the list it triggers carries the context event's id.
* With ``RECSYS_COALESCE_MS`` a burst of one user's interactions gives one list (or a few),
  ranked with the state after the burst.
* An invalid rule and an invalid context event are dead-lettered with their reason, and the
  worker goes on.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas import DeadLetter, Item, Recommendation, decode, encode
from streams.kafka_io import create_topics
from tests.conftest import WorkerProcess, stats, wait_for, worker_environment
from tests.integration.test_worker import (
    FIRST_RECOMMENDATION_TIMEOUT,
    Reader,
    applied,
    has_rec_for,
    like,
    send,
    settle,
)

pytestmark = pytest.mark.integration

CATALOGUE = 30
LIST_TIMEOUT = 45.0  # a list after an event, once the worker runs


def _catalogue() -> list[tuple[str | None, bytes | None]]:
    items = [Item(f"item-{n}", title=f"Item {n}", attributes={"genres": [f"G{n % 3}"]})
             for n in range(CATALOGUE)]  # fmt: skip
    return [(i.item_id, encode(i)) for i in items]


def _ready(worker: WorkerProcess) -> bool:
    url = f"http://127.0.0.1:{worker.settings.web_port}/ready/"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def _start(worker: WorkerProcess) -> WorkerProcess:
    """Topics, the catalogue, then the worker; returns once it is ready with every item known."""
    s = worker.settings
    create_topics(s)
    send(s, s.topic_items, _catalogue())
    worker.start()
    wait_for(lambda: _ready(worker), FIRST_RECOMMENDATION_TIMEOUT, "the worker to be ready", worker)
    wait_for(lambda: stats(worker).get("items") == CATALOGUE, 60, "the catalogue to be loaded", worker)
    return worker


def _rule(rule_id: str, **fields: Any) -> tuple[str, bytes]:
    return rule_id, json.dumps({"rule_id": rule_id, **fields}).encode()


def _context(event_id: str, user_id: str, context: dict[str, Any], ts: float = 10.0) -> tuple[str, bytes]:
    return user_id, json.dumps({"event_id": event_id, "user_id": user_id, "timestamp": ts, "context": context}).encode()


def _ids(rec: Recommendation) -> list[str]:
    return [i.item_id for i in rec.items]


def _pinned_by(rec: Recommendation, rule_id: str) -> list[str]:
    return [i.item_id for i in rec.items if f"pinned by rule {rule_id}" in i.reasons]


def _last(reader: Reader, user_id: str, event_id: str) -> Recommendation:
    return [r for r in reader.recommendations(user_id) if r.event_id == event_id][-1]


def _poll(reader: Reader, predicate: Callable[[Reader], bool], worker: WorkerProcess, what: str,
          timeout: float = LIST_TIMEOUT) -> None:  # fmt: skip
    """Read ``reader`` until ``predicate`` holds; on time-out say what was awaited and which lists came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reader.poll_until(lambda r: True, timeout, worker)  # one round of reading
        if predicate(reader):
            return
    seen = [(r.user_id, r.event_id, _ids(r)[:1]) for r in reader.recommendations()]
    pytest.fail(f"timed out after {timeout}s waiting for {what}; lists seen (user, event_id, first item): "
                f"{seen}\n{worker.log_tail(30)}")  # fmt: skip


def _applied(worker: WorkerProcess) -> int:
    return max(applied(worker), 0)


def _drop_rule(worker: WorkerProcess, rule_id: str) -> None:
    """Best effort: a tombstone for ``rule_id``, and a short wait until the worker took it."""
    if not worker.alive():
        return
    s = worker.settings
    before = int(stats(worker).get("rules", 0))
    send(s, s.topic_rules, [(rule_id, None)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and int(stats(worker).get("rules", 0)) <= before:
        time.sleep(0.2)


@pytest.fixture(scope="module")
def worker(kafka: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerProcess]:
    """One worker (coalescing off) for the tests of rules, context and dead letters."""
    tmp = tmp_path_factory.mktemp("rules-worker")
    env = worker_environment(kafka, tmp, "rules")
    process = WorkerProcess(env, tmp / "worker.log")
    try:
        yield _start(process)
    finally:
        process.stop()


def test_a_rule_is_applied_without_a_restart_and_its_tombstone_removes_it(worker: WorkerProcess) -> None:
    s = worker.settings
    reader = Reader(s, s.topic_recommendations)
    # Two users whose states live in different partitions (alice: 1, bob: 0, by the key's murmur2 hash),
    # so the rule (key "promo": partition 0) must reach users of the other partition too.
    seen = {"alice": ["item-1", "item-2", "item-3"], "bob": ["item-4", "item-5"]}
    users = sorted(seen)
    try:
        start = _applied(worker)
        send(s, s.topic_interactions, [
            like(f"{u}-{n}", u, item, ts=float(n)) for u, items in seen.items() for n, item in enumerate(items)
        ])  # fmt: skip
        settle(reader, worker, start + 5, LIST_TIMEOUT)
        shown = {x for u in users for x in [*seen[u], *_ids(reader.recommendations(u)[-1])]}
        # an item neither user was shown nor took: pinning it must change both lists
        pinned = next(f"item-{n}" for n in range(CATALOGUE) if f"item-{n}" not in shown)

        send(s, s.topic_rules, [_rule("promo", action="pin", item_ids=[pinned], position=1)])

        def pinned_list(user: str) -> Callable[[Reader], bool]:
            return lambda r: any(
                x.event_id == "rule:promo" and _ids(x)[:1] == [pinned] for x in r.recommendations(user)
            )

        _poll(reader, lambda r: all(pinned_list(u)(r) for u in users), worker, f"lists of {users} pinning {pinned}")
        at: dict[str, int] = {}
        for user in users:
            lists = reader.recommendations(user)
            at[user] = next(n for n, x in enumerate(lists) if x.event_id == "rule:promo" and _ids(x)[:1] == [pinned])
            with_rule = lists[at[user]]
            assert "pinned by rule promo" in with_rule.items[0].reasons, (user, with_rule.items[0])
            assert _pinned_by(with_rule, "promo") == [pinned], (user, with_rule)
            assert len(with_rule.items) == s.k and not set(_ids(with_rule)) & set(seen[user]), (user, _ids(with_rule))

        # The tombstone: the worker re-ranks the users again, and the pin is gone.
        send(s, s.topic_rules, [("promo", None)])
        _poll(reader, lambda r: all(len(r.recommendations(u)) > at[u] + 1 for u in users), worker,
              "the lists after the tombstone")  # fmt: skip
        for user in users:
            without = reader.recommendations(user)[at[user] + 1]
            assert without.event_id == "rule:promo", (user, without.event_id)
            assert _ids(without)[:1] != [pinned], (user, _ids(without))
            assert not _pinned_by(without, "promo"), (user, without)

        # ... and it stays gone: the list after a further interaction is not pinned either.
        taken = {u: _ids(reader.recommendations(u)[at[u]])[1] for u in users}
        start = _applied(worker)
        send(s, s.topic_interactions, [like(f"{u}-next", u, taken[u], ts=5.0) for u in users])
        settle(reader, worker, start + len(users), LIST_TIMEOUT)
        for user in users:
            after = reader.recommendations(user)[-1]  # after {user}-next, or unchanged by it
            assert _ids(after)[:1] != [pinned] and not _pinned_by(after, "promo"), (user, after)
            assert taken[user] not in _ids(after)
    finally:
        reader.close()
        _drop_rule(worker, "promo")  # whatever happened above, the next tests run without it


def test_a_context_event_brings_a_context_rule_into_force_for_that_user(worker: WorkerProcess) -> None:
    s = worker.settings
    reader = Reader(s, s.topic_recommendations)
    try:
        seen = {"carol": ["item-4", "item-5"], "dan": ["item-6"]}
        start = _applied(worker)
        send(s, s.topic_interactions, [
            like(f"{u[0]}-{n}", u, item, ts=float(n)) for u, items in seen.items() for n, item in enumerate(items)
        ])  # fmt: skip
        settle(reader, worker, start + 3, LIST_TIMEOUT)
        before = reader.recommendations("carol")[-1]
        tv_item = next(f"item-{n}" for n in range(CATALOGUE)
                       if f"item-{n}" not in {*seen["carol"], *_ids(before)})  # fmt: skip

        rules_before = int(stats(worker).get("rules", 0))
        send(s, s.topic_rules, [_rule("tv", action="pin", item_ids=[tv_item], context={"device": "tv"})])
        # the rule is in force before the context event arrives (they travel on different topics)
        wait_for(lambda: int(stats(worker).get("rules", 0)) > rules_before, 30, "the tv rule to be applied", worker)

        send(s, s.topic_context, [_context("ctx-1", "carol", {"device": "tv"})])
        _poll(reader, has_rec_for("carol", "ctx-1"), worker, "carol's list after the context event ctx-1")
        on_tv = _last(reader, "carol", "ctx-1")
        assert _ids(on_tv)[0] == tv_item, _ids(on_tv)
        assert "pinned by rule tv" in on_tv.items[0].reasons, on_tv.items[0]
        assert not set(_ids(on_tv)) & set(seen["carol"]), _ids(on_tv)

        # Before the context event the rule did not apply to carol, and it never applies to dan.
        for rec in reader.recommendations():
            if rec.user_id != "carol" or rec.event_id != "ctx-1":
                assert not _pinned_by(rec, "tv"), (rec.user_id, rec.event_id, _ids(rec))
    finally:
        reader.close()
        _drop_rule(worker, "tv")


def test_an_invalid_rule_and_context_event_are_dead_lettered_and_the_worker_goes_on(worker: WorkerProcess) -> None:
    s = worker.settings
    recs = Reader(s, s.topic_recommendations)
    letters = Reader(s, s.topic_dead_letters)
    try:
        bad_rule = _rule("bad", action="pin")  # a pin without item_ids
        bad_context = _context("fx-1", "frank", {})  # names no key
        send(s, s.topic_rules, [bad_rule])
        send(s, s.topic_context, [bad_context])
        send(s, s.topic_interactions, [like("f-1", "frank", "item-7")])
        _poll(recs, has_rec_for("frank", "f-1"), worker, "frank's list after the dead letters")

        def lettered(r: Reader) -> bool:
            sources = {decode(DeadLetter, m.value()).source_topic for m in r.messages}
            return {s.topic_rules, s.topic_context} <= sources

        letters.poll_until(lettered, LIST_TIMEOUT, worker)
        dead = {d.source_topic: d for d in (decode(DeadLetter, m.value()) for m in letters.messages)}
        rule_letter, context_letter = dead[s.topic_rules], dead[s.topic_context]
        assert "a 'pin' rule needs 'item_ids'" in rule_letter.reason, rule_letter
        assert rule_letter.key == "bad" and rule_letter.value == bad_rule[1].decode()
        assert "'context' must name at least one key" in context_letter.reason, context_letter
        assert context_letter.key == "frank" and context_letter.value == bad_context[1].decode()
        assert worker.alive()
        rec = _last(recs, "frank", "f-1")
        assert len(rec.items) == s.k and "item-7" not in _ids(rec)
        assert not any(_pinned_by(r, "bad") for r in recs.recommendations())
    finally:
        recs.close()
        letters.close()


def test_a_burst_of_one_users_events_gives_few_lists_with_the_latest_state(
    worker_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    burst = [like(f"e-{n}", "erin", f"item-{n}", ts=float(n)) for n in range(10)]
    burst_items = {f"item-{n}" for n in range(10)}
    coalescing = WorkerProcess(worker_env(RECSYS_COALESCE_MS="500"), tmp_path / "worker.log")
    s = coalescing.settings
    assert s.coalesce_ms == 500
    reader = Reader(s, s.topic_recommendations)
    try:
        _start(coalescing)
        send(s, s.topic_interactions, burst)  # one flush: the worker sees them within the window
        wait_for(lambda: stats(coalescing).get("applied") == len(burst), LIST_TIMEOUT, "the burst applied",
                 coalescing)  # fmt: skip
        # every window has closed 0.5 s after the last event: the lists published by then are all there are
        settled = time.monotonic() + 3.0

        def all_lists(r: Reader) -> bool:
            published = stats(coalescing).get("recommendations")
            return time.monotonic() > settled and published is not None and len(r.recommendations("erin")) >= published

        reader.poll_until(all_lists, LIST_TIMEOUT, coalescing)
        lists = reader.recommendations("erin")
        assert stats(coalescing)["recommendations"] == len(lists)
    finally:
        reader.close()
        assert coalescing.stop() == 0, coalescing.log_tail()
    assert 1 <= len(lists) <= 3, [r.event_id for r in lists]
    assert all(r.event_id in {f"e-{n}" for n in range(10)} for r in lists), [r.event_id for r in lists]
    last = lists[-1]
    assert len(last.items) == s.k
    assert not set(_ids(last)) & burst_items, _ids(last)
