"""Creator exposure over a rolling window, and the fairness step that caps and reserves slots."""

from __future__ import annotations

import pickle
import random
from collections import Counter

import pytest

from recsys.exposure import CreatorExposure
from recsys.request import Request
from recsys.rerank.base import Ranked, Reranker
from recsys.rerank.fairness import REASON, CreatorFairness
from recsys.rows import RowSpace
from recsys.scoring import Scored
from recsys.state import UserState
from tests.conftest import rerank


def ranked_list(ids: list[str]) -> list[Scored]:
    return [Scored(i, 1.0 - n / 100, ("mf",)) for n, i in enumerate(ids)]


def order(step: Reranker, ranked: list[Scored], k: int, now: float = 10.0) -> list[str]:
    return [s.item_id for s in rerank(step, Request(UserState("u"), None, k=k, now=now), ranked)]


def creator_of(item_id: str) -> str | None:
    """'ann3' -> 'ann'; an id starting with '_' has no creator."""
    return None if item_id.startswith("_") else item_id.rstrip("0123456789")


def exposure_with(counts: dict[str, int]) -> CreatorExposure:
    exposure = CreatorExposure(window=3600.0)
    exposure.record([c for c, n in counts.items() for _ in range(n)], at=0.0)
    return exposure


# --- CreatorExposure ---------------------------------------------------------------------------


def test_shares_over_the_window_and_their_expiry() -> None:
    exposure = CreatorExposure(window=100.0, buckets=4)  # buckets [0, 25), [25, 50), ...
    exposure.record(["ann", "ann", "bob"], at=10.0)
    exposure.record(["bob", "cy", None], at=30.0)  # None: an item with no creator
    exposure.record(["cy"], at=80.0)
    assert exposure.total(now=80.0) == 6
    assert exposure.share("ann", now=80.0) == pytest.approx(2 / 6)
    assert exposure.share("bob", now=80.0) == pytest.approx(2 / 6)
    assert exposure.share("cy", now=80.0) == pytest.approx(2 / 6)
    assert exposure.share("dan", now=80.0) == 0.0
    # at 99 the bucket of t=10 is still in the window; at 100 it leaves
    assert exposure.total(now=99.0) == 6
    assert exposure.total(now=100.0) == 3
    assert exposure.shares(now=100.0) == pytest.approx({"bob": 1 / 3, "cy": 2 / 3})
    assert exposure.share("ann", now=100.0) == 0.0
    assert exposure.total(now=125.0) == 1  # the bucket of t=30 left too
    assert exposure.shares(now=125.0) == {"cy": 1.0}
    assert exposure.total(now=1000.0) == 0
    assert exposure.share("cy", now=1000.0) == 0.0  # no exposure at all: 0, not a division by zero
    assert exposure.shares(now=1000.0) == {}


def test_memory_is_bounded_by_the_window_and_state_pickles() -> None:
    exposure = CreatorExposure(window=100.0, buckets=10)
    for t in range(10_000):
        exposure.record([f"creator{t}"], at=float(t))  # a new creator every second
    assert exposure.total(now=9999.0) == 100
    assert len(exposure.shares(now=9999.0)) == 100
    assert len(exposure._buckets) <= 10 and len(exposure._counts) == 100
    copy = pickle.loads(pickle.dumps(exposure))
    assert copy.share("creator9999", now=9999.0) == pytest.approx(0.01)
    copy.record(["x"] * 100, at=9999.0)
    assert copy.share("x", now=9999.0) == pytest.approx(0.5)
    assert exposure.share("x", now=9999.0) == 0.0  # the original is untouched


def test_late_exposures_land_in_their_bucket_or_are_ignored_when_out_of_the_window() -> None:
    exposure = CreatorExposure(window=100.0, buckets=4)
    exposure.record(["ann"], at=60.0)
    exposure.record(["bob"], at=10.0)  # late, but its bucket is in the window
    exposure.record(["cy"], at=-50.0)  # late and out of the window
    exposure.record(["dan"], at=55.0)  # late, in the bucket of ann
    assert exposure.total(now=60.0) == 3
    assert exposure.share("cy", now=60.0) == 0.0
    assert exposure.total(now=100.0) == 2  # bob's bucket [0, 25) left, ann's and dan's [50, 75) stays
    assert exposure.total(now=150.0) == 0


