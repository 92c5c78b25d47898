"""Tests for recsys.ann: one contract every backend passes, and recall against the exact oracle."""

from __future__ import annotations

import json
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest

import recsys.ann
import recsys.ann.hnsw as hnsw_module
from recsys.ann import AutoIndex, BruteForceIndex, HnswIndex, VectorIndex, load_index, make_index, moved_since_indexed
from recsys.ann.files import FORMAT_VERSION, index_writer
from recsys.errors import SnapshotError

Factory = Callable[..., VectorIndex]

TOY = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.0]], dtype=np.float32)
TOY_LABELS = np.arange(4)

# Backend parameters for the contract: the auto index switches to hnsw at its 3rd label, so the
# contract runs mostly over its hnsw phase and over the switch (its exact phase is BruteForceIndex's).
PARAMS: dict[str, dict[str, Any]] = {"brute": {}, "hnsw": {}, "auto": {"threshold": 3}}


@pytest.fixture(params=sorted(PARAMS))
def make(request: pytest.FixtureRequest) -> Factory:
    backend = request.param

    def factory(dim: int, **params: Any) -> VectorIndex:
        return make_index(backend, dim, **(PARAMS[backend] | params))

    return factory


def mf_items(rng: np.random.Generator, n: int, dim: int = 33) -> np.ndarray:
    """Shaped like OnlineMF/BPR item vectors: factors from normal(0, 0.3), then a bias from normal(0, 1)."""
    out = np.empty((n, dim), dtype=np.float32)
    out[:, :-1] = rng.normal(0.0, 0.3, size=(n, dim - 1))
    out[:, -1] = rng.normal(0.0, 1.0, size=n)
    return out


def mf_queries(rng: np.random.Generator, n: int, dim: int = 33) -> np.ndarray:
    """Shaped like the user query vectors: factors, then the 1.0 that picks up the item bias."""
    out = np.ones((n, dim), dtype=np.float32)
    out[:, :-1] = rng.normal(0.0, 0.3, size=(n, dim - 1))
    return out


def exact(vectors: np.ndarray, labels: np.ndarray, q: np.ndarray, n: int) -> list[int]:
    """The reference answer: best inner product first, equal scores in label order."""
    scores = vectors.astype(np.float32) @ np.asarray(q, dtype=np.float32)
    return labels[np.lexsort((labels, -scores))][:n].tolist()


def recall(index: VectorIndex, oracle: VectorIndex, queries: np.ndarray, n: int = 10, k: int = 10) -> float:
    """Share of the exact top-k found among the best k of a query for n."""
    hits = sum(len(set(index.query(q, n)[0][:k].tolist()) & set(oracle.query(q, k)[0].tolist())) for q in queries)
    return hits / (k * len(queries))


