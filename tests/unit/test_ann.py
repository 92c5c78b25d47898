"""Tests for recsys.ann: one contract for both backends, and HNSW recall against the oracle."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from recsys.ann import BruteForceIndex, HnswIndex, VectorIndex, make_index
from recsys.errors import SnapshotError

Factory = Callable[..., VectorIndex]

TOY_IDS = ["a", "b", "c", "d"]
TOY = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7], [-1.0, 0.0]], dtype=np.float32)


def _ids(results: list[tuple[str, float]]) -> list[str]:
    return [item_id for item_id, _ in results]


def _exact_top(vectors: np.ndarray, ids: list[str], q: np.ndarray, n: int) -> list[str]:
    scores = vectors @ q
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:n]]


@pytest.fixture(params=["hnsw", "brute"])
def index_factory(request: pytest.FixtureRequest) -> Factory:
    backend = request.param

    def make(dim: int, initial_capacity: int = 1024) -> VectorIndex:
        return make_index(backend, dim, initial_capacity=initial_capacity)

    return make


class TestContract:
    def test_upsert_and_query_basics(self, index_factory: Factory) -> None:
        index = index_factory(2)
        assert index.dim == 2
        assert len(index) == 0
        index.upsert(TOY_IDS, TOY)
        assert len(index) == 4
        assert "a" in index and "zzz" not in index and 3 not in index
        assert sorted(index.ids()) == sorted(TOY_IDS)
        results = index.query(np.array([1.0, 0.1]), n=2)
        assert _ids(results) == ["a", "c"]
        assert results[0][1] == pytest.approx(1.0)
        assert results[1][1] == pytest.approx(0.77)
        assert all(isinstance(item_id, str) and isinstance(score, float) for item_id, score in results)
        # A (1, dim) query and a list are accepted too.
        assert index.query(np.array([[1.0, 0.1]]), n=2) == results
        assert index.query([1.0, 0.1], n=2) == results

    def test_best_first_with_exact_scores(self, index_factory: Factory) -> None:
        rng = np.random.default_rng(1)
        vectors = rng.normal(size=(60, 8)).astype(np.float32)
        ids = [f"i{i}" for i in range(60)]
        index = index_factory(8)
        index.upsert(ids, vectors)
        for q in rng.normal(size=(10, 8)).astype(np.float32):
            results = index.query(q, n=5)
            scores = [score for _, score in results]
            assert scores == sorted(scores, reverse=True)
            assert _ids(results) == _exact_top(vectors, ids, q, 5)
            for item_id, score in results:
                assert score == pytest.approx(float(vectors[ids.index(item_id)] @ q), rel=1e-5, abs=1e-5)

    def test_replacing_a_vector_changes_results(self, index_factory: Factory) -> None:
        index = index_factory(2)
        index.upsert(TOY_IDS, TOY)
        q = np.array([0.0, 1.0])
        assert _ids(index.query(q, n=1)) == ["b"]
        index.upsert(["d"], np.array([[0.0, 5.0]]))
        assert len(index) == 4
        assert index.query(q, n=2) == [("d", 5.0), ("b", 1.0)]
        index.upsert(["d"], np.array([[0.0, -5.0]]))
        assert _ids(index.query(q, n=4))[-1] == "d"

    def test_duplicate_ids_in_one_batch_last_wins(self, index_factory: Factory) -> None:
        index = index_factory(2)
        index.upsert(["x", "y", "x"], np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 0.0]]))
        assert len(index) == 2
        assert index.query(np.array([1.0, 0.0]), n=1) == [("x", 3.0)]

    def test_vectors_of_returns_what_is_stored_for_live_ids(self, index_factory: Factory) -> None:
        index = index_factory(2)
        index.upsert(["x", "y"], np.array([[1.0, 2.0], [3.0, 4.0]]))
        index.remove("y")
        x, y, z = index.vectors_of(["x", "y", "z"])
        assert x is not None and x.tolist() == [1.0, 2.0] and y is None and z is None
        x[0] = 99.0  # a copy: the index is not changed through it
        assert index.query(np.array([1.0, 0.0]), n=1) == [("x", 1.0)]

    def test_remove_hides_and_upsert_brings_back(self, index_factory: Factory) -> None:
        index = index_factory(2)
        index.upsert(TOY_IDS, TOY)
        assert index.remove("a") is True
        assert index.remove("a") is False
        assert index.remove("never-seen") is False
        assert "a" not in index and len(index) == 3 and "a" not in index.ids()
        assert "a" not in _ids(index.query(np.array([1.0, 0.0]), n=10))
        index.upsert(["a"], np.array([[2.0, 0.0]]))
        assert "a" in index and len(index) == 4
        assert index.query(np.array([1.0, 0.0]), n=1) == [("a", 2.0)]
        assert index.remove("a") is True  # and it can go again

    def test_n_larger_than_live_returns_all_live(self, index_factory: Factory) -> None:
        index = index_factory(2)
        index.upsert(TOY_IDS, TOY)
        index.remove("b")
        results = index.query(np.array([1.0, 0.0]), n=100)
        assert _ids(results) == ["a", "c", "d"]
        assert index.query(np.array([1.0, 0.0]), n=0) == []

    def test_empty_index_returns_nothing(self, index_factory: Factory) -> None:
        index = index_factory(2)
        assert index.query(np.array([1.0, 0.0]), n=10) == []
        assert index.ids() == []
        index.upsert(["a"], np.array([[1.0, 0.0]]))
        index.remove("a")
        assert index.query(np.array([1.0, 0.0]), n=10) == []
        index.upsert([], np.zeros((0, 2)))  # an empty batch is a no-op
        assert len(index) == 0

    @pytest.mark.parametrize(
        ("ids", "vectors"),
        [
            (["a", "b"], np.ones((2, 3))),  # wrong dim
            (["a", "b"], np.ones((3, 2))),  # wrong row count
            (["a"], np.ones(2)),  # 1-d
            (["a"], np.ones((1, 2, 1))),  # 3-d
            (["a"], np.array([[np.nan, 0.0]])),  # not finite
            (["a"], np.array([["x", "y"]])),  # not castable
        ],
    )
    def test_bad_upsert_raises_value_error(self, index_factory: Factory, ids: list[str], vectors: np.ndarray) -> None:
        index = index_factory(2)
        with pytest.raises(ValueError):
            index.upsert(ids, vectors)
        assert len(index) == 0

    def test_bad_query_raises_value_error(self, index_factory: Factory) -> None:
        index = index_factory(2)
        index.upsert(TOY_IDS, TOY)
        with pytest.raises(ValueError, match="shape"):
            index.query(np.ones(3), n=1)
        with pytest.raises(ValueError):
            index.query(np.ones(2), n=-1)
        with pytest.raises(TypeError):
            index.upsert("ab", np.ones((2, 2)))

    def test_save_load_round_trip(self, index_factory: Factory, tmp_path: Path) -> None:
        rng = np.random.default_rng(2)
        vectors = rng.normal(size=(300, 16)).astype(np.float32)
        ids = [f"item-{i}" for i in range(300)]
        index = index_factory(16, initial_capacity=64)
        index.upsert(ids, vectors)
        for item_id in ids[::7]:
            index.remove(item_id)
        path = tmp_path / "snap" / "index.npz"
        index.save(path)
        index.save(path)  # overwriting works and leaves no temporary files behind
        assert [p.name for p in path.parent.iterdir()] == ["index.npz"]

        loaded = type(index).load(path)
        assert type(loaded) is type(index)
        assert loaded.dim == 16 and len(loaded) == len(index) and loaded.ids() == index.ids()
        queries = rng.normal(size=(20, 16)).astype(np.float32)
        for q in queries:
            assert loaded.query(q, n=10) == index.query(q, n=10)
        # The loaded index keeps working: removed ids come back, new ids grow it.
        loaded.upsert([ids[0], "new"], np.array([[100.0] * 16, [50.0] * 16]))
        assert _ids(loaded.query(np.ones(16), n=2)) == [ids[0], "new"]

    def test_load_rejects_wrong_or_corrupt_files(self, index_factory: Factory, tmp_path: Path) -> None:
        index = index_factory(2)
        index.upsert(TOY_IDS, TOY)
        path = tmp_path / "index.npz"
        index.save(path)
        other = BruteForceIndex if isinstance(index, HnswIndex) else HnswIndex
        with pytest.raises(SnapshotError, match="load it with the matching class"):
            other.load(path)
        (tmp_path / "junk.npz").write_bytes(b"not an index")
        with pytest.raises(SnapshotError):
            type(index).load(tmp_path / "junk.npz")
        with pytest.raises(FileNotFoundError):
            type(index).load(tmp_path / "missing.npz")

    def test_growth_past_initial_capacity(self, index_factory: Factory) -> None:
        rng = np.random.default_rng(3)
        vectors = rng.normal(size=(1000, 8)).astype(np.float32)
        ids = [f"g{i}" for i in range(1000)]
        index = index_factory(8, initial_capacity=16)
        for start in range(0, 600, 50):  # many small batches, several doublings ...
            index.upsert(ids[start : start + 50], vectors[start : start + 50])
        index.upsert(ids[600:], vectors[600:])  # ... and one batch bigger than the capacity
        assert len(index) == 1000
        assert isinstance(index, HnswIndex | BruteForceIndex) and index.capacity == 1024
        assert sorted(_ids(index.query(vectors[0], n=5000))) == sorted(ids)
        hits = 0
        queries = rng.normal(size=(20, 8)).astype(np.float32)
        for q in queries:
            hits += len(set(_ids(index.query(q, n=10))) & set(_exact_top(vectors, ids, q, 10)))
        assert hits / (10 * len(queries)) >= 0.95


class TestMakeIndex:
    def test_backends(self) -> None:
        assert isinstance(make_index("brute", 4), BruteForceIndex)
        hnsw = make_index("hnsw", 4, m=8, ef_construction=50, ef=20)
        assert isinstance(hnsw, HnswIndex) and hnsw.dim == 4 and hnsw.ef == 20

    def test_unknown_backend_lists_valid_ones(self) -> None:
        with pytest.raises(ValueError, match="'brute', 'hnsw'"):
            make_index("annoy", 4)

    def test_bad_params(self) -> None:
        with pytest.raises(ValueError):
            make_index("hnsw", 0)
        with pytest.raises(ValueError):
            make_index("hnsw", 4, m=0)
        with pytest.raises(TypeError):
            make_index("brute", 4, m=16)


class TestHnswSpecifics:
    def test_heavy_deletion_never_raises_and_is_exact(self) -> None:
        """A sparse graph with almost everything deleted: hnswlib alone cannot return k."""
        rng = np.random.default_rng(4)
        vectors = rng.normal(size=(2000, 8)).astype(np.float32)
        ids = [str(i) for i in range(2000)]
        index = HnswIndex(8, m=2, ef_construction=10, ef=1, initial_capacity=16)
        oracle = BruteForceIndex(8)
        index.upsert(ids, vectors)
        oracle.upsert(ids, vectors)
        for i in rng.permutation(2000)[:1990]:
            assert index.remove(ids[i]) and oracle.remove(ids[i])
        live = set(oracle.ids())
        for q in rng.normal(size=(20, 8)).astype(np.float32):
            few = index.query(q, n=3)  # approximate on this poor graph, but live, 3 of them, best first
            assert len(few) == 3 and set(_ids(few)) <= live
            assert [s for _, s in few] == sorted((s for _, s in few), reverse=True)
            for n in (10, 100):  # every live id: exact, and never an error
                got, want = index.query(q, n=n), oracle.query(q, n=n)
                assert _ids(got) == _ids(want)
                assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-6)
        assert index.exact_fallbacks > 0

    def test_query_does_not_leave_ef_raised(self) -> None:
        index = HnswIndex(2, ef=4)
        index.upsert(TOY_IDS, TOY)
        assert len(index.query(np.array([1.0, 0.0]), n=50)) == 4
        assert index.ef == 4

    def test_concurrent_writer_and_readers(self) -> None:
        """The lock serialises add_items/resize_index against knn_query (no crash, no error)."""
        rng = np.random.default_rng(5)
        vectors = rng.normal(size=(2000, 8)).astype(np.float32)
        index = HnswIndex(8, ef_construction=40, initial_capacity=16)
        queries = rng.normal(size=(300, 8)).astype(np.float32)
        errors: list[BaseException] = []

        def write() -> None:
            try:
                for start in range(0, 2000, 20):
                    index.upsert([f"w{i}" for i in range(start, start + 20)], vectors[start : start + 20])
                    if start % 100 == 0:
                        index.remove(f"w{start}")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def read() -> None:
            try:
                for q in queries:
                    scores = [score for _, score in index.query(q, n=10)]
                    assert len(scores) <= 10 and scores == sorted(scores, reverse=True)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(index) == 2000 - 20


def _recall(index: VectorIndex, oracle: VectorIndex, queries: np.ndarray, k: int = 10) -> float:
    hits = 0
    for q in queries:
        hits += len(set(_ids(index.query(q, n=k))) & set(_ids(oracle.query(q, n=k))))
    return hits / (k * len(queries))


def test_hnsw_recall_against_brute_force(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(10_000, 32)).astype(np.float32)
    queries = rng.normal(size=(200, 32)).astype(np.float32)
    ids = [f"item-{i}" for i in range(10_000)]

    started = time.perf_counter()
    hnsw = HnswIndex(32, num_threads=2)
    oracle = BruteForceIndex(32)
    for start in range(0, 10_000, 2_500):  # default capacity 1024: grows on the way
        hnsw.upsert(ids[start : start + 2_500], vectors[start : start + 2_500])
    oracle.upsert(ids, vectors)
    built = time.perf_counter()

    recall = _recall(hnsw, oracle, queries)
    assert recall >= 0.95

    path = tmp_path / "hnsw.npz"
    hnsw.save(path)
    loaded = HnswIndex.load(path)
    assert loaded is not hnsw
    recall_loaded = _recall(loaded, oracle, queries)
    assert recall_loaded >= 0.95
    assert [loaded.query(q, n=10) for q in queries[:20]] == [hnsw.query(q, n=10) for q in queries[:20]]

    removed = {ids[i] for i in rng.choice(10_000, size=1_000, replace=False)}
    for item_id in removed:
        assert loaded.remove(item_id)
        oracle.remove(item_id)
    assert len(loaded) == len(oracle) == 9_000
    for q in queries:
        assert removed.isdisjoint(_ids(loaded.query(q, n=50)))
    recall_removed = _recall(loaded, oracle, queries)
    assert recall_removed >= 0.95
    done = time.perf_counter()
    print(
        f"\nrecall@10: fresh {recall:.4f}, loaded {recall_loaded:.4f}, "
        f"after removing 1000 {recall_removed:.4f}; build {built - started:.2f}s, total {done - started:.2f}s"
    )