def test_exposure_errors_say_how_to_fix() -> None:
    with pytest.raises(ValueError, match="window must be positive"):
        CreatorExposure(window=0.0)
    with pytest.raises(ValueError, match="buckets must be a positive integer"):
        CreatorExposure(window=10.0, buckets=0)
    with pytest.raises(ValueError, match="finite"):
        CreatorExposure(window=10.0).record(["a"], at=float("nan"))


# --- CreatorFairness: the cap --------------------------------------------------------------------


def test_the_cap_moves_a_dominant_creators_items_just_after_the_top_k() -> None:
    exposure = exposure_with({"ann": 70, "bob": 20, "cy": 10})
    step = CreatorFairness(creator_of, exposure, max_share=0.5, reserved_slots=0, min_share=0.0)
    ranked = ranked_list(["ann1", "bob1", "ann2", "ann3", "cy1", "ann4", "bob2", "dan1"])
    out = rerank(step, Request(UserState("u"), None, k=4, now=10.0), ranked)
    assert [s.item_id for s in out] == ["bob1", "cy1", "bob2", "dan1", "ann1", "ann2", "ann3", "ann4"]
    assert [s.reasons for s in out[:4]] == [(), (REASON,), (REASON,), (REASON,)]
    scores = [s.score for s in out]
    assert scores == sorted(scores, reverse=True)  # still best first by score


def test_the_cap_relaxes_when_not_enough_other_items_fill_the_top_k() -> None:
    exposure = exposure_with({"ann": 90, "bob": 10})
    step = CreatorFairness(creator_of, exposure, max_share=0.5, reserved_slots=0, min_share=0.0)
    ranked = ranked_list(["ann1", "ann2", "ann3", "bob1", "ann4"])
    # one other item for three capped ones: the lowest-ranked capped item leaves, the best two stay
    assert order(step, ranked, k=3) == ["ann1", "ann2", "bob1", "ann3", "ann4"]
    # no other item at all: nothing moves
    only_ann = ranked_list(["ann1", "ann2", "ann3", "ann4"])
    assert order(step, only_ann, k=2) == ["ann1", "ann2", "ann3", "ann4"]
    # the list is no longer than k: nothing to fill with
    assert order(step, ranked, k=5) == ["ann1", "ann2", "ann3", "bob1", "ann4"]


def test_items_without_a_creator_are_never_capped_nor_promoted() -> None:
    exposure = exposure_with({"ann": 90, "bob": 10})
    cap = CreatorFairness(creator_of, exposure, max_share=0.5, reserved_slots=0, min_share=0.0)
    ranked = ranked_list(["_x", "ann1", "_y", "bob1"])
    assert order(cap, ranked, k=2) == ["_x", "bob1", "ann1", "_y"]  # _x stays, _y is not promoted
    assert order(cap, ranked_list(["ann1", "_x", "_y"]), k=1) == ["ann1", "_x", "_y"]  # no one to replace ann1
    slots = CreatorFairness(creator_of, exposure, max_share=0.0, reserved_slots=1, min_share=0.2)
    assert order(slots, ranked_list(["ann1", "_x", "_y", "bob1"]), k=2) == ["ann1", "bob1", "_x", "_y"]
    assert order(slots, ranked_list(["ann1", "bob1", "_x"]), k=1) == ["bob1", "ann1", "_x"]
    no_under = ranked_list(["ann1", "_x", "_y"])
    assert order(slots, no_under, k=1) == ["ann1", "_x", "_y"]  # _x has no creator: not promoted


# --- CreatorFairness: reserved slots -------------------------------------------------------------


def test_reserved_slots_bring_under_exposed_creators_best_items_into_the_last_slots() -> None:
    exposure = exposure_with({"ann": 50, "bob": 45, "cy": 5})  # dan and eve never exposed
    step = CreatorFairness(creator_of, exposure, max_share=0.0, reserved_slots=2, min_share=0.1)
    ranked = ranked_list(["ann1", "bob1", "ann2", "bob2", "ann3", "cy1", "dan1", "cy2", "eve1"])
    out = rerank(step, Request(UserState("u"), None, k=4, now=10.0), ranked)
    # cy1 and dan1 (best first among cy, dan, eve) take the last two slots, displacing ann2 and bob2
    assert [s.item_id for s in out] == ["ann1", "bob1", "cy1", "dan1", "ann2", "bob2", "ann3", "cy2", "eve1"]
    assert out[2].reasons == (REASON,) and out[3].reasons == (REASON,)
    assert out[4].reasons == () and out[0].reasons == ()
    scores = [s.score for s in out]
    assert scores == sorted(scores, reverse=True)


