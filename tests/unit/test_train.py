"""WALS bootstrap (`recsys train`), lazy fold-in of stale users and the periodic re-fit, on planted clusters."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from recsys.bootstrap import bootstrap
from recsys.datasets.synthetic import SyntheticWorld
from recsys.engine import Engine
from recsys.errors import ConfigError
from recsys.models.wals import WalsFactors
from recsys.settings import Settings
from recsys.state import UserState
from schemas import Interaction
from streams.cli import main

# MF retrieval ranked by MF alone; towers off (they cost time and play no part here)
MF_ONLY = {"factors": 3, "ann_backend": "brute", "generators": "mf,popular", "scorer": "mf",
           "blend_weights": {"mf": 1.0}}  # fmt: skip


def own_share(engine: Engine, world: SyntheticWorld, user_id: str, k: int = 10) -> float:
    """Share of the user's top-``k`` (MF retrieval, seen items excluded) in the user's own cluster."""
    listed = engine.recommend(user_id, k=k)
    return sum(world.cluster_of_item(r.item_id) == world.cluster_of_user(user_id) for r in listed) / k


def planted(seed: int = 0) -> SyntheticWorld:
    return SyntheticWorld(users=60, items=90, clusters=3, seed=seed)


@pytest.fixture(scope="module")
def trained() -> tuple[Engine, SyntheticWorld]:
    world = planted()
    engine = Engine(Settings(**MF_ONLY))
    bootstrap(engine, [*world.catalogue(), *world.profiles(), *world.interactions(3000)])
    return engine, world


def test_bootstrap_recovers_the_planted_clusters_with_no_online_event(trained: tuple[Engine, SyntheticWorld]) -> None:
    engine, world = trained
    shares = [own_share(engine, world, u) for u in world.user_cluster]
    assert np.mean(shares) >= 0.85  # measured 0.93 (chance: 1/3)
    assert np.mean([s > 0.5 for s in shares]) >= 0.95
    state = engine.user_state("u0")
    assert state.epoch == engine.items.wals.epoch == 1
    assert state.history and state.seen  # the replay built what the online path builds


def test_bootstrap_installs_the_fit_into_the_online_model(trained: tuple[Engine, SyntheticWorld]) -> None:
    engine, _ = trained
    vectors = engine.items.model.item_vectors(engine.items.model.item_ids())
    assert not vectors[:, -1].any()  # biases zeroed: MF scores are the WALS scores
    assert len(engine.indexes.mf) == len(engine.catalog.available_ids())  # rebuilt


def test_without_replay_users_get_only_their_vector() -> None:
    world = planted()
    engine = Engine(Settings(**MF_ONLY))
    summary = bootstrap(engine, [*world.catalogue(), *world.interactions(3000)], replay=False)
    assert summary.users == 60 and engine.counters["applied"] == 0
    state = engine.user_state("u0")
    assert state.vector is not None and state.history == [] and state.epoch == 1


def test_fold_in_is_the_wals_solve_for_the_users_recent_positives(trained: tuple[Engine, SyntheticWorld]) -> None:
    engine, _ = trained
    state = engine.user_state("u1")
    positives = [i for i in dict.fromkeys(state.history) if i not in state.disliked]
    stale = UserState.from_dict({**state.to_dict(), "epoch": 0, "vector": None})
    engine.items.wals.fold_in(engine.items.model, engine.settings, stale)
    ids = engine.items.model.item_ids()
    factors = WalsFactors([], np.zeros((0, 3)), ids, engine.items.model.item_vectors(ids)[:, :-1].astype(float))
    expected = engine.items.wals.wals(engine.settings).fit_user(factors, dict.fromkeys(positives, 1.0))
    assert stale.epoch == 1
    np.testing.assert_allclose(stale.vector, expected, rtol=1e-6, atol=1e-9)


def test_a_stale_user_is_folded_in_at_their_next_event_and_ranks_their_cluster_first() -> None:
    world = planted()
    engine = Engine(Settings(**MF_ONLY))
    bootstrap(engine, [*world.catalogue(), *world.interactions(3000)], replay=False)
    # a user the worker's table knew before the fit: history, an old-basis vector, epoch 0
    own = [i for i in world.by_cluster[world.cluster_of_user("u2")][:8]]
    engine.users.save(UserState("u2", vector=[5.0, -5.0, 5.0], history=own[:7], seen=own[:7]))
    assert engine.user_state("u2").epoch == 0
    engine.apply(Interaction("late-1", "u2", own[7], "like", timestamp=1e10))
    state = engine.user_state("u2")
    assert state.epoch == engine.items.wals.epoch == 1
    assert own_share(engine, world, "u2") >= 0.8


def test_periodic_refit_bumps_the_epoch_and_keeps_the_clusters() -> None:
    world = planted(seed=1)
    engine = Engine(Settings(**MF_ONLY, wals_refresh_events=1000, wals_buffer=2000))
    for item in world.catalogue():
        engine.apply_item(item)
    started = time.perf_counter()
    for event in world.interactions(3000):
        engine.apply(event)
    elapsed = time.perf_counter() - started
    positives = sum(1 for _ in engine.items.wals.buffer)
    assert engine.items.wals.fits == engine.items.wals.epoch >= 2 and positives <= 2000
    assert engine.items.wals.fit_seconds < 0.5 * elapsed  # the re-fits are a small part of the replay
    # right after a re-fit, the fold-in alone ranks every user's cluster first
    engine.items.wals.refit(engine.items.model, engine.settings)
    engine.rebuild_index()
    for user_id in world.user_cluster:
        state = engine.user_state(user_id)
        engine.items.wals.fold_in(engine.items.model, engine.settings, state)
        engine.users.save(state)
    assert np.mean([own_share(engine, world, u) for u in world.user_cluster]) >= 0.9  # measured 0.96
    # online steps go on from there; a stale user is folded in at their next event
    engine.items.wals.epoch += 1
    for user_id in world.user_cluster:
        engine.apply(world.interaction(user_id))
    assert all(engine.user_state(u).epoch == engine.items.wals.epoch for u in world.user_cluster)
    assert np.mean([own_share(engine, world, u) for u in world.user_cluster]) >= 0.7  # measured 0.78 (online: 0.77)


def test_squared_loss_cannot_take_batch_factors_and_says_what_to_do() -> None:
    world = planted()
    engine = Engine(Settings(**{**MF_ONLY, "mf_loss": "squared"}))
    with pytest.raises(ConfigError, match="RECSYS_MF_LOSS=bpr"):
        bootstrap(engine, world.interactions(10))


def test_a_history_without_positives_is_an_error() -> None:
    engine = Engine(Settings(**MF_ONLY))
    with pytest.raises(ValueError, match="no positive interaction"):
        bootstrap(engine, [Interaction("e1", "u", "i", "dislike", timestamp=1.0)])


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("wals_l2", "0", "positive"), ("wals_alpha", "-1", "0 or more"), ("wals_iterations", "0", "at least 1"),
     ("wals_refresh_events", "-1", "0 \\(off\\)"), ("wals_buffer", "0", "at least 1")],
)  # fmt: skip
def test_wals_settings_are_validated(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"RECSYS_{name.upper()}: must be {message}"):
        Settings.from_env({f"RECSYS_{name.upper()}": value})
    with pytest.raises(ConfigError, match="RECSYS_WALS_REFRESH_EVENTS: needs RECSYS_MF_LOSS=bpr"):
        Settings(mf_loss="squared", wals_refresh_events=100)
    assert Settings.from_env({"RECSYS_WALS_ITERATIONS": "3"}).wals_iterations == 3


def test_recsys_train_writes_a_snapshot_the_worker_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world = planted(seed=2)
    data = world.write_jsonl(tmp_path / "history.jsonl", 2000)
    env = {"RECSYS_DATA_DIR": str(tmp_path / "data"), "RECSYS_ANN_BACKEND": "brute", "RECSYS_FACTORS": "3"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["train", "--from", str(data), "--format", "jsonl"]) == 0
    assert "factor epoch 1" in capsys.readouterr().out
    worker = Engine(Settings.from_env(env))  # the worker's table (a dict here) starts empty
    assert worker.load(tmp_path / "data" / "model")
    assert worker.items.wals.epoch == 1 and len(worker.catalog) == 90
    seeded = worker.user_state("u3")  # not in the table: starts from the trained seed
    assert seeded.epoch == 1 and seeded.history and seeded.vector is not None
    out = worker.process(Interaction("after-train", "u3", world.by_cluster[world.cluster_of_user("u3")][0], "like",
                                     timestamp=2e9))  # fmt: skip
    assert out.applied and out.recommendation is not None
    assert not set(seeded.seen) & {i.item_id for i in out.recommendation.items}  # history excluded as online


def test_recsys_train_needs_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train"]) == 2
    assert "--from" in capsys.readouterr().err


def test_bpr_learns_when_its_negatives_grow_the_item_matrix() -> None:
    """Found by the bootstrap (no index refresh creates rows first): new rows for negatives used to
    replace the item matrix after ``learn`` had taken a reference to it."""
    import random

    from recsys.models import OnlineBPR

    bpr = OnlineBPR(factors=2)
    a, *negatives = bpr.rows.rows(["a", *(f"n{i}" for i in range(1100))])
    user = bpr.learn(bpr.new_user(random.Random(0)), a, 1.0, np.array(negatives))
    assert len(bpr.item_ids()) == 1101 and np.isfinite(user.vector).all()
