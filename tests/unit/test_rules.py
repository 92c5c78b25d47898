"""Business rules: the rule book (windows, context, replace, delete), and the boost and pin steps."""

from __future__ import annotations

import pickle
from collections.abc import Callable

import numpy as np
import pytest

from recsys.items.catalog import Catalog
from recsys.request import Request
from recsys.rerank.filters import HardFilters
from recsys.rerank.rules import Boosts, Pins
from recsys.rows import Rows, member
from recsys.rules import RuleBook, matches
from recsys.scoring import Scored
from recsys.state import UserState
from schemas import Item, Rule
from tests.conftest import rerank

NOW = 1_700_000_000.0


def ids(ranked: list[Scored]) -> list[str]:
    return [s.item_id for s in ranked]


def request(exclude: set[str] | None = None, cat: Catalog | None = None, **context: object) -> Request:
    """A request for a list of 3; ``exclude`` needs the catalogue whose rows it excludes."""
    excluded = np.empty(0, dtype=np.int64)
    if exclude:
        assert cat is not None
        rows = cat.rows.lookup(sorted(exclude))
        excluded = np.unique(rows[rows >= 0])
    return Request(
        UserState("u"), None, exclude=exclude or set(), k=3, now=5.0, context=dict(context), excluded=excluded
    )


def catalog() -> Catalog:
    cat = Catalog()
    genres = {"a": "Drama", "b": ["Drama", "War"], "c": "Comedy", "d": ["Comedy", "Drama"], "e": "War"}
    for item_id, genre in genres.items():
        cat.upsert(Item(item_id, attributes={"genres": genre, "year": 1999 if item_id in "ab" else 2005}))
    for item_id in ["p1", "p2", "p3"]:
        cat.upsert(Item(item_id, attributes={"genres": "Promo"}))
    cat.upsert(Item("gone", available=False))
    return cat


def ranked_list() -> list[Scored]:
    return [Scored(i, score, ("mf",)) for i, score in [("a", 1.0), ("b", 0.8), ("c", 0.6), ("d", 0.4), ("e", 0.0)]]


def allowed_in(cat: Catalog) -> Callable[[Request, Rows], np.ndarray]:
    """What the hard filters allow: not excluded, and available."""
    return lambda req, rows: ~member(rows, req.excluded) & cat.available.data[rows]


# --- the rule book -----------------------------------------------------------------------------


def test_a_rule_applies_only_inside_its_window_and_open_ends_are_allowed() -> None:
    book = RuleBook(
        [
            Rule("window", "boost", item_ids=("a",), starts_at=100.0, ends_at=200.0),
            Rule("from", "boost", item_ids=("a",), starts_at=150.0),
            Rule("until", "boost", item_ids=("a",), ends_at=150.0),
            Rule("always", "boost", item_ids=("a",)),
        ]
    )

    def active(now: float) -> list[str]:
        return [r.rule_id for r in book.active(now, {})]

    assert active(99.0) == ["always", "until"]
    assert active(100.0) == ["always", "until", "window"]  # starts_at is inside
    assert active(150.0) == ["always", "from", "window"]  # ends_at is outside
    assert active(199.9) == ["always", "from", "window"]
    assert active(200.0) == ["always", "from"]


def test_a_rule_with_a_context_applies_only_to_requests_with_those_values() -> None:
    book = RuleBook(
        [
            Rule("home", "pin", item_ids=("a",), context={"page": "home"}),
            Rule("mobile-home", "pin", item_ids=("a",), context={"page": ["home", "feed"], "device": "mobile"}),
            Rule("everywhere", "pin", item_ids=("a",)),
            Rule("hour", "pin", item_ids=("a",), context={"hour": 9}),
        ]
    )

    def active(**context: object) -> list[str]:
        return [r.rule_id for r in book.active(NOW, context)]

    assert active() == ["everywhere"]  # a missing key is not a match
    assert active(page="home") == ["everywhere", "home"]
    assert active(page="home", device="mobile") == ["everywhere", "home", "mobile-home"]
    assert active(page="feed", device="mobile") == ["everywhere", "mobile-home"]
    assert active(page="search", device="mobile") == ["everywhere"]
    assert active(page="home", device="desktop") == ["everywhere", "home"]
    assert active(hour="9") == ["everywhere", "hour"]  # compared as text


