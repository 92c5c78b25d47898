"""The contract every candidate source passes, run over each implementation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from recsys.candidates import CandidateSource, MFRetrieval, MostPopular, Request
from recsys.candidates.content import ContentSource
from recsys.candidates.covisitation import CoVisitationSource
from recsys.candidates.fresh import FreshSource
from recsys.candidates.social import SocialSource
from recsys.candidates.trending import TrendingSource
from recsys.candidates.two_tower import TwoTowerSource
from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings
from schemas import Follow, Interaction, Item


def trained_engine(seed: int = 0) -> Engine:
    world = SyntheticWorld(users=40, items=120, clusters=3, seed=seed, follows=5)
    engine = Engine(Settings(seed=seed, generators="mf,covisit,popular,two_tower"))
    for item in world.catalogue():
        engine.apply_item(item)
    for profile in world.profiles():
        engine.apply_user(profile)
    for follow in world.follows():
        engine.apply_follow(follow)
    for event in world.interactions(1500):
        engine.apply(event)
    for n in range(0, 120, 10):
        engine.apply_item(Item(f"i{n}", available=False))
    engine.refresh_index()
    return engine


SOURCES: dict[str, Callable[[Engine], CandidateSource]] = {
    "mf": lambda e: MFRetrieval(e.model, e.index, e.catalog),
    "popular": lambda e: MostPopular(e.catalog),
    "covisit": lambda e: CoVisitationSource(e.covisitation, e.catalog),
    "content": lambda e: ContentSource(e.content, e.catalog),
    "trending": lambda e: TrendingSource(e.trending, e.catalog),
    "fresh": lambda e: FreshSource(e.fresh, e.catalog, lambda: e.clock),
    "two_tower": lambda e: TwoTowerSource(e.tower_items),
    "social": lambda e: SocialSource(e.recent_likes, e.catalog, lambda: e.clock, e.settings.social_half_life),
}


@pytest.fixture(params=sorted(SOURCES))
def make_source(request: pytest.FixtureRequest) -> Callable[[Engine], CandidateSource]:
    return SOURCES[request.param]


def _request(engine: Engine, user: str, exclude: set[str] | None = None) -> Request:
    state = engine.user_state(user)
    return Request(state, engine.factors_of(state), state.excluded() | (exclude or set()))


def test_at_most_n_distinct_available_items_never_excluded(make_source: Callable[[Engine], CandidateSource]) -> None:
    engine = trained_engine()
    source = make_source(engine)
    for user in ["u1", "u2", "u3"]:
        request = _request(engine, user, exclude={"i1", "i2"})
        for n in (1, 7, 50, 500):
            got = [c.item_id for c in source.generate(request, n)]
            assert len(got) <= n and len(got) == len(set(got))
            assert all(engine.catalog.is_available(i) for i in got)
            assert not set(got) & request.exclude
            assert all(c.source == source.name for c in source.generate(request, n))


def test_deterministic_with_a_seed(make_source: Callable[[Engine], CandidateSource]) -> None:
    first, second = trained_engine(seed=4), trained_engine(seed=4)
    a = make_source(first).generate(_request(first, "u5"), 20)
    b = make_source(second).generate(_request(second, "u5"), 20)
    assert [c.item_id for c in a] == [c.item_id for c in b]


def test_an_unknown_user_is_handled(make_source: Callable[[Engine], CandidateSource]) -> None:
    engine = trained_engine()
    got = make_source(engine).generate(_request(engine, "nobody-knows-me"), 10)
    assert len(got) <= 10  # MF has no vector for them (empty); popularity serves them


# --- each generator recovers what the synthetic world planted --------------------------------


def own_cluster_share(engine: Engine, world: SyntheticWorld, source: CandidateSource, n: int = 10) -> float:
    own = total = 0
    for user in [f"u{k}" for k in range(40)]:
        for c in source.generate(_request(engine, user), n):
            own += world.cluster_of_item(c.item_id) == world.cluster_of_user(user)
            total += 1
    return own / total


@pytest.mark.parametrize(
    ("name", "floor"),
    # trending is half global by design (measured 0.58); the others are personal; social (measured
    # 0.70) inherits its users' follow homophily (80% of followees share the user's taste)
    [("content", 0.6), ("covisit", 0.6), ("mf", 0.6), ("two_tower", 0.6), ("trending", 0.45), ("social", 0.6)],
)
def test_generators_nominate_the_users_own_cluster(name: str, floor: float) -> None:
    engine = trained_engine()
    world = SyntheticWorld(users=40, items=120, clusters=3, seed=0, follows=5)
    share = own_cluster_share(engine, world, SOURCES[name](engine))
    assert share >= floor, f"{name}: own-cluster share {share:.2f} (chance is 1/3)"


def test_trending_follows_a_recent_burst_that_all_time_popularity_misses() -> None:
    engine = trained_engine()
    quiet = min(engine.catalog.available_ids(), key=lambda i: engine.catalog.popularity.get(i, 0.0))
    later = engine.clock + 5 * engine.settings.trending_half_life
    for n in range(5):
        engine.apply(Interaction(f"burst{n}", f"fan{n}", quiet, "like", timestamp=later))
    request = _request(engine, "someone-new")
    assert TrendingSource(engine.trending, engine.catalog).generate(request, 1)[0].item_id == quiet
    assert quiet not in [c.item_id for c in MostPopular(engine.catalog).generate(request, 10)]


def test_fresh_lists_what_was_published_up_to_now_newest_first() -> None:
    engine = trained_engine()
    now = engine.clock
    engine.apply_item(Item("just-out", published_at=now - 1.0))
    engine.apply_item(Item("next-week", published_at=now + 7 * 86400.0))
    got = [c.item_id for c in FreshSource(engine.fresh, engine.catalog, lambda: engine.clock).generate(
        _request(engine, "u1"), 5)]  # fmt: skip
    assert got[0] == "just-out" and "next-week" not in got


def test_two_tower_serves_an_item_nobody_has_touched_to_users_of_its_taste() -> None:
    engine = trained_engine()
    world = SyntheticWorld(users=40, items=120, clusters=3, seed=0)
    template = world.catalogue()[0]  # a cluster-c item: the new one shares its genre, tags and creator
    c = world.cluster_of_item(template.item_id)
    engine.apply_item(Item("brand-new", attributes=dict(template.attributes), published_at=engine.clock))
    engine.refresh_index()
    source = TwoTowerSource(engine.tower_items)
    reached = {
        same: sum("brand-new" in [x.item_id for x in source.generate(_request(engine, u), 20)] for u in users)
        / len(users)
        for same in (True, False)
        for users in [[f"u{k}" for k in range(40) if (world.cluster_of_user(f"u{k}") == c) == same]]
    }
    # measured: every own-taste user reached, a third of the others (a top 20 of ~100 items)
    assert reached[True] >= 0.8 and reached[True] >= 2 * reached[False], reached


def test_social_serves_what_two_followees_liked_until_they_are_unfollowed() -> None:
    engine = trained_engine()
    engine.apply_item(Item("insider-tip"))
    later = engine.clock + 1.0
    for n, friend in enumerate(["friend-a", "friend-b"]):
        engine.apply_follow(Follow(f"f{n}", "fan", friend, "follow", timestamp=later))
        engine.apply(Interaction(f"tip{n}", friend, "insider-tip", "like", timestamp=later))
    source = SOURCES["social"](engine)

    def listed(user: str) -> list[str]:
        return [c.item_id for c in source.generate(_request(engine, user), 10)]

    assert listed("fan") == ["insider-tip"]  # followed by nobody else: only the fan is shown it
    assert "insider-tip" not in listed("u1")
    engine.apply_follow(Follow("f2", "fan", "friend-a", "unfollow", timestamp=later))
    assert listed("fan") == ["insider-tip"]  # friend-b still likes it
    engine.apply_follow(Follow("f3", "fan", "friend-b", "unfollow", timestamp=later))
    assert listed("fan") == []


def test_covisitation_with_a_half_life_prefers_recent_pairs_and_survives_a_rescale() -> None:
    from recsys.candidates.covisitation import CoVisitation

    day = 86400.0
    plain, decayed = CoVisitation(window=3), CoVisitation(window=3, half_life=day)
    for cv in (plain, decayed):
        for n in range(3):  # three users paired x with old, long ago
            cv.observe(["x"], "old", at=n)
        cv.observe(["x"], "new", at=10 * day)  # one pair, today
    assert plain.scores(["x"]).most_common(1)[0][0] == "old"
    top = decayed.scores(["x"])
    assert top.most_common(1)[0][0] == "new"
    assert top["new"] == pytest.approx(1.0) and top["old"] == pytest.approx(3 * 2.0**-10, rel=1e-3)
    decayed.observe(["y"], "z", at=200 * day)  # beyond 50 half-lives: every count is rescaled
    assert decayed.scores(["y"])["z"] == pytest.approx(1.0)
    assert decayed.scores(["x"])["new"] == pytest.approx(2.0**-190, rel=1e-3)