class TestContract:
    def test_upsert_and_query_basics(self, make: Factory) -> None:
        index = make(2)
        assert index.dim == 2 and len(index) == 0
        index.upsert(TOY_LABELS, TOY)
        assert len(index) == 4 and index.labels().tolist() == [0, 1, 2, 3]
        assert 0 in index and np.int64(3) in index
        assert 4 not in index and -1 not in index and "0" not in index and 1.0 not in index
        labels, scores = index.query(np.array([1.0, 0.1]), n=2)
        assert labels.dtype == np.int64 and scores.dtype == np.float32
        assert labels.tolist() == [0, 2]
        assert scores.tolist() == pytest.approx([1.0, 0.77], rel=1e-6)
        for same in ([1.0, 0.1], np.array([[1.0, 0.1]])):  # a list and a (1, dim) query too
            again = index.query(same, n=2)
            assert again[0].tolist() == labels.tolist() and again[1].tolist() == scores.tolist()

    def test_best_first_with_exact_scores(self, make: Factory) -> None:
        rng = np.random.default_rng(1)
        vectors = rng.normal(size=(60, 8)).astype(np.float32)
        labels = rng.permutation(200)[:60]  # not contiguous, not sorted
        index = make(8)
        index.upsert(labels, vectors)
        for q in rng.normal(size=(10, 8)).astype(np.float32):
            got, scores = index.query(q, n=5)
            assert got.tolist() == exact(vectors, labels, q, 5)
            assert np.all(np.diff(scores) <= 0)
            want = {int(label): float(v @ q) for label, v in zip(labels, vectors, strict=True)}
            assert scores.tolist() == pytest.approx([want[label] for label in got.tolist()], rel=1e-5, abs=1e-5)

    def test_equal_scores_come_in_label_order(self, make: Factory) -> None:
        index = make(2)
        index.upsert([9, 4, 7, 1], np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]]))
        assert index.query([1.0, 0.0], n=3)[0].tolist() == [1, 7, 9]
        assert index.query([1.0, 0.0], n=2)[0].tolist() == [1, 7]

    def test_replacing_a_vector_changes_results(self, make: Factory) -> None:
        index = make(2)
        index.upsert(TOY_LABELS, TOY)
        q = np.array([0.0, 1.0])
        assert index.query(q, n=1)[0].tolist() == [1]
        index.upsert([3], np.array([[0.0, 5.0]]))
        assert len(index) == 4
        labels, scores = index.query(q, n=2)
        assert labels.tolist() == [3, 1] and scores.tolist() == pytest.approx([5.0, 1.0])
        index.upsert([3], np.array([[0.0, -5.0]]))
        assert index.query(q, n=4)[0].tolist()[-1] == 3

    def test_repeated_label_in_one_batch_last_wins(self, make: Factory) -> None:
        index = make(2)
        index.upsert([5, 6, 5], np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 0.0]]))
        assert len(index) == 2
        labels, scores = index.query([1.0, 0.0], n=1)
        assert labels.tolist() == [5] and scores.tolist() == pytest.approx([3.0])

    def test_indexed_returns_the_vectors_as_indexed(self, make: Factory) -> None:
        index = make(2)
        index.upsert([0, 1, 2], np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
        index.remove([1])
        vectors, present = index.indexed(np.array([2, 1, 0, 99]))
        assert present.tolist() == [True, False, True, False]
        assert vectors.dtype == np.float32 and vectors.shape == (4, 2)
        assert vectors.tolist() == [[5.0, 6.0], [0.0, 0.0], [1.0, 2.0], [0.0, 0.0]]
        vectors[0, 0] = 99.0  # a copy: the index does not change through it
        assert index.indexed([2])[0].tolist() == [[5.0, 6.0]]
        assert index.indexed([])[0].shape == (0, 2)

    def test_remove_hides_and_upsert_brings_back(self, make: Factory) -> None:
        index = make(2)
        index.upsert(TOY_LABELS, TOY)
        assert index.remove([0]) == 1
        assert index.remove([0]) == 0
        assert index.remove([1000, 2, 2]) == 1  # unknown labels and repeats count once, if live
        assert 0 not in index and len(index) == 2 and index.labels().tolist() == [1, 3]
        assert set(index.query([1.0, 0.0], n=10)[0].tolist()) == {1, 3}
        index.upsert([0], np.array([[2.0, 0.0]]))
        assert 0 in index and len(index) == 3
        labels, scores = index.query([1.0, 0.0], n=1)
        assert labels.tolist() == [0] and scores.tolist() == pytest.approx([2.0])
        assert index.remove(np.array([0])) == 1  # and it can go again

    def test_n_larger_than_live_returns_all_live(self, make: Factory) -> None:
        index = make(2)
        index.upsert(TOY_LABELS, TOY)
        index.remove([1])
        assert index.query([1.0, 0.0], n=100)[0].tolist() == [0, 2, 3]
        labels, scores = index.query([1.0, 0.0], n=0)
        assert labels.tolist() == [] and scores.tolist() == []

    def test_empty_index_returns_nothing(self, make: Factory) -> None:
        index = make(2)
        labels, scores = index.query([1.0, 0.0], n=10)
        assert labels.dtype == np.int64 and len(labels) == 0 and len(scores) == 0
        assert index.labels().tolist() == []
        index.upsert([0], np.array([[1.0, 0.0]]))
        index.remove([0])
        assert index.query([1.0, 0.0], n=10)[0].tolist() == []
        index.upsert([], np.zeros((0, 2)))  # an empty batch is a no-op
        assert len(index) == 0

    def test_allowed_never_returns_a_disallowed_label(self, make: Factory) -> None:
        rng = np.random.default_rng(2)
        vectors = mf_items(rng, 2000, dim=8)
        labels = np.arange(2000)
        index = make(8)
        index.upsert(labels, vectors)
        index.remove(np.arange(0, 2000, 9))
        excluded = np.zeros(2000, dtype=bool)
        excluded[rng.choice(2000, size=600, replace=False)] = True
        seen_sizes: list[int] = []

        def allowed(rows: np.ndarray) -> np.ndarray:
            assert rows.dtype == np.int64
            seen_sizes.append(len(rows))
            return ~excluded[rows]

        live = np.setdiff1d(labels, np.arange(0, 2000, 9))
        for q in mf_queries(rng, 20, dim=8):
            # Exclude the best 300 (a user who took everything near them) on top of the random 600.
            top = exact(vectors[live], live, q, 300)
            excluded[top] = True
            got, scores = index.query(q, n=50, allowed=allowed)
            assert len(got) == 50 and not excluded[got].any() and np.all(np.diff(scores) <= 0)
            assert set(got.tolist()) <= set(live.tolist())
            excluded[top] = False
        assert min(seen_sizes) > 1  # called on arrays of labels, not label by label

    def test_allowed_few_and_far_still_returns_all_of_them(self, make: Factory) -> None:
        rng = np.random.default_rng(3)
        vectors = mf_items(rng, 3000, dim=8)
        index = make(8)
        index.upsert(np.arange(3000), vectors)
        q = mf_queries(rng, 1, dim=8)[0]
        worst = exact(vectors, np.arange(3000), -q, 5)  # the five labels farthest from the query
        allowed_set = np.zeros(3000, dtype=bool)
        allowed_set[worst] = True
        got, scores = index.query(q, n=10, allowed=lambda rows: allowed_set[rows])
        assert got.tolist() == worst[::-1]  # all five, best first
        assert scores.tolist() == pytest.approx(np.sort(vectors[worst] @ q)[::-1].tolist(), rel=1e-5, abs=1e-5)
        assert index.query(q, n=3, allowed=lambda rows: allowed_set[rows])[0].tolist() == worst[::-1][:3]
        assert index.query(q, n=3, allowed=lambda rows: np.zeros(len(rows), dtype=bool))[0].tolist() == []

    def test_allowed_must_return_one_bool_per_label(self, make: Factory) -> None:
        index = make(2)
        index.upsert(TOY_LABELS, TOY)
        with pytest.raises(ValueError, match="vectorised filter"):
            index.query([1.0, 0.0], n=2, allowed=lambda rows: rows)  # type: ignore[arg-type,return-value]
        with pytest.raises(ValueError, match="same length"):
            index.query([1.0, 0.0], n=2, allowed=lambda rows: np.ones(1, dtype=bool))

    @pytest.mark.parametrize(
        ("labels", "vectors", "match"),
        [
            ([0, 1], np.ones((2, 3)), "shape"),  # wrong dim
            ([0, 1], np.ones((3, 2)), "shape"),  # wrong row count
            ([0], np.ones(2), "shape"),  # 1-d
            ([0], np.ones((1, 2, 1)), "shape"),  # 3-d
            ([0, 1], np.array([[0.0, 0.0], [np.nan, 0.0]]), "label 1 holds NaN"),
            ([0], np.array([[np.inf, 0.0]]), "finite"),
            ([0], np.array([["x", "y"]]), "castable"),
            ([-1], np.ones((1, 2)), "non-negative"),
            ([0.5], np.ones((1, 2)), "integers"),
            ([[0]], np.ones((1, 2)), "1-d"),
            (["a"], np.ones((1, 2)), "integers"),
        ],
    )
    def test_bad_upsert_raises_value_error(self, make: Factory, labels: Any, vectors: np.ndarray, match: str) -> None:
        index = make(2)
        with pytest.raises(ValueError, match=match):
            index.upsert(labels, vectors)
        assert len(index) == 0

    def test_bad_query_raises(self, make: Factory) -> None:
        index = make(2)
        index.upsert(TOY_LABELS, TOY)
        with pytest.raises(ValueError, match="shape"):
            index.query(np.ones(3), n=1)
        with pytest.raises(ValueError, match="finite"):
            index.query(np.array([np.nan, 0.0]), n=1)
        with pytest.raises(ValueError, match="0 or more"):
            index.query(np.ones(2), n=-1)
        with pytest.raises(TypeError, match="integer"):
            index.query(np.ones(2), n=2.0)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="non-negative"):
            index.remove([-1])

    def test_save_load_round_trip(self, make: Factory, tmp_path: Path) -> None:
        rng = np.random.default_rng(4)
        vectors = mf_items(rng, 300, dim=16)
        labels = np.arange(300) * 2  # gaps: labels need not be contiguous
        index = make(16, initial_capacity=64)
        index.upsert(labels, vectors)
        index.remove(labels[::7])
        path = tmp_path / "snap" / "index.ann"
        index.save(path)
        index.save(path)  # overwriting works and leaves no temporary files behind
        assert [p.name for p in path.parent.iterdir()] == ["index.ann"]

        for loaded in (type(index).load(path), load_index(path)):
            assert type(loaded) is type(index) and loaded is not index
            assert loaded.dim == 16 and len(loaded) == len(index)
            assert loaded.labels().tolist() == index.labels().tolist()
            assert np.array_equal(loaded.indexed(labels)[0], index.indexed(labels)[0])
            allowed = lambda rows: rows % 3 != 0  # noqa: E731
            for q in mf_queries(rng, 20, dim=16):
                for n, keep in ((10, None), (25, allowed)):
                    got, want = loaded.query(q, n, keep), index.query(q, n, keep)
                    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
        # The loaded index keeps working: removed labels come back, new labels grow it.
        loaded.upsert([labels[0], 10_000], np.array([[10.0] * 16, [5.0] * 16]))
        assert loaded.query(np.ones(16), n=2)[0].tolist() == [labels[0], 10_000]

    def test_load_rejects_wrong_or_corrupt_files(self, make: Factory, tmp_path: Path) -> None:
        index = make(2)
        index.upsert(TOY_LABELS, TOY)
        path = tmp_path / "index.ann"
        index.save(path)
        other = BruteForceIndex if not isinstance(index, BruteForceIndex) else HnswIndex
        with pytest.raises(SnapshotError, match="load it with recsys.ann.load_index"):
            other.load(path)
        (tmp_path / "junk.ann").write_bytes(b"not an index")
        with pytest.raises(SnapshotError, match="delete it to rebuild"):
            type(index).load(tmp_path / "junk.ann")
        old = tmp_path / "old.ann"
        with zipfile.ZipFile(old, "w") as archive:
            archive.writestr("meta.json", json.dumps({"format": "recsys.ann", "version": 1, "kind": index.kind}))
        with pytest.raises(SnapshotError, match=f"version 1, this code reads version {FORMAT_VERSION}; delete it"):
            load_index(old)
        np.savez(tmp_path / "v1.npz", meta=np.zeros(3, dtype=np.uint8))  # the string-id format's .npz
        with pytest.raises(SnapshotError, match="delete it to rebuild"):
            load_index(tmp_path / "v1.npz")
        with index_writer(tmp_path / "empty.ann", index.kind, {}):
            pass  # metadata without the arrays
        with pytest.raises(SnapshotError, match="delete it to rebuild"):
            load_index(tmp_path / "empty.ann")
        with pytest.raises(FileNotFoundError):
            type(index).load(tmp_path / "missing.ann")

    def test_growth_past_initial_capacity(self, make: Factory) -> None:
        rng = np.random.default_rng(5)
        vectors = rng.normal(size=(1000, 8)).astype(np.float32)
        labels = np.arange(1000)
        index = make(8, initial_capacity=16)
        for start in range(0, 600, 50):  # many small batches, several doublings ...
            index.upsert(labels[start : start + 50], vectors[start : start + 50])
        index.upsert(labels[600:], vectors[600:])  # ... and one batch bigger than the capacity
        index.upsert([5000], vectors[:1])  # a label far past the others
        assert len(index) == 1001 and index.memory_bytes() > 1001 * 8 * 4
        assert sorted(index.query(vectors[0], n=5000)[0].tolist()) == [*range(1000), 5000]


