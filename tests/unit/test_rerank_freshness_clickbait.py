"""Freshness boosts new items by a halving bonus; ClickBait demotes items skipped after a click or flagged."""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np
import pytest

from recsys.items.catalog import Catalog
from recsys.items.feedback import ItemFeedback
from recsys.request import Request
from recsys.rerank.clickbait import ClickBait
from recsys.rerank.freshness import Freshness
from recsys.rows import RowSpace
from recsys.scoring import Scored
from recsys.state import UserState
from schemas import Item
from tests.conftest import rerank

NOW = 10_000.0
DAY = 86_400.0


def catalog(
    published: dict[str, float | None],
    attributes: dict[str, dict[str, Any]] | None = None,
    flag_attribute: str = "clickbait",
) -> Catalog:
    cat = Catalog(flag_attribute=flag_attribute)
    for item_id, at in published.items():
        cat.upsert(Item(item_id, attributes=(attributes or {}).get(item_id, {}), published_at=at))
    return cat


def request() -> Request:
    return Request(UserState("u"), None, now=NOW)


def ids(ranked: list[Scored]) -> list[str]:
    return [s.item_id for s in ranked]


def by_id(ranked: list[Scored]) -> dict[str, Scored]:
    return {s.item_id: s for s in ranked}


def feedback(space: RowSpace, counts: dict[str, tuple[int, int]]) -> ItemFeedback:
    """item -> (clicks, skips after a click), counted at the items' rows of ``space`` (the catalogue's)."""
    fb = ItemFeedback(rows=space)
    for item_id, (clicks, bad) in counts.items():
        row = space.row(item_id)
        for _ in range(clicks):
            fb.observe(row, "click", clicked_before=False)
        for _ in range(bad):
            fb.observe(row, "skip", clicked_before=True)
    return fb


# --- Freshness ---------------------------------------------------------------------------------


def test_a_fresh_item_overtakes_a_slightly_better_old_one_when_the_boost_is_big_enough() -> None:
    cat = catalog({"old": NOW - 30 * DAY, "fresh": NOW - 60.0})
    ranked = [Scored("old", 0.9, ("mf",)), Scored("fresh", 0.85, ("mf",))]
    out = rerank(Freshness(cat, weight=0.2, half_life=DAY), request(), ranked, cat.rows)
    assert ids(out) == ["fresh", "old"]
    assert "new" in by_id(out)["fresh"].reasons
    assert "new" not in by_id(out)["old"].reasons  # 30 half-lives old
    # A tiny half-life: a minute-old item has lost almost all of its boost and stays behind.
    out = rerank(Freshness(cat, weight=0.2, half_life=1.0), request(), ranked, cat.rows)
    assert ids(out) == ["old", "fresh"]
    assert by_id(out)["fresh"].score == pytest.approx(0.85, abs=1e-9)
    assert by_id(out)["fresh"].reasons == ()


def test_the_boost_halves_at_one_half_life_and_again_at_two() -> None:
    cat = catalog({"now": NOW, "one": NOW - 100.0, "two": NOW - 200.0, "unknown": None, "future": NOW + 50})
    ranked = [Scored(i, 0.5, ("mf",)) for i in ["unknown", "future", "two", "one", "now"]]
    step = Freshness(cat, weight=0.4, half_life=100.0)
    out = by_id(rerank(step, request(), ranked, cat.rows))
    assert out["now"].score == pytest.approx(0.9)
    assert out["one"].score == pytest.approx(0.7)
    assert out["two"].score == pytest.approx(0.6)
    assert out["unknown"].score == 0.5 and out["future"].score == 0.5  # unknown age: no boost
    assert out["one"].reasons == ("new",) and out["now"].reasons == ("new",)
    assert out["two"].reasons == () and out["unknown"].reasons == ()
    assert ids(rerank(step, request(), ranked, cat.rows)) == ["now", "one", "two", "unknown", "future"]