def test_the_same_rule_id_replaces_and_disabled_or_tombstone_deletes() -> None:
    book = RuleBook()
    assert (len(book), book.version) == (0, 0)
    book.apply(Rule("sale", "boost", match={"genres": "Comedy"}, weight=0.3))
    book.apply(Rule("other", "boost", item_ids=("a",)))
    assert (len(book), book.version) == (2, 2)
    book.apply(Rule("sale", "boost", match={"genres": "War"}, weight=0.1))
    assert len(book) == 2 and book.version == 3
    sale = book.get("sale")
    assert sale is not None and sale.match == {"genres": "War"} and sale.weight == 0.1
    book.apply(Rule("sale", "boost", match={"genres": "War"}, weight=0.1))  # the same rule again: no change
    assert book.version == 3
    book.apply(Rule("sale", "boost", match={"genres": "War"}, enabled=False))
    assert "sale" not in book and len(book) == 1 and book.version == 4
    book.remove("other")
    assert len(book) == 0 and book.version == 5 and book.active(NOW, {}) == []
    book.remove("never-existed")
    book.apply(Rule("never-existed", "boost", item_ids=("a",), enabled=False))
    assert book.version == 5


def test_apply_takes_a_parsed_rule_and_says_how_to_get_one() -> None:
    with pytest.raises(TypeError, match="Rule.from_dict"):
        RuleBook().apply({"rule_id": "r", "action": "boost"})  # type: ignore[arg-type]


def test_attribute_matching_scalar_or_list_either_side_and_text_against_numbers() -> None:
    rule = Rule("r", "boost", match={"genres": "Comedy"})
    assert matches(rule, "x", {"genres": "Comedy"})
    assert matches(rule, "x", {"genres": ["Drama", "Comedy"]})
    assert not matches(rule, "x", {"genres": ["Drama", "War"]})
    assert not matches(rule, "x", {})
    among = Rule("r", "boost", match={"genres": ["Comedy", "War"]})
    assert matches(among, "x", {"genres": "War"}) and matches(among, "x", {"genres": ["Drama", "War"]})
    assert not matches(among, "x", {"genres": "Drama"})
    year = Rule("r", "boost", match={"year": "1999"})
    assert matches(year, "x", {"year": 1999}) and matches(year, "x", {"year": 1999.0})
    assert matches(Rule("r", "boost", match={"year": 1999}), "x", {"year": "1999"})
    assert not matches(year, "x", {"year": 2000})
    both = Rule("r", "boost", match={"genres": "Comedy", "year": [1999, 2000]})
    assert matches(both, "x", {"genres": "Comedy", "year": 2000})
    assert not matches(both, "x", {"genres": "Comedy", "year": 2001})  # every key must match
    listed = Rule("r", "boost", item_ids=("x",))
    assert matches(listed, "x", {}) and not matches(listed, "y", {"genres": "Comedy"})


def test_the_rule_book_pickles_with_its_rules_and_version() -> None:
    book = RuleBook()
    book.apply(Rule("sale", "boost", match={"genres": ["Comedy"]}, weight=0.3, starts_at=1.0, ends_at=NOW + 10))
    book.apply(Rule("home", "pin", item_ids=("p1", "p2"), position=2, context={"page": "home"}))
    book.remove("nothing")
    copy = pickle.loads(pickle.dumps(book))
    assert list(copy) == list(book) and copy.version == book.version == 2
    assert [r.rule_id for r in copy.active(NOW, {"page": "home"})] == ["home", "sale"]
    copy.apply(Rule("sale", "boost", item_ids=("a",), enabled=False))
    assert len(copy) == 1 and len(book) == 2  # independent after the round trip


# --- boosts ------------------------------------------------------------------------------------


def test_a_boost_moves_matching_items_up_with_the_reason() -> None:
    cat = catalog()
    book = RuleBook([Rule("comedy", "boost", match={"genres": "Comedy"}, weight=0.5)])
    out = rerank(Boosts(cat, book, lambda: NOW), request(), ranked_list(), cat.rows)
    assert ids(out) == ["c", "a", "d", "b", "e"]
    by_id = {s.item_id: s for s in out}
    assert by_id["c"].score == pytest.approx(1.1) and by_id["c"].reasons == ("boosted by rule comedy",)
    assert by_id["d"].score == pytest.approx(0.9) and by_id["d"].reasons == ("boosted by rule comedy",)
    assert by_id["a"].score == 1.0 and by_id["a"].reasons == ()
    assert by_id["c"].sources == ("mf",)