class TestRecallAgainstTheOracle:
    """Exact search is the oracle for approximate search: MF-shaped vectors, recall@10 >= 0.95."""

    def test_recall_fresh_loaded_and_after_writes(self, make: Factory, tmp_path: Path) -> None:
        rng = np.random.default_rng(0)
        size = 4000
        vectors = mf_items(rng, size + 500)
        queries = mf_queries(rng, 100)
        index = make(33, **({"threshold": 1000} if isinstance(make(1), AutoIndex) else {}))
        oracle = BruteForceIndex(33)
        for start in range(0, size, 1000):  # the auto index switches after the first batch
            index.upsert(np.arange(start, start + 1000), vectors[start : start + 1000])
        oracle.upsert(np.arange(size), vectors[:size])
        assert recall(index, oracle, queries, n=10) >= 0.95
        assert recall(index, oracle, queries, n=100) >= 0.95  # the engine's shape: 100, best 10 kept

        path = tmp_path / "index.ann"
        index.save(path)
        loaded = load_index(path)
        assert recall(loaded, oracle, queries) >= 0.95

        # 500 inserts (one by one, as the engine writes) and 500 in-place updates, each vector
        # moved by 30% of its length, and 300 removals.
        for label in range(size, size + 500):
            loaded.upsert([label], vectors[label : label + 1])
        oracle.upsert(np.arange(size, size + 500), vectors[size:])
        moved = rng.choice(size, size=500, replace=False)
        step = rng.normal(size=(500, 33)).astype(np.float32)
        step *= (0.3 * np.linalg.norm(vectors[moved], axis=1) / np.linalg.norm(step, axis=1))[:, None]
        loaded.upsert(moved, vectors[moved] + step)
        oracle.upsert(moved, vectors[moved] + step)
        gone = rng.choice(size + 500, size=300, replace=False)
        assert loaded.remove(gone) == oracle.remove(gone) == 300
        assert len(loaded) == len(oracle) == size + 200
        assert recall(loaded, oracle, queries, n=10) >= 0.95
        assert recall(loaded, oracle, queries, n=100) >= 0.95
        for q in queries[:20]:
            assert not set(loaded.query(q, 100)[0].tolist()) & set(gone.tolist())