def test_freshness_weight_zero_leaves_the_list_unchanged_and_nothing_is_dropped() -> None:
    cat = catalog({f"i{n}": NOW - n * 10.0 for n in range(20)})
    ranked = [Scored(f"i{n}", 1.0 - n / 40, ("mf",)) for n in reversed(range(20))]
    assert rerank(Freshness(cat, weight=0.0, half_life=DAY), request(), ranked, cat.rows) == ranked
    out = rerank(Freshness(cat, weight=1.0, half_life=30.0), request(), ranked + [Scored("unknown", 0.1, ())], cat.rows)
    assert sorted(ids(out)) == sorted(ids(ranked) + ["unknown"]) and len(set(ids(out))) == len(out)
    assert [s.score for s in out] == sorted((s.score for s in out), reverse=True)
    assert rerank(Freshness(cat, weight=1.0, half_life=30.0), request(), [], cat.rows) == []


@pytest.mark.parametrize(
    "weight, half_life, match", [(-0.1, 1.0, "weight"), (0.1, 0.0, "half_life"), (0.1, -5.0, "half_life")]
)
def test_freshness_rejects_a_negative_weight_or_a_non_positive_half_life(
    weight: float, half_life: float, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        Freshness(Catalog(), weight=weight, half_life=half_life)


# --- ItemFeedback ------------------------------------------------------------------------------


def test_feedback_counts_only_skips_and_dislikes_after_a_click() -> None:
    space = RowSpace()
    fb = ItemFeedback(rows=space)
    a, never = space.row("a"), space.row("never")
    for _ in range(4):
        fb.observe(a, "click", clicked_before=False)
    fb.observe(a, "skip", clicked_before=False)  # never clicked by that user: no evidence
    fb.observe(a, "dislike", clicked_before=False)
    fb.observe(a, "view", clicked_before=True)  # other kinds are ignored
    fb.observe(a, "like", clicked_before=True)
    assert fb.clicks(a) == 4 and fb.rate(a, min_clicks=1) == 0.0
    fb.observe(a, "skip", clicked_before=True)
    fb.observe(a, "dislike", clicked_before=True)
    assert fb.rate(a, min_clicks=4) == 0.5
    assert fb.rate(a, min_clicks=5) is None  # too few clicks to judge
    assert fb.rate(never, min_clicks=0) is None and fb.clicks(never) == 0
    rates = fb.rates(np.array([never, a, a]), min_clicks=4)  # the rates of many rows at once
    assert np.isnan(rates[0]) and rates[1:].tolist() == [0.5, 0.5]


def test_feedback_rate_is_capped_at_one_and_pickles() -> None:
    space = RowSpace()
    fb = feedback(space, {"a": (2, 5)})
    a = space.find("a")
    assert fb.rate(a, min_clicks=1) == 1.0
    copy = pickle.loads(pickle.dumps(fb))
    assert copy.clicks(a) == 2 and copy.rate(a, min_clicks=2) == 1.0


# --- ClickBait ---------------------------------------------------------------------------------


def test_an_item_often_skipped_after_a_click_falls_below_one_rarely_skipped() -> None:
    cat = catalog({"bait": None, "solid": None})
    fb = feedback(cat.rows, {"bait": (50, 40), "solid": (50, 2)})
    ranked = [Scored("bait", 1.0, ("mf",)), Scored("solid", 0.8, ("mf",))]
    out = rerank(ClickBait(cat, fb, weight=0.5, min_clicks=20), request(), ranked, cat.rows)
    assert ids(out) == ["solid", "bait"]
    assert by_id(out)["bait"].score == pytest.approx(1.0 - 0.5 * 0.8)
    assert by_id(out)["bait"].reasons == ("demoted: skipped after a click 80% of the time",)
    assert by_id(out)["solid"].score == pytest.approx(0.8 - 0.5 * 0.04)
    assert by_id(out)["solid"].reasons == ("demoted: skipped after a click 4% of the time",)


def test_items_under_min_clicks_are_not_judged() -> None:
    cat = catalog({"bait": None, "solid": None})
    fb = feedback(cat.rows, {"bait": (10, 10), "solid": (50, 0)})
    ranked = [Scored("bait", 1.0, ("mf",)), Scored("solid", 0.8, ("mf",))]
    out = rerank(ClickBait(cat, fb, weight=1.0, min_clicks=20), request(), ranked, cat.rows)
    assert out == ranked  # bait has too few clicks; solid's rate is 0
    out = rerank(ClickBait(cat, fb, weight=1.0, min_clicks=10), request(), ranked, cat.rows)
    assert ids(out) == ["solid", "bait"]


def test_skips_without_an_earlier_click_do_not_demote() -> None:
    cat = catalog({"a": None, "b": None})
    fb = ItemFeedback(rows=cat.rows)
    a = cat.rows.find("a")
    for _ in range(30):
        fb.observe(a, "click", clicked_before=False)
        fb.observe(a, "skip", clicked_before=False)
        fb.observe(a, "dislike", clicked_before=False)
    ranked = [Scored("a", 1.0, ("mf",)), Scored("b", 0.9, ("mf",))]
    step = ClickBait(cat, fb, weight=1.0, min_clicks=20, flag_weight=0.0)
    assert rerank(step, request(), ranked, cat.rows) == ranked


@pytest.mark.parametrize("value", [True, 1, "true", "True", "yes", "YES"])
def test_a_flagged_item_is_demoted(value: Any) -> None:
    cat = catalog({"flagged": None, "plain": None}, {"flagged": {"clickbait": value}})
    ranked = [Scored("flagged", 1.0, ("mf",)), Scored("plain", 0.7, ("mf",))]
    out = rerank(ClickBait(cat, ItemFeedback(rows=cat.rows), weight=0.0, min_clicks=20), request(), ranked, cat.rows)
    assert ids(out) == ["plain", "flagged"]
    assert by_id(out)["flagged"].score == pytest.approx(0.5)
    assert by_id(out)["flagged"].reasons == ("demoted: flagged as click-bait",)
    assert by_id(out)["plain"].reasons == ()


@pytest.mark.parametrize("value", [False, 0, "no", "false", "", None])
def test_an_item_not_flagged_is_left_alone(value: Any) -> None:
    cat = catalog({"x": None, "plain": None}, {"x": {"clickbait": value}})
    ranked = [Scored("x", 1.0, ("mf",)), Scored("plain", 0.7, ("mf",))]
    step = ClickBait(cat, ItemFeedback(rows=cat.rows), weight=0.0, min_clicks=20)
    assert rerank(step, request(), ranked, cat.rows) == ranked


def test_the_flag_attribute_is_configurable_and_both_demotions_add_up() -> None:
    cat = catalog({"a": None, "b": None}, {"a": {"bait": "yes", "clickbait": "no"}}, flag_attribute="bait")
    fb = feedback(cat.rows, {"a": (10, 5)})
    ranked = [Scored("a", 1.0, ("mf",)), Scored("b", 0.1, ("mf",))]
    out = rerank(ClickBait(cat, fb, weight=0.4, min_clicks=10, flag_weight=0.3), request(), ranked, cat.rows)
    assert by_id(out)["a"].score == pytest.approx(1.0 - 0.2 - 0.3)
    assert by_id(out)["a"].reasons == (
        "demoted: skipped after a click 50% of the time",
        "demoted: flagged as click-bait",
    )


def test_clickbait_never_drops_or_duplicates_and_both_weights_zero_leave_the_order() -> None:
    published: dict[str, float | None] = {f"i{n}": None for n in range(30)}
    cat = catalog(published, {f"i{n}": {"clickbait": True} for n in range(0, 30, 3)})
    fb = feedback(cat.rows, {f"i{n}": (20, n % 7) for n in range(30)})
    ranked = [Scored(f"i{n}", 1.0 - n / 30, ("mf",)) for n in range(30)] + [Scored("unknown", 0.0, ())]
    out = rerank(ClickBait(cat, fb, weight=1.0, min_clicks=20), request(), ranked, cat.rows)
    assert sorted(ids(out)) == sorted(ids(ranked)) and len(set(ids(out))) == len(out)
    assert [s.score for s in out] == sorted((s.score for s in out), reverse=True)
    assert ids(out) != ids(ranked)
    assert rerank(ClickBait(cat, fb, weight=0.0, min_clicks=20, flag_weight=0.0), request(), ranked, cat.rows) == ranked


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weight": -1.0, "min_clicks": 5}, "weight"),
        ({"weight": 0.5, "min_clicks": 5, "flag_weight": -0.1}, "flag_weight"),
        ({"weight": 0.5, "min_clicks": 0}, "min_clicks"),
    ],
)
def test_clickbait_rejects_bad_settings(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ClickBait(Catalog(), ItemFeedback(), **kwargs)