def test_a_negative_weight_buries_and_weights_of_several_rules_add_up() -> None:
    cat = catalog()
    book = RuleBook(
        [
            Rule("no-war", "boost", match={"genres": "War"}, weight=-0.7),
            Rule("old", "boost", match={"year": "1999"}, weight=-0.2),
            Rule("e", "boost", item_ids=("e",), weight=0.3),
        ]
    )
    out = rerank(Boosts(cat, book, lambda: NOW), request(), ranked_list(), cat.rows)
    assert ids(out) == ["a", "c", "d", "b", "e"]
    by_id = {s.item_id: s for s in out}
    assert by_id["a"].score == pytest.approx(0.8) and by_id["a"].reasons == ("buried by rule old",)
    assert by_id["b"].score == pytest.approx(-0.1)
    assert by_id["b"].reasons == ("buried by rule no-war", "buried by rule old")
    assert by_id["e"].score == pytest.approx(-0.4)
    assert set(by_id["e"].reasons) == {"boosted by rule e", "buried by rule no-war"}
    assert sorted(ids(out)) == sorted(ids(ranked_list()))  # nothing dropped or added


def test_boosts_change_nothing_without_an_active_boost_rule() -> None:
    cat = catalog()
    ranked = ranked_list()
    expired = RuleBook(
        [
            Rule("past", "boost", match={"genres": "War"}, weight=2.0, ends_at=NOW),
            Rule("future", "boost", match={"genres": "War"}, weight=2.0, starts_at=NOW + 1),
            Rule("elsewhere", "boost", match={"genres": "War"}, weight=2.0, context={"page": "search"}),
            Rule("pin", "pin", item_ids=("e",)),
        ]
    )
    assert rerank(Boosts(cat, expired, lambda: NOW), request(page="home"), ranked, cat.rows) == ranked
    assert rerank(Boosts(cat, RuleBook(), lambda: NOW), request(), ranked, cat.rows) == ranked
    nobody = RuleBook([Rule("x", "boost", match={"genres": "Western"}, weight=1.0)])
    assert rerank(Boosts(cat, nobody, lambda: NOW), request(), ranked, cat.rows) == ranked
    # The wall clock decides: the same book boosts once the clock enters the window.
    boosted = rerank(Boosts(cat, expired, lambda: NOW - 1), request(page="home"), ranked, cat.rows)
    assert ids(boosted)[:2] == ["b", "e"]


def test_a_boost_reaches_an_item_the_catalogue_does_not_describe_only_by_its_id() -> None:
    book = RuleBook([Rule("r", "boost", item_ids=("unknown",), match={"genres": "War"}, weight=1.0)])
    ranked = [Scored("known", 0.9, ("mf",)), Scored("unknown", 0.1, ("mf",)), Scored("other", 0.5, ("mf",))]
    cat = Catalog()
    assert ids(rerank(Boosts(cat, book, lambda: NOW), request(), ranked, cat.rows)) == ["unknown", "known", "other"]


# --- pins --------------------------------------------------------------------------------------


def test_a_pin_puts_listed_items_at_exact_positions_with_the_reason() -> None:
    cat = catalog()
    book = RuleBook([Rule("promo", "pin", item_ids=("e", "c"), position=2)])
    out = rerank(Pins(cat, book, lambda: NOW, allowed_in(cat)), request(), ranked_list(), cat.rows)
    assert ids(out) == ["a", "e", "c", "b", "d"]
    assert [s.reasons for s in out] == [(), ("pinned by rule promo",), ("pinned by rule promo",), (), ()]
    assert out[1].score == 0.0 and out[2].score == 0.6  # a moved item keeps its score


def test_a_pin_injects_an_absent_allowed_item_with_the_score_of_the_item_it_lands_before() -> None:
    cat = catalog()
    book = RuleBook([Rule("promo", "pin", item_ids=("p1", "p2"), position=1)])
    out = rerank(Pins(cat, book, lambda: NOW, allowed_in(cat)), request(), ranked_list(), cat.rows)
    assert ids(out) == ["p1", "p2", "a", "b", "c", "d", "e"]
    assert [s.score for s in out[:3]] == [1.0, 1.0, 1.0]
    assert out[0].reasons == ("pinned by rule promo",) and out[0].item_id not in {s.item_id for s in ranked_list()}
    at_end = RuleBook([Rule("last", "pin", item_ids=("p3",), position=99)])  # past the end: appended
    out = rerank(Pins(cat, at_end, lambda: NOW, allowed_in(cat)), request(), ranked_list(), cat.rows)
    assert ids(out) == ["a", "b", "c", "d", "e", "p3"] and out[-1].score == 0.0