def test_reserved_slots_count_those_already_listed_and_never_exceed_k() -> None:
    exposure = exposure_with({"ann": 50, "bob": 45, "cy": 5})
    step = CreatorFairness(creator_of, exposure, max_share=0.0, reserved_slots=2, min_share=0.1)
    # cy1 is already listed: one more is needed, it displaces the lowest-ranked item not by cy
    ranked = ranked_list(["ann1", "bob1", "cy1", "ann2", "bob2", "dan1"])
    assert order(step, ranked, k=3) == ["ann1", "cy1", "dan1", "bob1", "ann2", "bob2"]
    # two listed already: unchanged
    ranked = ranked_list(["cy1", "ann1", "dan1", "bob1", "cy2"])
    assert order(step, ranked, k=3) == ["cy1", "ann1", "dan1", "bob1", "cy2"]
    # k = 1: one reserved slot at most
    ranked = ranked_list(["ann1", "bob1", "dan1", "cy1"])
    assert order(step, ranked, k=1) == ["dan1", "ann1", "bob1", "cy1"]
    # fewer under-exposed items than slots: those there are come in
    ranked = ranked_list(["ann1", "bob1", "ann2", "dan1", "bob2"])
    assert order(step, ranked, k=3) == ["ann1", "bob1", "dan1", "ann2", "bob2"]


def test_both_rules_together() -> None:
    exposure = exposure_with({"ann": 60, "bob": 35, "cy": 5})  # dan never exposed
    step = CreatorFairness(creator_of, exposure, max_share=0.5, reserved_slots=2, min_share=0.1)
    ranked = ranked_list(["ann1", "ann2", "bob1", "bob2", "ann3", "bob3", "cy1", "dan1"])
    # the cap lets bob3 and cy1 in for ann1 and ann2; cy1 is one reserved slot, dan1 takes the other from bob3
    assert order(step, ranked, k=4) == ["bob1", "bob2", "cy1", "dan1", "bob3", "ann1", "ann2", "ann3"]


# --- CreatorFairness: off, invariants, errors ----------------------------------------------------


def test_both_rules_off_return_the_list_unchanged() -> None:
    exposure = exposure_with({"ann": 99, "bob": 1})
    step = CreatorFairness(creator_of, exposure, max_share=0.0, reserved_slots=0, min_share=0.0)
    ranked = Ranked.of(RowSpace(), ranked_list(["ann1", "ann2", "bob1", "cy1"]))
    assert step.rerank(Request(UserState("u"), None, k=2, now=10.0), ranked) is ranked
    on = CreatorFairness(creator_of, exposure, max_share=0.5, reserved_slots=1, min_share=0.1)
    assert rerank(on, Request(UserState("u"), None, k=2, now=10.0), []) == []
    assert on.rerank(Request(UserState("u"), None, k=0, now=10.0), ranked) is ranked
    assert on.name == "fairness"


def test_nothing_is_dropped_or_duplicated_on_random_lists() -> None:
    rng = random.Random(7)
    creators = ["ann", "bob", "cy", "dan", "eve", "fay", "_"]
    for trial in range(300):
        exposure = CreatorExposure(window=100.0, buckets=5)
        exposure.record(rng.choices(creators[:-1], weights=[50, 20, 10, 5, 1, 1], k=rng.randint(0, 60)), at=0.0)
        ids = [f"{rng.choice(creators)}{n}" for n in range(rng.randint(0, 25))]
        ranked = ranked_list(ids)
        step = CreatorFairness(
            creator_of,
            exposure,
            max_share=rng.choice([0.0, 0.2, 0.4, 0.9]),
            reserved_slots=rng.choice([0, 1, 3]),
            min_share=0.05,
        )
        k = rng.randint(0, 12)
        out = rerank(step, Request(UserState("u"), None, k=k, now=50.0), ranked)
        assert sorted(s.item_id for s in out) == sorted(ids), trial
        scores = [s.score for s in out]
        assert scores == sorted(scores, reverse=True), trial
        moved = {s.item_id for s in out if s.reasons}
        assert all(creator_of(i) is not None for i in moved), trial
        top = {s.item_id for s in ranked[:k]}
        assert all(s.reasons == (REASON,) for s in out[:k] if s.item_id not in top), trial  # promoted
        stayed = [s.item_id for s in out[:k] if s.item_id in top]
        assert stayed == [i for i in ids[:k] if i in stayed], trial  # in their order