class TestHnsw:
    def test_norm_bound_and_rebuild_while_small(self) -> None:
        index = HnswIndex(2, rebuild_limit=100)
        assert index.bound is None
        index.upsert([0, 1], np.array([[3.0, 4.0], [1.0, 0.0]]))
        assert index.bound == pytest.approx(6.0)  # 1.2 x the longest norm of the first batch
        index.upsert([2], np.array([[0.0, 5.5]]))  # within the bound: no rebuild
        assert index.rebuilds == 0
        index.upsert([3], np.array([[10.0, 0.0]]))  # past it while small: rebuilt with a new bound
        assert index.rebuilds == 1 and index.bound == pytest.approx(12.0) and index.over_bound == 0
        assert index.query([1.0, 0.0], n=4)[0].tolist() == [3, 0, 1, 2]

    def test_over_bound_vectors_are_found_and_scored_exactly(self, tmp_path: Path) -> None:
        """Vectors that outgrew the bound are scored on the side: the walk alone missed them."""
        rng = np.random.default_rng(6)
        vectors = mf_items(rng, 1000, dim=8)
        index = HnswIndex(8, rebuild_limit=0)
        index.upsert(np.arange(1000), vectors)
        long = vectors[:5] * 10.0
        index.upsert(np.arange(5), long)
        assert index.rebuilds == 0 and index.over_bound == 5
        index.remove([4])
        assert index.over_bound == 4
        index.upsert([4], long[4:])
        assert index.over_bound == 5
        q = mf_queries(rng, 1, dim=8)[0]
        labels, scores = index.query(q, n=5)
        all_vectors = np.concatenate([long, vectors[5:]])
        assert labels.tolist() == exact(all_vectors, np.arange(1000), q, 5)
        assert scores.tolist() == pytest.approx((all_vectors[labels] @ q).tolist(), rel=1e-5)
        index.save(tmp_path / "index.ann")
        loaded = HnswIndex.load(tmp_path / "index.ann")
        assert loaded.over_bound == 5 and loaded.query(q, n=5)[0].tolist() == labels.tolist()
        index.rebuild()
        assert index.over_bound == 0 and index.bound == pytest.approx(1.2 * np.linalg.norm(long, axis=1).max())
        assert index.query(q, n=5)[0].tolist() == labels.tolist()
        assert np.allclose(index.indexed(np.arange(5))[0], long)

    def test_a_long_side_list_gives_each_walk_its_best_few(self) -> None:
        rng = np.random.default_rng(14)
        vectors = mf_items(rng, 1000, dim=8)
        index = HnswIndex(8, ef=20, rebuild_limit=0)
        index.upsert(np.arange(1000), vectors)
        vectors[:300] *= 10.0  # 300 outgrow the bound: more than a walk's 20 candidates
        index.upsert(np.arange(300), vectors[:300])
        assert index.over_bound == 300
        for q in mf_queries(rng, 10, dim=8):
            assert index.query(q, n=10)[0].tolist() == exact(vectors, np.arange(1000), q, 10)
            odd = index.query(q, n=10, allowed=lambda rows: rows % 2 == 1)[0]
            assert odd.tolist() == [label for label in exact(vectors, np.arange(1000), q, 40) if label % 2][:10]

    def test_fixed_norm_bound_is_kept(self) -> None:
        index = HnswIndex(2, norm_bound=2.0)
        index.upsert([0], np.array([[3.0, 0.0]]))
        assert index.bound == 2.0 and index.over_bound == 1 and index.rebuilds == 0

    def test_unit_vectors_without_the_extra_coordinate(self) -> None:
        rng = np.random.default_rng(7)
        vectors = rng.normal(size=(2000, 16)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        index = HnswIndex(16, mips=False)
        oracle = BruteForceIndex(16)
        index.upsert(np.arange(2000), vectors)
        oracle.upsert(np.arange(2000), vectors)
        assert index.bound is None
        assert index.indexed([0])[0].shape == (1, 16)
        assert recall(index, oracle, rng.normal(size=(50, 16)).astype(np.float32)) >= 0.95
        with_extra = HnswIndex(16, mips=True, initial_capacity=2048).memory_bytes()
        assert HnswIndex(16, mips=False, initial_capacity=2048).memory_bytes() == with_extra - 2048 * 4

    def test_heavy_deletion_widens_then_scans_exactly(self) -> None:
        """A sparse graph with almost everything deleted: hnswlib alone cannot return n."""
        rng = np.random.default_rng(8)
        vectors = rng.normal(size=(2000, 8)).astype(np.float32)
        index = HnswIndex(8, m=2, ef_construction=10, ef=1, initial_capacity=16)
        oracle = BruteForceIndex(8)
        index.upsert(np.arange(2000), vectors)
        oracle.upsert(np.arange(2000), vectors)
        index.remove(rng.permutation(2000)[:1990])
        oracle.remove(np.setdiff1d(np.arange(2000), index.labels()))
        for q in rng.normal(size=(20, 8)).astype(np.float32):
            few = index.query(q, n=3)[0]
            assert len(few) == 3 and set(few.tolist()) <= set(index.labels().tolist())
            for n in (10, 100):  # every live label: exact, never an error
                got, want = index.query(q, n=n), oracle.query(q, n=n)
                assert got[0].tolist() == want[0].tolist()
                assert got[1].tolist() == pytest.approx(want[1].tolist(), rel=1e-5, abs=1e-6)
        assert index.exact_fallbacks + index.widenings > 0
        assert index.ef == 1  # a query does not leave ef raised

    def test_a_filter_that_removes_the_first_candidates_widens(self) -> None:
        rng = np.random.default_rng(9)
        vectors = mf_items(rng, 3000, dim=8)
        index = HnswIndex(8, ef=20)
        index.upsert(np.arange(3000), vectors)
        q = mf_queries(rng, 1, dim=8)[0]
        top = exact(vectors, np.arange(3000), q, 60)
        banned = np.zeros(3000, dtype=bool)
        banned[top[:50]] = True
        got = index.query(q, n=10, allowed=lambda rows: ~banned[rows])[0]
        assert got.tolist() == top[50:60]
        assert index.widenings >= 1 and index.exact_fallbacks == 0

    def test_many_allowed_but_far_keeps_widening_instead_of_scanning(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Past the exact-scan limit a scan would fetch every allowed vector: the walk widens on."""
        monkeypatch.setattr(hnsw_module, "EXACT_SCAN_LIMIT", 100)
        rng = np.random.default_rng(13)
        vectors = mf_items(rng, 3000, dim=8)
        index = HnswIndex(8, ef=20)
        index.upsert(np.arange(3000), vectors)
        q = mf_queries(rng, 1, dim=8)[0]
        top = exact(vectors, np.arange(3000), q, 410)
        banned = np.zeros(3000, dtype=bool)
        banned[top[:400]] = True  # the whole neighbourhood taken; 2,600 allowed, far away
        got = index.query(q, n=10, allowed=lambda rows: ~banned[rows])[0]
        assert got.tolist() == top[400:]
        assert index.widenings == 5 and index.exact_fallbacks == 0
        few = np.zeros(3000, dtype=bool)
        few[top[-150:]] = True  # 150 allowed: more than the limit, so no scan either
        assert index.query(q, n=10, allowed=lambda rows: few[rows])[0].tolist() == top[-150:-140]
        assert index.exact_fallbacks == 0

    def test_concurrent_writer_and_readers(self) -> None:
        """The lock serialises add_items/resize_index against knn_query (no crash, no error)."""
        rng = np.random.default_rng(10)
        vectors = rng.normal(size=(2000, 8)).astype(np.float32)
        index = HnswIndex(8, ef_construction=40, initial_capacity=16)
        queries = rng.normal(size=(300, 8)).astype(np.float32)
        errors: list[BaseException] = []

        def write() -> None:
            try:
                for start in range(0, 2000, 20):
                    index.upsert(np.arange(start, start + 20), vectors[start : start + 20])
                    if start % 100 == 0:
                        index.remove([start])
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def read() -> None:
            try:
                for q in queries:
                    labels, scores = index.query(q, n=10, allowed=lambda rows: rows % 2 == 0)
                    assert len(labels) <= 10 and np.all(np.diff(scores) <= 0) and np.all(labels % 2 == 0)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(index) == 2000 - 20

    def test_memory_estimate_grows_with_capacity_and_degree(self) -> None:
        small, wide = HnswIndex(33, m=8, initial_capacity=1024), HnswIndex(33, m=16, initial_capacity=1024)
        assert small.memory_bytes() < wide.memory_bytes()
        before = small.memory_bytes()
        small.upsert(np.arange(2000), mf_items(np.random.default_rng(11), 2000))
        assert small.capacity == 2048 and small.memory_bytes() > 2 * before - 65536 * 40


class TestAuto:
    def test_exact_until_the_threshold_then_hnsw(self, tmp_path: Path) -> None:
        rng = np.random.default_rng(12)
        vectors = mf_items(rng, 500, dim=8)
        index = AutoIndex(8, threshold=300)
        index.upsert(np.arange(250), vectors[:250])
        index.remove([0, 1])
        assert index.backend == "brute" and index.switch_ms is None
        index.save(tmp_path / "exact.ann")
        loaded = load_index(tmp_path / "exact.ann")
        assert isinstance(loaded, AutoIndex) and loaded.backend == "brute" and len(loaded) == 248
        index.upsert(np.arange(250, 500), vectors[250:])
        assert index.backend == "hnsw" and isinstance(index.inner, HnswIndex) and index.switch_ms is not None
        assert len(index) == 498 and 0 not in index and 499 in index  # removed labels stay out
        assert index.inner.num_threads == 1
        index.save(tmp_path / "hnsw.ann")
        loaded = load_index(tmp_path / "hnsw.ann")
        assert isinstance(loaded, AutoIndex) and loaded.backend == "hnsw"
        q = mf_queries(rng, 1, dim=8)[0]
        assert loaded.query(q, 10)[0].tolist() == index.query(q, 10)[0].tolist()
        loaded.upsert([0], vectors[:1])  # a removed label comes back after the switch
        assert 0 in loaded

    def test_background_build_answers_exactly_meanwhile_and_keeps_the_writes_made_during_it(self) -> None:
        rng = np.random.default_rng(13)
        vectors = mf_items(rng, 700, dim=8)
        index = AutoIndex(8, threshold=300, background=True)
        gate = threading.Event()
        original = HnswIndex.upsert

        def held_upsert(self: HnswIndex, labels: object, vecs: object) -> None:
            gate.wait(10)  # the build waits until the test has written beside it
            original(self, labels, vecs)  # type: ignore[arg-type]

        with mock.patch.object(HnswIndex, "upsert", held_upsert):
            index.upsert(np.arange(300), vectors[:300])
            assert index.building and index.backend == "brute"
            q = mf_queries(rng, 1, dim=8)[0]
            exact = BruteForceIndex(8)
            exact.upsert(np.arange(300), vectors[:300])
            assert index.query(q, 10)[0].tolist() == exact.query(q, 10)[0].tolist()  # exact while building
            index.upsert(np.arange(300, 600), vectors[300:600])  # written during the build (caught up by it)
            index.remove([5, 6])
            index.upsert([7], vectors[650:651])  # moved during the build
            gate.set()
            index.wait()
        assert not index.building and index.backend == "hnsw" and index.switch_ms is not None
        assert len(index) == 598 and 5 not in index and 599 in index
        got, mask = index.indexed(np.array([7, 350]))
        assert mask.all()
        np.testing.assert_allclose(got[0], vectors[650], rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(got[1], vectors[350], rtol=1e-3, atol=1e-3)

    def test_background_build_swaps_in_at_the_first_write_after_it_ends(self) -> None:
        vectors = mf_items(np.random.default_rng(14), 400, dim=8)
        index = AutoIndex(8, threshold=300, background=True)
        index.upsert(np.arange(300), vectors[:300])
        deadline = time.monotonic() + 30
        while index.backend == "brute" and time.monotonic() < deadline:
            time.sleep(0.01)
            index.upsert([300], vectors[300:301])  # each write checks whether the graph is ready
        assert index.backend == "hnsw" and len(index) == 301

    def test_bad_hnsw_parameters_fail_at_construction(self) -> None:
        with pytest.raises(ValueError, match="m must be"):
            AutoIndex(8, m=0)
        with pytest.raises(TypeError):
            AutoIndex(8, nonsense=1)


class TestMakeIndex:
    def test_backends(self) -> None:
        assert isinstance(make_index("brute", 4), BruteForceIndex)
        assert isinstance(make_index("auto", 4), AutoIndex)
        hnsw = make_index("hnsw", 4, m=8, ef_construction=50, ef=20)
        assert isinstance(hnsw, HnswIndex) and hnsw.dim == 4 and hnsw.ef == 20

    def test_unknown_backend_lists_valid_ones(self) -> None:
        with pytest.raises(ValueError, match="'auto', 'brute', 'hnsw'"):
            make_index("annoy", 4)

    @pytest.mark.parametrize(
        ("backend", "params"),
        [
            ("hnsw", {"dim": 0}),
            ("hnsw", {"m": 1}),
            ("hnsw", {"ef": 0}),
            ("hnsw", {"bound_margin": 0.9}),
            ("hnsw", {"norm_bound": -1.0}),
            ("brute", {"initial_capacity": 0}),
            ("auto", {"threshold": 0}),
        ],
    )
    def test_bad_params(self, backend: str, params: dict[str, Any]) -> None:
        with pytest.raises(ValueError):
            make_index(backend, **({"dim": 4} | params))

    def test_unknown_param_is_a_type_error(self) -> None:
        with pytest.raises(TypeError):
            make_index("brute", 4, m=16)

    def test_public_surface(self) -> None:
        assert recsys.ann.__all__ == sorted(recsys.ann.__all__)
        assert set(recsys.ann.BACKENDS) == {"auto", "brute", "hnsw"}


def test_moved_since_indexed_picks_new_and_moved_labels() -> None:
    index = BruteForceIndex(2)
    index.upsert([0, 1, 2], np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]]))
    index.remove([2])
    fresh = np.array([[1.1, 0.0], [0.0, 1.5], [3.0, 4.0], [1.0, 1.0]])
    assert moved_since_indexed(index, [0, 1, 2, 3], fresh, tolerance=0.2).tolist() == [1, 2, 3]


@pytest.mark.parametrize("seed", range(6))
def test_top_allowed_equals_top_n_over_every_allowed_label(seed: int) -> None:
    """The slice-first search gives exactly the top n of the filtered whole, ties included,
    whether the filter drops a little, most, or all of the best slice."""
    from recsys.ann.base import top_allowed, top_n

    rng = np.random.default_rng(seed)
    size = 2_000
    scores = rng.integers(0, 40, size).astype(np.float32)  # many ties
    for share in (0.0, 0.2, 0.97, 1.0):
        dropped = rng.random(size) < share

        def keep(labels: np.ndarray, dropped: np.ndarray = dropped) -> np.ndarray:
            return ~dropped[labels]

        for n in (0, 1, 10, 100, size):
            labels = np.flatnonzero(~dropped).astype(np.int64)
            want = top_n(labels, scores[labels], n)
            got = top_allowed(scores, n, keep, first=min(8, size))
            assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