def test_a_pin_never_injects_an_excluded_or_unavailable_item_even_when_the_list_is_short() -> None:
    cat = catalog()
    book = RuleBook([Rule("promo", "pin", item_ids=("p1", "gone", "never-seen", "p2", "p3"), position=1)])
    short = [Scored("a", 1.0, ("mf",))]
    out = rerank(Pins(cat, book, lambda: NOW, allowed_in(cat)), request(exclude={"p2"}, cat=cat), short, cat.rows)
    assert ids(out) == ["p1", "p3", "a"]  # a skipped item leaves no gap: the next takes its slot
    assert all("gone" != s.item_id and "p2" != s.item_id for s in out)
    nothing_allowed = Pins(cat, book, lambda: NOW, lambda r, rows: np.zeros(len(rows), dtype=bool))
    assert rerank(nothing_allowed, request(), short, cat.rows) == short
    assert rerank(nothing_allowed, request(), [], cat.rows) == []


def test_an_item_named_twice_is_placed_once_and_nothing_is_dropped() -> None:
    cat = catalog()
    book = RuleBook([Rule("twice", "pin", item_ids=("d", "d", "e"), position=1)])
    out = rerank(Pins(cat, book, lambda: NOW, allowed_in(cat)), request(), ranked_list(), cat.rows)
    assert ids(out) == ["d", "e", "a", "b", "c"]


def test_pin_rules_go_by_position_then_rule_id_and_the_first_keeps_its_slot() -> None:
    cat = catalog()
    book = RuleBook(
        [
            Rule("b-rule", "pin", item_ids=("p2",), position=2),
            Rule("a-rule", "pin", item_ids=("p1",), position=2),
            Rule("first", "pin", item_ids=("e", "p1"), position=1),  # p1 is claimed here first
            Rule("later", "pin", item_ids=("p3",), position=4),
        ]
    )
    out = rerank(Pins(cat, book, lambda: NOW, allowed_in(cat)), request(), ranked_list(), cat.rows)
    assert ids(out) == ["e", "p1", "p2", "p3", "a", "b", "c", "d"]
    assert [s.reasons for s in out[:4]] == [
        ("pinned by rule first",),
        ("pinned by rule first",),
        ("pinned by rule b-rule",),
        ("pinned by rule later",),
    ]
    assert len(set(ids(out))) == len(out)


def test_an_inactive_pin_changes_nothing() -> None:
    cat = catalog()
    ranked = ranked_list()
    book = RuleBook(
        [
            Rule("expired", "pin", item_ids=("p1", "e"), starts_at=NOW - 100, ends_at=NOW),
            Rule("not-yet", "pin", item_ids=("p2",), starts_at=NOW + 60),
            Rule("elsewhere", "pin", item_ids=("p3",), context={"page": "search"}),
            Rule("boost", "boost", item_ids=("e",), weight=1.0),
        ]
    )
    pins = Pins(cat, book, lambda: NOW, allowed_in(cat))
    assert rerank(pins, request(page="home"), ranked, cat.rows) == ranked
    assert ids(rerank(pins, request(page="search"), ranked, cat.rows)) == ["p3", "a", "b", "c", "d", "e"]
    book.remove("elsewhere")
    assert rerank(Pins(cat, book, lambda: NOW - 1, allowed_in(cat)), request(), ranked, cat.rows)[:2] == [
        Scored("p1", 0.0, ("rule",), ("pinned by rule expired",)),  # the score of e, which it lands before
        Scored("e", 0.0, ("mf",), ("pinned by rule expired",)),
    ]


def test_pins_check_injected_items_with_the_hard_filters() -> None:
    cat = catalog()
    cat.upsert(Item("by-bob", attributes={"creator": "bob"}))
    book = RuleBook([Rule("promo", "pin", item_ids=("by-bob", "gone", "p2", "p1"), position=1)])
    user = UserState("u", attributes={"blocked_creators": ["bob"]})
    req = Request(user, None, exclude={"p2"}, k=3, excluded=cat.rows.lookup(["p2"]))
    out = rerank(Pins(cat, book, lambda: NOW, HardFilters(cat).mask), req, [Scored("a", 1.0, ("mf",))], cat.rows)
    assert ids(out) == ["p1", "a"]