def test_fairness_errors_say_how_to_fix() -> None:
    exposure = CreatorExposure(window=10.0)
    with pytest.raises(ValueError, match="max_share must be in"):
        CreatorFairness(creator_of, exposure, max_share=1.5, reserved_slots=0, min_share=0.0)
    with pytest.raises(ValueError, match="reserved_slots must be an integer"):
        CreatorFairness(creator_of, exposure, max_share=0.0, reserved_slots=-1, min_share=0.0)
    with pytest.raises(ValueError, match="set min_share"):
        CreatorFairness(creator_of, exposure, max_share=0.0, reserved_slots=2, min_share=0.0)
    with pytest.raises(ValueError, match="must not exceed max_share"):
        CreatorFairness(creator_of, exposure, max_share=0.1, reserved_slots=2, min_share=0.2)


# --- a simulated run ------------------------------------------------------------------------------


def gini(counts: list[int]) -> float:
    """Gini coefficient of non-negative counts: 0 when all equal, towards 1 when one has all."""
    values = sorted(counts)
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * v for i, v in enumerate(values))
    return (2 * weighted) / (n * total) - (n + 1) / n


def simulate(step: CreatorFairness | None, exposure: CreatorExposure, rounds: int = 400, k: int = 10) -> Counter[str]:
    """Serves ``rounds`` lists of 60 candidates; a creator's items are more relevant the lower
    its number, so creator c0 wins most slots. Records each list's top k into ``exposure``
    and returns the exposures of every creator over the whole run."""
    rng = random.Random(11)
    creators = [f"c{n}-" for n in range(20)]
    items = [f"{c}{j}" for c in creators for j in range(10)]
    quality = {i: 1.0 / (1 + int(i[1 : i.index("-")])) for i in items}
    seen: Counter[str] = Counter({c: 0 for c in creators})
    for r in range(rounds):
        now = 60.0 * r
        pool = rng.sample(items, 60)
        scored = sorted(((quality[i] + rng.gauss(0, 0.1), i) for i in pool), reverse=True)
        ranked = [Scored(i, s, ("mf",)) for s, i in scored]
        request = Request(UserState(f"u{r}"), None, k=k, now=now)
        out = rerank(step, request, ranked) if step is not None else ranked
        assert sorted(s.item_id for s in out) == sorted(pool)
        listed = [fair_creator(s.item_id) for s in out[:k]]
        exposure.record(listed, at=now)
        seen.update(listed)
    return seen


def fair_creator(item_id: str) -> str:
    return item_id[: item_id.index("-") + 1]


def test_the_policy_spreads_exposure_over_a_simulated_run() -> None:
    off = simulate(None, CreatorExposure(window=3600.0, buckets=12))
    exposure = CreatorExposure(window=3600.0, buckets=12)
    policy = CreatorFairness(fair_creator, exposure, max_share=0.15, reserved_slots=2, min_share=0.03)
    on = simulate(policy, exposure)
    assert sum(off.values()) == sum(on.values()) == 400 * 10
    max_off, max_on = max(off.values()) / 4000, max(on.values()) / 4000
    gini_off, gini_on = gini(list(off.values())), gini(list(on.values()))
    assert max_on < max_off - 0.05, (max_off, max_on)
    assert max_on <= 0.15 + 0.02  # the cap holds up to what one window can overshoot
    assert gini_on < gini_off - 0.1, (gini_off, gini_on)
    # the half of the creators seen least gets seen far more often
    assert sum(sorted(on.values())[:10]) > 3 * sum(sorted(off.values())[:10])
