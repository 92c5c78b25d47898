"""The contract every candidate source passes, run over each implementation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from recsys.candidates import CandidateSource, MFRetrieval, MostPopular, Request
from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.settings import Settings
from schemas import Item


def trained_engine(seed: int = 0) -> Engine:
    world = SyntheticWorld(users=40, items=120, clusters=3, seed=seed)
    engine = Engine(Settings(seed=seed))
    for item in world.catalogue():
        engine.apply_item(item)
    for event in world.interactions(1500):
        engine.apply(event)
    for n in range(0, 120, 10):
        engine.apply_item(Item(f"i{n}", available=False))
    engine.refresh_index()
    return engine


SOURCES: dict[str, Callable[[Engine], CandidateSource]] = {
    "mf": lambda e: MFRetrieval(e.model, e.index, e.catalog),
    "popular": lambda e: MostPopular(e.catalog),
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
