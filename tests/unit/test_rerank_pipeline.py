"""The re-ranking pipeline in the engine: hard filters, steps from the settings, rules applied
without a restart, context, explanations, and publishing only lists that changed. Plus the
contract every step passes."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from recsys.engine import Engine
from recsys.request import Request
from recsys.rerank.base import Ranked, normalise
from recsys.rerank.pipeline import STEPS
from recsys.scoring import Scored
from recsys.settings import Settings
from schemas import Context, Interaction, Item, Rule, User

EVERY_STEP_ON = {
    "freshness_weight": 0.3,
    "explore_slots": 2,
    "clickbait_weight": 0.5,
    "clickbait_min_clicks": 1,
    "mmr_lambda": 0.5,
    "max_per_genre": 2,
    "max_per_creator": 2,
    "fairness_max_share": 0.2,
    "fairness_reserved_slots": 2,
    "fairness_min_share": 0.05,
}


def world(n_items: int = 60, **settings: object) -> Engine:
    """Items in 3 genres by 6 creators, published over time; interactions at t >= 1000."""
    engine = Engine(Settings(ann_backend="brute", **settings), wall_clock=lambda: 500.0)  # type: ignore[arg-type]
    for n in range(n_items):
        attributes = {"genres": [f"g{n % 3}"], "creator": f"c{n % 6}", "clickbait": n % 10 == 9}
        engine.apply_item(Item(f"i{n}", attributes=attributes, published_at=float(n * 10)))
    return engine


def like(engine: Engine, user: str, item: str, at: float = 1000.0, kind: str = "like", n: list[int] = [0]) -> None:  # noqa: B006
    n[0] += 1
    engine.process(Interaction(f"e{n[0]}", user, item, kind, timestamp=at, value=4.0 if kind == "rating" else None))


def listed(engine: Engine, user: str, **kw: object) -> list[str]:
    return [r.item_id for r in engine.recommend(user, **kw)]  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the contract of every step
def test_every_step_keeps_the_contract() -> None:
    """No step drops (except the filters) or duplicates an item, lists an excluded or
    unavailable one, or breaks best-first; only pins may add, and only allowed items."""
    engine = world(**EVERY_STEP_ON, rerank_steps=",".join(STEPS))  # type: ignore[arg-type]
    engine.apply_rule(Rule("pin", "pin", item_ids=("i3", "i58", "gone"), position=2))
    engine.apply_rule(Rule("boost", "boost", match={"genres": "g1"}, weight=0.2))
    engine.remove_item("gone")
    for n in range(0, 40, 3):
        like(engine, f"u{n % 4}", f"i{n}", kind="click")
        like(engine, f"u{n % 4}", f"i{n}", kind="skip")
    engine.items.exposure.record([f"c{n % 2}" for n in range(100)], 1000.0)
    names = {type(step).__name__ for step in engine.ranker.steps}
    assert len(engine.ranker.steps) == len(STEPS), names
    rng = random.Random(7)
    state = engine.user_state("u0")
    space = engine.items.rows
    for trial in range(30):
        ids = rng.sample([f"i{n}" for n in range(60)], rng.randint(0, 40))
        exclude = set(rng.sample(ids, min(3, len(ids)))) | state.excluded()
        rows = space.lookup(sorted(exclude))
        excluded = np.unique(rows[rows >= 0])  # the request's exclude as rows: sorted, only known items
        request = Request(state, None, exclude, k=rng.choice([1, 5, 10]), now=1000.0, excluded=excluded)
        scored = Ranked.of(space, [Scored(i, rng.random(), ("mf",)) for i in ids])
        filtered = engine.ranker.filters.rerank(request, scored)
        given = filtered.with_scores(normalise(filtered.scores)).resorted()
        for step in engine.ranker.steps:
            out = step.rerank(request, given)
            out_ids = out.ids
            assert len(out_ids) == len(set(out_ids)), (step.name, trial)
            assert not set(out_ids) & request.exclude, step.name
            assert all(engine.catalog.is_available(i) for i in out_ids), step.name
            missing = set(given.ids) - set(out_ids)
            assert not missing, (step.name, missing)
            added = set(out_ids) - set(given.ids)
            assert step.name == "pins" or not added, (step.name, added)
            assert engine.ranker.filters.mask(request, space.rows(sorted(added))).all(), (step.name, added)
            given = out


def test_a_step_turned_off_is_not_in_the_pipeline() -> None:
    engine = world()
    # the defaults: flagged click-bait is demoted, rules apply, the new-item slot is on
    assert [s.name for s in engine.ranker.steps] == ["clickbait", "boosts", "new_item_slot", "pins"]
    engine = world(**EVERY_STEP_ON, rerank_steps="caps,freshness")  # type: ignore[arg-type]
    assert [s.name for s in engine.ranker.steps] == ["caps", "freshness"]


# ---------------------------------------------------------------------- hard filters
def test_an_excluded_item_never_appears_even_when_k_exceeds_what_is_left() -> None:
    engine = world(n_items=12, **EVERY_STEP_ON)  # type: ignore[arg-type]
    engine.apply_rule(Rule("pin-excluded", "pin", item_ids=("i4",), position=1))
    for n in range(4):
        like(engine, "u", f"i{n}")
    for k in (3, 8, 50):
        got = listed(engine, "u", k=k, exclude={"i4", "i5"})
        assert len(got) == len(set(got)) == min(k, 6)
        assert not set(got) & {"i0", "i1", "i2", "i3", "i4", "i5"}


def test_which_interactions_exclude_an_item_is_per_event_type() -> None:
    engine = world(n_items=8, exclude_types="rating,purchase,dislike")
    like(engine, "u", "i1", kind="view")
    like(engine, "u", "i2", kind="like")  # a song may be played again
    like(engine, "u", "i3", kind="purchase")
    like(engine, "u", "i4", kind="rating")
    got = listed(engine, "u", k=8)
    assert {"i1", "i2"} <= set(got) and not {"i3", "i4"} & set(got)
    strict = world(n_items=8)  # the default: anything the user touched is not shown again
    like(strict, "u", "i1", kind="view")
    assert "i1" not in listed(strict, "u", k=8)


def test_blocked_creators_and_too_old_items_are_removed() -> None:
    engine = world(max_item_age=700.0)  # interactions at t=1000: items published before t=300 are too old
    engine.apply_user(User("u", {"blocked_creators": ["c1"]}))
    like(engine, "u", "i59")
    got = listed(engine, "u", k=60)
    assert len(got) == 24  # i30..i58, less c1's
    assert all(int(i[1:]) * 10 >= 300 for i in got)
    assert all(int(i[1:]) % 6 != 1 for i in got)


# ---------------------------------------------------------------------- rules, context, changes
def test_rules_apply_without_a_restart_and_re_rank_the_active_users() -> None:
    engine = world()
    like(engine, "u", "i5")
    first = engine.refresh_user("u", "t0")
    assert first is None  # the list was shown after the like, and nothing changed since
    engine.apply_rule(Rule("promo", "pin", item_ids=("i42",), position=1))
    assert engine.take_affected() == ["u"]
    pinned = engine.refresh_user("u", "rule:promo")
    assert pinned is not None and pinned.items[0].item_id == "i42"
    assert "pinned by rule promo" in pinned.items[0].reasons
    engine.remove_rule("promo")
    assert engine.take_affected() == ["u"]
    after = engine.refresh_user("u", "rule:promo")
    assert after is not None and "i42" not in [i.item_id for i in after.items[:1]]


def test_a_rule_out_of_its_window_or_context_does_nothing() -> None:
    engine = world()
    like(engine, "u", "i5")
    before = listed(engine, "u")
    engine.apply_rule(Rule("later", "pin", item_ids=("i42",), starts_at=600.0))  # the wall clock says 500
    engine.apply_rule(Rule("tv", "pin", item_ids=("i43",), context={"device": "tv"}))
    assert listed(engine, "u") == before
    assert listed(engine, "u", context={"device": "tv"})[0] == "i43"


def test_a_context_event_re_ranks_the_user_and_only_a_changed_list_is_published() -> None:
    engine = world()
    engine.apply_rule(Rule("tv", "boost", match={"genres": "g2"}, weight=1.0, context={"device": "tv"}))
    like(engine, "u", "i5")
    assert engine.take_affected() == []
    assert engine.apply_context(Context("c1", "u", 1001.0, {"device": "phone"}))
    assert engine.take_affected() == ["u"]
    assert engine.refresh_user("u", "c1") is None  # no rule for phones: the same list
    assert engine.apply_context(Context("c2", "u", 1002.0, {"device": "tv"}))
    assert not engine.apply_context(Context("c2", "u", 1002.0, {"device": "tv"}))  # redelivered
    rec = engine.refresh_user("u", "c2")
    assert rec is not None and rec.event_id == "c2"
    assert all("g2" in engine.ranker.genres_of(i.item_id) for i in rec.items)
    assert engine.counters["unchanged"] == 1


def test_withdrawing_a_listed_item_re_ranks_whoever_was_shown_it() -> None:
    engine = world()
    like(engine, "u", "i5")
    like(engine, "v", "i7")
    shown = engine.shown.lists["u"][0]
    engine.apply_item(Item(shown, available=False))
    affected = engine.take_affected()
    assert "u" in affected
    rec = engine.refresh_user("u", f"item:{shown}")
    assert rec is not None and shown not in [i.item_id for i in rec.items]


def test_online_quality_counts_positives_that_took_a_listed_item() -> None:
    engine = world()
    like(engine, "u", "i5")
    taken = engine.shown.lists["u"][0]
    like(engine, "u", taken)
    like(engine, "u", "i0" if "i0" not in engine.shown.lists["u"] else "i1")
    assert engine.counters["online_positives"] == 3
    assert engine.counters["online_hits"] == 1
    assert engine.online_quality == pytest.approx(1 / 3)


# ---------------------------------------------------------------------- explanations
def test_every_listed_item_says_why() -> None:
    engine = world(scorer="blend")
    for user in ("a", "b", "c"):
        like(engine, user, "i1")
        like(engine, user, "i2")
    like(engine, "u", "i1")
    engine.apply_rule(Rule("g0", "boost", match={"genres": "g0"}, weight=0.05))
    items = engine.recommend("u")
    assert all(item.reasons for item in items)
    first = next(i for i in items if i.item_id == "i2")
    assert "because you liked i1" in first.reasons
    assert first.components.get("covisit", 0) > 0
    assert any("boosted by rule g0" in i.reasons for i in items if "g0" in engine.ranker.genres_of(i.item_id))


def test_rules_exposure_and_feedback_survive_a_snapshot(tmp_path: Path) -> None:
    engine = world(**EVERY_STEP_ON)  # type: ignore[arg-type]
    engine.apply_rule(Rule("promo", "pin", item_ids=("i42",)))
    like(engine, "u", "i5", kind="click")
    like(engine, "u", "i5", kind="skip")
    engine.save(tmp_path)
    restored = world(**EVERY_STEP_ON)  # type: ignore[arg-type]
    assert restored.load(tmp_path)
    assert "promo" in restored.items.rules and restored.items.feedback.clicks(restored.items.rows.find("i5")) == 1
    assert restored.items.exposure.total(1000.0) == engine.items.exposure.total(1000.0) > 0
    assert listed(restored, "u")[0] == "i42"


def test_a_rule_change_re_ranks_only_the_users_shown_a_list_lately() -> None:
    engine = world(active_seconds=600.0)
    like(engine, "early", "i5", at=1000.0)
    like(engine, "late", "i6", at=1500.0)
    like(engine, "now", "i7", at=2000.0)
    engine.take_affected()
    engine.apply_rule(Rule("promo", "pin", item_ids=("i42",)))
    assert engine.take_affected() == ["late", "now"]  # "early" was last shown a list 1000 s ago
    everyone = world(active_seconds=0.0)
    for user, at in [("early", 1000.0), ("now", 2000.0)]:
        like(everyone, user, "i5", at=at)
    everyone.apply_rule(Rule("promo", "pin", item_ids=("i42",)))
    assert everyone.take_affected() == ["early", "now"]
